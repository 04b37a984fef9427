"""Data: fetch MNIST into a verified cache, parse idx files, split as the seed expects.

- :mod:`cattern.data.idx`: the idx file format (``read_idx``, ``write_idx``).
- :mod:`cattern.data.fetch`: sources, hashes, cache, locking (``fetch``).
- :mod:`cattern.data.mnist`: the four MNIST files as arrays (``read_data_sets``).
"""
from cattern.data.fetch import (
    DEFAULT_MIRRORS,
    MNIST_FILES,
    ChecksumError,
    MNISTNotFoundError,
    default_cache_dir,
    fetch,
)
from cattern.data.idx import IdxError, read_idx, write_idx
from cattern.data.mnist import load_mnist, read_data_sets, split_validation

__all__ = [
    "DEFAULT_MIRRORS",
    "MNIST_FILES",
    "ChecksumError",
    "IdxError",
    "MNISTNotFoundError",
    "default_cache_dir",
    "fetch",
    "load_mnist",
    "read_data_sets",
    "read_idx",
    "split_validation",
    "write_idx",
]
