"""The test set is read once, at the end: a test set that refuses early access still
lets training, early stopping and selection of the best epoch finish."""
import json

import numpy as np
import pytest

import dataclasses

import cattern.cli.train as cli_train
from cattern.cli import main
from cattern.presets import PRESETS
from synthetic_data import raw, write_mnist_dir


class EarlyTestAccess(Exception):
    """Raised when something reads the test set before the final evaluation."""


class Guarded:
    """Stands in for a test array: any use before :meth:`release` raises and is logged."""

    def __init__(self, array):
        object.__setattr__(self, "_array", array)
        object.__setattr__(self, "released", False)
        object.__setattr__(self, "early", [])   # what was touched too soon, even if swallowed
        object.__setattr__(self, "uses", 0)

    def release(self):
        object.__setattr__(self, "released", True)

    def _use(self, what):
        if not self.released:
            self.early.append(what)
            raise EarlyTestAccess(f"the test set was read before the final evaluation ({what})")
        object.__setattr__(self, "uses", self.uses + 1)
        return self._array

    def __getattr__(self, name):                 # .shape, .dtype, .reshape, ...
        return getattr(self._use(f".{name}"), name)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._use("__array__"), dtype=dtype)

    def __len__(self):
        return len(self._use("len"))

    def __getitem__(self, key):
        return self._use("[]")[key]

    def __iter__(self):
        return iter(self._use("iter"))


def test_the_guard_refuses_early_use():
    guard = Guarded(np.arange(3))
    with pytest.raises(EarlyTestAccess):
        np.asarray(guard)
    with pytest.raises(EarlyTestAccess):
        guard.shape
    assert len(guard.early) == 2  # numpy asks for __array_struct__ first: refused too
    guard.release()
    assert np.asarray(guard).tolist() == [0, 1, 2] and len(guard) == 3


@pytest.fixture
def guarded_cli(tmp_path, monkeypatch):
    """``cattern train`` on synthetic data whose test arrays are guarded until training has returned."""
    data = raw(write_mnist_dir(tmp_path / "mnist"))
    guards = [Guarded(data.X_test), Guarded(data.y_test)]
    guarded = dataclasses.replace(data, X_test=guards[0], y_test=guards[1])
    monkeypatch.setattr(cli_train, "load_raw_from_args", lambda *a, **k: guarded)
    real_train_model = cli_train.train_model

    def train_model_then_release(*args, **kwargs):
        result = real_train_model(*args, **kwargs)   # training, early stopping, choice of the best epoch
        for guard in guards:
            guard.release()
        return result

    monkeypatch.setattr(cli_train, "train_model", train_model_then_release)
    return tmp_path / "out", guards


FC_RUN = ["--model", "fc", "--hidden-dims", "24,16", "--dropout", "0.1", "--dtype", "float32", "--pixel-scale", "1",
          "--update-rule", "sgd_nesterov", "--learning-rate", "0.05", "--lr-schedule", "cosine",
          "--warmup-epochs", "1", "--num-iters", "150", "--batch-size", "50", "--patience", "2",
          "--restore-best", "true", "--augment-shift", "1", "--no-progress"]


def test_training_and_selection_finish_without_the_test_set_then_it_is_used_once(guarded_cli):
    out, guards = guarded_cli
    assert main(["train", "--out", str(out), *FC_RUN, "--final-test", "true"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert all(guard.early == [] for guard in guards)           # nothing read it during training
    assert summary["test_set_uses"] == 1 and 0 <= summary["test_accuracy"] <= 1
    assert summary["val_accuracy"] > 0.9


def test_without_final_test_the_test_set_is_never_read(guarded_cli):
    out, guards = guarded_cli
    assert main(["train", "--out", str(out), *FC_RUN]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_accuracy"] is None and summary["test_set_uses"] == 0
    assert all(guard.early == [] and guard.uses == 0 for guard in guards)


@pytest.mark.parametrize("preset", [name for name, cfg in PRESETS.items() if cfg.final_test])
def test_the_presets_run_under_the_guard(guarded_cli, preset):
    out, guards = guarded_cli
    # The preset as it is, shrunk only in size and length to fit a test.
    small = ["--hidden-size", "16", "--hidden-dims", "", "--num-iters", "40", "--no-progress"]
    assert main(["train", "--out", str(out), "--preset", preset, *small]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert all(guard.early == [] for guard in guards)
    assert summary["preset"] == preset and summary["test_set_uses"] == 1
    assert summary["config"]["final_test"] is True
