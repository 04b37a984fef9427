"""Does ending on the epoch of best validation accuracy help? Judged on the validation images alone, by halves.

    python benchmarks/restore_best_halves.py NETS_DIR/HASH.epochs.npy [...] [--splits 2000] [--seed 0]

``restore_best`` (every preset but ``fc-deskew-last`` and ``fc-deskew-all``) ends a run on the epoch
whose accuracy on the 5,000 validation images is highest. That is the highest
of many noisy measurements (one standard error is 0.08 %), so it is
optimistic, and the epoch it picks may be a lucky one rather than a better
net: with a cosine schedule it can be one taken halfway, at half the
learning rate, instead of the converged last one.

To tell without the test set, the validation images are split in two halves
at random. The epoch is chosen on half A as ``restore_best`` chooses it (the
first epoch of highest accuracy), and scored on half B; the last epoch is
scored on half B too. Over many random splits, the mean of (chosen - last)
on B says which rule does better on images the choice did not see; a
negative mean means restore_best's choice is worse than simply ending on the
last epoch. The mean is unbiased, but its error is the validation set's own
noise, not the splits' spread: for 60 epochs of equally good nets (99.4 %,
independent errors) it scatters by 0.13 points from one random validation
set to the next, so one net says little and several nets are needed.

The inputs are the per-epoch validation predictions that ``python
benchmarks/fc_select.py ... --epoch-predictions --nets-dir DIR`` keeps, one
DIR/HASH.epochs.npy per net, (epochs, 5000) int8. Prints one line per net and
their mean; appends one line to benchmarks/results/restore_best_halves.jsonl.
The test images are dropped as soon as they are loaded.
"""
import argparse
import json
import os
import time

import numpy as np

from cattern.data.splits import load_split

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist")
LOG = os.path.join(os.path.dirname(__file__), "results", "restore_best_halves.jsonl")


def halves_difference(correct, splits, rng):
    """For ``splits`` random halvings of the validation images, the accuracy on half B of the
    epoch chosen on half A (the first of highest accuracy), minus that of the last epoch.

    Inputs:
    - correct: (E, N) bool, epoch e's prediction of image n right
    - splits: number of random halvings
    - rng: np.random.Generator

    Returns (differences (splits,), chosen epochs (splits,), accuracies of the chosen epoch on B (splits,)).
    """
    epochs, n = correct.shape
    half = n // 2
    in_a = np.zeros((splits, n), dtype=bool)
    for s in range(splits):
        in_a[s, rng.permutation(n)[:half]] = True
    hits = correct.astype(np.float64)                                 # (E, N)
    acc_a = hits @ in_a.T / half                                      # (E, S)
    acc_b = hits @ (~in_a).T / (n - half)                             # (E, S)
    chosen = acc_a.argmax(axis=0)                                     # (S,): the first highest, as the trainer keeps
    chosen_b = acc_b[chosen, np.arange(splits)]
    return chosen_b - acc_b[-1], chosen, chosen_b


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", nargs="+", help="HASH.epochs.npy files from fc_select.py --epoch-predictions")
    parser.add_argument("--splits", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", default=LOG)
    args = parser.parse_args()

    split = load_split(MNIST_DIR, pixel_scale=1.0, verbose=False)
    split.test = None  # nothing here may look at the test images
    y_val = split.y_val
    rng = np.random.default_rng(args.seed)
    rows = []
    for path in args.predictions:
        predictions = np.load(path)
        if predictions.ndim != 2 or predictions.shape[1] != len(y_val):
            raise SystemExit(f"{path}: expected (epochs, {len(y_val)}) predictions, got {predictions.shape}")
        correct = predictions == y_val                                # (E, N)
        accuracy = correct.mean(axis=1)
        diff, chosen, _ = halves_difference(correct, args.splits, rng)
        row = {"net": os.path.basename(path), "epochs": len(accuracy),
               "best_epoch_all": int(accuracy.argmax()) + 1, "best_acc_all": float(accuracy.max()),
               "last_acc_all": float(accuracy[-1]),
               "mean_difference": float(diff.mean()),
               "share_chosen_worse": float((diff < 0).mean()), "share_chosen_better": float((diff > 0).mean()),
               "median_chosen_epoch": int(np.median(chosen)) + 1}
        rows.append(row)
        print(f"{row['net']}: best epoch {row['best_epoch_all']}/{row['epochs']} ({row['best_acc_all']:.4f}, "
              f"last {row['last_acc_all']:.4f}); on the unseen half, the chosen epoch minus the last: "
              f"{row['mean_difference'] * 100:+.3f} points (worse in {row['share_chosen_worse']:.0%} of "
              f"{args.splits} splits, better in {row['share_chosen_better']:.0%})", flush=True)
    mean = float(np.mean([r["mean_difference"] for r in rows]))
    print(f"mean over {len(rows)} nets: {mean * 100:+.3f} points for restore_best's choice against the last epoch")
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    with open(args.log, "a") as f:
        f.write(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M:%S"), "splits": args.splits, "seed": args.seed,
                            "nets": rows, "mean_difference": mean}) + "\n")


if __name__ == "__main__":
    main()
