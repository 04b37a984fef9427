"""The seed's import path: ``from cattern.neural_net import TwoLayerNet``.

A thin front; the model lives in :mod:`cattern.models.two_layer`.
"""
from cattern.models.two_layer import TwoLayerNet

__all__ = ["TwoLayerNet"]
