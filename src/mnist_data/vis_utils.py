"""The seed's import path: ``from mnist_data.vis_utils import visualize_grid``.

A thin re-export of :func:`cattern.viz.grid.visualize_grid`.
"""
from cattern.viz.grid import visualize_grid

__all__ = ["visualize_grid"]
