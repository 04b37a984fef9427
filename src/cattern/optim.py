"""Update rules: how a parameter moves, given its gradient.

Every rule has the same signature (as in cs231n's ``optim.py``)::

    next_w, config = rule(w, dw, config)

- w: a parameter array of any shape; it is updated in place and returned
- dw: the gradient of the loss with respect to w, same shape and dtype
- config: a dict of hyperparameters (``learning_rate`` and the rule's own)
  and of the rule's state between steps (such as ``velocity``), created on the
  first step. The trainer sets ``config["learning_rate"]`` before each step,
  from the learning-rate schedule.

Updating in place means a float32 parameter stays float32 and no new array
is allocated per step.
"""
import numpy as np


def sgd(w, dw, config):
    """Plain stochastic gradient descent::

        w <- w - learning_rate * dw

    config: ``learning_rate`` (float).
    """
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config):
    """SGD with (heavy-ball) momentum, in cs231n's convention::

        v <- momentum * v - learning_rate * dw
        w <- w + v

    The velocity v starts at zero. (Libraries differ: PyTorch keeps
    v <- momentum * v + dw and steps w <- w - learning_rate * v, which is the
    same while the learning rate is constant, and differs when it decays.)

    config: ``learning_rate`` (float), ``momentum`` (float in [0, 1), default 0.9),
    ``velocity`` (array of w's shape, state).
    """
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = config["velocity"] = np.zeros_like(w)
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    w += v
    return w, config


def _state(config, key, w):
    """The rule's state array ``config[key]``, created as zeros of w's shape and dtype."""
    s = config.get(key)
    if s is None:
        s = config[key] = np.zeros_like(w)
    return s


def sgd_nesterov(w, dw, config):
    """SGD with Nesterov momentum, in the "look-ahead" form of Sutskever et al.
    (2013) as cs231n writes it, where w is the look-ahead point::

        v_prev = v
        v <- momentum * v - learning_rate * dw
        w <- w - momentum * v_prev + (1 + momentum) * v

    The velocity v starts at zero, so the first step is plain SGD scaled by
    (1 + momentum).

    config: ``learning_rate`` (float), ``momentum`` (float in [0, 1), default 0.9),
    ``velocity`` (array of w's shape, state).
    """
    mu = config.setdefault("momentum", 0.9)
    v, s = _state(config, "velocity", w), _state(config, "scratch", w)
    # In place through one scratch array: no new array per step. momentum * v_prev
    # is computed once, in v itself, and used twice.
    v *= mu                                          # momentum * v_prev
    w -= v                                           # w - momentum * v_prev
    np.multiply(dw, config["learning_rate"], out=s)
    v -= s                                           # v = momentum * v_prev - lr * dw
    np.multiply(v, 1 + mu, out=s)
    w += s                                           # + (1 + momentum) * v
    return w, config


def adam(w, dw, config):
    """Adam (Kingma & Ba 2015), with the bias-corrected moments::

        t <- t + 1
        m <- beta1 * m + (1 - beta1) * dw
        v <- beta2 * v + (1 - beta2) * dw**2
        w <- w - learning_rate * m_hat / (sqrt(v_hat) + eps),
             m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)

    computed as ``w -= lr_t * m / (sqrt(v) + eps_t)`` with
    ``lr_t = learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t)`` and
    ``eps_t = eps * sqrt(1 - beta2**t)``, which is the same expression
    rearranged to avoid two full-size divisions.

    config: ``learning_rate``, ``beta1`` (default 0.9), ``beta2`` (default
    0.999), ``eps`` (default 1e-8); state ``m``, ``v`` (arrays of w's shape)
    and ``t`` (int).
    """
    b1 = config.setdefault("beta1", 0.9)
    b2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("eps", 1e-8)
    m, v, s = _state(config, "m", w), _state(config, "v", w), _state(config, "scratch", w)
    t = config["t"] = config.get("t", 0) + 1
    m *= b1
    np.multiply(dw, 1 - b1, out=s)
    m += s
    v *= b2
    np.multiply(dw, dw, out=s)
    s *= 1 - b2
    v += s
    c2 = np.sqrt(1 - b2 ** t)
    lr_t = config["learning_rate"] * c2 / (1 - b1 ** t)
    np.sqrt(v, out=s)
    s += eps * c2
    np.divide(m, s, out=s)
    s *= lr_t
    w -= s
    return w, config


def adamw(w, dw, config):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), in
    PyTorch's convention where the decay is scaled by the learning rate::

        w <- w - learning_rate * weight_decay * w
        w <- adam(w, dw)

    Unlike an L2 term in the loss, the decay does not pass through Adam's
    per-coordinate scaling. The trainer gives ``weight_decay`` to weight
    matrices only (biases and normalization scales keep 0).

    config: as :func:`adam`, plus ``weight_decay`` (default 0.01).
    """
    wd = config.setdefault("weight_decay", 0.01)
    if wd:
        w *= 1 - config["learning_rate"] * wd
    return adam(w, dw, config)


def clip_column_norms(w, max_norm):
    """The max-norm constraint (Srivastava et al. 2014), applied after an
    update: every column of w, the incoming weights of one unit, is scaled
    back onto the ball of radius ``max_norm`` if it left it::

        w[:, j] <- w[:, j] * min(1, max_norm / ||w[:, j]||)

    It is a projection, not a rule: models that use it call it on their
    weight matrices after each step (see ``FullyConnectedNet.constrain``).

    Inputs:
    - w: (D, H) weights, modified in place
    - max_norm: the radius, > 0

    Returns w.
    """
    norms = np.sqrt(np.einsum("dh,dh->h", w, w))                     # (H,)
    too_long = norms > max_norm
    if too_long.any():
        w[:, too_long] *= (max_norm / norms[too_long]).astype(w.dtype)
    return w


# Rules by name, for configs and the command line.
RULES = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "sgd_nesterov": sgd_nesterov,
    "adam": adam,
    "adamw": adamw,
}


def get_rule(name):
    """Return the update rule called ``name``, or raise listing the valid names."""
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(
            f"unknown update rule {name!r}; choose one of {sorted(RULES)}"
        ) from None
