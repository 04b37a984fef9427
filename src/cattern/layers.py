"""The math of the lab: each layer's forward pass beside its backward pass.

Dimensions are named once and used everywhere:

    N  examples in a batch
    D  input features (784 for MNIST)
    H  hidden units
    C  classes (10 for MNIST)

A forward function returns ``(out, cache)``; its backward function takes the
upstream gradient ``dout`` (the gradient of the loss with respect to ``out``,
same shape as ``out``) and that ``cache``, and returns the gradients with
respect to the forward function's inputs, in the same order.

Every function keeps the dtype of its inputs: a float32 net stays float32.
The optional ``out=`` buffers let the fast training step reuse memory from one
step to the next; the math is the same with or without them.
"""
import numpy as np


# --------------------------------------------------------------------------
# Affine (fully connected): out = x @ w + b
# --------------------------------------------------------------------------

def affine_forward(x, w, b, out=None):
    """Affine map ``out = x @ w + b``.

    Inputs:
    - x: (N, D) inputs
    - w: (D, H) weights
    - b: (H,) biases
    - out: optional (N, H) buffer to write the result into

    Returns (out, cache):
    - out: (N, H)
    - cache: (x, w), what the backward pass needs
    """
    out = np.matmul(x, w, out=out)  # (N, D) @ (D, H) -> (N, H)
    out += b                        # b broadcasts over the N rows
    return out, (x, w)


def affine_backward(dout, cache, input_grad=True, dw_out=None):
    """Backward pass of :func:`affine_forward`.

    With out = x @ w + b:  dx = dout @ w.T,  dw = x.T @ dout,  db = sum of dout
    over the batch.

    Inputs:
    - dout: (N, H) upstream gradient
    - cache: (x, w) from the forward pass, shapes (N, D) and (D, H)
    - input_grad: False skips dx, for a layer whose input is the data itself,
      where it would be a wasted (N, D, H) matrix product
    - dw_out: optional (D, H) buffer for dw

    Returns (dx, dw, db) with shapes (N, D) or None, (D, H), (H,).
    """
    x, w = cache
    dx = dout @ w.T if input_grad else None      # (N, H) @ (H, D) -> (N, D)
    dw = np.matmul(x.T, dout, out=dw_out)        # (D, N) @ (N, H) -> (D, H)
    db = dout.sum(axis=0)                        # (N, H) -> (H,)
    return dx, dw, db


# --------------------------------------------------------------------------
# ReLU: out = max(0, x)
# --------------------------------------------------------------------------

def relu_forward(x, out=None):
    """Rectified linear unit, elementwise ``out = max(0, x)``.

    Inputs:
    - x: array of any shape
    - out: optional buffer of x's shape (may be x itself, to work in place)

    Returns (out, cache): out has x's shape; cache is ``out``, since
    out > 0 exactly where x > 0, and ``out`` is what a later layer keeps anyway.
    """
    out = np.maximum(x, 0, out=out)
    return out, out


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward`: the gradient flows only where the
    unit was active, ``dx = dout * (x > 0)``.

    Inputs:
    - dout: upstream gradient, shape of the forward output
    - cache: the forward output (positive exactly where x was)

    Returns dx, with dout's shape. ``dout`` is overwritten: it is the caller's
    scratch gradient and nothing reads it afterwards, so no copy is made.
    """
    active = cache
    dout[active <= 0] = 0
    return dout


# --------------------------------------------------------------------------
# Softmax cross-entropy loss
# --------------------------------------------------------------------------

def softmax_loss(scores, y):
    """Mean softmax cross-entropy of class scores against integer labels.

    With p = softmax(scores) row by row, the loss is
        L = -(1/N) * sum_i log p[i, y_i]
    and its gradient is
        dL/dscores = (p - onehot(y)) / N.

    The log-softmax is computed as ``s - max(s) - log(sum(exp(s - max(s))))``
    (log-sum-exp), so large scores cannot overflow ``exp`` and a confident
    wrong answer gives a large finite loss rather than ``log(0)``.

    Inputs:
    - scores: (N, C) class scores
    - y: (N,) integer labels, each in [0, C)

    Returns (loss, dscores): a scalar of scores' dtype and an (N, C) gradient.
    """
    n = scores.shape[0]
    rows = np.arange(n)
    shifted = scores - scores.max(axis=1, keepdims=True)             # (N, C), max 0
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))    # (N, 1)
    log_probs = shifted - log_norm                                   # (N, C)
    loss = -log_probs[rows, y].sum() / scores.dtype.type(n)
    dscores = np.exp(log_probs, out=log_probs)                       # p, in place
    dscores[rows, y] -= 1
    dscores /= n
    return loss, dscores
