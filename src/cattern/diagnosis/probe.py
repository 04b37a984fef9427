"""Measuring a model for the gradient check: its loss pinned to a fixed function, centered differences, kinks.

:class:`Pinned` wraps a model so that every pass computes the same function
of the parameters (the same dropout masks, batchnorm's statistics put back);
:func:`centered_differences` perturbs entries one at a time and reads the
slopes and the ReLU kinks crossed; :func:`find_leak` tests one hypothesis,
a missing ReLU mask, one example at a time. The judging is in
:mod:`cattern.diagnosis.gradcheck`.
"""
import re

import numpy as np

# Below this, on both sides, a gradient entry has vanished (cs231n: "roughly 1e-10
# and smaller in absolute value is worrying"); see rounding_floor for larger losses.
VANISHED_BELOW = 1e-10


class Pinned:
    """The model's loss and ReLU masks as fixed functions of its parameters, on X (N, D), y (N,).

    Dropout: ``model.dropout_rng`` is put back to its starting state before
    every pass, so every pass draws the same masks. Batch normalization: a
    training-mode pass updates the running statistics in ``model.buffers``
    but does not read them, so the checked function is unchanged;
    :meth:`restore` puts them back, and the dropout stream too.
    """

    def __init__(self, model, X, y):
        self.model, self.X, self.y = model, X, y
        rng = getattr(model, "dropout_rng", None)
        self.rng_state = None if rng is None else rng.bit_generator.state
        self.buffers = {k: np.copy(v) for k, v in getattr(model, "buffers", {}).items()}
        self.has_kinks = callable(getattr(model, "relu_masks", None))
        self.drew_masks = False  # whether a pass drew from dropout_rng (the net drops units)

    def _reset(self):
        if self.rng_state is not None:
            self.model.dropout_rng.bit_generator.state = self.rng_state

    def loss(self, reg):
        """(loss, grads) at the current parameters, grads copied (they may live in a workspace)."""
        self._reset()
        loss, grads = self.model.loss(self.X, self.y, reg=reg)
        if self.rng_state is not None:
            self.drew_masks |= self.model.dropout_rng.bit_generator.state != self.rng_state
        return float(loss), {k: np.array(g, dtype=np.float64) for k, g in grads.items()}

    def masks(self):
        """The ReLU activity masks, a list of (N, Hi) bool arrays, or None without relu_masks."""
        if not self.has_kinks:
            return None
        self._reset()
        return [np.array(m, dtype=bool) for m in self.model.relu_masks(self.X)]

    def subset(self, rows):
        """The same model pinned on the examples X[rows], y[rows]."""
        return Pinned(self.model, self.X[rows], self.y[rows])

    def restore(self):
        """Put the dropout stream and the batchnorm running statistics back as they were."""
        self._reset()
        for k, v in self.buffers.items():
            self.model.buffers[k][...] = v


def entry_chooser(max_entries, seed):
    """A function shape -> list of index tuples: every entry, or a seeded random subset of max_entries."""
    rng = np.random.default_rng(seed)

    def choose(shape):
        size = int(np.prod(shape))
        flat = np.arange(size)
        if max_entries is not None and size > max_entries:
            flat = np.sort(rng.choice(size, size=max_entries, replace=False))
        return [tuple(int(i) for i in np.unravel_index(f, shape)) for f in flat]

    return choose


def rounding_floor(h, *losses):
    """How far float64 rounding can move a centered difference of these losses, in gradient units.

    Each loss is computed to a few units in its last place (np.spacing); the
    difference of two such values, divided by 2h, is off by about
    4 * spacing / h. Near a loss of 1 and h = 1e-5 that is 9e-11: cs231n's
    "roughly 1e-10 and smaller is worrying" comes from the same arithmetic.
    """
    return 4 * sum(float(np.spacing(abs(loss))) for loss in losses) / h


def centered_differences(pinned, x, entries, reg, h, masks0, tick=None):
    """Centered differences at the K entries of x (perturbed in place, restored exactly).

    Inputs: x, the parameter array itself (any shape); entries, K index tuples;
    masks0, the ReLU masks at x (or None: no kinks looked for); tick, called
    with 1 after each entry (a progress bar's update), or None.

    Returns (num_data, num_penalty, kinks), (K,) each: the data loss's slope,
    the penalty's slope (of loss(reg) - loss(0); zeros when reg is 0), and
    whether the ReLU masks at x - h or x + h differ from those at x (a kink
    crossed; comparing both sides with the middle also catches a unit that
    turns off and on again within the step).
    """
    K = len(entries)
    num_data, num_penalty, kinks = np.zeros(K), np.zeros(K), np.zeros(K, dtype=bool)
    for k, ix in enumerate(entries):
        old = x[ix]
        sides = []
        for step in (h, -h):
            x[ix] = old + step
            data = pinned.loss(0.0)[0]
            penalty = pinned.loss(reg)[0] - data if reg else 0.0
            sides.append((data, penalty, pinned.masks()))
        x[ix] = old
        (data_plus, penalty_plus, masks_plus), (data_minus, penalty_minus, masks_minus) = sides
        num_data[k] = (data_plus - data_minus) / (2 * h)
        num_penalty[k] = (penalty_plus - penalty_minus) / (2 * h)
        kinks[k] = masks0 is not None and not (_same(masks_plus, masks0) and _same(masks_minus, masks0))
        if tick is not None:
            tick(1)
    return num_data, num_penalty, kinks


def _same(masks, other):
    return all(np.array_equal(m, o) for m, o in zip(masks, other))


def hidden_layer(name):
    """Which hidden layer i owns the array (Wi, bi, gammai, betai), or None."""
    match = re.fullmatch(r"(W|b|gamma|beta)(\d+)", name)
    return None if match is None else int(match[2])


def always_on(name, entries, masks0):
    """(K,) bool: whether each entry belongs to a hidden unit active on every example; None if no unit.

    Hidden layer i's unit j owns column j of Wi and entry j of bi, gammai, betai.
    """
    layer = hidden_layer(name)
    if masks0 is None or layer is None or not 1 <= layer <= len(masks0):
        return None
    on_for_all = masks0[layer - 1].all(axis=0)  # (Hi,)
    return np.array([bool(on_for_all[ix[-1]]) for ix in entries])


def find_leak(pinned, name, entries, h):
    """Look for gradient flowing through ReLU units that are off, one example at a time.

    On one example, a unit that is off leaves the loss flat along its
    incoming weights and bias: their numerical gradient is 0, and a correct
    backward pass gives exactly 0 there too; analytic values there mean the
    gradient leaks through. ``name`` is a hidden layer's array (see
    :func:`hidden_layer`); a net with batch normalization cannot be probed
    this way (one example has no batch statistics).

    Returns (example, flat, leaks) for the first example that decides, when
    at least half its flat entries leak, else None.
    """
    x, layer = pinned.model.params[name], hidden_layer(name)
    for n in range(len(pinned.X)):
        one = pinned.subset(slice(n, n + 1))
        masks = one.masks()
        off = [ix for ix in entries if not masks[layer - 1][0, ix[-1]]]
        loss, grads = one.loss(0.0)
        floor = max(VANISHED_BELOW, rounding_floor(h, loss))
        if not off or max(np.max(np.abs(g)) for g in grads.values()) <= floor:
            continue  # no unit off, or an example the net fits exactly: no gradient flows anywhere
        if grads[name].shape != x.shape:
            return None
        numerical, _, kinks = centered_differences(one, x, off, 0.0, h, masks)
        analytic = np.array([grads[name][ix] for ix in off])
        flat = ~kinks & (np.abs(numerical) <= floor)
        if flat.any():
            leaks = int(np.sum(flat & (np.abs(analytic) > floor)))
            return (n, int(flat.sum()), leaks) if 2 * leaks >= flat.sum() else None
    return None
