"""What deskewing costs a run: the time to deskew MNIST once, and the time of an epoch on
deskewed digits against one on the digits as they are.

    python benchmarks/deskew_cost.py [--preset two-layer-best] [--epochs 2] [--rounds 3] \\
        [--out benchmarks/results/deskew_cost.json]

Each round prepares the data both ways (``prepare`` with and without
``deskew``: the pixel scale, the mean image, and for one of them the
deskewing of all 70,000 images), then trains the preset's net ``--epochs``
epochs on each, the order alternating between rounds. The figures are the
ratios, deskewed over plain, taken within each round (the two are timed
minutes apart, so the machine's load is about the same for both) and
summarized by the median over the rounds. Wall time, since that is what a
user waits for and what "within 5 minutes" means.

Why it is worth measuring: this machine's speed drifts by half from hour to
hour, so a deskewed preset timed alone in a slow hour says little about
deskewing until it is set beside the plain one in the same minutes.
"""
import argparse
import dataclasses
import os
import statistics
import time
from pathlib import Path

from cattern.atomic import write_json
from cattern.data.splits import load_raw, prepare
from cattern.experiment import train_model
from cattern.presets import get_preset

MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"


def timed_run(cfg, raw):
    """(seconds to prepare the data, seconds to train ``cfg`` on it)."""
    start = time.perf_counter()
    split = prepare(raw, cfg.pixel_scale, cfg.deskew)
    prepared = time.perf_counter()
    train_model(cfg, split.X_train, split.y_train, split.X_val, split.y_val, callbacks=lambda k: [],
                mean_image=split.preprocessing.mean_image)
    return prepared - start, time.perf_counter() - prepared


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="two-layer-best")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the figures to this JSON file")
    args = parser.parse_args()
    base = get_preset(args.preset)
    raw = load_raw(MNIST, verbose=False)
    steps = args.epochs * -(-len(raw.y_train) // base.batch_size)
    plain = dataclasses.replace(base, num_iters=steps, deskew=False, final_test=False, ensemble=1, ensemble_jobs=1)
    deskewed = dataclasses.replace(plain, deskew=True)
    rounds = []
    for r in range(args.rounds):
        order = [("plain", plain), ("deskewed", deskewed)]
        times = dict((name, timed_run(cfg, raw)) for name, cfg in (order if r % 2 == 0 else order[::-1]))
        rounds.append({"plain_prepare_seconds": round(times["plain"][0], 2),
                       "deskewed_prepare_seconds": round(times["deskewed"][0], 2),
                       "plain_train_seconds": round(times["plain"][1], 2),
                       "deskewed_train_seconds": round(times["deskewed"][1], 2),
                       "train_ratio": round(times["deskewed"][1] / times["plain"][1], 3)})
        print(f"round {r + 1}: {rounds[-1]}", flush=True)
    result = {
        "preset": args.preset, "epochs": args.epochs, "rounds": rounds,
        "median_train_ratio": statistics.median(r["train_ratio"] for r in rounds),
        "median_extra_prepare_seconds": round(statistics.median(
            r["deskewed_prepare_seconds"] - r["plain_prepare_seconds"] for r in rounds), 2),
        "loadavg_end": round(os.getloadavg()[0], 2),
    }
    print(f"{args.preset}: an epoch on deskewed digits takes {result['median_train_ratio']:.3f}x one on plain "
          f"digits (median of {args.rounds} rounds); deskewing the data adds "
          f"{result['median_extra_prepare_seconds']:.1f} s once")
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
