"""The seed's import path for MNIST: ``from mnist_data import load_mnist``.

A thin front over :mod:`cattern.data`; the logic lives there.
"""
