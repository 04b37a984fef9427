"""Replay the seed's 72-config grid (cell [15]) as its loop ran it, and compare.

The seed's cell [15] builds each net *before* unpacking its config::

    for i, params in enumerate(gcv):
        net = TwoLayerNet(input_size, hidden_size, num_classes)
        lr, reg, hidden_size, epoch, batch_size = params

so config k trains a net with config k-1's hidden size, and config 1 one with
whatever ``hidden_size`` held before the loop (``--initial-hidden``). This
script trains the 72 configs that way (or, with ``--no-carry-over``, each at
its own hidden size: the grid the seed meant to run), with cattern's
``TwoLayerNet`` (init std 1e-4, decay 0.95 per epoch), on the seed's
preprocessing (float pixels, the mean training image subtracted, rows of 784),
and compares the validation accuracies with the 72 the seed printed
(:mod:`cattern.reference`): mean |ours - seed| (MAE), Spearman rank
correlation, our best and the seed's, and whether the winners agree.

Several options take comma-separated lists; the script runs every
combination (a "setup") and prints one table per setup, then a summary:

    python benchmarks/seed_grid_replay.py                                 # 0..255, momentum 0, H0 = 10
    python benchmarks/seed_grid_replay.py --pixel-scale 1,255 --momentum 0.9,0   # the four setups
    python benchmarks/seed_grid_replay.py --configs 1 --initial-hidden 5,10,20,50 --seeds 5
    python benchmarks/seed_grid_replay.py --seeds 3 --configs 1-12     # seed-to-seed spread
    python benchmarks/seed_grid_replay.py --no-carry-over                 # the corrected grid
    python benchmarks/seed_grid_replay.py --dtype float32

With ``--seeds S`` each config trains S times (seeds 0..S-1; a run's seed is
1000 * s + config, the same in every setup, so setups are compared on the
same draws). The MAE and Spearman are then given per seed, and the "noise
floor" is the same statistics between two of our own seeds: what the
comparison would show if the seed's notebook were one more of our runs.

Every setup's rows and statistics go to benchmarks/results/seed_grid_replay.json
(``--out``), keyed by the setup and the configs, merged with what the file
already holds. Runs use ``--jobs`` joblib workers (default 2) of one BLAS
thread each.
"""
import argparse
import dataclasses
import functools
import itertools
import json
import math
import statistics
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from joblib import Parallel, delayed

from cattern.data.splits import load_raw, prepare
from cattern.models import TwoLayerNet
from cattern.reference import compare_grid, seed_grid
from cattern.trainer import TrainConfig, Trainer

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE.parents[1] / "shared" / "datasets" / "mnist"
RESULTS = HERE / "results" / "seed_grid_replay.json"
STD = 1e-4            # TwoLayerNet's default init scale, which the seed's cell [15] uses
DECAY = 0.95          # cell [15]'s learning_rate_decay


@dataclass(frozen=True)
class Setup:
    """What a replay varies, besides the config.

    - pixel_scale: 255 gives pixels 0..255 (the seed's loader), 1 gives [0, 1]
    - momentum: 0 is plain SGD
    - initial_hidden: hidden_size before the loop (config 1's net); None with
      carry_over False
    - carry_over: True replays the loop as it ran; False trains each config at
      its own hidden size
    - dtype: "float64" or "float32"
    - decay_schedule: "epoch" (cattern's: once per ceil(N / batch)
      iterations) or "cs231n" (see :class:`Cs231nDecay`)
    """

    pixel_scale: float = 255.0
    momentum: float = 0.0
    initial_hidden: int | None = 10
    carry_over: bool = True
    dtype: str = "float64"
    decay_schedule: str = "epoch"

    @property
    def label(self):
        hidden = f"H0={self.initial_hidden}" if self.carry_over else "own-hidden"
        pixels = "[0, 1]" if self.pixel_scale == 1 else f"0..{self.pixel_scale:g}"
        label = f"pixels {pixels}, momentum {self.momentum:g}, {hidden}, {self.dtype}"
        return label + (", cs231n decay" if self.decay_schedule == "cs231n" else "")


# ---------------------------------------------------------------------------
# Data and one training run
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def load(pixel_scale, dtype):
    """The seed's preprocessing (cattern.data.splits): (55000, 784) and (5000, 784) rows of
    ``dtype``, pixels on ``pixel_scale``, minus the mean training image; and the
    (55000,), (5000,) int64 labels. Cached per worker process."""
    split = prepare(load_raw(DATA_DIR, verbose=False), pixel_scale)
    return split.X_train.astype(dtype), split.y_train, split.X_val.astype(dtype), split.y_val


@dataclass(frozen=True)
class Cs231nDecay:
    """cs231n's decay, as its ``TwoLayerNet.train`` writes it::

        iterations_per_epoch = max(num_train / batch_size, 1)   # a float
        ...after the update of iteration it:
        if it % iterations_per_epoch == 0: learning_rate *= learning_rate_decay

    The first decay comes after iteration 0, and with 55000 / 400 = 137.5
    only every 275th iteration is a whole multiple: ``period`` is the smallest
    whole multiple of num_train / batch_size.
    """

    learning_rate: float
    decay: float
    period: int

    def __call__(self, iteration, iterations_per_epoch):
        decays = 0 if iteration == 0 else (iteration - 1) // self.period + 1
        return self.learning_rate * self.decay ** decays


@dataclass(frozen=True)
class Cs231nConfig(TrainConfig):
    """A :class:`TrainConfig` whose schedule is :class:`Cs231nDecay`."""

    decay_period: int = 1

    def schedule(self):
        return Cs231nDecay(self.learning_rate, self.learning_rate_decay, self.decay_period)


def train_one(setup, params, hidden, seed):
    """Train one config: ``params`` = (lr, reg, listed hidden, num_iters, batch),
    a net of ``hidden`` units. Returns validation and train accuracy (all
    55,000 images, as the seed) and seconds."""
    from threadpoolctl import threadpool_limits

    lr, reg, _, num_iters, batch = params
    with threadpool_limits(1, user_api="blas"):
        X, y, X_val, y_val = load(setup.pixel_scale, setup.dtype)
        start = time.perf_counter()
        net = TwoLayerNet(784, hidden, 10, std=STD, seed=seed, dtype=setup.dtype)
        options = dict(num_iters=num_iters, batch_size=batch, learning_rate=lr,
                       learning_rate_decay=DECAY, reg=reg, momentum=setup.momentum, seed=seed)
        if setup.decay_schedule == "epoch":
            net.train(X, y, X_val, y_val, **options)
        else:
            config = Cs231nConfig(**options, decay_period=Fraction(len(X), batch).numerator)
            Trainer(net, config).fit(X, y, X_val, y_val)
        val = float((net.predict(X_val) == y_val).mean())
        train = float((net.predict(X) == y).mean())
    return {"val_acc": val, "train_acc": train, "seconds": time.perf_counter() - start}


def trained_hidden(setup, config):
    """The hidden size the seed's loop gave ``config`` (1-based) in ``setup``."""
    rows = seed_grid()
    if not setup.carry_over:
        return rows[config - 1].hidden_size
    return setup.initial_hidden if config == 1 else rows[config - 2].hidden_size


# ---------------------------------------------------------------------------
# Replay, statistics, output
# ---------------------------------------------------------------------------

def replay(setups, configs, seeds, jobs):
    """Train every (setup, config, seed); returns {setup: [row per config]}."""
    rows = seed_grid()
    tasks = [(setup, c, s) for setup in setups for c in configs for s in range(seeds)]
    # Longest first (iterations x batch x hidden), so that the two workers finish together.
    tasks.sort(key=lambda t: -rows[t[1] - 1].num_iters * rows[t[1] - 1].batch_size
               * (trained_hidden(t[0], t[1]) + 10))
    results = Parallel(n_jobs=jobs, verbose=5)(
        delayed(train_one)(setup, rows[c - 1].params, trained_hidden(setup, c), 1000 * s + c)
        for setup, c, s in tasks)
    runs = {(setup, c, s): r for (setup, c, s), r in zip(tasks, results)}
    out = {}
    for setup in setups:
        out[setup] = []
        for c in configs:
            row = rows[c - 1]
            ours = [runs[setup, c, s] for s in range(seeds)]
            out[setup].append({
                "config": c, "params": list(row.params), "trained_hidden": trained_hidden(setup, c),
                "seed_val": row.val_acc, "seed_train": row.train_acc,
                "val": [r["val_acc"] for r in ours], "train": [r["train_acc"] for r in ours],
                "seconds": [round(r["seconds"], 2) for r in ours]})
    return out


def statistics_of(rows):
    """MAE, Spearman and winners of each of our seeds against the seed's grid, of
    our mean over seeds, and between our own seeds (the noise floor)."""
    configs = [r["config"] for r in rows]
    seed = [r["seed_val"] for r in rows]
    seeds = len(rows[0]["val"])
    per_seed = [dataclasses.asdict(compare_grid([r["val"][s] for r in rows], seed, configs))
                for s in range(seeds)]
    mean = [statistics.fmean(r["val"]) for r in rows]
    stats = {"per_seed": per_seed, "of_mean": dataclasses.asdict(compare_grid(mean, seed, configs)),
             "seconds": sum(sum(r["seconds"]) for r in rows)}
    if seeds > 1:
        pairs = [dataclasses.asdict(compare_grid([r["val"][a] for r in rows], [r["val"][b] for r in rows],
                                                 configs))
                 for a, b in itertools.combinations(range(seeds), 2)]
        stats["noise_floor"] = {"mae": statistics.fmean(p["mae"] for p in pairs),
                                "spearman": statistics.fmean(p["spearman"] for p in pairs),
                                "pairs": len(pairs)}
        stats["mean_std"] = statistics.fmean(statistics.stdev(r["val"]) for r in rows)
    return stats


def print_setup(setup, rows, stats):
    seeds = len(rows[0]["val"])
    print(f"\n## {setup.label}\n")
    print("| config | lr | reg | hidden listed -> trained | iters | batch | seed val | our val"
          f"{' (mean +- std)' if seeds > 1 else ''} | diff | seed train | our train |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lr, reg, hidden, iters, batch = r["params"]
        val = statistics.fmean(r["val"])
        spread = f" +- {statistics.stdev(r['val']):.4f}" if seeds > 1 else ""
        seed_train = "-" if r["seed_train"] is None else f"{r['seed_train']:.4f}"
        print(f"| {r['config']} | {lr:g} | {reg:g} | {hidden} -> {r['trained_hidden']} | {iters} | {batch} "
              f"| {r['seed_val']:.4f} | {val:.4f}{spread} | {val - r['seed_val']:+.4f} | {seed_train} "
              f"| {statistics.fmean(r['train']):.4f} |")
    print()
    for s, c in enumerate(stats["per_seed"]):
        print(f"seed {s}: " + describe(c))
    if seeds > 1:
        print("mean over seeds: " + describe(stats["of_mean"]))
        nf = stats["noise_floor"]
        print(f"noise floor (our seeds against each other, {nf['pairs']} pairs): MAE {nf['mae']:.4f}, "
              f"Spearman {nf['spearman']:.3f}; mean std per config {stats['mean_std']:.4f}")
    print(f"training time: {stats['seconds']:.0f} s of one core")


def describe(c):
    return (f"MAE {c['mae']:.4f}, Spearman {c['spearman']:.3f}, our best {c['our_best_val']:.4f} "
            f"(config {c['our_best_config']}), seed's {c['seed_best_val']:.4f} (config "
            f"{c['seed_best_config']}), winners {'agree' if c['winners_agree'] else 'differ'}")


def print_summary(entries):
    """One row per setup: the statistics over seeds, the noise floor, the time."""
    print("\n## Summary (with several seeds: the mean, and the range over seeds)\n")
    print("| setup | configs | seeds | MAE | Spearman | our best (config) | winners agree | our mean val "
          "| our mean train | noise MAE | noise Spearman | core seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key, entry in entries.items():
        st, rows = entry["stats"], entry["rows"]
        per_seed, nf = st["per_seed"], st.get("noise_floor", {})
        best = max(per_seed, key=lambda p: p["our_best_val"])
        agree = sum(p["winners_agree"] for p in per_seed)
        print(f"| {key.split(';')[0]} | {entry['configs_label']} | {entry['seeds']} | {spread([p['mae'] for p in per_seed], 4)} "
              f"| {spread([p['spearman'] for p in per_seed], 3)} "
              f"| {spread([p['our_best_val'] for p in per_seed], 4)} (best: {best['our_best_config']}) "
              f"| {agree}/{len(per_seed)} | {statistics.fmean(v for r in rows for v in r['val']):.4f} "
              f"| {statistics.fmean(v for r in rows for v in r['train']):.4f} "
              f"| {nf.get('mae', math.nan):.4f} | {nf.get('spearman', math.nan):.3f} | {st['seconds']:.0f} |")


def spread(values, digits):
    """'mean (min-max)' of a list of numbers, or the one number."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.fmean(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def save(path, entries):
    """Merge ``entries`` ({key: entry}) into the JSON file at ``path``."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def parse_configs(text):
    """'1-6,17' -> [1, 2, 3, 4, 5, 6, 17]."""
    configs = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        configs.extend(range(int(lo), int(hi or lo) + 1))
    if not configs or min(configs) < 1 or max(configs) > 72:
        raise ValueError(f"--configs must name configs between 1 and 72; got {text!r}")
    return sorted(set(configs))


def floats(text):
    return [float(v) for v in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pixel-scale", type=floats, default=[255.0],
                        help="255: pixels 0..255 (the seed's); 1: [0, 1]; a list runs each")
    parser.add_argument("--momentum", type=floats, default=[0.0], help="0: plain SGD; a list runs each")
    parser.add_argument("--initial-hidden", default="10",
                        help="hidden_size before the loop (config 1's net); a list runs each")
    parser.add_argument("--no-carry-over", dest="carry_over", action="store_false",
                        help="train each config at its own hidden size (the corrected grid)")
    parser.add_argument("--dtype", default="float64", help="float64 or float32; a list runs each")
    parser.add_argument("--decay-schedule", default="epoch", choices=["epoch", "cs231n"],
                        help="epoch: cattern's, once per ceil(N/batch) iterations; cs231n: see Cs231nDecay")
    parser.add_argument("--seeds", type=int, default=1, help="runs per config (seeds 0..S-1)")
    parser.add_argument("--configs", type=parse_configs, default=list(range(1, 73)), help="e.g. 1-6,17")
    parser.add_argument("--jobs", type=int, default=2, help="joblib workers, one BLAS thread each")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    hiddens = [int(h) for h in args.initial_hidden.split(",")] if args.carry_over else [None]
    setups = [Setup(pixel_scale=p, momentum=m, initial_hidden=h, carry_over=args.carry_over, dtype=d,
                    decay_schedule=args.decay_schedule)
              for p, m, h, d in itertools.product(args.pixel_scale, args.momentum, hiddens,
                                                   args.dtype.split(","))]
    start = time.perf_counter()
    results = replay(setups, args.configs, args.seeds, args.jobs)
    wall = time.perf_counter() - start

    configs_label = "all" if args.configs == list(range(1, 73)) else ",".join(map(str, args.configs))
    entries = {}
    for setup, rows in results.items():
        stats = statistics_of(rows)
        print_setup(setup, rows, stats)
        key = f"{setup.label}; configs {configs_label}; seeds {args.seeds}"
        entries[key] = {"setup": dataclasses.asdict(setup), "configs": args.configs,
                        "configs_label": configs_label, "seeds": args.seeds,
                        "rows": rows, "stats": stats}

    print_summary(entries)
    print(f"\nwall time {wall:.0f} s with {args.jobs} workers")
    save(args.out, entries)
    print(f"saved to {args.out}")


if __name__ == "__main__":
    # Run main() from the module imported by name, not from __main__: the workers
    # then import train_one and its per-process data cache (load) by reference,
    # instead of receiving copies of them, with an empty cache, for every run.
    import seed_grid_replay

    seed_grid_replay.main()
