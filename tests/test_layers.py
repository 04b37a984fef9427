"""Gradient checks of every layer against centered differences, in float64."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cattern.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from cattern.layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)

shapes = st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 5))  # (N, D, H)
seeds = st.integers(0, 2**31 - 1)


@settings(max_examples=25, deadline=None)
@given(shapes, seeds)
def test_affine_gradients(shape, seed):
    N, D, H = shape
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((N, D)), rng.standard_normal((D, H)), rng.standard_normal(H)
    dout = rng.standard_normal((N, H))
    out, cache = affine_forward(x, w, b)
    np.testing.assert_allclose(out, x @ w + b)
    dx, dw, db = affine_backward(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout)) < 1e-7
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w, dout)) < 1e-7
    assert rel_error(db, eval_numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b, dout)) < 1e-7


def test_affine_backward_can_skip_the_input_gradient():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), np.zeros(2)
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(np.ones((3, 2)), cache, input_grad=False)
    assert dx is None and dw.shape == (4, 2) and db.shape == (2,)


@settings(max_examples=25, deadline=None)
@given(shapes, seeds)
def test_relu_gradient_away_from_the_kink(shape, seed):
    N, D, _ = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D))
    x[np.abs(x) < 1e-2] = 0.5  # keep inputs off the kink at 0, where no derivative exists
    dout = rng.standard_normal((N, D))
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    dx = relu_backward(dout.copy(), cache)
    dx_num = eval_numerical_gradient_array(lambda v: relu_forward(v)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-7


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(2, 6), seeds)
def test_softmax_loss_gradient(N, C, seed):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((N, C))
    y = rng.integers(C, size=N)
    loss, dscores = softmax_loss(scores, y)
    dnum = eval_numerical_gradient(lambda s: softmax_loss(s, y)[0], scores, verbose=False)
    assert rel_error(dscores, dnum) < 1e-7


def test_softmax_loss_by_hand():
    # Two classes with equal scores: p = (1/2, 1/2), loss = -log(1/2) = log 2,
    # and the gradient is (p - onehot) / N = (1/2 - 1, 1/2) / 1.
    loss, dscores = softmax_loss(np.array([[3.0, 3.0]]), np.array([0]))
    assert loss == pytest.approx(np.log(2), abs=1e-15)
    np.testing.assert_allclose(dscores, [[-0.5, 0.5]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_loss_is_finite_for_huge_scores(dtype):
    # exp(1e4) overflows any float; log-sum-exp never forms it. The right class
    # scoring 2e4 below the best gives a loss of 2e4, not inf.
    scores = np.array([[1e4, -1e4, 0.0], [0.0, 1e30, -1e30]], dtype=dtype)
    loss, dscores = softmax_loss(scores, np.array([1, 2]))
    assert np.isfinite(loss) and np.isfinite(dscores).all()
    assert loss.dtype == dtype and dscores.dtype == dtype
    assert loss == pytest.approx((2e4 + 2e30) / 2, rel=1e-6)


def test_layers_keep_float32():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    w = rng.standard_normal((3, 2)).astype(np.float32)
    b = np.zeros(2, np.float32)
    out, cache = affine_forward(x, w, b)
    h, rcache = relu_forward(out)
    dx, dw, db = affine_backward(relu_backward(np.ones_like(h), rcache), cache)
    loss, dscores = softmax_loss(h, np.array([0, 1, 0, 1]))
    assert {a.dtype for a in (out, h, dx, dw, db, dscores)} == {np.dtype(np.float32)}
    assert loss.dtype == np.float32
