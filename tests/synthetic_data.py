"""A tiny MNIST look-alike for fast tests: 8 x 8 images of 4 classes, pixels in [0, 1].

Class c lights up row 2c-ish and column 2c-ish of the image, plus noise, so a
small net separates the classes within a few hundred steps.
"""
import numpy as np

SIDE = 8
NUM_CLASSES = 4


def make_images(n, seed):
    """(n, 8, 8, 1) float32 images in [0, 1] and (n,) int64 labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, NUM_CLASSES, size=n)
    X = 0.3 * rng.random((n, SIDE, SIDE))
    for i, c in enumerate(y):
        X[i, 2 * c: 2 * c + 2, :] += 0.6
        X[i, :, 2 * c: 2 * c + 2] += 0.3
    return np.clip(X, 0, 1).astype(np.float32)[..., np.newaxis], y.astype(np.int64)


def write_npz(path, n_train=300, n_val=100, n_test=120, seed=0):
    """Write the six arrays cattern's hidden ``--data`` option reads; return path."""
    X_train, y_train = make_images(n_train, seed)
    X_val, y_val = make_images(n_val, seed + 1)
    X_test, y_test = make_images(n_test, seed + 2)
    np.savez(path, X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
             X_test=X_test, y_test=y_test)
    return path
