"""One step (or two) of each update rule against its written formula, and the max-norm constraint."""
import numpy as np
import pytest

from cattern import optim


def test_sgd_one_step():
    w, dw = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    next_w, _ = optim.sgd(w, dw, {"learning_rate": 0.1})
    # w - lr * dw = (1 - 0.05, -2 - 0.025)
    np.testing.assert_array_equal(next_w, [0.95, -2.025])


def test_sgd_momentum_two_steps():
    w, dw = np.array([1.0]), np.array([2.0])
    config = {"learning_rate": 0.1, "momentum": 0.9}
    w, config = optim.sgd_momentum(w, dw, config)
    # v = 0.9 * 0 - 0.1 * 2 = -0.2 ; w = 1 - 0.2 = 0.8
    np.testing.assert_allclose(config["velocity"], [-0.2])
    np.testing.assert_allclose(w, [0.8])
    w, config = optim.sgd_momentum(w, dw, config)
    # v = 0.9 * -0.2 - 0.1 * 2 = -0.38 ; w = 0.8 - 0.38 = 0.42
    np.testing.assert_allclose(config["velocity"], [-0.38])
    np.testing.assert_allclose(w, [0.42])


def test_rules_update_in_place_and_keep_float32():
    for rule in optim.RULES.values():
        w = np.ones(3, np.float32)
        out, _ = rule(w, np.ones(3, np.float32), {"learning_rate": 0.1})
        assert out is w and w.dtype == np.float32


def test_unknown_rule_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown update rule 'adamm'; choose one of \["):
        optim.get_rule("adamm")


def test_sgd_nesterov_two_steps():
    w, dw = np.array([1.0]), np.array([2.0])
    config = {"learning_rate": 0.1, "momentum": 0.9}
    w, config = optim.sgd_nesterov(w, dw, config)
    # v = 0.9 * 0 - 0.1 * 2 = -0.2 ; w = 1 - 0.9 * 0 + 1.9 * -0.2 = 0.62
    np.testing.assert_allclose(config["velocity"], [-0.2])
    np.testing.assert_allclose(w, [0.62])
    w, config = optim.sgd_nesterov(w, dw, config)
    # v = 0.9 * -0.2 - 0.2 = -0.38 ; w = 0.62 - 0.9 * -0.2 + 1.9 * -0.38 = 0.62 + 0.18 - 0.722 = 0.078
    np.testing.assert_allclose(config["velocity"], [-0.38])
    np.testing.assert_allclose(w, [0.078])


def test_sgd_nesterov_in_place_gives_the_bits_of_the_formula():
    # The rule reuses its buffers to avoid allocations; the presets' figures depend on
    # every rounding, so the in-place form must round exactly as the formula written out.
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 32)).astype(np.float32)
    w_ref, v_ref = w.copy(), np.zeros_like(w)
    config = {"learning_rate": 0.05, "momentum": 0.9}
    for _ in range(20):
        dw = rng.standard_normal(w.shape).astype(np.float32)
        optim.sgd_nesterov(w, dw, config)
        v_prev = v_ref
        v_ref = 0.9 * v_prev - 0.05 * dw
        w_ref = (w_ref - 0.9 * v_prev) + (1 + 0.9) * v_ref
    assert v_ref.dtype == np.float32 and w_ref.dtype == np.float32
    np.testing.assert_array_equal(config["velocity"], v_ref)
    np.testing.assert_array_equal(w, w_ref)


def test_adam_first_step_is_learning_rate_times_sign():
    w, dw = np.array([1.0, -1.0, 0.5]), np.array([0.3, -2.0, 1e-3])
    w, config = optim.adam(w, dw, {"learning_rate": 0.01})
    # t = 1: m_hat = dw and v_hat = dw**2, so the step is lr * dw / (|dw| + eps) ~ lr * sign(dw).
    expected = np.array([1.0, -1.0, 0.5]) - 0.01 * dw / (np.abs(dw) + 1e-8)
    np.testing.assert_allclose(w, expected, rtol=1e-12)
    assert config["t"] == 1


def test_adam_two_steps_against_the_formula():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(5)
    g1, g2 = rng.standard_normal(5), rng.standard_normal(5)
    b1, b2, eps, lr = 0.8, 0.95, 1e-3, 0.1
    w, config = w0.copy(), {"learning_rate": lr, "beta1": b1, "beta2": b2, "eps": eps}
    optim.adam(w, g1, config)
    optim.adam(w, g2, config)
    # The docstring's formula, written out plainly.
    m = v = np.zeros(5)
    ref = w0.copy()
    for t, g in ((1, g1), (2, g2)):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        ref = ref - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(w, ref, rtol=1e-12)
    np.testing.assert_allclose(config["m"], m)
    np.testing.assert_allclose(config["v"], v)


def test_adamw_decays_the_weight_outside_the_adaptive_step():
    w, dw = np.array([2.0]), np.array([0.5])
    w, _ = optim.adamw(w, dw, {"learning_rate": 0.1, "weight_decay": 0.5})
    # w <- 2 * (1 - 0.1 * 0.5) = 1.9 ; then Adam's first step of -0.1 * sign(0.5): 1.8
    np.testing.assert_allclose(w, [1.8], rtol=1e-7)
    # With a zero gradient, the decay alone moves w.
    w, _ = optim.adamw(np.array([2.0]), np.array([0.0]), {"learning_rate": 0.1, "weight_decay": 0.5})
    np.testing.assert_allclose(w, [1.9])


@pytest.mark.parametrize("name", ["sgd_nesterov", "adam", "adamw"])
def test_new_rules_are_registered_in_place_and_keep_float32(name):
    rule = optim.get_rule(name)
    w = np.ones((3, 2), np.float32)
    out, config = rule(w, np.full((3, 2), 0.5, np.float32), {"learning_rate": 0.1})
    assert out is w and w.dtype == np.float32
    assert all(v.dtype == np.float32 for v in config.values() if isinstance(v, np.ndarray))
    assert (w < 1).all()


def test_clip_column_norms():
    w = np.array([[3.0, 0.1], [4.0, 0.1]])   # column norms 5 and 0.141
    optim.clip_column_norms(w, 1.0)
    # The long column is scaled onto the unit ball; the short one is untouched.
    np.testing.assert_allclose(w, [[0.6, 0.1], [0.8, 0.1]])
