"""How many more epochs an hour two nets trained at once (``ensemble_jobs=2``) give than
one net on all the cores, on real MNIST.

    python benchmarks/ensemble_jobs.py [--preset fc-best] [--epochs 2] [--rounds 3] \\
        [--out benchmarks/results/ensemble_jobs.json]

Each round times, one after the other on the same machine, the preset's net
trained alone (BLAS on every core, as ``cattern train`` runs one net) and an
ensemble of two of them trained at once (each net with one BLAS thread, in
threads of one process: :func:`cattern.experiment.fit_at_once`), both cut
to ``--epochs`` epochs. The figure is the ratio of the epochs trained per
second, ensemble over single, taken within each round (the two are timed
minutes apart, so the machine's load is about the same for both) and
summarized by the median over the rounds. Wall time, since that is what a
user waits for and what "within 30 minutes" means.

Why it can win on 2 cores: a step of these nets is not all matrix products.
The update rule, batch normalization, dropout and the distortions are
NumPy loops on one core, during which the second core idles; two nets side
by side fill it.
"""
import argparse
import dataclasses
import os
import statistics
import time
from pathlib import Path

from cattern.atomic import write_json
from cattern.data.splits import load_split
from cattern.experiment import train_model
from cattern.presets import get_preset

MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"


def timed(cfg, split):
    """Wall seconds to train ``cfg`` (one net or an ensemble) on ``split``."""
    start = time.perf_counter()
    train_model(cfg, split.X_train, split.y_train, split.X_val, split.y_val, callbacks=lambda k: [],
                mean_image=split.preprocessing.mean_image)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fc-best")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the figures to this JSON file")
    args = parser.parse_args()
    base = get_preset(args.preset)
    split = load_split(MNIST, pixel_scale=base.pixel_scale, verbose=False)
    steps = args.epochs * -(-len(split.y_train) // base.batch_size)
    single = dataclasses.replace(base, num_iters=steps, ensemble=1, ensemble_jobs=1, final_test=False)
    pair = dataclasses.replace(single, ensemble=2, ensemble_jobs=2)
    rounds = []
    for r in range(args.rounds):
        one, two = timed(single, split), timed(pair, split)
        rounds.append({"single_seconds": round(one, 2), "pair_at_once_seconds": round(two, 2),
                       "epochs_per_second_ratio": round(2 * one / two, 3),
                       "loadavg": round(os.getloadavg()[0], 2)})
        print(f"round {r}: one net {one:.1f} s, two nets at once {two:.1f} s: "
              f"{2 * one / two:.2f} x the epochs per second", flush=True)
    result = {"preset": args.preset, "epochs": args.epochs, "cores": os.cpu_count(), "rounds": rounds,
              "median_ratio": statistics.median(r["epochs_per_second_ratio"] for r in rounds)}
    print(f"median: {result['median_ratio']:.2f} x the epochs per second with two nets at once")
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
