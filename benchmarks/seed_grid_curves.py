"""How early the seed's 72-config grid shows its winner: validation curves.

Successive halving ranks configs by short runs. That works when a config
that leads early also leads at the end. This trains every config of a search
preset (``seed-72`` by default) to its full budget, with the same per-config
seeds as ``cattern tune`` (so each curve is exactly the run the grid and
halving make), records validation accuracy after every epoch, and prints, for
fractions of the budget: the best and median accuracy across configs at that
point, and how many configs halving's order (accuracy, then validation loss)
puts at or above the grid's final winner then: 1 means the winner leads.

    python benchmarks/seed_grid_curves.py
    python benchmarks/seed_grid_curves.py --preset lab --json curves.json
"""
import argparse
import json
import math
import sys

import numpy as np
from joblib import Parallel, delayed

from cattern.experiment import ExperimentConfig, train_model
from cattern.layers import softmax_loss
from cattern.trainer import Callback
from cattern.tuning import preset_configs
from cattern.tuning.results import train_seed
from search_time import DATA_DIR, load  # the same data as the search it explains (benchmarks/ is on sys.path)

FRACTIONS = (1 / 9, 1 / 3, 1 / 2, 2 / 3, 1.0)


class ValLoss(Callback):
    """Records the validation loss after every epoch (halving breaks accuracy ties by it)."""

    def __init__(self, X_val, y_val):
        self.X_val, self.y_val, self.losses = X_val, y_val, []

    def on_epoch_end(self, trainer, epoch):
        scores = trainer.model.loss(self.X_val)
        self.losses.append(float(softmax_loss(scores.astype(np.float64), self.y_val)[0]))


def curve(config, seed, data):
    """Validation accuracy and loss after each epoch of ``config``'s full run, and
    iterations per epoch."""
    from threadpoolctl import threadpool_limits

    X, y, X_val, y_val = data
    val_loss = ValLoss(X_val, y_val)
    with threadpool_limits(1, user_api="blas"):  # as a search's runs: 1 BLAS thread each
        _, history = train_model(ExperimentConfig.from_dict({**config, "seed": train_seed(config, seed)}),
                                 X, y, X_val, y_val, callbacks=[val_loss])
    return history["val_acc_history"], val_loss.losses, math.ceil(len(X) / config["batch_size"])


def value_at(curve_, per_epoch, num_iters, iters):
    """A curve's value at ``iters`` iterations of a run of ``num_iters``: the last
    measurement at or before it (the trainer measures after every epoch and at the
    last iteration); NaN before the first."""
    points = [min((e + 1) * per_epoch, num_iters) for e in range(len(curve_))]
    done = [acc for point, acc in zip(points, curve_) if point <= iters]
    return done[-1] if done else float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed-72")
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="the search seed (as cattern tune --seed)")
    parser.add_argument("--json", help="also write every curve here")
    parser.add_argument("--load", help="read the curves from a --json file instead of training")
    args = parser.parse_args(argv)

    configs = preset_configs(args.preset)
    data = load(args.data_dir, configs)
    if args.load:
        with open(args.load) as f:
            runs = [(r["val_acc_per_epoch"], r["val_loss_per_epoch"], r["iters_per_epoch"])
                    for r in json.load(f)]
    else:
        runs = Parallel(n_jobs=args.n_jobs)(delayed(curve)(c, args.seed, data) for c in configs)
    final = [acc[-1] for acc, _, _ in runs]
    winner = int(np.argmax(final))
    print(f"{args.preset}: {len(configs)} configs; the grid's best ends at {final[winner]:.4f}: "
          f"{configs[winner]}\n")
    print("| share of each config's iterations | best accuracy then | median | configs above chance (> 0.12) "
          "| configs ranked at or above the final winner then (accuracy, then loss, as halving ranks) |")
    print("|---|---|---|---|---|")
    for fraction in FRACTIONS:
        acc, loss = (np.array([value_at(run[k], run[2], cfg["num_iters"], round(fraction * cfg["num_iters"]))
                               for run, cfg in zip(runs, configs)]) for k in (0, 1))
        if np.isnan(acc[winner]):
            ahead = "not measured yet"
        else:  # halving's order: higher accuracy, then lower loss
            ahead = int(np.sum((acc > acc[winner]) | ((acc == acc[winner]) & (loss <= loss[winner]))))
        print(f"| {fraction:.3f} | {np.nanmax(acc):.4f} | {np.nanmedian(acc):.4f} | "
              f"{int(np.sum(acc > 0.12))} of {len(configs)} | {ahead} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"config": c, "val_acc_per_epoch": acc, "val_loss_per_epoch": loss, "iters_per_epoch": per}
                       for c, (acc, loss, per) in zip(configs, runs)], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
