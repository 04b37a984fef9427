"""Every subcommand works after the README's FIRST command alone: a plain ``pip install -e .``.

CI installs ``.[dev]``; this builds a venv of its own with the plain install
(no extras), then asks each subcommand for its help and makes a real short run
of each, on a tiny data set in MNIST's file format. The optional features
(Dask, scikit-learn) must say which extra to install, in one line.

pip needs the package index (or its cache) to build the venv; on a machine
with neither, the test is skipped, saying so.
"""
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from synthetic_data import data_options, write_mnist_dir

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("lab", "train", "evaluate", "tune", "serve", "fetch", "gradcheck", "doctor")
# Pixels in [0, 1] and momentum: rates of this size suit them (the defaults are the seed's 0..255, plain SGD).
FAST = ["--num-iters", "60", "--hidden-size", "16", "--std", "0.01", "--pixel-scale", "1", "--momentum", "0.9",
        "--learning-rate", "0.05", "--batch-size", "50", "--no-progress"]

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The bin folder of a fresh venv holding cattern installed by ``pip install -e .``."""
    venv = tmp_path_factory.mktemp("plain") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-e", str(REPO)],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        if "Could not find a version" in done.stderr or "connection" in done.stderr.lower():
            pytest.skip(f"pip could not reach the package index to build the venv: {done.stderr[-300:]}")
        raise AssertionError(done.stderr[-3000:])
    return venv / "bin"


def cattern(bin_dir, *argv, cwd, timeout=300, env=None):
    """Run the plain venv's ``cattern``; returns the CompletedProcess."""
    return subprocess.run([str(bin_dir / "cattern"), *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "MPLBACKEND": "Agg", **(env or {})})


def one_line_error(result):
    """The run failed cleanly: exit status 2 and a single line, no traceback."""
    lines = result.stderr.strip().splitlines()
    return result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr


def test_the_extras_are_not_there(plain):
    result = subprocess.run([str(plain / "python"), "-c", "import cattern.sklearn"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "pip install 'cattern[sklearn]'" in result.stderr


def test_every_subcommand_answers_help(plain, tmp_path):
    assert cattern(plain, "--help", cwd=tmp_path).returncode == 0
    for command in COMMANDS:
        result = cattern(plain, command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and f"usage: cattern {command}" in result.stdout, result.stderr


def test_every_subcommand_makes_a_real_short_run(plain, tmp_path):
    folder = write_mnist_dir(tmp_path / "mnist")
    data = data_options(folder)

    train = cattern(plain, "train", *data, "--out", "run", *FAST, cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["val_accuracy"] > 0.5

    evaluate = cattern(plain, "evaluate", "run/model.npz", *data_options(folder, split=False), cwd=tmp_path)
    assert evaluate.returncode == 0 and "test accuracy" in evaluate.stdout, evaluate.stderr

    tune = cattern(plain, "tune", *data, "--out", "tune", "--n-jobs", "1", "--no-progress",
                   *FAST[:10], "--learning-rate", "0.01", "0.05", cwd=tmp_path)
    assert tune.returncode == 0 and (tmp_path / "tune" / "best_model.npz").is_file(), tune.stderr

    # The lab, its search shrunk by training options (they replace the search preset's values).
    lab = cattern(plain, "lab", *data, "--out", "lab", "--n-jobs", "1", "--no-progress", *FAST[:-1],
                  cwd=tmp_path, env={"CATTERN_QUICK": "1"})
    assert lab.returncode in (0, 1), lab.stderr  # 1: a seed target missed on this toy data
    assert json.loads((tmp_path / "lab" / "summary.json").read_text())["test_set_uses"] == 2  # one per final net

    doctor = cattern(plain, "doctor", "run", cwd=tmp_path)
    assert doctor.returncode in (0, 1) and "diagnosis" in doctor.stdout, doctor.stderr

    gradcheck = cattern(plain, "gradcheck", cwd=tmp_path)
    assert gradcheck.returncode == 0 and "passed" in gradcheck.stdout, gradcheck.stderr

    # fetch, with no source that can answer: a clear failure, no traceback.
    fetch = cattern(plain, "fetch", "--dir", "cache", "--no-npm", "--mirror", "http://127.0.0.1:9/",
                    "--timeout", "2", cwd=tmp_path)
    assert fetch.returncode == 2 and "Traceback" not in fetch.stderr and "could not obtain" in fetch.stderr


def test_serve_starts_after_the_plain_install(plain, tmp_path):
    data = data_options(write_mnist_dir(tmp_path / "mnist", side=28))  # the page draws 28 x 28 digits
    assert cattern(plain, "train", *data, "--out", "run", *FAST, cwd=tmp_path).returncode == 0
    proc = subprocess.Popen([str(plain / "cattern"), "serve", "run/model.npz", "--port", "0", "--no-open", *data],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        with urllib.request.urlopen(match.group(0) + "api/model", timeout=30) as response:
            assert json.loads(response.read())["kind"] == "two_layer"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_missing_extra_is_one_line_naming_it(plain, tmp_path):
    data = data_options(write_mnist_dir(tmp_path / "mnist"))
    result = cattern(plain, "tune", *data, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9",
                     "--no-progress", *FAST[:2], cwd=tmp_path)
    assert one_line_error(result) and "pip install 'cattern[dask]'" in result.stderr, result.stderr
