"""FullyConnectedNet: whole-net gradient checks, behaviour, and input errors."""
import numpy as np
import pytest

from cattern.gradient_check import eval_numerical_gradient
from cattern.models import FullyConnectedNet
from cattern.trainer import TrainConfig, Trainer

N, D, C = 6, 5, 4


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, D)), rng.integers(0, C, size=N)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("dropout,input_dropout", [(0.0, 0.0), (0.3, 0.2)])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_whole_net_gradient_check(normalization, dropout, input_dropout, reg):
    X, y = _data()
    net = FullyConnectedNet(D, [7, 6], C, dropout=dropout, input_dropout=input_dropout,
                            normalization=normalization, dtype=np.float64, seed=1, weight_scale=0.5)
    if normalization:  # move gamma, beta off their initial 1, 0 so their gradients are exercised
        rng = np.random.default_rng(2)
        for k in net.params:
            if k.startswith(("gamma", "beta")):
                net.params[k] += 0.3 * rng.standard_normal(net.params[k].shape)

    def loss():
        # The same dropout masks at every evaluation: the net is then a fixed function.
        net.dropout_rng = np.random.default_rng(5)
        return net.loss(X, y, reg=reg)

    value, grads = loss()
    assert set(grads) == set(net.params)
    for name, param in net.params.items():
        numerical = eval_numerical_gradient(lambda _: loss()[0], param, verbose=False)
        # An absolute floor: b_i before batch normalization has a true gradient of exactly 0
        # (the batch mean cancels it), where a relative error only measures rounding noise.
        np.testing.assert_allclose(grads[name], numerical, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_whole_net_gradient_check_with_label_smoothing(normalization):
    X, y = _data()
    net = FullyConnectedNet(D, [7, 6], C, dropout=0.3, normalization=normalization, label_smoothing=0.1,
                            dtype=np.float64, seed=1, weight_scale=0.5)

    def loss():
        net.dropout_rng = np.random.default_rng(5)
        return net.loss(X, y, reg=0.3)

    _, grads = loss()
    for name, param in net.params.items():
        numerical = eval_numerical_gradient(lambda _: loss()[0], param, verbose=False)
        np.testing.assert_allclose(grads[name], numerical, rtol=1e-5, atol=1e-8, err_msg=name)


def test_label_smoothing_keeps_the_scores_from_growing_without_bound():
    # On separable data the plain loss keeps pushing the right score up; with
    # smoothing the best margin is finite (log((1 - e + e/C) / (e/C)) for C classes).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, D))
    y = (X[:, 0] > 0).astype(int)
    margins = []
    for smoothing in (0.0, 0.2):
        net = FullyConnectedNet(D, [16], 2, label_smoothing=smoothing, dtype=np.float64, seed=0)
        Trainer(net, TrainConfig(num_iters=400, batch_size=40, learning_rate=0.2, seed=0)).fit(X, y)
        scores = net.scores(X)
        margins.append(np.mean(np.abs(scores[:, 1] - scores[:, 0])))
    assert margins[1] < np.log((1 - 0.2 + 0.1) / 0.1) + 0.5 < margins[0]


def test_param_keys_shapes_and_he_scale():
    net = FullyConnectedNet(400, [300, 200], 10, normalization="batchnorm", seed=0)
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    assert net.params["W2"].shape == (300, 200) and net.params["b3"].shape == (10,)
    assert all(v.dtype == np.float32 for v in net.params.values())
    assert set(net.buffers) == {"running_mean1", "running_var1", "running_mean2", "running_var2"}
    # He: std sqrt(2 / fan_in) for hidden layers; sqrt(1 / fan_in) for the output layer.
    assert abs(net.params["W1"].std() - np.sqrt(2 / 400)) < 0.002
    assert abs(net.params["W3"].std() - np.sqrt(1 / 200)) < 0.005


def test_same_seed_same_weights_and_masks():
    X, y = _data()
    a = FullyConnectedNet(D, [8], C, dropout=0.5, seed=3)
    b = FullyConnectedNet(D, [8], C, dropout=0.5, seed=3)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert a.loss(X, y)[0] == b.loss(X, y)[0]


def test_dropout_is_off_in_test_mode():
    X, _ = _data()
    net = FullyConnectedNet(D, [50, 50], C, dropout=0.5, input_dropout=0.5, dtype=np.float64, seed=0)
    s1, s2 = net.loss(X), net.scores(X)
    np.testing.assert_array_equal(s1, s2)          # deterministic: no masks drawn
    plain = FullyConnectedNet(D, [50, 50], C, dtype=np.float64, seed=0)
    np.testing.assert_allclose(s1, plain.scores(X))  # same weights, no dropout


def test_batchnorm_test_mode_uses_running_statistics():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, D)) * 3 + 1
    net = FullyConnectedNet(D, [6], C, normalization="batchnorm", dtype=np.float64, seed=0)
    before = net.scores(X)
    net.loss(X, rng.integers(0, C, 40))             # one training-mode pass updates the running stats
    assert not np.allclose(net.buffers["running_mean1"], 0)
    assert not np.allclose(net.scores(X), before)


def test_overfits_20_samples():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 30)).astype(np.float32), rng.integers(0, 10, 20)
    for normalization in (None, "batchnorm", "layernorm"):
        net = FullyConnectedNet(30, [50, 50], 10, normalization=normalization, seed=0)
        cfg = TrainConfig(num_iters=200, batch_size=20, learning_rate=1e-2, update_rule="adam",
                          learning_rate_decay=1.0, seed=0)
        history = Trainer(net, cfg).fit(X, y)
        assert history["loss_history"][-1] < 0.01, normalization
        assert (net.predict(X) == y).all(), normalization


def test_max_norm_constrain_bounds_every_column():
    net = FullyConnectedNet(D, [8], C, max_norm=0.5, weight_scale=2.0, seed=0)
    net.constrain()
    for k in ("W1", "W2"):
        norms = np.linalg.norm(net.params[k], axis=0)
        assert norms.max() <= 0.5 * (1 + 1e-6)
        assert np.isclose(norms.max(), 0.5)  # the long columns were scaled, not zeroed


def test_larger_reg_gives_smaller_weights():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((100, 20)).astype(np.float32), rng.integers(0, 3, 100)
    norms = []
    for reg in (0.0, 1.0):
        net = FullyConnectedNet(20, [30], 3, seed=0)
        Trainer(net, TrainConfig(num_iters=100, batch_size=50, learning_rate=0.05, reg=reg, seed=0)).fit(X, y)
        norms.append(np.linalg.norm(net.params["W1"]))
    assert norms[1] < norms[0]


@pytest.mark.parametrize("kwargs,match", [
    (dict(dropout=1.0), r"dropout is the probability.*got 1.0"),
    (dict(normalization="groupnorm"), r"normalization must be one of \[None, 'batchnorm', 'layernorm'\]"),
    (dict(max_norm=0), "max_norm must be > 0"),
    (dict(dtype=np.int32), "float32 or float64"),
    (dict(weight_scale="xavier"), "weight_scale must be 'he'"),
    (dict(label_smoothing=1.0), r"label_smoothing is the share .* got 1.0"),
])
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FullyConnectedNet(D, [4], C, **kwargs)


def test_bad_hidden_dims_and_data_are_refused():
    with pytest.raises(ValueError, match="hidden_dims entry must be a positive integer; got 0"):
        FullyConnectedNet(D, [4, 0], C)
    net = FullyConnectedNet(D, [4], C)
    with pytest.raises(ValueError, match="expects input_size=5"):
        net.loss(np.ones((2, 3)), np.zeros(2, int))
    with pytest.raises(ValueError, match="label 7"):
        net.loss(np.ones((2, D)), np.array([0, 7]))


def test_experiment_config_builds_and_trains_an_fc_net():
    from dataclasses import replace

    from cattern.experiment import ExperimentConfig, build_model, train_model

    cfg = ExperimentConfig(model="fc", hidden_dims="12,8", dropout=0.1, normalization="layernorm",
                           max_norm=3.0, dtype="float32", update_rule="adam", learning_rate=1e-2,
                           lr_schedule="cosine", warmup_epochs=1, num_iters=30, batch_size=20,
                           patience=5, restore_best=True)
    net = build_model(cfg, 16, 3)
    assert isinstance(net, FullyConnectedNet)
    assert [net.params[f"W{i}"].shape for i in (1, 2, 3)] == [(16, 12), (12, 8), (8, 3)]
    assert net.dropout == 0.1 and net.normalization == "layernorm" and net.max_norm == 3.0
    assert net.label_smoothing == 0.0
    assert build_model(replace(cfg, label_smoothing=0.1), 16, 3).label_smoothing == 0.1
    assert build_model(ExperimentConfig(model="fc", hidden_size=7), 16, 3).hidden_dims == [7]
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 16)).astype(np.float32), rng.integers(0, 3, 60)
    model, history = train_model(cfg, X, y, X[:20], y[:20])
    assert len(history["loss_history"]) <= 30
    assert (model.predict(X[:20]) == y[:20]).mean() == max(history["val_acc_history"])  # best restored


def test_experiment_augmentation_needs_the_mean_image():
    from cattern.experiment import ExperimentConfig, train_model

    cfg = ExperimentConfig(model="fc", hidden_size=8, augment_shift=1, num_iters=3, batch_size=10,
                           dtype="float32")
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 784), dtype=np.float32), rng.integers(0, 3, 20)
    with pytest.raises(ValueError, match="pass mean_image="):
        train_model(cfg, X, y, X, y)
    model, _ = train_model(cfg, X, y, X, y, mean_image=np.zeros(784, np.float32))
    assert model.params["W1"].shape == (784, 8)


@pytest.mark.parametrize("kwargs,match", [
    (dict(hidden_dims="1024,x"), "hidden_dims must be positive integers separated by commas"),
    (dict(hidden_dims="1024,0"), "hidden_dims must be positive integers"),
    (dict(normalization="batch"), "normalization must be one of"),
    (dict(augment_scale=1.5), "augment_scale must be < 1"),  # the field, not the Augmenter's max_scale
])
def test_experiment_config_refuses_bad_fc_options(kwargs, match):
    from cattern.experiment import ExperimentConfig

    with pytest.raises(ValueError, match=match):
        ExperimentConfig(model="fc", **kwargs)


@pytest.mark.parametrize("normalization", ["none", "batchnorm"])
def test_fc_nets_save_and_load_with_their_batchnorm_statistics(tmp_path, normalization):
    from cattern.experiment import ExperimentConfig, train_model
    from cattern.model_io import load_model, save_model

    cfg = ExperimentConfig(model="fc", hidden_dims="12,8", normalization=normalization, dtype="float32", pixel_scale=1.0,
                           learning_rate=0.05, num_iters=20, batch_size=20)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 16)).astype(np.float32), rng.integers(0, 3, 60)
    model, history = train_model(cfg, X, y, X, y)
    from cattern.data.splits import Preprocessing

    save_model(tmp_path / "fc.npz", model, preprocessing=Preprocessing(1.0, np.zeros(16, np.float32)),
               config=cfg, history=history)
    saved = load_model(tmp_path / "fc.npz")
    assert isinstance(saved.model, FullyConnectedNet) and saved.model.hidden_dims == [12, 8]
    for name, value in model.buffers.items():
        np.testing.assert_array_equal(saved.model.buffers[name], value)
    np.testing.assert_array_equal(saved.model.scores(X), model.scores(X))  # test mode uses the buffers
