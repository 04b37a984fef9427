"""Input checks shared by the models and the trainer.

Each check raises ``ValueError`` naming what is wrong, the value seen, and
what to do, so that a student's mistake stops at the boundary with a message
rather than deep inside a matrix product.
"""
import numbers

import numpy as np


def check_positive_int(name, value):
    """Return ``value`` as an int, or raise if it is not an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_nonnegative(name, value):
    """Return ``value`` as a float, or raise if it is negative, NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return float(value)


def check_X(X, input_size, dtype):
    """Return X as a C-contiguous (N, D) array of ``dtype``.

    Raises ValueError when X is not 2-D, is empty, has the wrong width, or
    holds NaN or infinite values.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"X must be a 2-D array of shape (N, {input_size}); got shape {X.shape}. "
            f"Reshape images to rows first, e.g. X.reshape(len(X), -1)"
        )
    if X.shape[0] == 0:
        raise ValueError("X is empty (0 rows); pass at least one example")
    if X.shape[1] != input_size:
        raise ValueError(
            f"X has {X.shape[1]} features per row but the network expects "
            f"input_size={input_size}"
        )
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"X must hold real numbers; got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        row = int(np.argwhere(~np.isfinite(X))[0, 0])
        raise ValueError(
            f"X contains NaN or infinite values (first in row {row}); "
            f"clean or impute the data before training"
        )
    return X


def check_y(y, num_classes, num_rows=None):
    """Return y as an int64 (N,) array of labels in [0, num_classes).

    Raises ValueError when y is not 1-D, its length differs from X's,
    it holds non-integers, or a label is out of range.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels; got shape {y.shape}")
    if num_rows is not None and y.shape[0] != num_rows:
        raise ValueError(
            f"X has {num_rows} rows but y has {y.shape[0]} labels; they must match"
        )
    if y.size == 0:
        raise ValueError("y is empty (0 labels); pass at least one example")
    if not np.issubdtype(y.dtype, np.integer):
        whole = (np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all()
                 and (y == np.round(y)).all())
        if not whole:
            raise ValueError(
                f"y must hold integer class labels; got dtype {y.dtype} "
                f"(first values {y[:3].tolist()})"
            )
        y = y.astype(np.int64)  # 3.0 is the label 3; 2.5 would have been refused
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ValueError(
            f"y has label {bad} but the network has {num_classes} classes "
            f"(0..{num_classes - 1})"
        )
    return y.astype(np.int64, copy=False)
