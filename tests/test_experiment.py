"""ExperimentConfig, build_model / train_model, and the options made from the fields."""
import argparse
import dataclasses

import numpy as np
import pytest

from cattern.experiment import (
    ExperimentConfig,
    add_config_arguments,
    build_model,
    config_from_args,
    train_model,
)
from cattern.presets import PRESETS, get_preset


def blobs(n=200, d=6, c=3, seed=0):
    """c well-separated Gaussian blobs in d dimensions: (n, d) float, (n,) int labels."""
    rng = np.random.default_rng(seed)
    centers = 4 * rng.standard_normal((c, d))
    y = rng.integers(0, c, size=n)
    return centers[y] + rng.standard_normal((n, d)), y


def test_defaults_are_the_seed_net_and_train_defaults():
    cfg = ExperimentConfig()
    assert (cfg.hidden_size, cfg.std, cfg.learning_rate, cfg.learning_rate_decay,
            cfg.reg, cfg.batch_size, cfg.momentum) == (50, 1e-4, 1e-3, 0.95, 5e-6, 200, 0.9)


@pytest.mark.parametrize("bad, message", [
    (dict(model="cnn"), "unknown model kind 'cnn'"),
    (dict(dtype="float16"), "dtype must be one of"),
    (dict(hidden_size=0), "hidden_size must be a positive integer"),
    (dict(learning_rate=-1.0), "learning_rate"),
    (dict(update_rule="lbfgs-magic"), "lbfgs-magic"),
    (dict(seed=-3), "seed must be an integer >= 0"),
])
def test_bad_values_are_refused_with_their_name(bad, message):
    with pytest.raises(ValueError, match=message):
        ExperimentConfig(**bad)


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
    add_config_arguments(parser)
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
