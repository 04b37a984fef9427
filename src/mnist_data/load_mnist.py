"""The seed's loader: ``load_mnist.read_data_sets('mnist_data')``.

A thin front over :func:`cattern.data.mnist.read_data_sets` (which documents
where the files come from, what is printed, and the split: 55000 / 5000 /
10000, (N, 28, 28, 1) images, int64 labels), with one difference: the
images' pixel values are 0..255, as float32, not [0, 1]. That is what the
seed's loader evidently handed its notebook: the notebook's numbers are
reproduced on 0..255 pixels and not on [0, 1] ones (``python
benchmarks/seed_grid_replay.py``; the README's "The seed as it ran" has the
table). cattern's own loader names the scale it gives
(``cattern.data.mnist.read_data_sets(pixel_scale=...)``).
"""
from cattern.data.mnist import read_data_sets as _read_data_sets

__all__ = ["read_data_sets"]

SEED_PIXEL_SCALE = 255.0


def read_data_sets(train_dir="mnist_data", validation_size=5000, raw=False, verbose=True, *,
                   pixel_scale=None, **options):
    """The seed's split, (X_train, y_train, X_val, y_val, X_test, y_test), pixels 0..255.

    The arguments are those of :func:`cattern.data.mnist.read_data_sets`;
    only ``pixel_scale`` defaults to the seed's 255 (with ``raw=True`` the
    images stay uint8 and have no scale).
    """
    if pixel_scale is None and not raw:
        pixel_scale = SEED_PIXEL_SCALE
    scale = {} if pixel_scale is None else {"pixel_scale": pixel_scale}
    return _read_data_sets(train_dir, validation_size, raw, verbose, **scale, **options)
