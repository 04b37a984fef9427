"""Never a wrong number, never a traceback: the command line under bad input.

For every input, a subcommand either succeeds or ends with exit status 2 and
ONE line naming what is wrong; and its --out folder never holds half a run,
nor a summary of another run beside this run's files. A table of the cases a
hostile probe found, then hypothesis over option values, then processes:
a search killed with kill -9 leaves no worker behind.
"""
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cattern.atomic import check_out_folder
from cattern.cli import main
from cattern.data.splits import load_raw
from cattern.model_io import load_model
from synthetic_data import data_options, write_mnist_dir

# Pixels in [0, 1] and momentum: rates of this size suit them (the defaults are the seed's 0..255, plain SGD).
FAST = ["--num-iters", "30", "--hidden-size", "8", "--std", "0.01", "--learning-rate", "0.05",
        "--pixel-scale", "1", "--momentum", "0.9", "--batch-size", "50", "--no-progress"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_mnist_dir(tmp_path_factory.mktemp("data") / "mnist")


def run(argv, capsys):
    """``cattern ARGV`` in this process: (exit status, stderr lines). Anything but a
    clean exit (an exception escaping main) fails the test with its traceback."""
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own exit, after its one line
        status = exit_.code
    err = capsys.readouterr().err
    return status, [line for line in err.splitlines() if line.strip()]


def folder_state(folder):
    """Every file below ``folder`` with its bytes, hidden temporary folders included."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def assert_clean_failure(status, lines):
    assert status == 2, lines
    assert len(lines) == 1 and "Traceback" not in lines[0], lines


# ----------------------------------------------------------------------
# The cases of the probe, each a clear error
# ----------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["train", "--dropout", "1.5"], "--dropout=1.5: these options belong to the fc model"),
    (["train", "--dropout", "-0.1"], "--dropout=-0.1: these options belong to the fc model"),
    (["train", "--model", "fc", "--dropout", "1.0"], "--dropout must be in [0, 1)"),
    (["train", "--model", "fc", "--dropout", "nan"], "--dropout must be a finite number; got nan"),
    (["train", "--learning-rate", "1e4", "--std", "1", "--num-iters", "300"], "try a smaller --learning-rate"),
    (["train", "--hidden-size", "100000000"], "needs about"),
    (["train", "--data-dir", "/nonexistent"], "the data folder /nonexistent does not exist"),
    (["train", "--validation-size", "0"], "argument --validation-size: expected a whole number >= 1"),
    (["train", "--validation-size", "60000"], "(--validation-size on the command line, validation_size= in Python) must be between"),
    (["tune", "--dropout", "nan"], "--dropout must be a finite number; got nan"),
    (["tune", "--seed", "-1"], "argument --seed: expected a whole number >= 0, got -1"),
    (["tune", "--top", "-1"], "argument --top: expected a whole number >= 0"),
    (["tune", "--hidden-size", "100000000"], "needs about"),
    (["tune", "--pixel-scale", "1", "255"], "search each --pixel-scale on its own"),
    (["tune", "--deskew", "true", "false"], "search each --deskew on its own"),
    (["train", "--deskew", "maybe"], "argument --deskew: expected true or false, got 'maybe'"),
    (["train", "--preset", "fc-deskew", "--train-on-validation", "true"],
     "--train-on-validation=True trains on the validation images, leaving none to choose an epoch by: "
     "set --restore-best=False and --patience=0"),
    (["tune", "--train-on-validation", "true"], "--train-on-validation=True: a search ranks configs"),
    (["train", "--augment-scale-each-axis", "true"],
     "--augment-scale-each-axis=True draws the two axes' scalings apart, but --augment-scale=0.0 (no "
     "scaling): give --augment-scale= a value above 0 too, or --augment-scale-each-axis=False"),
    (["train", "--augment-scale", "1"], "--augment-scale must be < 1"),
    (["train", "--augment-thickness", "1.5"], "--augment-thickness must be a fraction in [0, 1]"),
    (["train", "--elastic-sigma", "0"], "--elastic-sigma must be > 0 pixels"),
    (["train", "--pixel-scale", "1e-300"], "--pixel-scale must be between 3e-36 and 1.3e+36"),
    (["tune", "--pixel-scale", "1e37"], "--pixel-scale must be between 3e-36 and 1.3e+36"),
    (["train", "--ema-decay", "1"], "--ema-decay must be in [0, 1)"),
    (["tune", "--random", "3", "--ema-decay", "0..0.999"],
     "random search range of --ema-decay must satisfy 0 < low <= high for a log-uniform draw"),
    (["train", "--step-epochs", "0"], "--step-epochs must be > 0"),
    (["train", "--momentum", "1.5"], "--momentum must be in [0, 1)"),
    (["train", "--lr-schedule", "cosine", "--min-learning-rate", "1"],
     "--min-learning-rate must be at most the rate it decays from, --learning-rate=0.001 (the cosine schedule)"),
    (["train", "--lr-schedule", "step", "--step-gamma", "2"], "--step-gamma must be in (0, 1]"),
    (["tune", "--n-jobs", "0"], "argument --n-jobs: expected a number of workers >= 1, or -1 for one per core"),
    (["lab", "--n-jobs", "0"], "argument --n-jobs: expected a number of workers >= 1, or -1 for one per core"),
    (["gradcheck", "--max-entries", "0"], "argument --max-entries: expected a whole number >= 1"),
    (["fetch", "--mirror", "ftp://example.org/mnist", "--no-npm", "--dir", "/nonexistent/cattern"],
     "a mirror (--mirror on the command line, mirrors= in Python, or CATTERN_MNIST_MIRRORS) must be an http://"),
    (["fetch", "--dir", "/proc/cattern-probe", "--no-npm"],
     "cannot use /proc/cattern-probe as the data cache (--dir for cattern fetch"),
    (["serve", "--port", "70000"], "argument --port: expected a whole number from 0 to 65535"),
    (["serve", "--host", "256.1.1.1", "--no-open"], "--host '256.1.1.1' is not an address"),
    (["evaluate", "missing.npz"], "no model file at missing.npz"),
    # A word no option takes is the subcommand's mistake: its name and --help, and the option
    # meant when one is near (before: "cattern: error: ... (see cattern --help)").
    (["train", "--learning_rate", "0.1"], "cattern train: error: unrecognized arguments: --learning_rate 0.1; "
                                          "did you mean --learning-rate? (see cattern train --help)"),
    (["tune", "--presett", "lab"], "cattern tune: error: unrecognized arguments: --presett lab; did you mean --preset?"),
    (["evaluate", "a.npz", "b.npz"], "cattern evaluate: error: unrecognized arguments: b.npz (see cattern evaluate --help)"),
    # evaluate reads only the test set: a --validation-size would change nothing, so it has none.
    (["evaluate", "missing.npz", "--validation-size", "100"],
     "cattern evaluate: error: unrecognized arguments: --validation-size 100 (see cattern evaluate --help)"),
])
def test_each_probed_mistake_is_one_clear_line(argv, message, data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"an": "earlier run"}')
    before = folder_state(out)
    command, *rest = argv
    uses_data = "--data-dir" not in rest and command in ("train", "tune")
    full = [command, *(data_options(data_dir) if uses_data else []), *rest,
            *(["--out", str(out), "--no-progress"] if command in ("train", "tune") else [])]
    status, lines = run(full, capsys)
    assert_clean_failure(status, lines)
    assert message in lines[0]
    assert folder_state(out) == before  # nothing written, the earlier run's summary untouched


@pytest.mark.parametrize("options, message", [
    (["--momentum", "1.5"], "--momentum must be in [0, 1)"),
    (["--ema-decay", "1"], "--ema-decay must be in [0, 1)"),
    (["--pixel-scale", "1", "255"], "search each --pixel-scale on its own"),
])
def test_the_lab_checks_its_search_options_before_its_first_section(options, message, data_dir, tmp_path, capsys):
    # Before, the lab ran the seed's sections and failed at its own search, naming the field, not the option.
    out = tmp_path / "lab"
    try:
        status = main(["lab", *data_options(data_dir), "--out", str(out), "--no-progress", *options])
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert_clean_failure(status, lines)
    assert message in lines[0] and captured.out == "", captured.out
    assert not out.exists()


def test_an_out_that_is_a_file_is_refused_before_any_work(data_dir, tmp_path, capsys):
    # Checked first, so a long run is not lost at its end when its folder cannot be made.
    model = tmp_path / "run"
    assert run(["train", *data_options(data_dir), "--out", str(model), *FAST], capsys)[0] == 0
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for argv, message in [
        (["train", *data_options(data_dir), *FAST, "--out", str(afile)], f"--out {afile} is a file, not a folder"),
        (["train", *data_options(data_dir), *FAST, "--out", str(afile / "sub")],
         f"--out {afile / 'sub'}: {afile} is a file, so no folder can be made there"),
        (["tune", *data_options(data_dir), *FAST, "--out", str(afile)], f"--out {afile} is a file"),
        (["lab", *data_options(data_dir), "--no-progress", "--out", str(afile)], f"--out {afile} is a file"),
        (["evaluate", str(model / "model.npz"), *data_options(data_dir, split=False), "--out", str(afile)],
         f"--out {afile} is a file"),
    ]:
        status, lines = run(argv, capsys)
        assert_clean_failure(status, lines)
        assert message in lines[0], lines
        assert afile.read_text() == "not a folder"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "run"]  # no temporary folder either


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where no folder can be made")
def test_an_out_where_no_folder_can_be_made_is_refused_before_any_work(data_dir, capsys):
    # Its permission bits let root in (os.access says yes), but mkdir fails: before, the run
    # trained, then failed at its end on a temporary folder's name, naming no option.
    status, lines = run(["train", *data_options(data_dir), *FAST, "--out", "/proc/cattern-run"], capsys)
    assert_clean_failure(status, lines)
    assert "--out /proc/cattern-run: no folder can be made in /proc (" in lines[0], lines


def test_a_cache_folder_that_is_a_file_is_named_as_one(tmp_path, capsys):
    # Before, mkdir's own "File exists" ended the line, which names no mistake.
    afile = tmp_path / "cache"
    afile.write_text("not a folder")
    status, lines = run(["fetch", "--dir", str(afile), "--no-npm"], capsys)
    assert_clean_failure(status, lines)
    assert lines[0].endswith(f"cannot use {afile} as the data cache (--dir for cattern fetch, cache_dir= in Python, "
                             "or CATTERN_DATA_DIR): it is a file, not a folder"), lines
    assert afile.read_text() == "not a folder"


def test_checking_an_out_folder_leaves_nothing_behind(tmp_path):
    check_out_folder(tmp_path / "new" / "run")
    assert list(tmp_path.iterdir()) == []


def test_a_run_overflowing_from_its_first_step_prints_one_line_and_no_numpy_warnings(data_dir, tmp_path, capsys):
    # pytest records warnings instead of printing them, so they are caught here, where a
    # user's terminal would have shown them as lines before the error.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, lines = run(["train", *data_options(data_dir), *FAST, "--std", "1e300", "--out",
                             str(tmp_path / "out")], capsys)
    assert_clean_failure(status, lines)
    assert "training diverged: the loss became nan at iteration 0" in lines[0]
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_a_malformed_dask_scheduler_address_is_one_line_before_any_work(data_dir, tmp_path, capsys):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    status, lines = run(["tune", *data_options(data_dir), *FAST, "--backend", "dask", "--scheduler", "notanaddress",
                         "--out", str(out)], capsys)
    assert_clean_failure(status, lines)
    assert "the scheduler address (--scheduler; scheduler= in Python) 'notanaddress' is not one Dask can use" \
        in lines[0]
    assert not out.exists()


def test_a_new_run_replaces_the_old_one_whole(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(["train", *data_options(data_dir), "--out", str(out), *FAST], capsys)[0] == 0
    assert run(["evaluate", str(out / "model.npz"), *data_options(data_dir, split=False)], capsys)[0] == 0
    assert (out / "evaluation.json").is_file()
    first = folder_state(out)
    # A run that fails (here: it diverges) leaves the folder as it was...
    status, lines = run(["train", *data_options(data_dir), "--out", str(out), *FAST[:-3],
                         "--num-iters", "300", "--learning-rate", "1e4", "--std", "1", "--no-progress"], capsys)
    assert_clean_failure(status, lines)
    assert folder_state(out) == first
    # ...and one that succeeds replaces it, the evaluation of the old model included.
    assert run(["train", *data_options(data_dir), "--out", str(out), *FAST, "--seed", "1"], capsys)[0] == 0
    assert sorted(os.listdir(out)) == ["curves.png", "model.npz", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["seed"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_rerun_search_on_other_data_retrains_and_its_table_and_model_agree(data_dir, tmp_path, capsys):
    out = tmp_path / "search"
    options = ["tune", "--data-dir", str(data_dir), "--no-verify", "--out", str(out), "--n-jobs", "1",
               "--no-progress", *FAST[:-1], "--hidden-size", "8", "16"]
    assert run([*options, "--validation-size", "100"], capsys)[0] == 0
    assert run([*options, "--validation-size", "60"], capsys)[0] == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len({row["key"] for row in rows}) == 4  # two runs per data set: none reused
    # The table and the best model are the second data set's.
    data = load_raw(data_dir, validation_size=60, verify=False, verbose=False)
    saved = load_model(out / "best_model.npz")
    best = max(rows[2:], key=lambda row: (row["val_acc"], -row["val_loss"]))
    assert np.mean(saved.predict(data.X_val) == data.y_val) == best["val_acc"]
    with open(out / "results.csv") as f:
        table_best = f.read().splitlines()[1].split(",")
    assert float(table_best[1]) == best["val_acc"]


# ----------------------------------------------------------------------
# Hypothesis over option values
# ----------------------------------------------------------------------

WORDS = st.sampled_from(["0", "1", "-1", "2.5", "nan", "inf", "1e999", "abc", "", "true", "0.5", "3",
                         "1e-3", "100000000", "fc", "two_layer", "float32", "batchnorm"])
OPTIONS = ["--hidden-size", "--learning-rate", "--learning-rate-decay", "--momentum", "--reg", "--num-iters",
           "--batch-size", "--std", "--dtype", "--model", "--dropout", "--normalization", "--hidden-dims",
           "--pixel-scale", "--update-rule", "--lr-schedule", "--warmup-epochs", "--restore-best",
           "--augment-shift", "--augment-scale", "--augment-scale-each-axis", "--augment-thickness",
           "--max-norm", "--seed",
           "--validation-size"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(OPTIONS), WORDS), max_size=4))
def test_train_either_succeeds_or_fails_in_one_line(data_dir, tmp_path_factory, capsys, options):
    out = tmp_path_factory.mktemp("fuzz") / "out"
    argv = ["train", *data_options(data_dir), "--out", str(out), *FAST]
    for option, word in options:
        # Keep the runs short: a fuzzed length or size is capped, not refused.
        if option in ("--num-iters", "--hidden-size") and word.isdigit() and int(word) > 50:
            word = "50"
        argv += [option, word]
    status, lines = run(argv, capsys)
    if status == 0:
        assert sorted(os.listdir(out)) == ["curves.png", "model.npz", "summary.json"]
        summary = json.loads((out / "summary.json").read_text())  # valid JSON: no NaN
        assert 0 <= summary["val_accuracy"] <= 1
    else:
        assert_clean_failure(status, lines)
        assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(OPTIONS[:-2] + ["--top", "--eta", "--min-iters", "--random"]),
                          WORDS), max_size=3))
def test_tune_either_succeeds_or_fails_in_one_line(data_dir, tmp_path_factory, capsys, options):
    out = tmp_path_factory.mktemp("fuzz") / "search"
    argv = ["tune", *data_options(data_dir), "--out", str(out), "--n-jobs", "1", *FAST]
    for option, word in options:
        if option in ("--num-iters", "--hidden-size", "--random") and word.isdigit() and int(word) > 50:
            word = "50"
        argv += [option, word]
    status, lines = run(argv, capsys)
    if status in (0, 1):  # 1: every run diverged, said in one line
        text = (out / "results.jsonl").read_text()
        assert "NaN" not in text and "Infinity" not in text
    else:
        assert_clean_failure(status, lines)


# ----------------------------------------------------------------------
# Processes
# ----------------------------------------------------------------------

def children(pid):
    """The pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cpu_seconds(pid):
    """The CPU time ``pid`` has used (user + system), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15


def test_a_worker_whose_search_died_before_its_first_task_ends_itself():
    # A worker still starting up when the search is killed takes its first task with a
    # new parent (init): it must know its parent's pid from the search, not from getppid().
    watched = ("import sys, time; from cattern.tuning.executors import _watch_parent; "
               "_watch_parent(int(sys.argv[1]), period=0.05); time.sleep(30)")
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    orphan = subprocess.Popen([sys.executable, "-c", watched, str(gone.pid)])
    child = subprocess.Popen([sys.executable, "-c", watched, str(os.getpid())])
    try:
        assert orphan.wait(timeout=20) == 1  # its search is gone: it ends itself
        time.sleep(0.5)
        assert child.poll() is None  # its search (this process) lives: it trains on
    finally:
        for proc in (orphan, child):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find a process's children")
def test_killing_the_search_with_kill_9_ends_its_workers(data_dir, tmp_path):
    # Runs long enough to be killed mid-training, on 2 loky workers.
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from cattern.cli import main; sys.exit(main())", "tune",
         *data_options(data_dir), "--out", str(tmp_path / "search"), "--n-jobs", "2", "--no-progress",
         "--num-iters", "1000000", "--hidden-size", "64", "--std", "0.01",
         "--learning-rate", "0.01", "0.02", "0.03"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.5)
            workers = [pid for pid in children(proc.pid)
                       if "LokyProcess" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
        assert len(workers) == 2, "the search never started its 2 workers"
        # Training now, past their imports: a worker starting up on a loaded machine takes
        # seconds to reach its first run, and a fixed sleep would kill the search before.
        while time.monotonic() < deadline + 60 and min(cpu_seconds(pid) for pid in workers) < 4:
            time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in workers):
            time.sleep(0.2)
        assert not [pid for pid in workers if alive(pid)], "workers outlived the search by 10 s"
    finally:
        if proc.poll() is None:
            proc.kill()
