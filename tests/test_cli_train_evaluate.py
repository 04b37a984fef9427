"""``cattern train`` and ``cattern evaluate`` on a tiny synthetic data set."""
import json
import os

import numpy as np
import pytest
from matplotlib.image import imread

from cattern.cli import main
from cattern.data.idx import write_idx
from cattern.model_io import load_model
from synthetic_data import NUM_CLASSES, data_options, raw, write_mnist_dir

# Pixels in [0, 1] and momentum: rates of this size suit them (the defaults are the seed's 0..255, plain SGD).
FAST = ["--num-iters", "120", "--hidden-size", "16", "--std", "0.01", "--learning-rate", "0.05",
        "--batch-size", "50", "--pixel-scale", "1", "--momentum", "0.9", "--no-progress"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_mnist_dir(tmp_path_factory.mktemp("data") / "mnist")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("train")
    assert main(["train", *data_options(data_dir), "--out", str(out), "--seed", "5", *FAST]) == 0
    return out


def test_train_writes_model_curves_and_summary(trained, data_dir):
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["test_accuracy"] is None and summary["test_set_uses"] == 0
    assert summary["seed"] == 5 and summary["config"]["seed"] == 5
    assert summary["best_hyperparameters"] == summary["config"]
    assert summary["config"]["num_iters"] == 120 and summary["config"]["hidden_size"] == 16
    assert summary["seconds"] > 0
    env = summary["environment"]  # what the run's last digits depend on
    assert env["numpy"] == np.__version__ and env["cpu_count"] == os.cpu_count()
    assert env["blas"]["num_threads"] >= 1 and env["blas"]["internal_api"]
    assert imread(trained / "curves.png").ndim == 3

    saved = load_model(trained / "model.npz")
    assert saved.config.to_dict() == summary["config"]
    assert len(saved.history["loss_history"]) == 120
    data = raw(data_dir)
    assert saved.preprocessing.pixel_scale == summary["config"]["pixel_scale"]
    scaled = data.X_train.reshape(len(data.X_train), -1) / 255 * saved.preprocessing.pixel_scale
    np.testing.assert_allclose(saved.mean_image, scaled.mean(axis=0), rtol=1e-5)
    assert np.mean(saved.predict(data.X_val) == data.y_val) == summary["val_accuracy"] > 0.9
    assert summary["data"]["fingerprint"].startswith(data.fingerprint)


def test_the_same_seed_gives_the_same_model(tmp_path, trained, data_dir):
    assert main(["train", *data_options(data_dir), "--out", str(tmp_path), "--seed", "5", *FAST]) == 0
    first, again = load_model(trained / "model.npz"), load_model(tmp_path / "model.npz")
    for name in first.model.params:
        np.testing.assert_array_equal(first.model.params[name], again.model.params[name])


def test_a_preset_is_the_starting_point_and_options_override_it(tmp_path, data_dir):
    assert main(["train", *data_options(data_dir), "--out", str(tmp_path), "--preset", "seed-lr-decay",
                 "--num-iters", "20", "--no-progress"]) == 0
    config = json.loads((tmp_path / "summary.json").read_text())["config"]
    assert (config["learning_rate"], config["learning_rate_decay"], config["num_iters"]) == (5e-4, 0.95, 20)


def test_bad_options_end_with_a_clear_error(tmp_path, data_dir, capsys):
    assert main(["train", *data_options(data_dir), "--out", str(tmp_path), "--learning-rate", "-1"]) == 2
    assert "--learning-rate must be a finite number >= 0; got -1.0" in capsys.readouterr().err
    assert main(["train", *data_options(data_dir), "--out", str(tmp_path), "--preset", "best-ever"]) == 2
    assert "unknown preset 'best-ever'" in capsys.readouterr().err
    assert not (tmp_path / "model.npz").exists()


def test_evaluate_reports_accuracy_per_class_and_per_half(tmp_path, trained, data_dir, capsys):
    assert main(["evaluate", str(trained / "model.npz"), *data_options(data_dir, split=False), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "evaluation.json").read_text())

    X_test, y_test = raw(data_dir).X_test, raw(data_dir).y_test
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


def test_evaluate_refuses_a_corrupt_or_foreign_model_and_writes_nothing(tmp_path, data_dir, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "evaluation.json").write_text("previous results\n")
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["evaluate", str(bad), *data_options(data_dir, split=False), "--out", str(out)]) == 2
    assert "is not a readable cattern model file" in capsys.readouterr().err
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W1=np.ones((3, 3)))
    assert main(["evaluate", str(foreign), *data_options(data_dir, split=False), "--out", str(out)]) == 2
    assert "this is not a cattern model file" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["evaluation.json"]
    assert (out / "evaluation.json").read_text() == "previous results\n"


def test_a_model_of_another_input_size_is_explained(tmp_path, trained, capsys):
    other = write_mnist_dir(tmp_path / "other")
    write_idx(other / "t10k-images-idx3-ubyte.gz", np.zeros((10, 5, 5), dtype=np.uint8))
    write_idx(other / "t10k-labels-idx1-ubyte.gz", np.zeros(10, dtype=np.uint8))
    assert main(["evaluate", str(trained / "model.npz"), *data_options(other, split=False), "--out", str(tmp_path)]) == 2
    assert "each image has 25 pixels but the model takes 64" in capsys.readouterr().err


def test_train_an_ensemble_then_evaluate_it(tmp_path, data_dir, capsys):
    out = tmp_path / "ensemble"
    assert main(["train", *data_options(data_dir), "--out", str(out), "--seed", "5", *FAST, "--model", "fc",
                 "--ensemble", "3", "--final-test", "true"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["ensemble"] == 3 and summary["test_set_uses"] == 1
    assert len(summary["final_loss"]) == 3 and len(summary["signals"]["members"]) == 3
    saved = load_model(out / "model.npz")
    assert len(saved.nets) == 3 and [len(h["loss_history"]) for h in saved.histories] == [120] * 3
    data = raw(data_dir)
    assert np.mean(saved.predict(data.X_val) == data.y_val) == summary["val_accuracy"]
    assert np.mean(saved.predict(data.X_test) == data.y_test) == summary["test_accuracy"]
    # Net 0 is the net a single run of the same seed trains.
    single = tmp_path / "single"
    assert main(["train", *data_options(data_dir), "--out", str(single), "--seed", "5", *FAST, "--model", "fc"]) == 0
    np.testing.assert_array_equal(load_model(single / "model.npz").model.params["W1"], saved.nets[0].params["W1"])
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.npz"), *data_options(data_dir, split=False)]) == 0
    assert f"test accuracy        {summary['test_accuracy']:.4f}" in capsys.readouterr().out
    assert main(["doctor", str(out)]) == 0 and main(["doctor", str(out / "summary.json")]) == 0
