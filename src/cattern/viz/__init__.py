"""Visualization: pictures of data and weights (``grid`` tiles images into one)."""
