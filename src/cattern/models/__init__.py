"""Models: each owns its parameters and its loss, built from :mod:`cattern.layers`."""
from cattern.models.two_layer import TwoLayerNet

__all__ = ["TwoLayerNet"]
