"""Search spaces: which configurations a search tries.

A *config* is a dict of experiment-option names (the fields of
:class:`cattern.experiment.ExperimentConfig`: ``learning_rate``, ``reg``,
``hidden_size``, ``num_iters``, ``batch_size``, ``learning_rate_decay``,
``momentum``, ``dtype``, ...) to values. A search is a list of configs:

- :func:`grid` is the cartesian product of lists, in the order given;
- :func:`random_configs` draws configs log-uniformly from ``(low, high)`` ranges;
- :data:`SEARCH_PRESETS` names the searches the lab uses.

:func:`edge_warnings` says when the best config sits on the edge of what was
searched, where the optimum may lie outside the range.
"""
import itertools
import math
import numbers

import numpy as np


def grid(**lists):
    """The cartesian product of the value lists, in the order given.

    ``grid(learning_rate=[1e-3, 1e-4], hidden_size=[10, 50])`` gives four
    configs, the last option varying fastest, as ``itertools.product`` does.
    A single value (not a list) is held fixed.

    Returns a list of dicts, one per combination.
    """
    names, choices = [], []
    for name, values in lists.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        values = list(values)
        if not values:
            raise ValueError(f"grid option {name!r} has no values; give at least one")
        names.append(name)
        choices.append(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*choices)]


def random_configs(space, n, seed):
    """``n`` configs drawn at random from ``space``, the same for the same seed.

    Each entry of ``space`` (a dict, option name -> what to draw) is one of:

    - a tuple ``(low, high)`` of positive numbers: drawn log-uniformly, i.e.
      ``exp(uniform(log low, log high))``, so each factor of 10 is equally
      likely. When both ends are ints the value is rounded to an int;
    - a list: one element chosen uniformly;
    - anything else: held fixed.

    Options are drawn in sorted name order, so the same space and seed give
    the same configs whatever the order of the dict's keys.

    Returns a list of ``n`` dicts with the keys of ``space``.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer number of configs; got {n!r}")
    rng = np.random.default_rng(seed)
    for name, spec in space.items():
        if isinstance(spec, tuple):
            _check_range(name, spec)
        elif isinstance(spec, list) and not spec:
            raise ValueError(f"random search option {name!r} is an empty list; give at least one value")
    configs = []
    for _ in range(n):
        config = {}
        for name in sorted(space):
            spec = space[name]
            if isinstance(spec, tuple):
                low, high = spec
                value = math.exp(rng.uniform(math.log(low), math.log(high)))
                if _is_int(low) and _is_int(high):
                    value = min(max(int(round(value)), low), high)
                config[name] = value
            elif isinstance(spec, list):
                config[name] = spec[rng.integers(len(spec))]
            else:
                config[name] = spec
        configs.append({name: config[name] for name in space})  # keep the caller's key order
    return configs


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_range(name, spec):
    if len(spec) != 2:
        raise ValueError(f"random search range {name!r} must be (low, high); got {spec!r}")
    low, high = spec
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in spec):
        raise ValueError(f"random search range {name!r} must hold two numbers; got {spec!r}")
    if not 0 < low <= high or not math.isfinite(high):
        raise ValueError(
            f"random search range {name!r} must satisfy 0 < low <= high for a log-uniform draw; "
            f"got {spec!r}. Give a positive range, or a list of values to choose from"
        )


def edge_warnings(configs, best):
    """Warnings for each option whose best value is the smallest or largest searched.

    Inputs:
    - configs: the configs searched
    - best: the best of them

    Only numeric options with more than one value searched are considered: a
    best value on the edge suggests the optimum may lie beyond it.

    Returns a list of strings, in the order of ``best``'s keys.
    """
    warnings = []
    for name, value in best.items():
        values = {c[name] for c in configs if name in c}
        numeric = [v for v in values if isinstance(v, numbers.Real) and not isinstance(v, bool)]
        if len(numeric) != len(values) or len(values) < 2:
            continue
        low, high = min(numeric), max(numeric)
        if value == low:
            side, direction = "smallest", "below"
        elif value == high:
            side, direction = "largest", "above"
        else:
            continue
        warnings.append(
            f"best {name}={value:g} is the {side} value searched ({low:g}..{high:g}); "
            f"the best may lie {direction} it: extend the range and search again"
        )
    return warnings


def seed_72():
    """The seed notebook's grid (cell [15]): 2 x 2 x 3 x 2 x 3 = 72 configs.

    Learning rates [1e-3, 1e-4], regs [0.01, 0.05], hidden sizes [10, 50, 100],
    iterations [2000, 3000] (the seed calls them epochs), batch sizes
    [200, 400, 1000], decay 0.95, in the seed's nesting order (the batch size
    varies fastest). Momentum 0.9 and init std 1e-4 are the seed's defaults;
    float32 for speed.

    The hidden sizes are used as listed. The seed built each net *before*
    unpacking its config, so each of its runs trained with the previous
    config's hidden size (its first with 50, left from an earlier cell); this
    preset does not repeat that bug.

    The seed's best was 0.9696 (lr 1e-3, reg 0.01, hidden 100, 3000
    iterations, batch 400). Here the best is 0.4224 (search seed 0; lr 1e-3,
    reg 0.01, hidden 100, 3000 iterations, batch 200): from init std 1e-4
    these rates leave this network on the ln 10 loss plateau for most of the
    run (see the README's search table).
    """
    return grid(
        learning_rate=[1e-3, 1e-4], reg=[0.01, 0.05], hidden_size=[10, 50, 100],
        num_iters=[2000, 3000], batch_size=[200, 400, 1000],
        learning_rate_decay=0.95, momentum=0.9, std=1e-4, dtype="float32",
    )


def lab_search():
    """The lab's own search (``cattern lab``): 12 configs that pass the 97.4 % validation bar.

    The seed's notebook reports about 0.97 from its grid, but its grid as
    stated (``seed-72``) reaches only 0.4224 here: its rates (1e-3, 1e-4) are
    too small for inputs in [0, 1] minus the mean and a 1e-4 initialization,
    so the nets are still on the loss plateau or just leaving it when
    training stops. Rates 30 to 300 times larger, momentum 0.9 and 20
    epochs (5500 steps of 200) get there. Measured by ``cattern lab`` (seed 0,
    two loky workers): 11 of the 12 pass 0.974 on validation; the best,
    rate 0.3, reg 1e-4, 300 hidden, gets 0.9840, and 0.9828 on the test set;
    the search took about 6 minutes on 2 cores shared with other jobs. The
    best values sit on the grid's edges (the search says so), but wider
    grids cost minutes and the bar is already passed.
    """
    return grid(
        learning_rate=[0.03, 0.1, 0.3], reg=[1e-4, 1e-3], hidden_size=[100, 300],
        num_iters=[5500], batch_size=[200],
        learning_rate_decay=0.95, momentum=0.9, std=1e-4, dtype="float32",
    )


def lab_quick_search():
    """The lab's search shrunk to one config, for CI (``CATTERN_QUICK=1``): still > 97.4 %.

    Rate 0.1, reg 1e-4, 100 hidden, 20 epochs: validation 0.981 in about 6 s.
    """
    return grid(
        learning_rate=[0.1], reg=[1e-4], hidden_size=[100], num_iters=[5500], batch_size=[200],
        learning_rate_decay=0.95, momentum=0.9, std=1e-4, dtype="float32",
    )


# Name -> list of configs; each builder's docstring says what its search is and why.
SEARCH_PRESETS = {
    "seed-72": seed_72(),
    "lab": lab_search(),
    "lab-quick": lab_quick_search(),
}


def preset_configs(name):
    """The configs of the search preset ``name``; raises ValueError listing the names."""
    try:
        configs = SEARCH_PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown search preset {name!r}; choose one of {', '.join(sorted(SEARCH_PRESETS))}"
        ) from None
    return [dict(c) for c in configs]  # copies: a caller's edit must not change the preset
