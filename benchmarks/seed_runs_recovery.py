"""Recover the arguments of the seed's cells [10] and [11] from what they printed.

The seed's text cut the arguments of its two single training runs; what it
kept is the loss at iterations 0, 100, ..., 1900 of 2000 and a final
validation accuracy (cattern.reference.SEED_RUNS):

- [10] "fixed learning rate": validation 0.8922
- [11] "larger starting learning rate and learning rate decay": validation 0.9432

This fits them with the seed's net, ``TwoLayerNet(784, 50, 10)`` (cell [10]
sets hidden_size = 50; init std 1e-4), 2000 iterations (the printed "/ 2000")
and batch 200 (an assumption, checked at the end), on pixels 0..255 minus the
mean training image (as benchmarks/seed_grid_replay.py). Each candidate is a
learning rate, an L2 strength, a momentum (0: plain SGD, or 0.9) and, for
[11], a per-epoch decay ([10] keeps the rate fixed: decay 1.0). Every
candidate trains with the same seeds 0..S-1 (same initial weights and batch
order), so candidates differ by their arguments, not by their draws.

How a candidate fits (all against the printed numbers):

- rms: root mean square, over the 20 printed iterations, of our loss at that
  iteration minus the printed one, averaged over seeds. Both are the loss of
  one minibatch, so a perfect candidate still has the batch-to-batch noise.
- rms_local: the same against our local mean: the mean over seeds of our
  losses at iterations t-10..t+10.
- z-scores of the 19 printed losses at iterations 100..1900, (printed -
  local mean) / local sd (the sd of the same window's losses, at least
  0.005), and of the validation accuracy, (printed - our mean) / sd over
  seeds (at least 0.002). Iteration 0 is left out: its loss is ln(10) plus
  the L2 term 0.5 * reg * sum(W**2) = reg * 2.0e-4 at init, to within about
  1e-5, and is shown apart (``loss0``).
- chi2: the mean squared z-score of those 20 numbers; about 1 for a
  candidate the printed run could have been one more seed of.
- nll: their mean Gaussian negative log-likelihood, 0.5 * z**2 + log(sd) +
  0.5 * log(2 pi). Candidates are ranked by it: chi2 alone rewards a noisy
  run (a smaller batch, or a loss that blows up to 1e17 without becoming
  infinite) with small z-scores; the log(sd) term does not.
- noise ratio: the printed losses' scatter about our local mean over
  iterations 1000..1900, over our own batch-to-batch sd there: about 1 when
  the batch size (which sets that noise) is right.

Stages: a coarse grid (log-spaced rates, a few regs, momentum 0 and 0.9, for
[11] a few decays); then a finer grid around the best coarse candidates of
each momentum, so that momentum 0 and 0.9 are compared each at its best;
then the batch-size check (the best candidate's neighbourhood at batch 100
and 400 against batch 200).

    python benchmarks/seed_runs_recovery.py                    # both cells, all stages
    python benchmarks/seed_runs_recovery.py --cell fixed_lr --seeds 5 --dtype float64

Results go to benchmarks/results/seed_runs_recovery.json (``--out``).
"""
import argparse
import itertools
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from cattern.errors import DivergedError
from cattern.models import TwoLayerNet
from cattern.reference import SEED_RUNS
from seed_grid_replay import load  # the seed's preprocessing (benchmarks/ is on sys.path)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "seed_runs_recovery.json"
HIDDEN, NUM_ITERS, STD = 50, 2000, 1e-4
WINDOW = 10           # the local mean and sd use iterations t-WINDOW..t+WINDOW
LOSS_SD_FLOOR, VAL_SD_FLOOR = 0.005, 0.002

# The coarse grid: rates 10^-5.5 .. 10^-2.5 in steps of 10^0.25.
COARSE_RATES = [10 ** (e / 4) for e in range(-22, -9)]
COARSE_REGS = [0.0, 0.01, 0.05, 0.25]
MOMENTA = [0.0, 0.9]
COARSE_DECAYS = {"fixed_lr": [1.0], "lr_decay": [0.95, 0.9, 0.8]}


@dataclass(frozen=True)
class Candidate:
    """One guess at a cell's arguments (num_iters 2000, hidden 50 throughout)."""

    learning_rate: float
    reg: float
    momentum: float
    learning_rate_decay: float
    batch_size: int = 200


def train_one(candidate, seed, dtype):
    """Train one candidate with one seed: its losses around the 20 printed
    iterations ((20, 2 * WINDOW + 1) array, NaN past the end) and its final
    validation accuracy; None when the loss diverges."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        X, y, X_val, y_val = load(255.0, dtype)
        start = time.perf_counter()
        net = TwoLayerNet(784, HIDDEN, 10, std=STD, seed=seed, dtype=dtype)
        try:
            stats = net.train(X, y, X_val, y_val, num_iters=NUM_ITERS, seed=seed, **asdict(candidate))
        except DivergedError:
            return None
        val = float((net.predict(X_val) == y_val).mean())
    loss = np.full(NUM_ITERS + WINDOW, np.nan)
    loss[:NUM_ITERS] = stats["loss_history"]
    windows = [loss[max(t - WINDOW, 0):t + WINDOW + 1] for t in range(0, NUM_ITERS, 100)]
    windows[0] = np.concatenate([np.full(WINDOW, np.nan), windows[0]])  # t = 0 has no left half
    return {"windows": np.array(windows).tolist(), "val_acc": val, "seconds": time.perf_counter() - start}


def fit(cell, runs):
    """How well the runs of one candidate (a list over seeds) fit the printed ``cell``."""
    if any(r is None for r in runs):
        return {"diverged": True, "chi2": math.inf, "nll": math.inf}
    printed, target = np.array(SEED_RUNS[cell].losses), SEED_RUNS[cell].val_acc
    windows = np.array([r["windows"] for r in runs])             # (S, 20, 2 * WINDOW + 1)
    at_t = windows[:, :, WINDOW]                                  # (S, 20): our loss at each printed iteration
    local_mean = np.nanmean(windows, axis=(0, 2))                 # (20,)
    local_sd = np.maximum(np.nanstd(windows, axis=(0, 2)), LOSS_SD_FLOOR)
    vals = [r["val_acc"] for r in runs]
    val_sd = max(statistics.stdev(vals) if len(vals) > 1 else 0.0, VAL_SD_FLOOR)
    z_loss = (printed[1:] - local_mean[1:]) / local_sd[1:]
    z_val = (target - statistics.fmean(vals)) / val_sd
    z = np.append(z_loss, z_val)                                   # (20,)
    sd = np.append(local_sd[1:], val_sd)
    return {
        "diverged": False,
        "rms": float(np.mean(np.sqrt(np.mean((at_t - printed) ** 2, axis=1)))),
        "rms_local": float(np.sqrt(np.mean((local_mean - printed) ** 2))),
        "chi2": float(np.mean(z ** 2)),
        "nll": float(np.mean(0.5 * z ** 2 + np.log(sd) + 0.5 * np.log(2 * np.pi))),
        "val_mean": statistics.fmean(vals), "val_sd": statistics.stdev(vals) if len(vals) > 1 else 0.0,
        "val_diff": statistics.fmean(vals) - target,
        "loss0": float(np.mean(at_t[:, 0])), "loss0_sd": float(np.std(at_t[:, 0])),
        "loss0_printed": float(printed[0]),
        "local_mean": local_mean.round(6).tolist(), "local_sd": local_sd.round(6).tolist(),
        # Late batch-to-batch noise, printed against ours: about 1 when the batch size is right.
        "noise_ratio": float(np.sqrt(np.mean((printed[10:] - local_mean[10:]) ** 2))
                             / np.sqrt(np.mean(local_sd[10:] ** 2))),
        "seconds": sum(r["seconds"] for r in runs),
    }


def evaluate(cell, candidates, seeds, dtype, jobs):
    """Train every candidate with every seed; returns [(candidate, fit)], best (lowest nll) first."""
    candidates = list(dict.fromkeys(candidates))  # drop repeats, keep order
    tasks = list(itertools.product(candidates, range(seeds)))
    results = Parallel(n_jobs=jobs, verbose=2)(delayed(train_one)(c, s, dtype) for c, s in tasks)
    by_candidate = {c: [] for c in candidates}
    for (c, _), r in zip(tasks, results):
        by_candidate[c].append(r)
    scored = [(c, fit(cell, runs)) for c, runs in by_candidate.items()]
    return sorted(scored, key=lambda cf: cf[1]["nll"])


def best_per_momentum(scored, top):
    """The ``top`` best candidates of each momentum, counting one per (rate, decay):
    candidates differing only in reg, which the printed numbers hardly tell apart,
    count once."""
    best = []
    for momentum in MOMENTA:
        seen = []
        for c, f in scored:
            if c.momentum == momentum and (c.learning_rate, c.learning_rate_decay) not in seen \
                    and len(seen) < top and not f["diverged"]:
                seen.append((c.learning_rate, c.learning_rate_decay))
                best.append((c, f))
    return best


def coarse(cell):
    return [Candidate(lr, reg, m, d) for lr, reg, m, d in
            itertools.product(COARSE_RATES, COARSE_REGS, MOMENTA, COARSE_DECAYS[cell])]


def refine(cell, best):
    """A finer grid around one candidate: rate x 10^(-0.15..0.15), reg x (1/2, 1, 2)
    (0 and 0.005 around 0), and for [11] the decay +-0.025."""
    rates = [best.learning_rate * 10 ** (e / 20) for e in range(-3, 4)]
    regs = [0.0, 0.005] if best.reg == 0 else [best.reg / 2, best.reg, best.reg * 2]
    decays = [1.0] if cell == "fixed_lr" else sorted(
        {min(best.learning_rate_decay + d, 1.0) for d in (-0.025, 0.0, 0.025)})
    return [replace(best, learning_rate=lr, reg=reg, learning_rate_decay=d)
            for lr, reg, d in itertools.product(rates, regs, decays)]


def batch_check(best):
    """The best candidate at batch 100 and 400, with rates scaled by 1/2..2
    (a rate suits a batch size roughly in proportion), against batch 200."""
    return [replace(best, batch_size=b, learning_rate=best.learning_rate * b / 200 * f)
            for b in (100, 400) for f in (0.5, 0.71, 1.0, 1.41, 2.0)]


def print_table(title, scored, top):
    print(f"\n### {title}\n")
    print("| lr | reg | momentum | decay | batch | chi2 | nll | rms | rms_local | noise ratio | val (mean +- sd) "
          "| val - seed | loss at 0 (mean +- sd) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c, f in scored[:top]:
        if f["diverged"]:
            continue
        print(f"| {c.learning_rate:.3g} | {c.reg:g} | {c.momentum:g} | {c.learning_rate_decay:g} | {c.batch_size} "
              f"| {f['chi2']:.2f} | {f['nll']:.2f} | {f['rms']:.4f} | {f['rms_local']:.4f} | {f['noise_ratio']:.2f} "
              f"| {f['val_mean']:.4f} +- {f['val_sd']:.4f} | {f['val_diff']:+.4f} "
              f"| {f['loss0']:.6f} +- {f['loss0_sd']:.6f} |")


def entry(scored, seeds, dtype, seconds):
    return {"seeds": seeds, "dtype": dtype, "seconds": round(seconds, 1),
            "candidates": [{"candidate": asdict(c), "fit": f} for c, f in scored]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", choices=[*SEED_RUNS, "both"], default="both")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per candidate in the coarse stage")
    parser.add_argument("--refine-seeds", type=int, default=5, help="seeds per candidate in the later stages")
    parser.add_argument("--dtype", default="float32",
                        help="of the coarse and refined stages (float32 replays the grid as float64 does, "
                             "2.7x faster); the batch check runs in float64")
    parser.add_argument("--refine-top", type=int, default=2,
                        help="coarse candidates of each momentum to refine around")
    parser.add_argument("--top", type=int, default=12, help="rows per printed table")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    for cell in (list(SEED_RUNS) if args.cell == "both" else [args.cell]):
        run = SEED_RUNS[cell]
        print(f"\n## Cell {run.cell}: {run.description}; printed validation {run.val_acc}, "
              f"loss at 0 {run.losses[0]}")
        result = {}

        start = time.perf_counter()
        scored = evaluate(cell, coarse(cell), args.seeds, args.dtype, args.jobs)
        result["coarse"] = entry(scored, args.seeds, args.dtype, time.perf_counter() - start)
        print_table(f"coarse grid, {args.seeds} seeds, {args.dtype}: {len(scored)} candidates, "
                    f"{time.perf_counter() - start:.0f} s", scored, args.top)
        print_table("the best of each momentum", best_per_momentum(scored, 1), args.top)

        start = time.perf_counter()
        finer = [c for best, _ in best_per_momentum(scored, args.refine_top) for c in refine(cell, best)]
        scored = evaluate(cell, finer, args.refine_seeds, args.dtype, args.jobs)
        result["refined"] = entry(scored, args.refine_seeds, args.dtype, time.perf_counter() - start)
        print_table(f"refined, {args.refine_seeds} seeds, {args.dtype}: {len(scored)} candidates, "
                    f"{time.perf_counter() - start:.0f} s", scored, args.top)
        print_table("the best of each momentum", best_per_momentum(scored, 1), args.top)

        start = time.perf_counter()
        best = scored[0][0]
        checked = evaluate(cell, [best] + batch_check(best), args.refine_seeds, "float64", args.jobs)
        result["batch_check"] = entry(checked, args.refine_seeds, "float64", time.perf_counter() - start)
        print_table(f"batch size check around the best, {args.refine_seeds} seeds, float64",
                    checked, args.top)

        data[cell] = result
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"\nsaved to {args.out}")


if __name__ == "__main__":
    # main() from the module imported by name, so that the workers import
    # train_one and load's per-process data cache instead of receiving copies.
    import seed_runs_recovery

    seed_runs_recovery.main()
