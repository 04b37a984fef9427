"""MNIST-style preprocessing of drawn digits: crop, scale into 20 x 20, centre by mass."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cattern.preprocess import (
    BOX,
    CENTER,
    FIELD,
    center_of_mass,
    ink_bbox,
    mnist_style,
    resize_area,
)

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"


def ink_extent(digit):
    """(height, width) of the pixels that hold any ink at all."""
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def canvas_with_rect(top, left, height, width, size=140):
    canvas = np.zeros((size, size))
    canvas[top:top + height, left:left + width] = 1.0
    return canvas


# ----------------------------------------------------------------------
# The steps
# ----------------------------------------------------------------------

def test_area_weights_average_exactly():
    # Halving 4 pixels: output pixel 0 is the mean of inputs 0 and 1, pixel 1 of 2 and 3.
    out = resize_area(np.array([[0.0, 1.0, 1.0, 1.0]]), 1, 2)
    np.testing.assert_allclose(out, [[0.5, 1.0]])
    # 3 -> 2 pixels: output 0 covers [0, 1.5): (1 * 0 + 0.5 * 1) / 1.5 = 1/3;
    # output 1 covers [1.5, 3): (0.5 * 1 + 1 * 1) / 1.5 = 1.
    out = resize_area(np.array([[0.0, 1.0, 1.0]]), 1, 2)
    np.testing.assert_allclose(out, [[1 / 3, 1.0]])


def test_resize_area_keeps_constant_and_total_ink():
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(resize_area(np.full((37, 53), 0.25), 20, 11), 0.25)
    image = rng.random((60, 45))
    small = resize_area(image, 20, 15)
    # Each output pixel is the mean over (60/20) x (45/15) = 3 x 3 inputs.
    np.testing.assert_allclose(small.sum() * 9, image.sum())


def test_resize_area_is_anti_aliased():
    # A 1-pixel line shrunk 5x becomes a faint grey line, not a gap or a full-ink line.
    image = np.zeros((100, 100))
    image[:, 52] = 1.0
    small = resize_area(image, 20, 20)
    np.testing.assert_allclose(small[:, 10], 0.2)
    assert np.count_nonzero(small) == 20


def test_ink_bbox_ignores_faint_fringe():
    image = canvas_with_rect(30, 40, 50, 20)
    image[10, 10] = 0.05  # below 10 % of the peak: an anti-aliasing speck, not ink
    assert ink_bbox(image) == (30, 80, 40, 60)


def test_center_of_mass_of_a_point_and_a_pair():
    image = np.zeros((5, 7))
    image[1, 2] = 1.0
    assert center_of_mass(image) == (1.0, 2.0)
    image[3, 6] = 1.0  # equal mass at (3, 6): the centre is midway
    assert center_of_mass(image) == (2.0, 4.0)


# ----------------------------------------------------------------------
# The whole pipeline
# ----------------------------------------------------------------------

def test_known_blob_is_scaled_into_the_box_and_centred():
    # A 60 x 30 bar in the canvas's top-left corner: scaled by 20/60 it is 20 x 10,
    # and a uniform bar's centre of mass is its middle, which lands on (14, 14).
    digit = mnist_style(canvas_with_rect(5, 8, 60, 30))
    assert digit.shape == (FIELD, FIELD) and digit.dtype == np.float32
    assert ink_extent(digit) == (BOX, 10)
    r, c = center_of_mass(digit)
    assert abs(r - CENTER) <= 0.5 and abs(c - CENTER) <= 0.5
    assert digit.max() == 1.0 and digit.min() == 0.0


def test_wide_blob_keeps_its_aspect_ratio():
    digit = mnist_style(canvas_with_rect(50, 10, 12, 96))  # 12 x 96 -> 2.5 x 20, rounded half-even to 2 x 20
    assert ink_extent(digit) == (2, BOX)


def test_where_and_how_big_it_is_drawn_does_not_matter():
    # The same shape drawn elsewhere on the canvas, or twice as large, gives the same digit.
    rng = np.random.default_rng(1)
    shape = (rng.random((30, 24)) > 0.4).astype(float)
    small = np.zeros((140, 140))
    small[10:40, 90:114] = shape
    moved = np.zeros((140, 140))
    moved[95:125, 5:29] = shape
    big = np.zeros((140, 140))
    big[20:80, 30:78] = np.kron(shape, np.ones((2, 2)))
    np.testing.assert_array_equal(mnist_style(small), mnist_style(moved))
    np.testing.assert_allclose(mnist_style(small), mnist_style(big), atol=1e-6)


def test_off_centre_mass_is_moved_only_as_far_as_the_field_allows():
    # A 20 x 20 box with nearly all its mass in one corner: centring the mass
    # would push the box out of the field, so the box stops at the edge.
    image = np.zeros((20, 20))
    image[0, :] = 0.2
    image[:, 0] = 0.2
    image[19, 19] = 1.0
    digit = mnist_style(image)
    assert ink_extent(digit) == (BOX, BOX)
    assert digit[FIELD - 1, FIELD - 1] == 1.0  # the heavy corner sits at the field's corner, not beyond


@settings(max_examples=60, deadline=None)
@given(top=st.integers(0, 80), left=st.integers(0, 80),
       height=st.integers(3, 60), width=st.integers(3, 60), seed=st.integers(0, 2**16))
def test_any_blob_fits_the_box_and_lands_near_the_centre(top, left, height, width, seed):
    # A roughly uniform blob (random grey levels in [0.5, 1]) has its mass
    # near its middle, so whole-pixel centring always fits inside the field.
    rng = np.random.default_rng(seed)
    image = np.zeros((140, 140))
    image[top:top + height, left:left + width] = rng.uniform(0.5, 1.0, (height, width))
    digit = mnist_style(image)
    h, w = ink_extent(digit)
    assert max(h, w) == BOX
    r, c = center_of_mass(digit)
    assert abs(r - CENTER) <= 0.5 and abs(c - CENTER) <= 0.5
    assert 0.0 <= digit.min() and digit.max() == 1.0


def test_blank_drawing_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="blank.*draw a digit"):
        mnist_style(np.zeros((140, 140)))


@pytest.mark.parametrize("image, message", [
    (np.zeros((2, 3, 4)), "2-D"),
    (np.zeros((0, 5)), "empty"),
    (np.array([[0.5, np.nan]]), "NaN"),
    (np.array([[0.5, np.inf]]), "NaN or infinite"),
    (np.array([[0.5, 1.5]]), r"in \[0, 1\].*255"),
    (np.array([[-0.1, 0.5]]), r"in \[0, 1\]"),
    (np.array([["a", "b"]]), "real numbers"),
    (np.array([[True, False]]), "real numbers"),
])
def test_bad_drawings_are_refused(image, message):
    with pytest.raises(ValueError, match=message):
        mnist_style(image)


# ----------------------------------------------------------------------
# MNIST's own digits are already MNIST-style
# ----------------------------------------------------------------------

@pytest.mark.mnist
@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"needs MNIST in {MNIST_DIR}")
def test_mnist_test_digits_come_back_nearly_unchanged():
    # If the pipeline matches how MNIST was made, a test digit run through it
    # again is left (nearly) where it is: 75 % come back bit-identical and
    # 99.5 % within a mean difference of 0.01 (measured on the first 2000).
    from cattern.data.mnist import read_data_sets
    *_, X_test, _ = read_data_sets(str(MNIST_DIR), verbose=False, pixel_scale=1.0)  # mnist_style's [0, 1]
    digits = X_test[:500, :, :, 0]
    diffs = np.array([np.abs(mnist_style(x) - x).mean() for x in digits])
    assert (diffs == 0).mean() > 0.6
    assert (diffs < 0.01).mean() > 0.98
