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


def affine_backward(dout, cache, input_grad=True, out=None):
    """Backward pass of :func:`affine_forward`.

    With out = x @ w + b:  dx = dout @ w.T,  dw = x.T @ dout,  db = sum of dout
    over the batch.

    Inputs:
    - dout: (N, H) upstream gradient
    - cache: (x, w) from the forward pass, shapes (N, D) and (D, H)
    - input_grad: False skips dx, for a layer whose input is the data itself,
      where it would be a wasted (N, H) @ (H, D) matrix product
    - out: optional buffers (dx, dw, db) to write into (dx may be None)

    Returns (dx, dw, db) with shapes (N, D) or None, (D, H), (H,).
    """
    x, w = cache
    dx_out, dw_out, db_out = out if out is not None else (None, None, None)
    dx = np.matmul(dout, w.T, out=dx_out) if input_grad else None  # (N, H) @ (H, D) -> (N, D)
    dw = np.matmul(x.T, dout, out=dw_out)                           # (D, N) @ (N, H) -> (D, H)
    db = np.sum(dout, axis=0, out=db_out)                           # (N, H) -> (H,)
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


def relu_backward(dout, cache, out=None):
    """Backward pass of :func:`relu_forward`: the gradient flows only where the
    unit was active, ``dx = dout * (x > 0)``.

    Inputs:
    - dout: upstream gradient, shape of the forward output
    - cache: the forward output (positive exactly where x was)
    - out: optional buffer of dout's shape for dx (may be dout itself, when
      the caller has no further use for it: no new array per step)

    Returns dx, with dout's shape.
    """
    active = cache
    # Multiplying by the 0/1 mask is branch-free: about 15x faster than
    # assigning through a boolean index, whose random pattern defeats prediction.
    return np.multiply(dout, active > 0, out=out)


# --------------------------------------------------------------------------
# Softmax cross-entropy loss
# --------------------------------------------------------------------------

def softmax_loss(scores, y, smoothing=0.0):
    """Mean softmax cross-entropy of class scores against integer labels.

    With p = softmax(scores) row by row, the loss is
        L = -(1/N) * sum_i log p[i, y_i]
    and its gradient is
        dL/dscores = (p - onehot(y)) / N.

    With label smoothing e (Szegedy et al. 2016, section 7) the target is
    q = (1 - e) * onehot(y) + e / C instead of onehot(y):
        L = -(1/N) * sum_i [(1 - e) * log p[i, y_i] + (e / C) * sum_c log p[i, c]]
        dL/dscores = (p - q) / N.
    e = 0 is the plain loss, computed exactly as without it.

    The log-softmax is computed as ``s - max(s) - log(sum(exp(s - max(s))))``
    (log-sum-exp), so large scores cannot overflow ``exp`` and a confident
    wrong answer gives a large finite loss rather than ``log(0)``.

    Inputs:
    - scores: (N, C) class scores
    - y: (N,) integer labels, each in [0, C)
    - smoothing: e, in [0, 1)

    Returns (loss, dscores): a scalar of scores' dtype and an (N, C) gradient.
    """
    n, c = scores.shape
    rows = np.arange(n)
    shifted = scores - scores.max(axis=1, keepdims=True)             # (N, C), max 0
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))    # (N, 1)
    log_probs = shifted - log_norm                                   # (N, C)
    loss = -log_probs[rows, y].sum() / scores.dtype.type(n)
    if smoothing:
        uniform = -log_probs.sum() / scores.dtype.type(n * c)        # the loss against q = 1 / C
        loss = (1 - smoothing) * loss + smoothing * uniform
    dscores = np.exp(log_probs, out=log_probs)                       # p, in place
    dscores[rows, y] -= 1 - smoothing
    if smoothing:
        dscores -= smoothing / c
    dscores /= n
    return loss, dscores


# --------------------------------------------------------------------------
# Dropout (inverted): out = x * mask / (1 - p) in training, out = x in test
# --------------------------------------------------------------------------

def dropout_forward(x, p, train, rng=None, mask=None):
    """Inverted dropout: in training, zero each unit with probability ``p`` and
    scale the survivors by ``1 / (1 - p)``, so that the expected activation is
    unchanged and the test-time pass is the identity::

        train:  out = x * m,  m = bernoulli(1 - p) / (1 - p)
        test:   out = x

    Inputs:
    - x: array of any shape, e.g. (N, H)
    - p: probability of DROPPING a unit, in [0, 1)
    - train: True in training (mask drawn), False at test time (identity)
    - rng: ``np.random.Generator`` drawing the mask; required in training
      unless ``mask`` is given
    - mask: optional fixed mask of x's shape (already scaled, i.e. values in
      {0, 1/(1-p)}), so that a gradient check sees a deterministic function

    Returns (out, cache): out has x's shape and dtype; cache is the scaled
    mask (x's shape), or None at test time or when p == 0.
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability p must be in [0, 1); got {p!r}")
    if not train or (p == 0 and mask is None):
        return x, None
    if mask is None:
        if rng is None:
            raise ValueError("dropout_forward in training needs rng (a np.random.Generator) or a mask")
        scale = x.dtype.type(1.0 / (1.0 - p))
        # One uniform draw per unit, in x's dtype so float32 nets draw float32.
        mask = rng.random(x.shape, dtype=x.dtype)
        keep = mask >= p
        np.multiply(keep, scale, out=mask)                 # {0, 1/(1-p)}, x's shape
    elif mask.shape != x.shape:
        raise ValueError(f"dropout mask has shape {mask.shape} but x has shape {x.shape}; they must match")
    return x * mask, mask


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`: ``dx = dout * m`` (the same
    scaled mask), or ``dout`` itself where the forward pass was the identity.

    Inputs:
    - dout: upstream gradient, x's shape
    - cache: the scaled mask from the forward pass, or None

    Returns dx, x's shape.
    """
    if cache is None:
        return dout
    return dout * cache


# --------------------------------------------------------------------------
# Batch normalization: normalize each feature over the batch
# --------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization (Ioffe & Szegedy 2015) of each feature column.

    Training mode normalizes with the batch's own statistics and updates the
    running ones; test mode uses the running statistics::

        train:  mu, var = mean and (biased) variance of x over the N rows
                out = gamma * (x - mu) / sqrt(var + eps) + beta
                running_mean <- momentum * running_mean + (1 - momentum) * mu
                running_var  <- momentum * running_var  + (1 - momentum) * var
        test:   out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta

    Inputs:
    - x: (N, H) inputs
    - gamma, beta: (H,) scale and shift
    - bn_param: dict with ``mode`` ("train" or "test"), ``eps`` (default 1e-5),
      ``momentum`` (default 0.9), and the state ``running_mean``,
      ``running_var`` ((H,) arrays, created as zeros and ones on first use
      and updated in place in training)

    Returns (out, cache): out (N, H); cache (xhat (N, H), gamma (H,),
    inv_std (H,)) in training, None in test mode.
    """
    mode = bn_param.get("mode", "train")
    if mode not in ("train", "test"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test'; got {mode!r}")
    eps = x.dtype.type(bn_param.get("eps", 1e-5))
    momentum = x.dtype.type(bn_param.get("momentum", 0.9))
    H = x.shape[1]
    running_mean = bn_param.setdefault("running_mean", np.zeros(H, dtype=x.dtype))
    running_var = bn_param.setdefault("running_var", np.ones(H, dtype=x.dtype))
    if mode == "test":
        inv_std = 1 / np.sqrt(running_var + eps)                        # (H,)
        return (x - running_mean) * (gamma * inv_std) + beta, None
    mu = x.mean(axis=0)                                                  # (H,)
    xc = x - mu                                                          # (N, H)
    var = np.mean(xc * xc, axis=0)                                       # (H,)
    inv_std = 1 / np.sqrt(var + eps)                                     # (H,)
    xhat = xc * inv_std                                                  # (N, H)
    running_mean *= momentum
    running_mean += (1 - momentum) * mu
    running_var *= momentum
    running_var += (1 - momentum) * var
    return xhat * gamma + beta, (xhat, gamma, inv_std)


def batchnorm_backward(dout, cache):
    """Backward pass of :func:`batchnorm_forward` in training mode.

    With xhat = (x - mu) * inv_std and g = dout * gamma (the gradient reaching
    xhat), the chain rule through the batch mean and variance simplifies to::

        dx     = inv_std / N * (N * g - sum(g) - xhat * sum(g * xhat))
        dgamma = sum(dout * xhat),   dbeta = sum(dout)

    the sums running over the N rows.

    Inputs:
    - dout: (N, H) upstream gradient
    - cache: (xhat, gamma, inv_std) from the forward pass

    Returns (dx, dgamma, dbeta) with shapes (N, H), (H,), (H,).
    """
    if cache is None:
        raise ValueError("batchnorm_backward needs the cache of a training-mode forward pass; got None")
    xhat, gamma, inv_std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)                                             # (H,)
    dgamma = np.sum(dout * xhat, axis=0)                                 # (H,)
    g = dout * gamma                                                     # (N, H)
    dx = N * g - g.sum(axis=0) - xhat * np.sum(g * xhat, axis=0)
    dx *= inv_std / dout.dtype.type(N)
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------
# Layer normalization: normalize each example over its features
# --------------------------------------------------------------------------

def layernorm_forward(x, gamma, beta, ln_param=None):
    """Layer normalization (Ba et al. 2016) of each row, the same in training
    and at test time (it keeps no running statistics)::

        mu, var = mean and (biased) variance of x[i] over its H features
        out[i] = gamma * (x[i] - mu) / sqrt(var + eps) + beta

    Inputs:
    - x: (N, H) inputs
    - gamma, beta: (H,) scale and shift
    - ln_param: optional dict with ``eps`` (default 1e-5)

    Returns (out, cache): out (N, H); cache (xhat (N, H), gamma (H,),
    inv_std (N, 1)).
    """
    eps = x.dtype.type((ln_param or {}).get("eps", 1e-5))
    mu = x.mean(axis=1, keepdims=True)                                   # (N, 1)
    xc = x - mu                                                          # (N, H)
    var = np.mean(xc * xc, axis=1, keepdims=True)                        # (N, 1)
    inv_std = 1 / np.sqrt(var + eps)                                     # (N, 1)
    xhat = xc * inv_std                                                  # (N, H)
    return xhat * gamma + beta, (xhat, gamma, inv_std)


def layernorm_backward(dout, cache):
    """Backward pass of :func:`layernorm_forward`: batch normalization's
    formula with the roles of rows and columns swapped (sums over the H
    features of each row)::

        g      = dout * gamma
        dx     = inv_std / H * (H * g - sum(g) - xhat * sum(g * xhat))
        dgamma = sum over rows of dout * xhat,   dbeta = sum over rows of dout

    Inputs:
    - dout: (N, H) upstream gradient
    - cache: (xhat, gamma, inv_std) from the forward pass

    Returns (dx, dgamma, dbeta) with shapes (N, H), (H,), (H,).
    """
    xhat, gamma, inv_std = cache
    H = dout.shape[1]
    dbeta = dout.sum(axis=0)                                             # (H,)
    dgamma = np.sum(dout * xhat, axis=0)                                 # (H,)
    g = dout * gamma                                                     # (N, H)
    dx = H * g - g.sum(axis=1, keepdims=True) - xhat * np.sum(g * xhat, axis=1, keepdims=True)
    dx *= inv_std / dout.dtype.type(H)
    return dx, dgamma, dbeta
