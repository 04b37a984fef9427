"""Models: each owns its parameters and its loss, built from :mod:`cattern.layers`."""
from cattern.models.ensemble import Ensemble
from cattern.models.fc_net import FullyConnectedNet
from cattern.models.two_layer import TwoLayerNet

__all__ = ["Ensemble", "FullyConnectedNet", "TwoLayerNet"]
