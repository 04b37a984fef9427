"""The seed's loader: ``load_mnist.read_data_sets('mnist_data')``.

A thin front over :func:`cattern.data.mnist.read_data_sets` (which documents
where the files come from, what is printed, and the split: 55000 / 5000 /
10000, (N, 28, 28, 1) images, int64 labels), with one difference: the
images' pixel values are 0..255, as float32, not [0, 1]. That is what the
seed's loader evidently handed its notebook. Its printed numbers say so:

The seed's cells [7], [10] and [11], replayed as the notebook ran them
(``python benchmarks/seed_runs_exact.py``): of the 20 losses each of [10]
and [11] printed, how many come out the same to the 6 digits shown, and the
validation accuracy (the seed's: 0.8922 and 0.9432):

=============  ============  ====================  ====================
pixels         update        cell [10]             cell [11]
=============  ============  ====================  ====================
0..255         plain SGD     20 of 20, 0.8922      20 of 20, 0.9432
0..255         momentum 0.9  1 of 20, 0.9650       1 of 20, 0.9756
[0, 1]         plain SGD     0 of 20, 0.1126       0 of 20, 0.1126
[0, 1]         momentum 0.9  0 of 20, 0.1126       0 of 20, 0.1126
=============  ============  ====================  ====================

(Cell [7], on the toy data, gives 0.017143643532923747 with plain SGD, the
seed printed 0.017143643532923757; with momentum, 6.7e-05.) And cell [15]'s
72-config grid, replayed with its loop's hidden-size carry-over
(``python benchmarks/seed_grid_replay.py``, the mean of 3 seeds, float64):
on 0..255 with plain SGD its validation accuracies are within 0.0127 of the
seed's 72 on average (Spearman 0.989, best 0.9691 against 0.9696); with
momentum 0.9, 0.078 (Spearman 0.74); on [0, 1], 0.74 to 0.77 (the nets
stall on the ln 10 plateau, best 0.41 and 0.11).

cattern's own loader names the scale it gives
(``cattern.data.mnist.read_data_sets(pixel_scale=...)``, default 1).
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
