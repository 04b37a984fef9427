"""The figures: what each shows (titles, axis labels, legends, tiles), and atomic PNG writes."""
import os

import numpy as np
import pytest
from matplotlib.image import imread

from cattern.evaluation import confusion_matrix
from cattern.viz import figures


def history(n_iters, n_epochs, start):
    return {"loss_history": list(np.linspace(2.3, start, n_iters)),
            "train_acc_history": list(np.linspace(0.1, 0.9, n_epochs)),
            "val_acc_history": list(np.linspace(0.1, 0.85, n_epochs))}


def test_curves_follow_the_seed_layout_and_legends():
    fig = figures.curves_figure([history(50, 4, 0.4), history(50, 4, 0.2)])
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "Loss history"
    assert (loss_ax.get_xlabel(), loss_ax.get_ylabel()) == ("Iteration", "Loss")
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["with_fixed_LR", "with_LR_decay"]
    assert acc_ax.get_title() == "Classification accuracy history"
    assert (acc_ax.get_xlabel(), acc_ax.get_ylabel()) == ("Epoch", "Classification accuracy")
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == [
        "train", "val", "train_LRDecay", "val_LRDecay"]
    np.testing.assert_allclose(loss_ax.lines[1].get_ydata()[-1], 0.2)


def test_one_run_gets_plain_labels_and_mismatched_labels_are_refused():
    fig = figures.curves_figure([history(10, 2, 0.5)])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["loss"]
    with pytest.raises(ValueError, match="2 histories but 1 label triples"):
        figures.curves_figure([history(5, 1, 1.0)] * 2, labels=[("a", "b", "c")])


def test_weights_grid_has_one_tile_per_hidden_unit():
    W1 = np.random.default_rng(0).standard_normal((64, 10))  # 8 x 8 inputs, 10 units
    fig = figures.weights_figure(W1)
    ax = fig.axes[0]
    assert "10 hidden units" in ax.get_title()
    grid = ax.images[0].get_array()
    # ceil(sqrt(10)) = 4 tiles per side, 8 pixels each, padding 3 between.
    assert grid.shape == (4 * 8 + 3 * 3, 4 * 8 + 3 * 3)
    # Each tile is stretched to 0..255 on its own: unit 0's tile has both ends
    # (254 at the top: the seed's astype('uint8') truncates 254.99...).
    tile = grid[:8, :8]
    assert tile.min() == 0 and tile.max() >= 254


def test_digits_grid_shows_the_images():
    X = np.zeros((4, 28, 28, 1))
    X[:, 10:18, 10:18] = 1.0
    grid = figures.digits_figure(X).axes[0].images[0].get_array()
    assert grid.shape == (2 * 28 + 3, 2 * 28 + 3)
    assert grid[14, 14] == 255 and grid[0, 0] == 0
    with pytest.raises(ValueError, match="not square images"):
        figures.digits_figure(np.zeros((3, 10)))


def test_confusion_matrix_counts_and_figure():
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 2, 0])
    counts = confusion_matrix(y_true, y_pred, 3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    ax = figures.confusion_figure(counts).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Predicted label", "True label")
    assert [t.get_text() for t in ax.texts] == ["1", "1", "0", "0", "1", "0", "1", "0", "2"]


def test_misclassified_titles_name_prediction_and_truth():
    images = np.random.default_rng(0).random((5, 8, 8))
    fig = figures.misclassified_figure(images, predicted=[1, 2, 3, 3, 0], true=[1, 0, 3, 2, 0])
    assert [ax.get_title() for ax in fig.axes] == ["pred 2 / true 0", "pred 3 / true 2"]
    assert "first 2 of 2" in fig._suptitle.get_text()
    none_wrong = figures.misclassified_figure(images, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert none_wrong.axes[0].texts[0].get_text() == "no misclassified digits"


def test_save_figure_writes_a_png_atomically(tmp_path, monkeypatch):
    path = tmp_path / "curves.png"
    figures.save_figure(figures.curves_figure([history(10, 2, 0.5)]), path)
    assert imread(path).ndim == 3  # a real PNG, readable as an image
    before = path.read_bytes()
    fig = figures.curves_figure([history(10, 2, 0.1)])

    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        figures.save_figure(fig, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["curves.png"]
