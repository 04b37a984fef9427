"""Successive halving: spend the budget on the configs that look best early.

The rule, for n configs, a reduction factor eta (3 by default) and a shortest
run of ``min_iters`` iterations (as scikit-learn's ``HalvingGridSearchCV``,
with iterations as the resource):

1. Rungs. R is the smallest integer with eta**R >= n, but no larger than
   the number of times the longest ``num_iters`` can be cut by eta and stay
   at least ``min_iters`` long (eta**R <= max num_iters / min_iters). Rung
   r = 0..R trains its configs for the fraction eta**(r - R) of their
   ``num_iters`` (at least ``min_iters`` iterations, at most ``num_iters``).
   The last rung is the full budget.
2. Rung 0 trains all n configs. After each rung the best ceil(k / eta) of
   its k configs go on to the next: by validation accuracy, ties broken by
   validation loss (short runs of a small initialization often all sit on
   the loss plateau, predicting one class, where only the loss tells which
   is leaving it first), then by the config listed first. Diverged runs
   never go on. The last rung's best full run is the search's best: one
   config when eta**R >= n, about n / eta**R when ``min_iters`` limits R.

A rung's run of a config is exactly the first ``iters`` steps of the
config's full run: it has the config's own seed, and the learning rate
decays per epoch, a function of the step alone. So a rung goes on from the
config's run in the rung before (its trainer, paused and kept by the search:
parameters, velocities, random state, place in the epoch) and trains only
the new steps, with the same numbers, bit for bit, as training from the
start. It trains from the start instead when going on would not be exact
(:meth:`cattern.trainer.Trainer.can_extend`), when the paused runs would
pass ``cattern.tuning.search.PAUSED_BYTES`` (1 GiB), or when an interrupted
search is rerun. When ``min_iters`` makes two rungs of a config equally
long, the second finds the first's run already in the results and costs
nothing.

For the seed's 72 configs (2000 or 3000 iterations), eta = 3 and min_iters =
200: R = 2, since 3000 / 27 < 200 <= 3000 / 9; 72 configs at 1/9 of their
iterations, 24 at 1/3, 8 at the full budget: 72/9 + 24 (1/3 - 1/9) +
8 (1 - 1/3) = 18.7 full runs' worth of steps, 0.26 of the grid's 72 (0.33
if every rung trained from the start). Why not shorter first rungs:
started from std 1e-4, every config of that grid is still at chance accuracy
at 1/3 of its iterations, and only the validation loss ranks them; at 1/9 it
puts the grid's final winner 8th of 72, at 1/3 4th
(``python benchmarks/seed_grid_curves.py``). Rungs shorter than that
choose at random.
"""
import math
import numbers

from cattern.tuning.results import OK, score


def rung_fractions(n, eta, max_ratio=math.inf):
    """The budget fraction of each rung, smallest first, for n configs: [eta**-R, ..., 1].

    R is the smallest integer with eta**R >= n, but at most the largest with
    eta**R <= max_ratio (the longest run over the shortest allowed).
    """
    rungs = 0
    while eta ** rungs < n and eta ** (rungs + 1) <= max_ratio:
        rungs += 1
    return [eta ** (r - rungs) for r in range(rungs + 1)]


def rung_iters(num_iters, fraction, min_iters):
    """Iterations of a rung: ``fraction`` of num_iters, at least min_iters, at most num_iters."""
    return min(num_iters, max(min_iters, round(fraction * num_iters)))


def successive_halving(configs, run, *, eta=3, min_iters=200):
    """Run successive halving over ``configs``; return the rows of every rung.

    ``run(tasks, rung=, desc=)`` trains a list of (config, iters) tasks and
    returns their rows in task order (see :class:`cattern.tuning.search._Runner`).
    """
    if isinstance(eta, bool) or not isinstance(eta, numbers.Integral) or eta < 2:
        raise ValueError(f"eta must be an integer >= 2 (the factor configs are cut by); got {eta!r}")
    if isinstance(min_iters, bool) or not isinstance(min_iters, numbers.Integral) or min_iters < 1:
        raise ValueError(f"min_iters must be a positive integer; got {min_iters!r}")
    fractions = rung_fractions(len(configs), eta, max(c["num_iters"] for c in configs) / min_iters)
    survivors = list(range(len(configs)))  # indices into configs, so ties go to the first listed
    every_row = []
    for rung, fraction in enumerate(fractions):
        tasks = [(configs[i], rung_iters(configs[i]["num_iters"], fraction, min_iters)) for i in survivors]
        rows = run(tasks, rung=rung, desc=f"rung {rung}/{len(fractions) - 1}: {len(tasks)} configs")
        every_row += rows
        finished = [(i, row) for i, row in zip(survivors, rows) if row["status"] == OK]
        finished.sort(key=lambda pair: (score(pair[1]), pair[0]))
        survivors = [i for i, _ in finished[:math.ceil(len(survivors) / eta)]]
        if not survivors:
            break  # every run diverged
    return every_row
