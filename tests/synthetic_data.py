"""A tiny MNIST look-alike for fast tests: 8 x 8 images of 4 classes, in MNIST's four files.

Class c lights up row 2c-ish and column 2c-ish of the image, plus noise, so a
small net separates the classes within a few hundred steps. The files go
into a folder in MNIST's idx format and names, so tests use cattern's real
data path: ``--data-dir FOLDER --no-verify --validation-size 100``.
"""
import numpy as np

from cattern.data.idx import write_idx
from cattern.data.splits import load_raw

SIDE = 8
NUM_CLASSES = 4
N_VAL = 100


def make_images(n, seed, side=SIDE):
    """(n, side, side) uint8 images and (n,) uint8 labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, NUM_CLASSES, size=n)
    X = 0.3 * rng.random((n, side, side))
    for i, c in enumerate(y):
        X[i, 2 * c: 2 * c + 2, :] += 0.6
        X[i, :, 2 * c: 2 * c + 2] += 0.3
    return np.rint(np.clip(X, 0, 1) * 255).astype(np.uint8), y.astype(np.uint8)


def write_mnist_dir(folder, n_train=300, n_test=120, seed=0, side=SIDE):
    """Write MNIST's four files into ``folder`` (created): n_train + N_VAL training
    images (the first N_VAL validate) and n_test test images, ``side`` pixels a
    side (28 for a page that draws MNIST digits). Returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n, offset in (("train", n_train + N_VAL, 0), ("t10k", n_test, 2)):
        images, labels = make_images(n, seed + offset, side)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


def data_options(folder, split=True):
    """The command-line options that read ``folder`` as the data; without ``split``, those of
    ``cattern evaluate``, which reads only the test set and has no --validation-size."""
    return ["--data-dir", str(folder), "--no-verify", *(["--validation-size", str(N_VAL)] if split else [])]


def raw(folder):
    """The :class:`~cattern.data.splits.RawData` of ``folder``."""
    return load_raw(folder, validation_size=N_VAL, verify=False, verbose=False)
