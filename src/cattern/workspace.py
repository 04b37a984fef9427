"""Scratch arrays reused from one training step to the next.

Allocating a fresh (N, H) array for every activation and gradient of every
step costs page faults and cache misses; a workspace hands the same arrays
back each step instead. Layers take them through their ``out=`` arguments,
so the math is written once whether or not a workspace is used.
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
