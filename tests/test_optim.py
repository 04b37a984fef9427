"""One step of each update rule against its written formula."""
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
