"""visualize_grid: layout, per-image scaling, padding, and bad input."""
import numpy as np
import pytest

from cattern.viz.grid import visualize_grid
from mnist_data.vis_utils import visualize_grid as seed_visualize_grid


def test_a_hand_worked_tile():
    # One 2x2 image [[0, 1], [2, 3]]: min 0, max 3, so 255 * x / 3 = 0, 85, 170, 255.
    grid = visualize_grid(np.arange(4.0).reshape(1, 2, 2, 1))
    np.testing.assert_allclose(grid[..., 0], [[0, 85], [170, 255]])


def test_layout_of_the_seeds_36_digits():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(36, 28, 28, 1))  # mean-subtracted digits have negative pixels
    grid = visualize_grid(Xs, padding=3)
    assert grid.shape == (6 * 28 + 5 * 3, 6 * 28 + 5 * 3, 1)
    for i in range(36):
        row, col = divmod(i, 6)
        tile = grid[row * 31:row * 31 + 28, col * 31:col * 31 + 28]
        assert tile.min() == 0 and tile.max() == pytest.approx(255)
        np.testing.assert_allclose(tile, 255 * (Xs[i] - Xs[i].min()) / np.ptp(Xs[i]))
    assert not grid[28:31].any() and not grid[:, 28:31].any()  # padding rows and columns


def test_unfilled_cells_and_constant_images_are_zero():
    Xs = np.ones((5, 3, 3, 2))
    Xs[0, 0, 0, 0] = 2.0
    with np.errstate(all="raise"):  # a constant image must not divide by zero
        grid = visualize_grid(Xs, ubound=1.0, padding=0)
    assert grid.shape == (9, 9, 2)  # ceil(sqrt(5)) = 3 tiles a side
    assert grid[0, 0, 0] == 1.0 and grid[:3, :3].sum() == 1.0
    assert not grid[:, 3:].any() and not grid[3:].any()


@pytest.mark.parametrize("shape, match", [((4, 28, 28), r"\(N, H, W, C\)"), ((0, 2, 2, 1), "no images")])
def test_bad_input_raises_value_error(shape, match):
    with pytest.raises(ValueError, match=match):
        visualize_grid(np.zeros(shape))
    with pytest.raises(ValueError, match="padding"):
        visualize_grid(np.zeros((1, 2, 2, 1)), padding=-1)


def test_the_seed_import_path_is_the_same_function():
    assert seed_visualize_grid is visualize_grid
