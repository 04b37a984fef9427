"""The seed's loader: ``load_mnist.read_data_sets('mnist_data')``.

A thin front over :func:`cattern.data.mnist.read_data_sets`, which documents
where the files come from, what is printed, and the shapes returned
((N, 28, 28, 1) float32 images in [0, 1], int64 labels; 55000/5000/10000).
"""
from cattern.data.mnist import read_data_sets

__all__ = ["read_data_sets"]
