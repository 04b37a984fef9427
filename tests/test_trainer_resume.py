"""A paused run, extended and fit again, is the same run as one longer fit, bit for bit."""
import pickle

import numpy as np
import pytest

from cattern.models import FullyConnectedNet, TwoLayerNet
from cattern.trainer import TrainConfig, Trainer

# 103 examples in batches of 20: six steps an epoch, the last one short, so
# the pauses below fall mid-epoch and on an epoch's edge.
rng = np.random.default_rng(0)
X = rng.standard_normal((103, 12))
y = rng.integers(0, 3, size=103)


def nets():
    return {
        "two-layer float64": lambda: TwoLayerNet(12, 9, 3, std=0.1, seed=1),
        "two-layer float32": lambda: TwoLayerNet(12, 9, 3, std=0.1, seed=1, dtype=np.float32),
        "fc with dropout and batchnorm": lambda: FullyConnectedNet(
            12, [9, 7], 3, dropout=0.2, normalization="batchnorm", dtype=np.float64, seed=1),
    }


CONFIG = TrainConfig(num_iters=40, batch_size=20, learning_rate=0.05, learning_rate_decay=0.9,
                     momentum=0.9, reg=1e-3, seed=3)


@pytest.mark.parametrize("name", list(nets()))
@pytest.mark.parametrize("pauses", [[7], [6, 18], [1, 2, 39]])
def test_an_extended_run_is_the_longer_run(name, pauses):
    make = nets()[name]
    whole = Trainer(make(), CONFIG)
    whole.fit(X, y, X[:30], y[:30])

    trainer = Trainer(make(), CONFIG)
    trainer.extend(pauses[0])
    trainer.fit(X, y, X[:30], y[:30])
    for stop in pauses[1:] + [CONFIG.num_iters]:
        # Through pickle, as a paused run travels to a worker process and back.
        trainer = pickle.loads(pickle.dumps(trainer))
        assert trainer.steps_done == trainer.config.num_iters
        trainer.extend(stop)
        trainer.fit(X, y, X[:30], y[:30])

    assert trainer.steps_done == whole.steps_done == CONFIG.num_iters
    for key, value in whole.model.params.items():
        np.testing.assert_array_equal(trainer.model.params[key], value, err_msg=key)
    assert trainer.history["loss_history"] == whole.history["loss_history"]
    assert trainer.history["val_acc_history"][-1] == whole.history["val_acc_history"][-1]


def test_which_runs_can_be_extended_exactly():
    assert Trainer(None, CONFIG).can_extend()
    for change in ({"lr_schedule": "cosine"}, {"restore_best": True}, {"patience": 2}):
        assert not Trainer(None, TrainConfig(**{**CONFIG.__dict__, **change})).can_extend(), change


def test_a_run_cannot_be_shortened():
    trainer = Trainer(TwoLayerNet(12, 9, 3, seed=1), CONFIG)
    trainer.fit(X, y)
    with pytest.raises(ValueError, match="cannot shorten a run to 10 iterations: 40 are done"):
        trainer.extend(10)
