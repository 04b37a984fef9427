"""Memory for the training step, laid out for speed: reused arrays, cache-sized blocks.

Allocating a fresh (N, H) array for every activation and gradient of every
step costs page faults and cache misses; a workspace hands the same arrays
back each step instead. Layers take them through their ``out=`` arguments,
so the math is written once whether or not a workspace is used.

:func:`row_blocks` cuts a parameter into blocks small enough to stay in the
L2 cache while an update rule makes its several passes over them.
"""
import numpy as np


class Workspace:
    """Named arrays, allocated on first request and reused while the shape holds.

    The trainer owns one per run and passes it to ``model.batch_loss``; the
    arrays it returns (activations, gradients) are overwritten by the next step.
    """

    def __init__(self):
        self._arrays = {}

    def __call__(self, name, shape, dtype):
        """An uninitialized array called ``name`` of ``shape`` and ``dtype``."""
        key = (name, shape)  # the last, smaller batch of an epoch gets its own arrays
        array = self._arrays.get(key)
        if array is None or array.dtype != dtype:
            array = self._arrays[key] = np.empty(shape, dtype=dtype)
        return array


def no_workspace(name, shape, dtype):
    """Stand-in for a :class:`Workspace` when there is none: layers allocate."""
    return None


def row_blocks(w, block_bytes=1 << 18):
    """Slices that split ``w`` along its first axis into blocks of about
    ``block_bytes`` (256 KB: three such arrays, w, dw and a velocity, fit in
    a 1-2 MB L2 cache). An update rule applied block by block does the same
    arithmetic, but each block's passes reuse what the previous pass loaded.

    Returns a list of ``slice`` objects covering ``range(w.shape[0])``; a
    scalar or small array is one block.
    """
    if w.ndim == 0:
        return [slice(None)]
    row_bytes = max(1, w[:1].nbytes)
    rows = max(1, block_bytes // row_bytes)
    return [slice(start, start + rows) for start in range(0, w.shape[0], rows)]
