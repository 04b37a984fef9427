"""Test-time augmentation and averaged nets, judged on the VALIDATION set only: does
averaging a net's answers over moved copies of each image, or several nets' answers,
beat one net's answer on the image alone?

    python benchmarks/fc_tta.py runs/select/nets/HASH.npz [...]

For each model file (a net kept by ``benchmarks/fc_select.py``, or any
``model.npz``), prints the validation accuracy of the net on the images as
they are, and of the mean of its log-probabilities over several sets of
copies: whole-pixel shifts (the 4 or 8 neighbours) and small rotations. Given
two or more files, it also prints the accuracy of the mean of the nets'
log-probabilities (the rule of :class:`cattern.models.Ensemble`), for every
pair and for all of them, each with its validation log-loss (the finer
measure where the accuracies tie) and how many validation images every net
of the group misses. Each file's net sees the validation images through its
own preprocessing (pixel scale, mean image, deskewing), so nets that see the
digits differently can be averaged too. For a model file holding an ensemble, also
each of its nets alone and how many validation images all of them miss. Appends the figures as one line to
benchmarks/results/fc_tta.jsonl. The test images are never loaded.
"""
import argparse
import itertools
import json
import os
import time

import numpy as np

from cattern.augment import affine_coordinates, sample_bilinear, translate
from cattern.data.splits import load_raw
from cattern.model_io import load_model
from cattern.models import Ensemble

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist")
LOG = os.path.join(os.path.dirname(__file__), "results", "fc_tta.jsonl")


def log_probs(model, X):
    scores = model.scores(X).astype(np.float64)
    scores -= scores.max(axis=1, keepdims=True)
    return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))


def nll(mean_log_probs, y):
    """The validation log-loss of the distribution whose log is ``mean_log_probs`` (N, C)
    up to a constant per row (the mean of several nets' log-probabilities,
    renormalized: the ensemble's own answer). Far less noisy than the accuracy,
    which 5,000 images measure only to +-0.08 % near 99.6 %."""
    lp = mean_log_probs - np.log(np.exp(mean_log_probs).sum(axis=1, keepdims=True))
    return float(-lp[np.arange(len(y)), y].mean())


def shifted(X, mean, dy, dx):
    """Each row of X (mean-subtracted) moved by (dy, dx) whole pixels in raw pixel space."""
    n = len(X)
    images = (X + mean).reshape(n, 28, 28)
    out = translate(images, np.full(n, dy), np.full(n, dx))
    return out.reshape(n, -1) - mean


def rotated(X, mean, degrees):
    n = len(X)
    theta = np.deg2rad(degrees)
    A = np.tile(np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]]), (n, 1, 1))
    src_y, src_x = affine_coordinates(A, np.zeros((n, 2)), (28, 28))
    out = sample_bilinear((X + mean).reshape(n, 28, 28), src_y, src_x)
    return out.reshape(n, -1) - mean


VIEWS = {
    "4 neighbours": [(0, 1), (0, -1), (1, 0), (-1, 0)],
    "8 neighbours": [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--log", default=LOG, help="the file the figures are appended to (default: %(default)s)")
    args = parser.parse_args()
    raw = load_raw(MNIST_DIR, verbose=False)
    y = raw.y_val  # the test arrays in raw are never read
    row = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "models": args.models, "nets": {}}
    plains = {}
    for path in args.models:
        saved = load_model(path)
        model = saved.model
        # Each net's own preprocessing (pixel scale, mean image, deskewing) of the validation images.
        X, mean = saved.preprocessing.transform(raw.X_val), saved.preprocessing.mean_image
        plains[path] = plain = log_probs(model, X)
        figures = {"as they are": float(np.mean(plain.argmax(1) == y)), "log-loss": nll(plain, y)}
        for name, moves in VIEWS.items():
            total = plain + sum(log_probs(model, shifted(X, mean, dy, dx)) for dy, dx in moves)
            figures[f"+ {name}"] = float(np.mean(total.argmax(1) == y))
        for degrees in (5, 10):
            total = plain + log_probs(model, rotated(X, mean, degrees)) + log_probs(model, rotated(X, mean, -degrees))
            figures[f"+ rotations by +-{degrees} degrees"] = float(np.mean(total.argmax(1) == y))
        print(f"{path}: " + "; ".join(f"{k} {v:.5f}" if k == "log-loss" else f"{k} {v:.4f}"
                                       for k, v in figures.items()))
        if isinstance(model, Ensemble):  # how far its nets' mistakes differ
            members = [log_probs(net, X) for net in model.members]
            wrong = [set(np.flatnonzero(lp.argmax(1) != y).tolist()) for lp in members]
            figures["members"] = [{"val_accuracy": float(np.mean(lp.argmax(1) == y)), "log-loss": nll(lp, y),
                                   "errors": len(w)} for lp, w in zip(members, wrong)]
            figures["errors made by every member"] = len(set.intersection(*wrong))
            print(f"  its nets alone: {figures['members']}; errors made by every one of them: "
                  f"{figures['errors made by every member']}")
        row["nets"][path] = figures
    if len(plains) >= 2:
        groups = list(itertools.combinations(plains, 2)) + ([tuple(plains)] if len(plains) > 2 else [])
        # Averaging helps only where the nets err on different images: count, for each
        # group, the validation images every net of it misses.
        wrong = {p: set(np.flatnonzero(lp.argmax(1) != y).tolist()) for p, lp in plains.items()}
        row["averaged"] = [{"models": list(g), "val_accuracy": float(np.mean(
            sum(plains[p] for p in g).argmax(1) == y)), "val_nll": nll(sum(plains[p] for p in g) / len(g), y),
            "errors": [len(wrong[p]) for p in g], "errors made by every one": len(set.intersection(
                *(wrong[p] for p in g)))} for g in groups]
        for entry in row["averaged"]:
            print(f"mean of {' + '.join(entry['models'])}: {entry['val_accuracy']:.4f}, "
                  f"log-loss {entry['val_nll']:.5f}; errors {' / '.join(map(str, entry['errors']))}, "
                  f"{entry['errors made by every one']} made by every one")
    with open(args.log, "a") as f:  # one line per call, appended whole
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
