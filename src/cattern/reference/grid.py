"""Cell [15]'s grid as the seed printed it, and how a replay compares with it.

- :func:`seed_grid`: one :class:`SeedGridRow` per config, read from
  ``seed_grid.csv`` next to this file. The configs are
  ``itertools.product(learning_rates, regs, hidden_sizes, epochs,
  batch_sizes)`` over :data:`GRID_AXES`, in that order; ``num_iters`` is what
  the seed calls "epoch" (it is passed as ``num_iters``).
- :func:`compare_grid`: a replay's validation accuracies against the seed's.

How the text lost things, kept as printed:

- Four train accuracies are missing (configs 8, 24, 56 and 72: the text has
  no "train accuracy" line for them); ``train_acc`` is None there.
- Sixteen train accuracies lost two digits of a repeating pair in
  extraction, e.g. config 1's "0.93438181818182", which as a fraction of the
  55,000 training images (51,391 / 55,000) Python prints as
  0.9343818181818182. The value is the same to 1e-13; the text is kept.

Note on cell [15]: it builds the net *before* unpacking the config, so config
k trains a net with config k-1's hidden size, and config 1 one with whatever
``hidden_size`` held before the loop. ``hidden_size`` in a row is the value
the config lists, not the size the seed's net had.
"""
import csv
import importlib.resources
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

# Cell [15]'s axes, in the order of its itertools.product.
GRID_AXES = {
    "learning_rate": (1e-3, 1e-4),
    "reg": (0.01, 0.05),
    "hidden_size": (10, 50, 100),
    "num_iters": (2000, 3000),
    "batch_size": (200, 400, 1000),
}


@dataclass(frozen=True)
class SeedGridRow:
    """One config of cell [15] and what the seed printed for it.

    - config: 1-based position in the grid (the seed's "CV# k/72")
    - learning_rate, reg, hidden_size, num_iters, batch_size: the config as
      listed (hidden_size is not the size the seed's net had; see the module)
    - train_acc: accuracy on the 55,000 training images as printed, or None
      where the text lost the line
    - val_acc: accuracy on the 5,000 validation images
    - seed_line: the seed text's line (1-based) printing "validate accuracy"
    """

    config: int
    learning_rate: float
    reg: float
    hidden_size: int
    num_iters: int
    batch_size: int
    train_acc: float | None
    val_acc: float
    seed_line: int

    @property
    def params(self):
        """The config as cell [15] unpacks it: (lr, reg, hidden, epoch, batch)."""
        return (self.learning_rate, self.reg, self.hidden_size, self.num_iters, self.batch_size)


def seed_grid():
    """The 72 rows of cell [15], config 1 first: a list of :class:`SeedGridRow`."""
    text = importlib.resources.files("cattern.reference").joinpath("seed_grid.csv").read_text()
    return [SeedGridRow(config=int(r["config"]), learning_rate=float(r["learning_rate"]),
                        reg=float(r["reg"]), hidden_size=int(r["hidden_size"]),
                        num_iters=int(r["num_iters"]), batch_size=int(r["batch_size"]),
                        train_acc=float(r["train_acc"]) if r["train_acc"] else None,
                        val_acc=float(r["val_acc"]), seed_line=int(r["seed_line"]))
            for r in csv.DictReader(text.splitlines())]


def grid_configs():
    """Cell [15]'s configs in order: a list of 72 (lr, reg, hidden, num_iters, batch) tuples."""
    return list(itertools.product(*GRID_AXES.values()))


@dataclass(frozen=True)
class GridComparison:
    """A replay's validation accuracies against the seed's, over the same configs.

    - n: how many configs were compared
    - mae: mean |ours - seed|
    - spearman: Spearman rank correlation of ours and the seed's (NaN when
      either is constant)
    - our_best_config, our_best_val: our winner (1-based config) and its accuracy
    - seed_best_config, seed_best_val: the seed's, among the same configs
    - winners_agree: whether the two winners are the same config

    A winner is the first config of highest accuracy, as the seed's loop
    keeps a new best only when it is strictly better.
    """

    n: int
    mae: float
    spearman: float
    our_best_config: int
    our_best_val: float
    seed_best_config: int
    seed_best_val: float
    winners_agree: bool


def compare_grid(ours, seed, configs=None):
    """Compare two grids of validation accuracies.

    Inputs:
    - ours: (K,) our validation accuracies
    - seed: (K,) the seed's, for the same configs in the same order, e.g.
      ``[row.val_acc for row in seed_grid()]``
    - configs: (K,) the 1-based config numbers, to name the winners; default
      1..K (the whole grid)

    Returns a :class:`GridComparison`.
    """
    ours, seed = np.asarray(ours, dtype=float), np.asarray(seed, dtype=float)
    if ours.ndim != 1 or ours.shape != seed.shape or len(ours) == 0:
        raise ValueError(f"ours and seed must be two 1-D sequences of the same, nonzero length; "
                         f"got shapes {ours.shape} and {seed.shape}")
    configs = np.arange(1, len(ours) + 1) if configs is None else np.asarray(configs)
    if configs.shape != ours.shape:
        raise ValueError(f"configs must name each of the {len(ours)} values; got shape {configs.shape}")
    if len(ours) > 1 and np.ptp(ours) > 0 and np.ptp(seed) > 0:
        rho = float(spearmanr(ours, seed).statistic)
    else:
        rho = math.nan
    i, j = int(np.argmax(ours)), int(np.argmax(seed))  # argmax returns the first maximum
    return GridComparison(
        n=len(ours), mae=float(np.mean(np.abs(ours - seed))), spearman=rho,
        our_best_config=int(configs[i]), our_best_val=float(ours[i]),
        seed_best_config=int(configs[j]), seed_best_val=float(seed[j]),
        winners_agree=bool(i == j))


def seed_val(configs: Sequence[int] | None = None):
    """The seed's validation accuracies, (K,) floats, for 1-based ``configs`` (default: all 72)."""
    rows = seed_grid()
    return [rows[c - 1].val_acc for c in (configs or range(1, len(rows) + 1))]
