"""cattern: a neural-network lab written from scratch in NumPy."""

__version__ = "0.1.0"
