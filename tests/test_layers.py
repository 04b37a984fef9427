"""Gradient checks of every layer against centered differences, in float64: affine, ReLU,
softmax, dropout, batch normalization and layer normalization.

Inputs are random, so errors are measured over each whole gradient
(:func:`~cattern.gradient_check.norm_rel_error`): an entry that is near zero only
because larger terms cancel has an elementwise error no centered difference can
resolve, and failed CI once (the pinned example below)."""
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from cattern.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, norm_rel_error
from cattern.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
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
    assert norm_rel_error(dx, eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout)) < 1e-7
    assert norm_rel_error(dw, eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w, dout)) < 1e-7
    assert norm_rel_error(db, eval_numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b, dout)) < 1e-7


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
    assert norm_rel_error(dx, dx_num) < 1e-7


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(2, 6), seeds)
def test_softmax_loss_gradient(N, C, seed):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((N, C))
    y = rng.integers(C, size=N)
    loss, dscores = softmax_loss(scores, y)
    dnum = eval_numerical_gradient(lambda s: softmax_loss(s, y)[0], scores, verbose=False)
    assert norm_rel_error(dscores, dnum) < 1e-7


def test_softmax_loss_by_hand():
    # Two classes with equal scores: p = (1/2, 1/2), loss = -log(1/2) = log 2,
    # and the gradient is (p - onehot) / N = (1/2 - 1, 1/2) / 1.
    loss, dscores = softmax_loss(np.array([[3.0, 3.0]]), np.array([0]))
    assert loss == pytest.approx(np.log(2), abs=1e-15)
    np.testing.assert_allclose(dscores, [[-0.5, 0.5]])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(2, 6), st.sampled_from([0.05, 0.1, 0.5]), seeds)
@example(N=3, C=4, smoothing=0.5, seed=441842)  # one entry 1.9e-5: elementwise error 2.6e-7
def test_softmax_loss_gradient_with_label_smoothing(N, C, smoothing, seed):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((N, C))
    y = rng.integers(C, size=N)
    loss, dscores = softmax_loss(scores, y, smoothing)
    dnum = eval_numerical_gradient(lambda s: softmax_loss(s, y, smoothing)[0], scores, verbose=False)
    assert norm_rel_error(dscores, dnum) < 1e-7
    # The same loss written out: cross-entropy against q = (1 - e) onehot + e / C.
    q = np.full((N, C), smoothing / C)
    q[np.arange(N), y] += 1 - smoothing
    log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    assert loss == pytest.approx(-(q * log_p).sum() / N, rel=1e-12)


def test_softmax_loss_with_label_smoothing_by_hand():
    # Two classes, scores (log 3, 0): p = (3/4, 1/4), label 0, e = 0.2, so
    # q = (0.8 + 0.1, 0.1) = (0.9, 0.1); loss = -(0.9 log 3/4 + 0.1 log 1/4);
    # gradient p - q = (3/4 - 0.9, 1/4 - 0.1) = (-0.15, 0.15).
    loss, dscores = softmax_loss(np.array([[np.log(3.0), 0.0]]), np.array([0]), 0.2)
    assert loss == pytest.approx(-(0.9 * np.log(0.75) + 0.1 * np.log(0.25)), abs=1e-15)
    np.testing.assert_allclose(dscores, [[-0.15, 0.15]], atol=1e-15)


def test_softmax_loss_with_smoothing_0_is_the_plain_loss_bit_for_bit():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((7, 10)).astype(np.float32)
    y = rng.integers(10, size=7)
    plain, smoothed = softmax_loss(scores, y), softmax_loss(scores, y, 0.0)
    assert plain[0] == smoothed[0] and np.array_equal(plain[1], smoothed[1])
    loss, dscores = softmax_loss(scores, y, 0.1)
    assert loss.dtype == np.float32 and dscores.dtype == np.float32


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


# ---------------------------------------------------------------- dropout

@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.sampled_from([0.1, 0.5, 0.8]), seeds)
def test_dropout_gradient_with_a_fixed_mask(N, H, p, seed):
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    _, mask = dropout_forward(x, p, True, rng=np.random.default_rng(seed))
    out, cache = dropout_forward(x, p, True, mask=mask)
    dx = dropout_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: dropout_forward(v, p, True, mask=mask)[0], x, dout)
    assert norm_rel_error(dx, dx_num) < 1e-8


def test_dropout_is_inverted_and_keeps_dtype():
    rng = np.random.default_rng(0)
    x = np.ones((500, 400), np.float32)
    out, mask = dropout_forward(x, 0.3, True, rng=rng)
    assert out.dtype == np.float32 and mask.dtype == np.float32
    # Survivors are scaled by 1 / (1 - p), so the mean activation stays near 1.
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.7)}
    assert abs(out.mean() - 1.0) < 0.01
    assert abs((out == 0).mean() - 0.3) < 0.01


def test_dropout_is_the_identity_at_test_time():
    x = np.arange(6.0).reshape(2, 3)
    out, cache = dropout_forward(x, 0.5, False)
    assert out is x and cache is None
    dout = np.ones_like(x)
    assert dropout_backward(dout, cache) is dout


def test_dropout_rejects_bad_probability_and_missing_rng():
    with pytest.raises(ValueError, match=r"must be in \[0, 1\); got 1.0"):
        dropout_forward(np.ones(3), 1.0, True)
    with pytest.raises(ValueError, match="needs rng"):
        dropout_forward(np.ones(3), 0.5, True)


def test_dropout_same_seed_same_mask():
    x = np.ones((4, 5))
    a, _ = dropout_forward(x, 0.5, True, rng=np.random.default_rng(3))
    b, _ = dropout_forward(x, 0.5, True, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- batch normalization

def _check_norm_gradients(forward, backward, N, H, seed):
    """Gradient check of a normalization layer's x, gamma and beta, in float64."""
    rng = np.random.default_rng(seed)
    x = 3 * rng.standard_normal((N, H)) + 2
    gamma, beta = rng.standard_normal(H), rng.standard_normal(H)
    dout = rng.standard_normal((N, H))
    _, cache = forward(x, gamma, beta)
    analytic = backward(dout, cache)
    inputs = (x, gamma, beta)
    for k, name in enumerate(("x", "gamma", "beta")):
        def f(v, k=k):
            args = list(inputs)
            args[k] = v
            return forward(*args)[0]
        # The output is exactly invariant to shifting a column (batch norm) or a row
        # (layer norm), so some gradients are ~0: compare with an absolute floor.
        np.testing.assert_allclose(analytic[k], eval_numerical_gradient_array(f, inputs[k], dout),
                                   rtol=1e-5, atol=1e-8, err_msg=name)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.integers(1, 5), seeds)
def test_batchnorm_gradients_in_training_mode(N, H, seed):
    _check_norm_gradients(lambda x, g, b: batchnorm_forward(x, g, b, {"mode": "train"}),
                          batchnorm_backward, N, H, seed)


def test_batchnorm_normalizes_and_tracks_running_statistics():
    rng = np.random.default_rng(0)
    x = 5 * rng.standard_normal((200, 3)).astype(np.float32) + np.float32(7)
    bn_param = {"mode": "train", "momentum": 0.5}
    out, _ = batchnorm_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32), bn_param)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-3)
    # One step of running = 0.5 * initial + 0.5 * batch, from mean 0 and variance 1.
    np.testing.assert_allclose(bn_param["running_mean"], 0.5 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn_param["running_var"], 0.5 + 0.5 * x.var(axis=0), rtol=1e-5)


def test_batchnorm_test_mode_uses_running_statistics():
    bn_param = {"mode": "test", "running_mean": np.array([1.0, 2.0]), "running_var": np.array([4.0, 9.0]),
                "eps": 0.0}
    out, cache = batchnorm_forward(np.array([[3.0, 2.0]]), np.array([2.0, 1.0]), np.array([0.5, 0.0]), bn_param)
    # (3 - 1) / 2 * 2 + 0.5 = 2.5 ; (2 - 2) / 3 * 1 + 0 = 0
    np.testing.assert_allclose(out, [[2.5, 0.0]])
    assert cache is None
    with pytest.raises(ValueError, match="training-mode forward"):
        batchnorm_backward(np.ones((1, 2)), cache)


def test_batchnorm_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="'train' or 'test'; got 'eval'"):
        batchnorm_forward(np.ones((2, 2)), np.ones(2), np.zeros(2), {"mode": "eval"})


# ---------------------------------------------------------------- layer normalization

@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5), st.integers(2, 6), seeds)
def test_layernorm_gradients(N, H, seed):
    _check_norm_gradients(layernorm_forward, layernorm_backward, N, H, seed)


def test_layernorm_normalizes_each_row_and_keeps_dtype():
    x = np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]], np.float32)
    out, _ = layernorm_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32), {"eps": 0.0})
    assert out.dtype == np.float32
    # Row 1: mean 2, variance 2/3, so (x - 2) / sqrt(2/3) = (-1.2247, 0, 1.2247).
    np.testing.assert_allclose(out[0], [-1.2247449, 0, 1.2247449], rtol=1e-6)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-6)
