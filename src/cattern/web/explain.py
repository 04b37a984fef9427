"""What the page shows about the network: its answer, and why.

With D = 784 input pixels, H hidden units and C = 10 classes, the first layer
of a saved network (TwoLayerNet, or the first layer of a deeper one) is
``W1`` (D, H), ``b1`` (H,). For one input digit x (D,), with the training
set's mean image subtracted as the model was trained (and x deskewed first,
if it was trained on deskewed digits)::

    hidden = relu((x * pixel_scale - mean_image) @ W1 + b1)      # (H,)

The units with the largest ``hidden`` values are the ones that "fire most";
each unit's column ``W1[:, j]`` reshaped to 28 x 28 is the picture it
responds to (positive weights where ink excites it, negative where ink
inhibits it). When the next layer is the output layer (``W2`` (H, C)),
``hidden[j] * W2[j, c]`` is how much unit j pushed the score of class c.

The probabilities themselves come from ``SavedModel.predict_proba``, the
same function ``cattern evaluate`` uses, never from a second forward pass
written here.
"""
import numpy as np

TOP_UNITS = 8
# Loss curves are averaged into at most this many points: a long run's
# per-iteration losses would make a large response and a noisy line.
CURVE_POINTS = 400


def first_layer(saved):
    """``(W1, b1)`` of a saved model, or None when it has no fully-connected first layer."""
    params = getattr(saved.model, "params", None) or {}
    W1, b1 = params.get("W1"), params.get("b1")
    if W1 is None or b1 is None or W1.ndim != 2 or W1.shape[0] != 784:
        return None
    if "gamma1" in params:
        # A normalized fc net has batch or layer norm between W1 and the ReLU:
        # relu(x @ W1 + b1) would not be what its units compute, so show none.
        return None
    return W1, b1


def _output_weights(saved, hidden_size):
    """W2 (H, C) when the layer after the first is the output layer, else None."""
    params = saved.model.params
    if "W3" in params or "W2" not in params:
        return None
    W2 = params["W2"]
    return W2 if W2.shape[0] == hidden_size else None


def weight_image(column):
    """A weight column (784,) as 784 ints in [-127, 127], scaled by its largest magnitude."""
    peak = float(np.abs(column).max())
    if peak == 0:
        return [0] * column.shape[0]
    return np.rint(column * (127.0 / peak)).astype(int).tolist()


def top_units(saved, x, predicted, k=TOP_UNITS):
    """The k hidden units that fire most for one input.

    Inputs:
    - saved: a SavedModel
    - x: (784,) raw pixels in [0, 1]
    - predicted: the predicted class, for each unit's push on its score

    Returns a list of up to k dicts, strongest first: ``unit`` (index),
    ``activation``, ``push`` (``activation * W2[unit, predicted]``, or None
    for deeper nets) and ``weights`` (see :func:`weight_image`). Units that
    do not fire (activation 0) are left out. Empty when the model has no
    first layer to show.
    """
    layer = first_layer(saved)
    if layer is None:
        return []
    W1, b1 = layer
    inputs = saved.preprocessing.transform(np.asarray(x)[None, :])[0].astype(W1.dtype)  # (784,), as trained
    hidden = np.maximum(inputs @ W1 + b1, 0)                 # (H,)
    order = np.argsort(-hidden, kind="stable")[:k]
    W2 = _output_weights(saved, W1.shape[1])
    units = []
    for j in order:
        if hidden[j] <= 0:
            break
        push = None if W2 is None else float(hidden[j] * W2[j, predicted])
        units.append({"unit": int(j), "activation": float(hidden[j]), "push": push,
                      "weights": weight_image(W1[:, j])})
    return units


def curves(history, points=CURVE_POINTS):
    """Training curves for the page, from a saved history dict (or None).

    Returns ``{"loss": {"iteration": [...], "value": [...]}, "train_acc": [...],
    "val_acc": [...]}``; the loss is averaged over consecutive blocks of
    iterations so that at most ``points`` remain, each placed at its block's
    middle iteration.
    """
    history = history or {}
    loss = np.asarray(history.get("loss_history") or [], dtype=np.float64)
    if loss.size:
        block = -(-loss.size // points)                      # ceil: iterations per point
        n_full = loss.size // block
        means = loss[:n_full * block].reshape(n_full, block).mean(axis=1).tolist()
        iters = (np.arange(n_full) * block + (block - 1) / 2).tolist()
        if loss.size % block:                                # the last, shorter block
            tail = loss[n_full * block:]
            means.append(float(tail.mean()))
            iters.append(n_full * block + (tail.size - 1) / 2)
    else:
        means, iters = [], []
    return {
        "loss": {"iteration": iters, "value": means},
        "train_acc": [float(a) for a in history.get("train_acc_history") or []],
        "val_acc": [float(a) for a in history.get("val_acc_history") or []],
    }
