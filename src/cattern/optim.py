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


# Rules by name, for configs and the command line.
RULES = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
}


def get_rule(name):
    """Return the update rule called ``name``, or raise listing the valid names."""
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(
            f"unknown update rule {name!r}; choose one of {sorted(RULES)}"
        ) from None
