"""Models: each owns its parameters and its loss, built from :mod:`cattern.layers`."""
from cattern.models.fc_net import FullyConnectedNet
from cattern.models.two_layer import TwoLayerNet

__all__ = ["FullyConnectedNet", "TwoLayerNet"]
