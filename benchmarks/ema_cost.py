"""What ``--ema-decay`` costs a run: an epoch with the moving average of the weights
against one without, timed in alternation.

    python benchmarks/ema_cost.py [--preset fc-deskew] [--decay 0.9998] [--epochs 2] [--rounds 3] \\
        [--out benchmarks/results/ema_cost.json]

Each round trains the preset's net ``--epochs`` epochs without the average and
with it, the order alternating between rounds; the figure is the ratio, with
over without, taken within each round (the machine's speed drifts from hour to
hour, not from one minute to the next) and summarized by the median over the
rounds. Wall time, as a user waits for it. The average costs one more pass
over the weights per update (and a copy of them twice per epoch, to measure
it on validation), so its share is largest for a small batch and a wide net.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fc-deskew")
    parser.add_argument("--decay", type=float, default=0.9998)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the figures to this JSON file")
    args = parser.parse_args()
    base = get_preset(args.preset)
    split = load_split(MNIST, pixel_scale=base.pixel_scale, deskew=base.deskew, verbose=False)
    split.test = None
    steps = args.epochs * -(-len(split.y_train) // base.batch_size)
    plain = dataclasses.replace(base, num_iters=steps, ema_decay=0.0, final_test=False, ensemble=1, ensemble_jobs=1)
    configs = {"plain": plain, "averaged": dataclasses.replace(plain, ema_decay=args.decay)}
    rounds = []
    for r in range(args.rounds):
        seconds = {}
        for name in (["plain", "averaged"] if r % 2 == 0 else ["averaged", "plain"]):
            start = time.perf_counter()
            train_model(configs[name], split.X_train, split.y_train, split.X_val, split.y_val,
                        callbacks=lambda k: [], mean_image=split.preprocessing.mean_image)
            seconds[name] = time.perf_counter() - start
        rounds.append({"plain_seconds": round(seconds["plain"], 2), "averaged_seconds": round(seconds["averaged"], 2),
                       "ratio": round(seconds["averaged"] / seconds["plain"], 3)})
        print(f"round {r + 1}: {rounds[-1]}", flush=True)
    result = {"preset": args.preset, "decay": args.decay, "epochs": args.epochs, "rounds": rounds,
              "median_ratio": statistics.median(r["ratio"] for r in rounds),
              "loadavg_end": round(os.getloadavg()[0], 2)}
    print(f"{args.preset}: an epoch with --ema-decay {args.decay} takes {result['median_ratio']:.3f}x one "
          f"without (median of {args.rounds} rounds)")
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
