"""ExperimentConfig, build_model / train_model, and the options made from the fields."""
import argparse
import dataclasses
import typing

import numpy as np
import pytest

from cattern.cli.options import add_config_options, config_from_args
from cattern.experiment import ExperimentConfig, build_model, check_fits_in_memory, field_type, train_model
from cattern.models import FullyConnectedNet
from cattern.presets import PRESETS, get_preset
from cattern.trainer import TrainConfig


def blobs(n=200, d=6, c=3, seed=0):
    """c well-separated Gaussian blobs in d dimensions: (n, d) float, (n,) int labels."""
    rng = np.random.default_rng(seed)
    centers = 4 * rng.standard_normal((c, d))
    y = rng.integers(0, c, size=n)
    return centers[y] + rng.standard_normal((n, d)), y


def test_defaults_are_the_seed_net_and_train_defaults():
    cfg = ExperimentConfig()
    assert (cfg.hidden_size, cfg.initial_std(), cfg.learning_rate, cfg.learning_rate_decay,
            cfg.reg, cfg.batch_size, cfg.momentum, cfg.pixel_scale) == (50, 1e-4, 1e-3, 0.95, 5e-6, 200, 0.0, 255.0)


@pytest.mark.parametrize("bad, message", [
    (dict(model="cnn"), r"model must be one of \['two_layer', 'fc'\]; got 'cnn'"),
    (dict(dtype="float16"), "dtype must be one of"),
    (dict(hidden_size=0), "hidden_size must be a positive integer"),
    (dict(hidden_size=2.5), "hidden_size must be an integer; got 2.5"),
    (dict(learning_rate=-1.0), "learning_rate"),
    (dict(learning_rate=float("nan")), "learning_rate must be a finite number; got nan"),
    (dict(update_rule="lbfgs-magic"), "lbfgs-magic"),
    (dict(seed=-3), "seed must be an integer >= 0"),
    (dict(pixel_scale=0.0), "pixel_scale must be a finite number > 0"),
    (dict(restore_best="yes"), "restore_best must be true or false"),
    # Options of the fc model are refused for the two-layer net, never ignored.
    (dict(dropout=0.5), "dropout=0.5: these options belong to the fc model, and the two_layer model"),
    (dict(dropout=float("nan")), "dropout must be a finite number"),
    (dict(hidden_dims="10,10", normalization="batchnorm"), "hidden_dims='10,10', normalization='batchnorm'"),
    (dict(model="fc", dropout=1.0), r"dropout must be in \[0, 1\)"),
    (dict(model="fc", input_dropout=-0.1), "input_dropout must be a finite number >= 0"),
    (dict(model="fc", std=0.0), "std must be > 0 for an fc net"),
    (dict(label_smoothing=0.1), "label_smoothing=0.1: these options belong to the fc model, and the two_layer"),
    (dict(model="fc", label_smoothing=1.0), r"label_smoothing must be in \[0, 1\)"),
    (dict(model="fc", label_smoothing=-0.1), "label_smoothing must be a finite number >= 0"),
    # The step schedule's fields are checked under any schedule: a negative period or a
    # factor above 1 would make the rate grow instead of decay.
    (dict(step_epochs=0.0), "step_epochs must be > 0"),
    (dict(step_epochs=-1.0, lr_schedule="step"), "step_epochs must be a finite number >= 0"),
    (dict(step_gamma=2.0), r"step_gamma must be in \(0, 1\]"),
    (dict(step_gamma=0.0, lr_schedule="step"), r"step_gamma must be in \(0, 1\]"),
    (dict(momentum=1.0), r"momentum must be in \[0, 1\)"),
    (dict(momentum=1.5, update_rule="sgd_nesterov"), r"momentum must be in \[0, 1\)"),
    (dict(lr_schedule="cosine", learning_rate=0.1, min_learning_rate=0.2),
     r"min_learning_rate must be at most the rate it decays from, learning_rate=0.1 \(the cosine schedule\); "
     r"got 0.2"),
])
def test_bad_values_are_refused_with_their_name(bad, message):
    with pytest.raises(ValueError, match=message):
        ExperimentConfig(**bad)


def test_numbers_are_stored_as_their_field_s_type():
    cfg = ExperimentConfig(learning_rate=1, pixel_scale=np.float32(255), num_iters=np.int64(10))
    assert type(cfg.learning_rate) is float and type(cfg.pixel_scale) is float and type(cfg.num_iters) is int
    assert cfg == ExperimentConfig(learning_rate=1.0, pixel_scale=255.0, num_iters=10)


def test_the_train_config_takes_every_shared_field_and_they_agree():
    """TrainConfig is derived from ExperimentConfig in one place: each field the two
    share passes through, and the two declare it with the same type."""
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    shared = train_fields & {f.name for f in dataclasses.fields(ExperimentConfig)}
    assert len(shared) >= 20
    # The only TrainConfig fields with no option: the train-accuracy subset and
    # the augmenter, which ExperimentConfig builds from its augment_* fields.
    assert train_fields - shared == {"train_acc_size", "augment"}
    exp_hints, train_hints = typing.get_type_hints(ExperimentConfig), typing.get_type_hints(TrainConfig)
    for name in shared:
        assert field_type(exp_hints[name]) is field_type(train_hints[name]), name
    cfg = ExperimentConfig(model="fc", learning_rate=0.3, momentum=0.5, reg=1e-3, num_iters=77, batch_size=9,
                           update_rule="adamw", beta1=0.8, weight_decay=0.1, lr_schedule="step", step_gamma=0.5,
                           patience=3, restore_best=True, catch_interrupt=True, warmup_epochs=2.0, seed=4)
    train = cfg.train_config()
    for name in shared:
        assert getattr(train, name) == getattr(cfg, name), name


def test_std_is_honoured_for_fc_nets():
    """``--std`` used to be ignored for fc nets: now it is their weights' scale, and
    without it they take He initialization."""
    he = build_model(ExperimentConfig(model="fc", hidden_dims="400,300"), 784, 10)
    scaled = build_model(ExperimentConfig(model="fc", hidden_dims="400,300", std=0.01), 784, 10)
    assert isinstance(scaled, FullyConnectedNet)
    assert abs(scaled.params["W2"].std() - 0.01) < 0.001
    assert abs(he.params["W2"].std() - np.sqrt(2 / 400)) < 0.005
    # A preset's config turned into an fc net keeps the fc default, not the two-layer one.
    turned = dataclasses.replace(ExperimentConfig(), model="fc")
    assert turned.initial_std() is None and ExperimentConfig().initial_std() == 1e-4


def test_a_net_too_large_for_the_machine_is_refused_before_allocating():
    with pytest.raises(MemoryError, match=r"needs about \d+\.\d GiB \(float64\), more than half"):
        build_model(ExperimentConfig(hidden_size=100_000_000), 784, 10)
    check_fits_in_memory(ExperimentConfig(hidden_size=1024), 784, 10, available=2**30)
    with pytest.raises(MemoryError, match="more than half of this machine's 0.0 GiB"):
        check_fits_in_memory(ExperimentConfig(hidden_size=1024), 784, 10, available=2**20)


def test_dict_round_trip_and_unknown_fields():
    cfg = ExperimentConfig(hidden_size=7, dtype="float32", learning_rate=0.2)
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"unknown config field\(s\) \['colour'\]"):
        ExperimentConfig.from_dict({**cfg.to_dict(), "colour": "red"})


def test_build_model_follows_the_config():
    model = build_model(ExperimentConfig(hidden_size=7, dtype="float32"), input_size=5, num_classes=4)
    assert model.params["W1"].shape == (5, 7) and model.params["W2"].shape == (7, 4)
    assert model.params["W1"].dtype == np.float32


def test_train_model_learns_and_is_repeatable():
    X, y = blobs()
    cfg = ExperimentConfig(hidden_size=16, std=0.1, learning_rate=0.05, num_iters=150, batch_size=50)
    model, history = train_model(cfg, X, y, X, y)
    assert (model.predict(X) == y).mean() > 0.95
    assert len(history["loss_history"]) == 150
    again, history2 = train_model(cfg, X, y, X, y)
    assert history2["loss_history"] == history["loss_history"]
    np.testing.assert_array_equal(again.params["W1"], model.params["W1"])
    other, _ = train_model(dataclasses.replace(cfg, seed=1), X, y, X, y)
    assert not np.array_equal(other.params["W1"], model.params["W1"])


def test_every_field_is_an_option_and_only_given_options_override():
    parser = argparse.ArgumentParser()
    add_config_options(parser)
    for f in dataclasses.fields(ExperimentConfig):
        assert "--" + f.name.replace("_", "-") in parser.format_help()
    base = get_preset("seed-lr-decay")
    args = parser.parse_args(["--hidden-size", "64", "--learning-rate", "0.5", "--dtype", "float32"])
    cfg = config_from_args(args, base)
    assert (cfg.hidden_size, cfg.learning_rate, cfg.dtype) == (64, 0.5, "float32")
    assert cfg.num_iters == base.num_iters and cfg.learning_rate_decay == base.learning_rate_decay
    with pytest.raises(SystemExit):
        parser.parse_args(["--dtype", "float16"])


def test_presets():
    assert PRESETS["seed-fixed-lr"].learning_rate_decay == 1.0
    assert PRESETS["seed-lr-decay"].learning_rate > PRESETS["seed-fixed-lr"].learning_rate
    with pytest.raises(ValueError, match="unknown preset 'nope'; choose one of"):
        get_preset("nope")


def test_fc_deskew_last_is_fc_deskew_ending_on_its_last_epoch():
    last, chosen = PRESETS["fc-deskew-last"], PRESETS["fc-deskew"]
    assert chosen.restore_best and not last.restore_best and last.final_test
    assert dataclasses.replace(last, restore_best=True) == chosen
