"""Turn a drawing into a digit the way MNIST's digits were made.

MNIST's authors took each scanned digit, cropped it to its ink, scaled it
(anti-aliased, aspect ratio kept) so that its longer side is 20 pixels, and
pasted it into a 28 x 28 field so that its centre of mass falls on the
field's centre. A network trained on MNIST has only ever seen digits made
that way, so a digit drawn on a large canvas must be made the same way before
the network is asked about it: an uncentred or oversized digit is, to the
network, a different picture.

The steps, each its own function so each can be tested::

    ink (H, W) in [0, 1]
      -> crop to the ink's bounding box          ink_bbox
      -> area-average to fit a 20 x 20 box        resize_area
      -> paste so the centre of mass is (14, 14)  center_of_mass
    digit (28, 28) float32 in [0, 1]

Coordinates are (row, column) pixel indices, pixel i covering [i, i + 1).
The target (14, 14) is measured, not assumed: over MNIST's 10,000 test
digits the centre of mass in these coordinates averages (13.99, 14.01),
each within about half a pixel, since MNIST shifted by whole pixels.
"""
import numpy as np

# MNIST's geometry: the field, the box the ink is scaled into, and where the
# centre of mass lands (see the module docstring).
FIELD = 28
BOX = 20
CENTER = 14.0

# Pixels below this fraction of the brightest one don't count as ink for the
# bounding box: a canvas leaves faint anti-aliased fringes around strokes,
# and those would widen the box without being part of the digit.
INK_THRESHOLD = 0.1


def check_ink(image):
    """Return ``image`` as a float64 (H, W) array of ink amounts in [0, 1].

    Raises ValueError when it is not 2-D, is empty, holds non-numbers, NaN or
    infinite values, or values outside [0, 1].
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"the drawing must be a 2-D (H, W) array of ink amounts; got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"the drawing is empty (shape {image.shape}); pass at least one pixel")
    if image.dtype == bool or not np.issubdtype(image.dtype, np.number) or np.iscomplexobj(image):
        raise ValueError(f"the drawing must hold real numbers in [0, 1]; got dtype {image.dtype}")
    image = image.astype(np.float64)
    if not np.isfinite(image).all():
        raise ValueError("the drawing contains NaN or infinite values; ink amounts must be in [0, 1]")
    low, high = image.min(), image.max()
    if low < 0 or high > 1:
        raise ValueError(
            f"ink amounts must be in [0, 1]; got values from {low:g} to {high:g} "
            "(divide 8-bit pixels by 255)"
        )
    return image


def ink_bbox(image, threshold=INK_THRESHOLD):
    """The bounding box of the ink: ``(top, bottom, left, right)``, end-exclusive.

    A pixel is ink when it is above ``threshold`` times the brightest pixel.
    Raises ValueError when the image holds no ink at all.
    """
    peak = image.max()
    if peak <= 0:
        raise ValueError("the drawing is blank (no ink anywhere); draw a digit first")
    rows = np.flatnonzero((image > threshold * peak).any(axis=1))
    cols = np.flatnonzero((image > threshold * peak).any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _area_weights(n_in, n_out):
    """(n_out, n_in) matrix: how much of input pixel k lies in output pixel i.

    Output pixel i covers input span [i * s, (i + 1) * s) with s = n_in / n_out;
    its value is the mean of the input over that span, so each row sums to 1.
    Averaging over the whole span, rather than sampling points, is what makes
    the shrink anti-aliased: a thin stroke becomes a grey pixel, not a gap.
    """
    s = n_in / n_out
    starts = np.arange(n_out)[:, None] * s           # (n_out, 1)
    k = np.arange(n_in)[None, :]                     # (1, n_in)
    overlap = np.clip(np.minimum(starts + s, k + 1) - np.maximum(starts, k), 0, None)
    return overlap / s                               # (n_out, n_in)


def resize_area(image, height, width):
    """Resize (H, W) to (height, width) by area averaging; returns float64."""
    rows = _area_weights(image.shape[0], height)     # (height, H)
    cols = _area_weights(image.shape[1], width)      # (width, W)
    return rows @ image @ cols.T                     # (height, W) -> (height, width)


def center_of_mass(image):
    """``(row, col)`` centre of mass of a non-blank (H, W) image, in pixel indices."""
    total = image.sum()
    rows = np.arange(image.shape[0]) @ image.sum(axis=1) / total
    cols = np.arange(image.shape[1]) @ image.sum(axis=0) / total
    return rows, cols


def mnist_style(image):
    """A drawing as MNIST would have made it.

    Inputs:
    - image: (H, W) ink amounts in [0, 1], ink high (a canvas's alpha over 255)

    Returns a (28, 28) float32 array in [0, 1] with the ink cropped, scaled
    (aspect kept) so its longer side is 20 pixels, brightest pixel 1 as in
    MNIST, and placed with its centre of mass on (14, 14), to the nearest
    whole pixel as MNIST did. When that would push the ink over the field's
    edge (a digit with a far-off-centre mass) it is moved only as far as it
    fits, so no ink is lost.

    Raises ValueError on a blank drawing or bad values (see :func:`check_ink`).
    """
    image = check_ink(image)
    top, bottom, left, right = ink_bbox(image)
    ink = image[top:bottom, left:right]                          # (h, w)
    h, w = ink.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = resize_area(ink, new_h, new_w)                       # (new_h, new_w), longer side 20
    small /= small.max()  # MNIST strokes peak at full ink; a faint pen would otherwise look unlike them

    com_r, com_c = center_of_mass(small)
    # Whole-pixel offsets that put the centre of mass on CENTER, kept inside the field.
    off_r = int(np.clip(round(CENTER - com_r), 0, FIELD - new_h))
    off_c = int(np.clip(round(CENTER - com_c), 0, FIELD - new_w))
    digit = np.zeros((FIELD, FIELD), dtype=np.float32)
    digit[off_r:off_r + new_h, off_c:off_c + new_w] = small
    return np.clip(digit, 0.0, 1.0, out=digit)  # matrix products can overshoot 1 by an ulp
