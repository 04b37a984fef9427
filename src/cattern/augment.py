"""Data augmentation on the fly: small random translations, rotations, scalings
and elastic distortions of each minibatch, vectorized over the batch.

The network sees a slightly different version of each digit every epoch, so
it learns that a digit moved by a pixel, or tilted, is the same digit
(Simard et al. 2003 report 98.9 % for a one-hidden-layer net with affine
distortions and 99.3 % with elastic ones, against 98.4 % without).

Conventions:

- Batches are rows, (N, D) with D = rows * cols (28 * 28 = 784 for MNIST), as
  the trainer hands them; the images are (N, rows, cols) inside.
- Mean-subtracted data: the nets train on ``X - mean_image``. Moving that
  would move the mean along with the digit, and fill the uncovered border
  with 0, which in centred data means "average pixel", not "blank". So an
  :class:`Augmenter` takes the subtracted image as ``offset``, adds it back,
  transforms the raw pixels (where blank is 0, which is also what enters from
  outside the frame), and subtracts it again: the augmented row is
  ``transform(x + offset) - offset``.
- Coordinates are (row, col) pixel centres; a transform is given by where
  each output pixel samples the input ("inverse mapping"), so every output
  pixel gets exactly one value.
- Randomness comes from the ``np.random.Generator`` passed in (the trainer's),
  so the same seed gives the same augmented batches.
"""
import functools
from dataclasses import dataclass

import numpy as np


def translate(images, dy, dx):
    """Shift each image by a whole number of pixels, filling with 0 (blank).

    ``out[n, r, c] = images[n, r - dy[n], c - dx[n]]``, or 0 where that falls
    outside the image: a positive dy moves the digit down, a positive dx right.

    Inputs:
    - images: (N, rows, cols)
    - dy, dx: (N,) integer shifts

    Returns (N, rows, cols), images' dtype.
    """
    n, rows, cols = images.shape
    dy, dx = np.asarray(dy), np.asarray(dx)
    pad = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.zeros((n, rows + 2 * pad, cols + 2 * pad), dtype=images.dtype)
    padded[:, pad:pad + rows, pad:pad + cols] = images
    # Per-sample windows, gathered with fancy indexing in one pass.
    r = (pad - dy)[:, None] + np.arange(rows)                        # (N, rows)
    c = (pad - dx)[:, None] + np.arange(cols)                        # (N, cols)
    return padded[np.arange(n)[:, None, None], r[:, :, None], c[:, None, :]]


def thicken(images, amounts):
    """Thicken or thin each image's strokes by a fraction of a pixel's width.

    A plus-shaped grayscale dilation (each pixel the largest of itself and
    its four neighbours) widens a stroke by about a pixel on each side, an
    erosion (the smallest) narrows it as much; each image moves the fraction
    ``|amounts[n]|`` of the way toward one of them::

        out = x + a * (dilate(x) - x)    for a >= 0
        out = x + |a| * (erode(x) - x)   for a < 0

    Outside the image is blank (0), so an erosion also clears the border's
    pixels. This mimics pens of different widths, a way writers differ that
    rotations, scalings and elastic distortions leave alone.

    Inputs:
    - images: (N, rows, cols) raw pixels, blank 0
    - amounts: (N,) fractions in [-1, 1]

    Returns (N, rows, cols), images' dtype.
    """
    n, rows, cols = images.shape
    padded = np.zeros((n, rows + 2, cols + 2), dtype=images.dtype)
    padded[:, 1:-1, 1:-1] = images
    neighbours = (padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:])
    a = np.asarray(amounts, dtype=images.dtype)[:, None, None]
    target = np.where(a >= 0, functools.reduce(np.maximum, neighbours, images),
                      functools.reduce(np.minimum, neighbours, images))
    target -= images
    target *= np.abs(a)
    target += images
    return target


def sample_bilinear(images, src_y, src_x):
    """Resample each image at arbitrary source coordinates, bilinearly, with 0
    (blank) outside the image.

    ``out[n, r, c]`` interpolates ``images[n]`` at the point
    ``(src_y[n, r, c], src_x[n, r, c])``.

    Inputs:
    - images: (N, rows, cols)
    - src_y, src_x: (N, rows, cols) source coordinates, in pixels

    Returns (N, rows, cols), images' dtype.
    """
    n, rows, cols = images.shape
    # A blank border, one pixel before and two after: coordinates clipped into
    # [-1, rows] x [-1, cols] read only zeros wherever they left the image.
    width = cols + 3
    padded = np.zeros((n, rows + 3, width), dtype=images.dtype)
    padded[:, 1:rows + 1, 1:cols + 1] = images
    flat = padded.reshape(-1)
    wy = np.clip(src_y, -1, rows)
    wx = np.clip(src_x, -1, cols)
    y0, x0 = np.floor(wy), np.floor(wx)
    wy -= y0                                                         # (N, rows, cols): the weights,
    wx -= x0                                                         # in [0, 1)
    # Flat index of the top-left neighbour in the padded batch; the others are +1, +width,
    # +width+1. One index array, moved in place from one neighbour to the next.
    y0 *= width
    y0 += x0
    i = y0.astype(np.intp)
    i += (np.arange(n) * (rows + 3) * width + width + 1)[:, None, None]  # each image's origin
    top = flat.take(i)
    i += 1
    right = flat.take(i)
    right -= top
    right *= wx
    top += right                                                     # the top row, interpolated
    i += width
    bottom = flat.take(i)
    i -= 1
    left = flat.take(i)
    bottom -= left
    bottom *= wx
    bottom += left                                                   # the bottom row
    bottom -= top
    bottom *= wy
    top += bottom
    return top


def affine_coordinates(matrices, shifts, shape):
    """Source coordinates of an affine map about the image centre.

    Output pixel p (row, col) samples the input at
    ``A @ (p - centre) + centre - shift``, with centre = ((rows-1)/2, (cols-1)/2):
    A = identity and shift = (dy, dx) is the translation of :func:`translate`;
    A = R(-theta) / s rotates by theta and scales by s; diag(1/sy, 1/sx) R(-theta)
    scales the rows by sy and the columns by sx.

    Inputs:
    - matrices: (N, 2, 2) the inverse maps A, acting on (row, col)
    - shifts: (N, 2) translations (dy, dx) in pixels
    - shape: (rows, cols)

    Returns (src_y, src_x), each (N, rows, cols) float32.
    """
    rows, cols = shape
    n = len(matrices)
    # Each coordinate is a combination of three images, (row - cy, col - cx, 1): one
    # (2N, 3) @ (3, rows * cols) product for the whole batch. float32 coordinates:
    # exact to 1e-5 pixel on a 28-pixel image, and half the memory traffic.
    coefficients = np.empty((n, 2, 3), dtype=np.float32)
    coefficients[:, :, :2] = matrices
    coefficients[:, :, 2] = np.array([(rows - 1) / 2, (cols - 1) / 2]) - np.asarray(shifts)
    src = (coefficients.reshape(2 * n, 3) @ _centred_grid(shape)).reshape(n, 2, rows, cols)
    return src[:, 0], src[:, 1]


@functools.lru_cache(maxsize=8)
def _centred_grid(shape):
    """(3, rows * cols) float32: each pixel's row - cy, col - cx, and 1."""
    rows, cols = shape
    gy, gx = np.meshgrid(np.arange(rows) - (rows - 1) / 2, np.arange(cols) - (cols - 1) / 2, indexing="ij")
    grid = np.stack([gy.ravel(), gx.ravel(), np.ones(rows * cols)]).astype(np.float32)
    grid.setflags(write=False)
    return grid


def gaussian_matrix(size, sigma):
    """The (size, size) matrix G with ``G @ v`` = v filtered by a normalized
    Gaussian of width ``sigma``, with 0 beyond the ends (scipy.ndimage's
    ``gaussian_filter(v, sigma, mode="constant")`` with its default
    truncation at 4 sigma).

    On images this small, filtering is two small matrix products per image,
    ``G @ image @ G.T``, which BLAS does for a whole batch at once.
    """
    radius = int(4 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    i = np.arange(size)
    lag = i[None, :] - i[:, None]                                    # (size, size): column - row
    return np.where(np.abs(lag) <= radius, kernel[np.clip(lag + radius, 0, 2 * radius)], 0.0)


# Share of the elastic field's variance the basis of :func:`elastic_basis` keeps, per axis.
ELASTIC_VARIANCE_KEPT = 1 - 1e-4


@functools.lru_cache(maxsize=8)
def elastic_basis(shape, sigma):
    """A basis B (K, rows * cols) float32 for Simard's smooth random fields, K << rows * cols.

    Simard et al.'s field is ``G_r @ U @ G_c.T``: noise U uniform in [-1, 1]
    (variance 1/3) filtered by the Gaussians of :func:`gaussian_matrix`. Its
    covariance is ``(G_r G_r.T) kron (G_c G_c.T) / 3``; with the
    eigendecomposition ``G G.T = V diag(lam) V.T`` of each axis, the field
    ``z @ B`` with z (K,) standard normal and the rows of B the images
    ``sqrt(lam_i lam_j / 3) * outer(V[:, i], V[:, j])`` has that very
    covariance, less the axes' smallest eigenvalues. A Gaussian of width sigma
    leaves few of those worth keeping: K = 7 x 7 for sigma = 4 and 5 x 5 for
    sigma = 6, at :data:`ELASTIC_VARIANCE_KEPT` of the variance per axis. The
    field is Gaussian rather than filtered uniform noise; but each pixel of
    that is a weighted sum of a hundred or more uniforms, Gaussian already.
    Cached per (shape, sigma), and read-only.
    """
    factors = []
    for size in shape:
        g = gaussian_matrix(size, sigma)
        lam, v = np.linalg.eigh(g @ g.T)                             # ascending
        lam, v = np.clip(lam[::-1], 0, None), v[:, ::-1]
        k = min(size, int(np.searchsorted(np.cumsum(lam) / lam.sum(), ELASTIC_VARIANCE_KEPT)) + 1)
        factors.append(v[:, :k] * np.sqrt(lam[:k]))                  # (size, k): L with L L.T ~ G G.T
    l_rows, l_cols = factors
    basis = np.einsum("ri,cj->ijrc", l_rows, l_cols) / np.sqrt(3.0)  # (k_r, k_c, rows, cols)
    basis = basis.reshape(-1, shape[0] * shape[1]).astype(np.float32)
    basis.setflags(write=False)
    return basis


def elastic_displacement(rng, n, shape, alpha, sigma):
    """Random smooth displacement fields (Simard et al. 2003, section 2).

    Each pixel's displacement starts uniform in [-1, 1] per axis; a Gaussian
    filter of width ``sigma`` pixels smooths it into a gentle warp, and
    ``alpha`` scales it (Simard use sigma = 4, alpha = 34 on MNIST). The
    fields are drawn with that covariance from :func:`elastic_basis`: K
    normal numbers and one (2N, K) @ (K, rows * cols) product for the whole
    batch, instead of rows * cols uniform numbers and two filters per field.

    Inputs:
    - rng: np.random.Generator
    - n: number of fields; shape: (rows, cols)
    - alpha: strength; sigma: smoothness, in pixels

    Returns (ddy, ddx), each (n, rows, cols) float32.
    """
    rows, cols = shape
    basis = elastic_basis(tuple(shape), float(sigma))                 # (K, rows * cols)
    z = rng.standard_normal((2 * n, basis.shape[0]), dtype=np.float32)
    z *= np.float32(alpha)
    field = (z @ basis).reshape(2, n, rows, cols)
    return field[0], field[1]


@dataclass(frozen=True, eq=False)  # eq would compare the offset arrays elementwise
class Augmenter:
    """Random distortions of a batch of rows, as a callable ``augmenter(X, rng) -> X_aug``.

    Each image in the batch gets its own draw:

    - a translation by (dy, dx), integers uniform in [-max_shift, max_shift];
    - if ``max_rotation`` > 0, a rotation by an angle uniform in
      [-max_rotation, max_rotation] degrees;
    - if ``max_scale`` > 0, a scaling by a factor uniform in
      [1 - max_scale, 1 + max_scale], the same for both axes; with
      ``scale_each_axis``, a horizontal and a vertical factor drawn apart,
      each uniform in that range (the digit's width then varies apart from
      its height, its aspect ratio by up to (1 + s) / (1 - s));
    - if ``elastic_alpha`` > 0, an elastic distortion of strength
      ``elastic_alpha`` and smoothness ``elastic_sigma`` (pixels);
    - if ``max_thickness`` > 0, first, strokes thickened or thinned by
      :func:`thicken`, by a fraction uniform in [-max_thickness, max_thickness].

    Translations alone are an exact pixel gather (:func:`translate`); with any
    of the others, all are folded into one set of source coordinates and
    resampled once, bilinearly (:func:`sample_bilinear`).

    Fields:
    - image_shape: (rows, cols) of each row of X; rows * cols must be D
    - offset: None, or the (D,) image subtracted from the data (the mean
      image); see the module docstring for why it is added back first
    """

    max_shift: int = 2
    max_rotation: float = 0.0
    max_scale: float = 0.0
    scale_each_axis: bool = False
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0
    max_thickness: float = 0.0
    image_shape: tuple = (28, 28)
    offset: np.ndarray | None = None

    def __post_init__(self):
        if isinstance(self.max_shift, bool) or not isinstance(self.max_shift, (int, np.integer)) \
                or self.max_shift < 0:
            raise ValueError(f"max_shift must be a whole number of pixels >= 0; got {self.max_shift!r}")
        if self.max_shift >= min(self.image_shape):
            raise ValueError(f"max_shift must be smaller than the image ({self.image_shape[0]} x "
                             f"{self.image_shape[1]} pixels), or the digit leaves it; got {self.max_shift}")
        for name in ("max_rotation", "max_scale", "elastic_alpha"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
        if not isinstance(self.scale_each_axis, (bool, np.bool_)):
            raise ValueError(f"scale_each_axis must be True or False; got {self.scale_each_axis!r}")
        if not (np.isfinite(self.max_thickness) and 0 <= self.max_thickness <= 1):
            raise ValueError(f"max_thickness must be a fraction in [0, 1] (1: a whole dilation or erosion); "
                             f"got {self.max_thickness!r}")
        if self.max_scale >= 1:
            raise ValueError(f"max_scale must be < 1 (a scale factor in [1 - s, 1 + s]); got {self.max_scale!r}")
        if not (np.isfinite(self.elastic_sigma) and self.elastic_sigma > 0):
            raise ValueError(f"elastic_sigma must be > 0 pixels; got {self.elastic_sigma!r}")
        size = int(np.prod(self.image_shape))
        if self.offset is not None and np.shape(self.offset) != (size,):
            raise ValueError(f"offset must have shape ({size},) for images of shape {self.image_shape}; "
                             f"got {np.shape(self.offset)}")

    @property
    def bilinear(self):
        """True when a transform other than whole-pixel translation is on."""
        return self.max_rotation > 0 or self.max_scale > 0 or self.elastic_alpha > 0

    def __call__(self, X, rng):
        """Augment a batch.

        Inputs:
        - X: (N, D) rows, D = rows * cols
        - rng: np.random.Generator

        Returns a new (N, D) array of X's dtype; X is not modified.
        """
        n, d = X.shape
        rows, cols = self.image_shape
        if d != rows * cols:
            raise ValueError(f"X has {d} features per row but image_shape {self.image_shape} "
                             f"has {rows * cols} pixels")
        images = X.reshape(n, rows, cols)
        if self.offset is not None:
            images = images + self.offset.reshape(rows, cols).astype(X.dtype, copy=False)  # back to raw pixels
        if self.max_thickness > 0:
            # Drawn only when on, so runs without it see the same random numbers as before it existed.
            images = thicken(images, rng.uniform(-self.max_thickness, self.max_thickness, size=n))
        s = self.max_shift
        shifts = rng.integers(-s, s + 1, size=(n, 2))                             # (N, 2): dy, dx
        if not self.bilinear:
            out = translate(images, shifts[:, 0], shifts[:, 1])
        else:
            theta = np.deg2rad(rng.uniform(-self.max_rotation, self.max_rotation, size=n))
            # One factor per image for both axes, or (with scale_each_axis) a vertical and
            # a horizontal one; the single draw is kept as it was, so runs without the
            # option see the same random numbers as before it existed.
            size = (n, 2) if self.scale_each_axis else (n, 1)
            scale = rng.uniform(1 - self.max_scale, 1 + self.max_scale, size=size)  # (N, 2) or (N, 1)
            sy, sx = scale[:, 0], scale[:, -1]
            cos, sin = np.cos(theta), np.sin(theta)
            # The inverse map diag(1/sy, 1/sx) R(-theta) on (row, col): undo the scaling
            # after the rotation; a positive theta turns the digit counter-clockwise as
            # displayed (row axis pointing down).
            A = np.stack([np.stack([cos / sy, sin / sy], -1),
                          np.stack([-sin / sx, cos / sx], -1)], -2)                 # (N, 2, 2)
            src_y, src_x = affine_coordinates(A, shifts, (rows, cols))
            if self.elastic_alpha > 0:
                ddy, ddx = elastic_displacement(rng, n, (rows, cols), self.elastic_alpha, self.elastic_sigma)
                src_y += ddy
                src_x += ddx
            out = sample_bilinear(images, src_y, src_x)
        out = out.reshape(n, d)
        if self.offset is not None:
            out -= self.offset.astype(X.dtype, copy=False)
        return out
