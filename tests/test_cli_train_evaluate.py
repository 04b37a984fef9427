"""``cattern train`` and ``cattern evaluate`` on a tiny synthetic data set."""
import json

import numpy as np
import pytest
from matplotlib.image import imread

from cattern.cli import main
from cattern.lab import load_splits
from cattern.model_io import load_model
from synthetic_data import NUM_CLASSES, write_npz

FAST = ["--num-iters", "120", "--hidden-size", "16", "--std", "0.01", "--learning-rate", "0.05",
        "--batch-size", "50", "--no-progress"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return write_npz(tmp_path_factory.mktemp("data") / "synthetic.npz")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_file):
    out = tmp_path_factory.mktemp("train")
    assert main(["train", "--data", str(data_file), "--out", str(out), "--seed", "5", *FAST]) == 0
    return out


def test_train_writes_model_curves_and_summary(trained, data_file):
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["test_accuracy"] is None and summary["test_set_uses"] == 0
    assert summary["seed"] == 5 and summary["config"]["seed"] == 5
    assert summary["best_hyperparameters"] == summary["config"]
    assert summary["config"]["num_iters"] == 120 and summary["config"]["hidden_size"] == 16
    assert summary["seconds"] > 0
    assert imread(trained / "curves.png").ndim == 3

    saved = load_model(trained / "model.npz")
    assert saved.config == summary["config"]
    assert len(saved.history["loss_history"]) == 120
    X_train, _, X_val, y_val, _, _ = load_splits(data_file=data_file)
    np.testing.assert_allclose(saved.mean_image, X_train.reshape(len(X_train), -1).mean(axis=0), rtol=1e-5)
    assert np.mean(saved.predict(X_val) == y_val) == summary["val_accuracy"] > 0.9


def test_the_same_seed_gives_the_same_model(tmp_path, trained, data_file):
    assert main(["train", "--data", str(data_file), "--out", str(tmp_path), "--seed", "5", *FAST]) == 0
    first, again = load_model(trained / "model.npz"), load_model(tmp_path / "model.npz")
    for name in first.model.params:
        np.testing.assert_array_equal(first.model.params[name], again.model.params[name])


def test_a_preset_is_the_starting_point_and_options_override_it(tmp_path, data_file):
    assert main(["train", "--data", str(data_file), "--out", str(tmp_path), "--preset", "seed-lr-decay",
                 "--num-iters", "20", "--no-progress"]) == 0
    config = json.loads((tmp_path / "summary.json").read_text())["config"]
    assert (config["learning_rate"], config["learning_rate_decay"], config["num_iters"]) == (1.5e-2, 0.95, 20)


def test_bad_options_end_with_a_clear_error(tmp_path, data_file, capsys):
    assert main(["train", "--data", str(data_file), "--out", str(tmp_path), "--learning-rate", "-1"]) == 2
    assert "learning_rate must be a finite number >= 0; got -1.0" in capsys.readouterr().err
    assert main(["train", "--data", str(data_file), "--out", str(tmp_path), "--preset", "best-ever"]) == 2
    assert "unknown preset 'best-ever'" in capsys.readouterr().err
    assert not (tmp_path / "model.npz").exists()


def test_evaluate_reports_accuracy_per_class_and_per_half(tmp_path, trained, data_file, capsys):
    assert main(["evaluate", str(trained / "model.npz"), "--data", str(data_file), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "evaluation.json").read_text())

    *_, X_test, y_test = load_splits(data_file=data_file)
    predicted = load_model(trained / "model.npz").predict(X_test)
    correct = predicted == y_test
    assert report["accuracy"] == np.mean(correct)
    assert f"test accuracy        {np.mean(correct):.4f}" in printed
    half = len(y_test) // 2
    assert report["half_accuracy"] == [np.mean(correct[:half]), np.mean(correct[half:])]
    assert report["per_class_accuracy"] == [np.mean(correct[y_test == c]) for c in range(NUM_CLASSES)]
    counts = np.array(report["confusion_matrix"])
    assert counts.shape == (NUM_CLASSES, NUM_CLASSES) and counts.sum() == len(y_test)
    assert np.trace(counts) == correct.sum()
    assert report["test_set_uses"] == 1
    for name in ("confusion_matrix.png", "misclassified.png"):
        assert imread(tmp_path / name).ndim == 3


def test_evaluate_refuses_a_corrupt_or_foreign_model_and_writes_nothing(tmp_path, data_file, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "evaluation.json").write_text("previous results\n")
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["evaluate", str(bad), "--data", str(data_file), "--out", str(out)]) == 2
    assert "is not a readable cattern model file" in capsys.readouterr().err
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W1=np.ones((3, 3)))
    assert main(["evaluate", str(foreign), "--data", str(data_file), "--out", str(out)]) == 2
    assert "this is not a cattern model file" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["evaluation.json"]
    assert (out / "evaluation.json").read_text() == "previous results\n"


def test_a_model_of_another_input_size_is_explained(tmp_path, trained, capsys):
    other = write_npz(tmp_path / "other.npz")
    with np.load(other) as npz:
        arrays = dict(npz)
    arrays["X_test"] = np.zeros((10, 5, 5, 1), dtype=np.float32)
    arrays["y_test"] = np.zeros(10, dtype=np.int64)
    np.savez(other, **arrays)
    assert main(["evaluate", str(trained / "model.npz"), "--data", str(other), "--out", str(tmp_path)]) == 2
    assert "each image has 25 pixels but the model takes 64" in capsys.readouterr().err
