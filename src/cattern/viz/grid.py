"""Tile a batch of images into one grid image, as cs231n's ``visualize_grid`` does.

Used by the seed to show MNIST digits and first-layer weights: each tile is
min-max scaled on its own, so weights of any range become visible.
"""
import math

import numpy as np


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Arrange N images in a square grid, each scaled to [0, ubound].

    Parameters
    ----------
    Xs : array_like, shape (N, H, W, C), N >= 1
        The images; e.g. MNIST digits (N, 28, 28, 1) or the seed's first
        layer weights reshaped to (hidden, 28, 28, 1).
    ubound : float
        Each image is scaled so its minimum maps to 0 and its maximum to
        ``ubound``. A constant image (max == min) maps to all zeros rather
        than dividing by zero.
    padding : int >= 0
        Pixels of 0 between neighbouring tiles.

    Returns
    -------
    grid : np.ndarray, float64, shape (G*H + (G-1)*padding, G*W + (G-1)*padding, C)
        with G = ceil(sqrt(N)) tiles per side, filled row by row; the cells
        after the last image, and the padding, are 0.
    """
    Xs = np.asarray(Xs)
    if Xs.ndim != 4:
        raise ValueError(f"visualize_grid needs images of shape (N, H, W, C), got shape {Xs.shape}; "
                         "reshape e.g. flat MNIST rows with X.reshape(-1, 28, 28, 1)")
    N, H, W, C = Xs.shape
    if N == 0:
        raise ValueError("visualize_grid got no images (N = 0); pass at least one")
    if padding < 0 or int(padding) != padding:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    padding = int(padding)
    grid_size = math.ceil(math.sqrt(N))
    grid = np.zeros((grid_size * H + (grid_size - 1) * padding,
                     grid_size * W + (grid_size - 1) * padding, C))
    for i, img in enumerate(Xs):
        row, col = divmod(i, grid_size)
        y0, x0 = row * (H + padding), col * (W + padding)
        low, high = np.min(img), np.max(img)
        # A constant image has no range to stretch: its tile stays 0.
        if high > low:
            grid[y0:y0 + H, x0:x0 + W] = ubound * (img - low) / (high - low)
    return grid
