"""The seed's toy problem (cells [3]-[7]) and the targets its text states.

Every number here is the seed's: a printed value or a threshold its text
gives ("We get < 1e-7"), each with where it stands.
"""
import numpy as np

from cattern.models.two_layer import TwoLayerNet

# The thresholds and values the seed's text states.
SEED_TARGETS = {
    "scores_difference": 1e-7,        # cell [4]: "We get < 1e-7"
    "loss": 1.30378789133,            # cell [5]'s correct_loss
    "loss_difference": 1e-12,         # cell [5]: "we get < 1e-12"
    "gradient_error": 1e-8,           # cell [6]: "should all be less than 1e-8 or so"
    "toy_final_loss": 0.05,           # section 5: "a training loss less than 0.05"; it got 0.017143643532923757
    "search_val": 0.974,              # section 10: "greater than 97.4% on the validation set"
    "test": 0.963,                    # section 11: "you should get above 96.3%"
}
# Cell [4]'s correct scores, (5, 3).
SEED_CORRECT_SCORES = np.asarray([
    [-0.81233741, -1.27654624, -0.70335995],
    [-0.17129677, -1.18803311, -0.47310444],
    [-0.51590475, -1.01354314, -0.8504215],
    [-0.15419291, -0.48629638, -0.52901952],
    [-0.00618733, -0.12435261, -0.15226949]])
# Cell [8]'s printed shapes.
SEED_SHAPES = {"X_train": "(55000, 784)", "y_train": "(55000,)", "X_val": "(5000, 784)",
               "y_val": "(5000,)", "X_test": "(10000, 784)", "y_test": "(10000,)"}


def toy_problem():
    """The seed's toy net and data (cell [3]): net (4 -> 10 -> 3, std 0.1), X (5, 4), y (5,).

    Draws from NumPy's global random state as the seed does
    (``np.random.seed(0)`` for the net, ``np.random.seed(1)`` for the data).
    """
    np.random.seed(0)
    net = TwoLayerNet(4, 10, 3, std=1e-1)
    np.random.seed(1)
    X = 10 * np.random.randn(5, 4)
    y = np.array([0, 1, 2, 2, 1])
    return net, X, y
