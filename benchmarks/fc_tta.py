"""Test-time augmentation, judged on the VALIDATION set only: does averaging a net's answers
over moved copies of each image beat its answer on the image alone?

    python benchmarks/fc_tta.py runs/select/nets/HASH.npz [...]

For each model file (a net kept by ``benchmarks/fc_select.py``), prints the
validation accuracy of the net on the images as they are, and of the mean of
its log-probabilities over several sets of copies: whole-pixel shifts (the
4 or 8 neighbours) and small rotations. The test images are never loaded.
"""
import argparse
import os

import numpy as np

from cattern.augment import affine_coordinates, sample_bilinear, translate
from cattern.data.splits import load_split
from cattern.model_io import load_model

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist")


def log_probs(model, X):
    scores = model.scores(X).astype(np.float64)
    scores -= scores.max(axis=1, keepdims=True)
    return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))


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
    args = parser.parse_args()
    split = load_split(MNIST_DIR, pixel_scale=1.0, verbose=False)
    split.test = None  # selection never sees the test images
    X, y, mean = split.X_val, split.y_val, split.preprocessing.mean_image
    for path in args.models:
        model = load_model(path).model
        plain = log_probs(model, X)
        print(f"{path}: as they are {np.mean(plain.argmax(1) == y):.4f}")
        for name, moves in VIEWS.items():
            total = plain + sum(log_probs(model, shifted(X, mean, dy, dx)) for dy, dx in moves)
            print(f"  + {name}: {np.mean(total.argmax(1) == y):.4f}")
        for degrees in (5, 10):
            total = plain + log_probs(model, rotated(X, mean, degrees)) + log_probs(model, rotated(X, mean, -degrees))
            print(f"  + rotations by +-{degrees} degrees: {np.mean(total.argmax(1) == y):.4f}")


if __name__ == "__main__":
    main()
