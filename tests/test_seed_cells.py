"""The seed notebook's code cells, in order, run unchanged as one script on real MNIST.

tests/seed_cells.py holds the cells, repaired only where the PDF extraction
broke them (each repair is commented there). The script runs in a fresh
folder whose mnist_data/ links to the real MNIST files, as the seed's notebook
expects, with matplotlib's Agg backend and CATTERN_QUICK=1 (which shrinks
cell [15]'s 72-run grid to the two rows around its winner).

What the seed printed, the cells print: the toy numbers to the seed's
tolerances, cell [7]'s final loss to 1e-16, and cells [10] and [11] every one
of their 20 losses to the 6 digits shown and their validation accuracies
exactly (cattern.reference holds the seed's numbers).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cattern.reference import SEED_RUNS, SEED_TARGETS

TESTS = Path(__file__).resolve().parent
MNIST_DIR = TESTS.parents[1] / "shared" / "datasets" / "mnist"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def link_mnist(folder):
    """Make folder/mnist_data with links to the four real MNIST files."""
    target = folder / "mnist_data"
    target.mkdir()
    for name in MNIST_FILES:
        (target / name).symlink_to(MNIST_DIR / name)


def numbers_after(label, text):
    """Every number printed right after ``label`` in text, as floats."""
    return [float(m) for m in re.findall(re.escape(label) + r"\s*([-+0-9.e]+)", text)]


@pytest.mark.mnist
@pytest.mark.slow
@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"no MNIST files in {MNIST_DIR}")
def test_seed_cells_run_unchanged_as_one_script(tmp_path):
    link_mnist(tmp_path)
    env = {**os.environ, "MPLBACKEND": "Agg", "CATTERN_QUICK": "1"}
    # The cache must not be consulted: the files come from ./mnist_data as in the seed.
    env["CATTERN_DATA_DIR"] = str(tmp_path / "empty-cache")
    result = subprocess.run([sys.executable, str(TESTS / "seed_cells.py")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout

    # Cells [4]-[6]: the seed's numbers.
    assert numbers_after("Difference between your scores and correct scores:\n", out)[0] < 1e-7
    assert numbers_after("Difference between your loss and correct loss:\n", out)[0] < 1e-12
    errors = {name: float(value) for name, value in re.findall(r"(\w+) max relative error: (\S+)", out)}
    assert sorted(errors) == ["W1", "W2", "b1", "b2"] and max(errors.values()) < 1e-8
    # Cell [7]: "You should achieve a training loss less than 0.05"; the seed printed 0.017143643532923757.
    assert abs(numbers_after("Final training loss: ", out)[0] - 0.017143643532923757) < 1e-16
    # Cell [8]: the seed's shapes.
    assert "Train data shape:  (55000, 784)" in out and "Test labels shape:  (10000,)" in out
    # Cells [10], [11]: the seed's numbers, digit for digit.
    losses = re.findall(r"iteration (\d+) / 2000: loss (\S+)", out)
    assert len(losses) == 40
    for run, printed in zip(SEED_RUNS.values(), (losses[:20], losses[20:])):
        assert [int(it) for it, _ in printed] == list(run.loss_iterations)
        assert [text for _, text in printed] == [f"{loss:f}" for loss in run.losses]
    fixed_val, decay_val = numbers_after("Validation accuracy: ", out)[:2]
    assert (fixed_val, decay_val) == (SEED_RUNS["fixed_lr"].val_acc, SEED_RUNS["lr_decay"].val_acc)
    # Cell [15], shrunk to the rows of its winner: above 0.96 on validation, as the seed's
    # (0.9676, 0.9696); cell [17]: the best net passes the seed's test target.
    assert "CV# 2/2" in out
    assert max(numbers_after("validate accuracy: ", out)) > 0.96
    assert numbers_after("Test accuracy: ", out)[0] > SEED_TARGETS["test"]
