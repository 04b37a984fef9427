"""The lab's sections, its test-set discipline, and the whole lab on a tiny synthetic set."""
import json

import numpy as np
from matplotlib.image import imread

from cattern import lab
from cattern.cli import main
from cattern.model_io import load_model
from synthetic_data import N_VAL, data_options, raw, write_mnist_dir

# A tiny search for the synthetic data: two configs, a few hundred steps.
TINY_SEARCH = [
    {"learning_rate": 0.05, "reg": 1e-4, "hidden_size": 16, "num_iters": 300, "std": 0.01, "dtype": "float32",
     "pixel_scale": 1.0, "momentum": 0.9},
    {"learning_rate": 1e-4, "reg": 1e-4, "hidden_size": 16, "num_iters": 300, "std": 0.01, "dtype": "float32",
     "pixel_scale": 1.0, "momentum": 0.9},
]
FIGURES = ("mnist_digits.png", "loss_accuracy_curves.png", "first_layer_weights.png", "best_net_weights.png")


def test_toy_sections_reproduce_the_seed():
    net, X, y = lab.toy_problem()
    assert lab.check_toy_scores(net, X) < 1e-7
    loss, diff = lab.check_toy_loss(net, X, y)
    assert diff < 1e-12 and abs(loss - 1.30378789133) < 1e-10
    errors = lab.gradient_check_table(net, X, y)
    assert list(errors) == ["W1", "W2", "b1", "b2"]  # the order the seed prints them in
    assert max(errors.values()) < 1e-8
    assert lab.train_toy(net, X, y) < 0.05


def test_quick_mode_reads_the_environment(monkeypatch):
    monkeypatch.delenv(lab.QUICK_ENV, raising=False)
    assert lab.default_search_preset() == "lab"
    monkeypatch.setenv(lab.QUICK_ENV, "1")
    assert lab.default_search_preset() == "lab-quick"
    monkeypatch.setenv(lab.QUICK_ENV, "0")
    assert not lab.quick_mode()


def test_run_lab_on_synthetic_data(tmp_path, capsys):
    data_dir = write_mnist_dir(tmp_path / "mnist")
    out = tmp_path / "lab"
    summary = lab.run_lab(out, data_dir=data_dir, validation_size=N_VAL, verify=False,
                          search_configs=TINY_SEARCH, n_jobs=1, progress=False)
    printed = capsys.readouterr().out
    for line in ("scores difference", "seed: < 1e-07", "W1 max relative error", "validation accuracy",
                 "seed: 0.8922", "best validation accuracy", "test accuracy", "seed: > 0.963"):
        assert line in printed

    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    for key in ("val_accuracy", "test_accuracy", "best_hyperparameters", "seconds", "test_set_uses",
                "seed", "config"):
        assert key in on_disk
    assert on_disk["test_set_uses"] == 1
    assert on_disk["best_hyperparameters"] == TINY_SEARCH[0]  # the rate that learns wins
    searched = [{name: row["config"][name] for name in TINY_SEARCH[0]} for row in on_disk["search_results"]]
    assert searched == TINY_SEARCH
    for name in FIGURES:
        assert imread(out / name).ndim == 3

    # The saved best net is the one that was chosen: same validation accuracy from raw pixels.
    data = raw(data_dir)
    saved = load_model(out / "best_model.npz")
    assert np.mean(saved.predict(data.X_val) == data.y_val) == on_disk["val_accuracy"]
    assert np.mean(saved.predict(data.X_test) == data.y_test) == on_disk["test_accuracy"]
    assert on_disk["val_accuracy"] > 0.9


def test_cattern_lab_command(tmp_path, monkeypatch):
    # The real presets train for 5500 steps; on 300 examples that is thousands of
    # epochs, so the command runs a tiny preset registered for this test.
    from cattern.tuning import space

    monkeypatch.setitem(space.SEARCH_PRESETS, "tiny", TINY_SEARCH)
    data_dir = write_mnist_dir(tmp_path / "mnist")
    status = main(["lab", "--out", str(tmp_path / "run"), *data_options(data_dir), "--n-jobs", "1",
                   "--no-progress", "--seed", "3", "--search-preset", "tiny"])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["config"]["search_preset"] == "tiny" and summary["seed"] == 3
    assert summary["test_set_uses"] == 1
    # The exit status says whether the seed's targets were met.
    assert status == (0 if all(summary["targets_met"].values()) else 1)


def test_cattern_lab_reports_a_missed_target(tmp_path, monkeypatch, capsys):
    from cattern.tuning import space

    monkeypatch.setitem(space.SEARCH_PRESETS, "hopeless", TINY_SEARCH[1:])  # a rate too small to learn
    data_dir = write_mnist_dir(tmp_path / "mnist")
    status = main(["lab", "--out", str(tmp_path / "run"), *data_options(data_dir), "--n-jobs", "1",
                   "--no-progress", "--search-preset", "hopeless"])
    assert status == 1
    assert "missed the seed's target(s): val_accuracy > 0.974" in capsys.readouterr().out
