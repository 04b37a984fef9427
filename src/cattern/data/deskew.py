"""Deskewing: each digit sheared upright before a net sees it.

People slant their handwriting by different amounts, and a slant is a
writer's habit, not part of the digit. LeCun et al. 1998 (the MNIST paper's
table) report lower errors for nearly every classifier on *deskewed* digits.
A digit's slant is read off its second moments: with ink weights ``p(r, c)``
(the pixel values), centre of mass ``(mr, mc)``,
``var_r = E[(r - mr)^2]`` and ``cov = E[(r - mr)(c - mc)]``, the ink's
column drifts by ``alpha = cov / var_r`` pixels per row. The shear

    out(r, c) = in(r, c + alpha * (r - mr))

(about the centre of mass, which stays where it is) moves each row back by
its drift, so the deskewed digit has ``cov = 0``: its principal axis is
vertical. The samples fall between pixels; they are interpolated bilinearly,
with blank (0) outside the image (:func:`cattern.augment.sample_bilinear`).

It is part of a net's preprocessing (:class:`cattern.data.splits.Preprocessing`
with ``deskew=True``): applied to the training, validation and test images
alike, and to every image a saved net is asked about, before the pixel scale
and the mean image. Augmentation then acts on the deskewed digits.
"""
import math

import numpy as np

from cattern.augment import affine_coordinates, sample_bilinear


def slants(images):
    """Each image's centre of mass and slant.

    Inputs:
    - images: (N, rows, cols) ink amounts >= 0

    Returns (centres (N, 2) float64 as (row, col), alpha (N,) float64): the
    centre of mass and ``cov / var_r``, the column's drift per row. A blank
    image (no ink), or one whose ink lies in a single row, has alpha 0 and
    centre the image's centre: there is no slant to measure.
    """
    n, rows, cols = images.shape
    r = np.arange(rows, dtype=np.float64)[:, None]                 # (rows, 1)
    c = np.arange(cols, dtype=np.float64)[None, :]                 # (1, cols)
    total = images.sum(axis=(1, 2))                                # (N,), images' dtype
    ink = total > 0
    safe = np.where(ink, total, 1.0)
    mr = np.where(ink, (images * r).sum(axis=(1, 2)) / safe, (rows - 1) / 2)
    mc = np.where(ink, (images * c).sum(axis=(1, 2)) / safe, (cols - 1) / 2)
    dr = r[None] - mr[:, None, None]                               # (N, rows, 1)
    dc = c[None] - mc[:, None, None]                               # (N, 1, cols)
    var_r = (images * dr ** 2).sum(axis=(1, 2)) / safe
    cov = (images * dr * dc).sum(axis=(1, 2)) / safe
    tall = var_r > 0
    alpha = np.where(tall, cov / np.where(tall, var_r, 1.0), 0.0)
    return np.stack([mr, mc], axis=1), alpha


# Images deskewed per pass. Each image's result depends on that image alone, so
# any chunking gives the same bits; but the whole set at once builds several
# index, weight and float64 moment arrays of N * rows * cols elements (over
# 300 MB each for MNIST's 60,000), and spends most of its time faulting in
# that memory: MNIST's 60,000 training images took 4-14 s in one pass and 0.7 s
# in chunks of 256 (tests/test_deskew.py checks that chunks change nothing).
CHUNK = 256


def deskew(images):
    """Shear each image upright about its centre of mass (see the module docstring).

    Inputs:
    - images: (N, rows, cols) floats, ink amounts in [0, 1]

    Returns (N, rows, cols) float32 in [0, 1], each with no row-column
    covariance of its ink (to the interpolation's accuracy); blank images
    come back blank.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3:
        raise ValueError(f"deskew takes images as (N, rows, cols); got shape {images.shape}")
    out = np.empty_like(images)
    for start in range(0, len(images), CHUNK):
        out[start:start + CHUNK] = _deskew_chunk(images[start:start + CHUNK])
    return out


def _deskew_chunk(images):
    """:func:`deskew` in one pass: (n, rows, cols) float32 images -> (n, rows, cols) float32."""
    n, rows, cols = images.shape
    centres, alpha = slants(images)
    shear = np.zeros((n, 2, 2))
    shear[:, 0, 0] = shear[:, 1, 1] = 1.0
    shear[:, 1, 0] = alpha                                         # source col = c + alpha * (r - mr)
    # affine_coordinates turns about the image's centre; about the centre of mass m instead,
    # A (p - m) + m = A (p - centre) + centre - shift with shift = (I - A)(centre - m).
    offset = np.array([(rows - 1) / 2, (cols - 1) / 2]) - centres  # (N, 2)
    shifts = offset - np.einsum("nij,nj->ni", shear, offset)
    src_y, src_x = affine_coordinates(shear, shifts, (rows, cols))
    out = sample_bilinear(images, src_y, src_x)
    return np.clip(out, 0.0, 1.0, out=out)  # bilinear weights can overshoot 1 by an ulp


def deskew_rows(rows, shape=None):
    """:func:`deskew` for images given as rows (N, D) float in [0, 1]; returns (N, D) float32.

    ``shape`` is each image's (rows, cols); None means square, D = side * side.
    """
    n, d = rows.shape
    if shape is None:
        side = math.isqrt(d)
        if side * side != d:
            raise ValueError(f"deskewing needs each image's rows and columns, but {d} pixels are not a "
                             "square; pass the images as (N, rows, cols), or train without --deskew")
        shape = (side, side)
    if shape[0] * shape[1] != d:
        raise ValueError(f"deskewing needs one channel of rows x cols pixels; got images of {shape} with "
                         f"{d} values each")
    return deskew(rows.reshape(n, *shape)).reshape(n, d)
