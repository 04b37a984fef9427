"""The lab's figures: training curves, digit and weight grids, confusion matrix, mistakes.

Each ``*_figure`` function returns a :class:`matplotlib.figure.Figure` built
without pyplot, so nothing here needs a display or touches pyplot's global
state: the figures render with the Agg canvas (headless) and
:func:`save_figure` writes them as PNG, atomically. In a notebook, a returned
figure shows itself as the cell's value.

Images are (N, D) rows of square images (D = 784 for MNIST's 28 x 28) or
(N, H, W[, 1]) arrays; grids go through :func:`cattern.viz.grid.visualize_grid`.
"""
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cattern.atomic import atomic_write
from cattern.viz.grid import visualize_grid

# The seed's labels for its two runs (cell [12]): (loss, train accuracy, validation accuracy).
SEED_CURVE_LABELS = (("with_fixed_LR", "train", "val"),
                     ("with_LR_decay", "train_LRDecay", "val_LRDecay"))
SINGLE_CURVE_LABELS = (("loss", "train", "val"),)


def _new_figure(size):
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)  # the headless canvas: no display, no pyplot
    return fig


def save_figure(fig, path, dpi=100):
    """Write ``fig`` to ``path`` as PNG, atomically (a reader never sees half an image)."""
    with atomic_write(path, "wb") as file:
        fig.savefig(file, format="png", dpi=dpi, bbox_inches="tight")


def _as_images(X):
    """(N, D) rows of square images, or (N, H, W[, C]) -> (N, H, W, C)."""
    X = np.asarray(X)
    if X.ndim == 2:
        side = math.isqrt(X.shape[1])
        if side * side != X.shape[1]:
            raise ValueError(f"rows of {X.shape[1]} values are not square images; "
                             "pass images shaped (N, H, W[, C])")
        return X.reshape(-1, side, side, 1)
    if X.ndim == 3:
        return X[..., np.newaxis]
    if X.ndim == 4:
        return X
    raise ValueError(f"expected images (N, D) or (N, H, W[, C]); got shape {X.shape}")


def _grid_axes(fig, images, title, padding=3):
    """Show ``images`` as one grid (as the seed's show_mnist_image does) in a new axes."""
    grid = visualize_grid(_as_images(images), padding=padding).astype("uint8")
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
    return ax


def curves_figure(histories, labels=None):
    """Loss and accuracy histories in the seed's layout (cell [12]).

    Inputs:
    - histories: a list of history dicts (``loss_history`` per iteration,
      ``train_acc_history`` and ``val_acc_history`` per epoch)
    - labels: one (loss_label, train_label, val_label) per history; defaults to
      the seed's labels for two runs (:data:`SEED_CURVE_LABELS`) and to
      loss / train / val for one

    Top: the loss against the iteration. Bottom: train and validation
    accuracy against the epoch.
    """
    histories = list(histories)
    if labels is None:
        labels = SEED_CURVE_LABELS if len(histories) == 2 else SINGLE_CURVE_LABELS * len(histories)
    if len(labels) != len(histories):
        raise ValueError(f"got {len(histories)} histories but {len(labels)} label triples")
    fig = _new_figure((10.0, 8.0))
    loss_ax = fig.add_subplot(2, 1, 1)
    for history, (loss_label, _, _) in zip(histories, labels):
        loss_ax.plot(history["loss_history"], label=loss_label)
    loss_ax.set_title("Loss history")
    loss_ax.legend()
    loss_ax.set_xlabel("Iteration")
    loss_ax.set_ylabel("Loss")

    acc_ax = fig.add_subplot(2, 1, 2)
    for history, (_, train_label, val_label) in zip(histories, labels):
        acc_ax.plot(history["train_acc_history"], label=train_label)
        if history["val_acc_history"]:  # none for a net trained on the validation images
            acc_ax.plot(history["val_acc_history"], label=val_label)
    acc_ax.set_title("Classification accuracy history")
    acc_ax.legend()
    acc_ax.set_xlabel("Epoch")
    acc_ax.set_ylabel("Classification accuracy")
    fig.tight_layout()
    return fig


def digits_figure(images, title="MNIST training digits"):
    """A grid of digits (cell [9]): images (N, D) or (N, H, W[, 1])."""
    fig = _new_figure((6.0, 6.0))
    _grid_axes(fig, images, title)
    return fig


def weights_figure(W1, title="First-layer weights"):
    """Each hidden unit's incoming weights W1[:, j] as an image (cell [13]).

    W1: (D, H) with D a square number of pixels; each tile is scaled on its own.
    """
    W1 = np.asarray(W1)
    if W1.ndim != 2:
        raise ValueError(f"W1 must be (D, H); got shape {W1.shape}")
    # About half an inch per tile, so 300 units stay as legible as 50.
    side = min(14.0, max(6.0, 0.55 * math.ceil(math.sqrt(W1.shape[1]))))
    fig = _new_figure((side, side))
    _grid_axes(fig, W1.T, f"{title} ({W1.shape[1]} hidden units)")  # (H, D): one row per unit
    return fig


def confusion_figure(counts, title="Confusion matrix (test set)"):
    """A confusion matrix (C, C) of counts, each cell annotated, rows = true labels."""
    counts = np.asarray(counts)
    C = counts.shape[0]
    fig = _new_figure((7.5, 6.5))
    ax = fig.add_subplot(1, 1, 1)
    # Log-like colour scale so the off-diagonal mistakes show beside the large diagonal.
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    threshold = np.log1p(counts).max() / 2
    for i in range(C):
        for j in range(C):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if np.log1p(counts[i, j]) > threshold else "black")
    ax.set_xticks(range(C))
    ax.set_yticks(range(C))
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title)
    return fig


def misclassified_figure(images, predicted, true, max_images=36,
                         title="Misclassified test digits"):
    """The first ``max_images`` mistakes, each titled "pred p / true t".

    images: (N, D) or (N, H, W[, 1]) raw digits; predicted, true: (N,) labels.
    Only the rows where predicted != true are shown.
    """
    images = _as_images(images)
    predicted, true = np.asarray(predicted), np.asarray(true)
    wrong = np.flatnonzero(predicted != true)[:max_images]
    cols = max(1, math.ceil(math.sqrt(len(wrong))))
    rows = max(1, math.ceil(len(wrong) / cols))
    fig = _new_figure((1.5 * cols + 0.5, 1.6 * rows + 0.8))
    fig.suptitle(f"{title}: first {len(wrong)} of {int(np.sum(predicted != true))}")
    if len(wrong) == 0:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no misclassified digits", ha="center", va="center")
        ax.axis("off")
    for k, i in enumerate(wrong):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(images[i, ..., 0], cmap="gray", interpolation="nearest")
        ax.set_title(f"pred {predicted[i]} / true {true[i]}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


def grid_comparison_figure(seed_acc, our_acc, configs, title="The seed's grid: ours against the seed's"):
    """One point per config of a grid: the seed's printed validation accuracy (x)
    against ours (y), numbered by config, on the diagonal where they agree.

    seed_acc, our_acc: (K,) accuracies; configs: (K,) the configs' 1-based numbers.
    """
    seed_acc, our_acc = np.asarray(seed_acc, dtype=float), np.asarray(our_acc, dtype=float)
    fig = _new_figure((6.5, 6.5))
    ax = fig.add_subplot(1, 1, 1)
    low = min(seed_acc.min(), our_acc.min()) - 0.02
    ax.plot([low, 1], [low, 1], color="0.6", linewidth=1, label="ours = the seed's")
    ax.scatter(seed_acc, our_acc, s=18)
    for k, x, y in zip(configs, seed_acc, our_acc):
        ax.annotate(str(k), (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
    ax.set_xlim(low, 1)
    ax.set_ylim(low, 1)
    ax.set_xlabel("validation accuracy the seed printed")
    ax.set_ylabel("validation accuracy of our replay")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return fig
