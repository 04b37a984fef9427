"""Training on the validation images too: the last step of a recipe chosen on them.

The split then has no validation rows, nothing claims a validation accuracy,
and nothing that chooses by validation accuracy (the best epoch, early
stopping, a search) accepts it.
"""
import json

import numpy as np
import pytest

from cattern.cli import main
from cattern.data.splits import Preprocessing, prepare
from cattern.experiment import ExperimentConfig, train_model
from cattern.model_io import load_model
from cattern.presets import PRESETS
from cattern.tuning.results import resolve
from cattern.viz import figures
from synthetic_data import N_VAL, data_options, raw, write_mnist_dir

TINY = ["--num-iters", "60", "--hidden-size", "16", "--std", "0.01", "--learning-rate", "0.05",
        "--batch-size", "50", "--pixel-scale", "1", "--momentum", "0.9", "--no-progress"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_mnist_dir(tmp_path_factory.mktemp("mnist"))


def test_the_split_trains_on_every_training_image_in_file_order_and_validates_on_none(data_dir):
    data = raw(data_dir)
    held_out, merged = prepare(data, 1.0), prepare(data, 1.0, train_on_validation=True)
    assert merged.X_val is None and merged.y_val is None
    # The training file's order: its first N_VAL images are the validation images.
    expected, _ = Preprocessing.fit(np.concatenate([data.X_val, data.X_train]), 1.0)
    np.testing.assert_array_equal(merged.preprocessing.mean_image, expected.mean_image)
    assert not np.array_equal(merged.preprocessing.mean_image, held_out.preprocessing.mean_image)
    np.testing.assert_array_equal(merged.X_train[:N_VAL], merged.preprocessing.transform(data.X_val))
    np.testing.assert_array_equal(merged.X_train[N_VAL:], merged.preprocessing.transform(data.X_train))
    np.testing.assert_array_equal(merged.y_train, np.concatenate([data.y_val, data.y_train]))
    assert merged.fingerprint == held_out.fingerprint + ":train_on_validation"
    assert merged.test.shape == held_out.test.shape and merged.test.uses == 0


@pytest.mark.parametrize("chooser", [{"restore_best": True}, {"patience": 3}])
def test_nothing_that_chooses_by_validation_accuracy_is_accepted_with_it(chooser):
    with pytest.raises(ValueError, match="train_on_validation=True trains on the validation images"):
        ExperimentConfig(train_on_validation=True, **chooser)
    with pytest.raises(ValueError, match="a search ranks configs by their validation accuracy"):
        resolve({"train_on_validation": True})
    ExperimentConfig(**chooser)  # each is fine on its own


def test_a_net_trains_without_validation_rows_and_its_curves_show_none():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 12)).astype(np.float32), rng.integers(0, 3, 60)
    cfg = ExperimentConfig(hidden_size=8, std=0.1, num_iters=20, batch_size=10, learning_rate=0.1,
                           train_on_validation=True)
    model, history = train_model(cfg, X, y, None, None)
    assert history["val_acc_history"] == [] and len(history["train_acc_history"]) == 4
    assert model.params["W2"].shape == (8, 3)  # the classes come from y alone
    ax = figures.curves_figure([history]).axes[1]
    assert [line.get_label() for line in ax.get_lines()] == ["train"]


def test_train_from_the_command_line_measures_no_validation_accuracy_and_tests_once(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *data_options(data_dir), "--out", str(out), "--train-on-validation", "true",
                 "--final-test", "true", *TINY]) == 0
    assert "no validation accuracy (the net trained on those images)" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    data = raw(data_dir)
    assert summary["val_accuracy"] is None and summary["config"]["train_on_validation"] is True
    assert summary["data"]["train_size"] == len(data.y_train) + N_VAL
    assert summary["data"]["validation_size"] == N_VAL
    assert summary["data"]["fingerprint"].endswith(":train_on_validation")
    saved = load_model(out / "model.npz")
    assert saved.config.train_on_validation is True
    assert summary["test_set_uses"] == 1
    assert summary["test_accuracy"] == np.mean(saved.predict(data.X_test) == data.y_test)
    np.testing.assert_array_equal(saved.mean_image,
                                  prepare(data, 1.0, train_on_validation=True).preprocessing.mean_image)


def test_the_preset_trains_fc_deskew_s_recipe_on_all_60000_images_to_its_last_epoch():
    all_in, chosen = PRESETS["fc-deskew-all"], PRESETS["fc-deskew"]
    assert all_in.train_on_validation and not all_in.restore_best and all_in.final_test
    assert ExperimentConfig.from_dict({**all_in.to_dict(), "train_on_validation": False, "restore_best": True,
                                       "num_iters": chosen.num_iters}) == chosen
