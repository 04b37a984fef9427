"""Early stopping, restoring the best epoch, Ctrl-C, augmentation and constraints in the trainer."""
import numpy as np
import pytest

from cattern.models import FullyConnectedNet
from cattern.trainer import Callback, TrainConfig, Trainer

# Validation accuracy after each epoch, scripted: best at epoch 2, then worse.
SCRIPT = [0.5, 0.7, 0.9, 0.8, 0.85, 0.6, 0.6, 0.6, 0.6, 0.6]


class Scripted:
    """A model whose weight counts the updates (one per epoch here) and whose
    validation accuracy follows SCRIPT: the trainer's bookkeeping, laid bare."""

    def __init__(self):
        self.params = {"W1": np.zeros(1)}
        self.buffers = {"running_mean1": np.zeros(1)}
        self.constrained = 0

    def check_data(self, X, y):
        return X, y

    def batch_loss(self, X, y, reg, workspace=None):
        self.buffers["running_mean1"] += 10
        return 1.0, {"W1": np.array([-1.0])}   # sgd with rate 1 adds 1 to W1 per step

    def constrain(self):
        self.constrained += 1

    def predict(self, X):
        acc = SCRIPT[int(self.params["W1"][0]) - 1]
        right = int(round(acc * len(X)))
        return np.r_[np.zeros(right, int), np.ones(len(X) - right, int)]  # labels are all 0


X, y = np.zeros((20, 1)), np.zeros(20, int)


def _config(**kw):
    base = dict(num_iters=10, batch_size=20, learning_rate=1.0, learning_rate_decay=1.0,
                update_rule="sgd", seed=0)
    return TrainConfig(**{**base, **kw})


def test_patience_stops_and_restore_puts_back_the_best_epoch():
    model = Scripted()
    trainer = Trainer(model, _config(patience=2, restore_best=True))
    history = trainer.fit(X, y, X, y)
    # Best at epoch 2 (0.9); epochs 3 and 4 bring nothing new, so it stops after epoch 4.
    assert history["val_acc_history"] == [0.5, 0.7, 0.9, 0.8, 0.85]
    assert trainer.best_epoch == 2 and trainer.best_val_acc == 0.9 and trainer.stop_training
    assert model.params["W1"][0] == 3                 # the weight after 3 updates
    assert model.buffers["running_mean1"][0] == 30    # buffers come back with it
    assert model.constrained == 5                     # constrain() after every update
    assert "interrupted" not in history


def test_without_restore_best_the_last_weights_stay():
    model = Scripted()
    Trainer(model, _config(patience=2)).fit(X, y, X, y)
    assert model.params["W1"][0] == 5


def test_no_patience_runs_every_iteration():
    model = Scripted()
    history = Trainer(model, _config(restore_best=True)).fit(X, y, X, y)
    assert len(history["val_acc_history"]) == 10 and model.params["W1"][0] == 3


class Interrupt(Callback):
    def __init__(self, at):
        self.at, self.ended = at, False

    def on_iteration_end(self, trainer, iteration, loss):
        if iteration == self.at:
            raise KeyboardInterrupt

    def on_train_end(self, trainer):
        self.ended = True


def test_ctrl_c_stops_cleanly_and_keeps_the_best():
    model, stop = Scripted(), Interrupt(at=5)
    trainer = Trainer(model, _config(restore_best=True, catch_interrupt=True), callbacks=[stop])
    history = trainer.fit(X, y, X, y)
    assert history["interrupted"] is True
    # Epochs 0..4 were recorded; the interrupt came during the 6th step.
    assert history["val_acc_history"] == SCRIPT[:5]
    assert model.params["W1"][0] == 3 and stop.ended


def test_ctrl_c_propagates_unless_asked_to_catch_it():
    with pytest.raises(KeyboardInterrupt):
        Trainer(Scripted(), _config(), callbacks=[Interrupt(at=2)]).fit(X, y, X, y)


def test_a_callback_can_stop_training():
    class StopAt3(Callback):
        def on_epoch_end(self, trainer, epoch):
            trainer.stop_training = epoch == 3

    history = Trainer(Scripted(), _config(), callbacks=[StopAt3()]).fit(X, y, X, y)
    assert len(history["val_acc_history"]) == 4


def test_augment_sees_every_batch_and_is_seeded():
    seen = []

    def augment(xb, rng):
        seen.append(rng.integers(1000))
        return xb + 1.0

    Trainer(Scripted(), _config(num_iters=3, augment=augment)).fit(X, y)
    first = list(seen)
    seen.clear()
    Trainer(Scripted(), _config(num_iters=3, augment=augment)).fit(X, y)
    assert len(first) == 3 and seen == first


def test_batchnorm_statistics_are_restored_with_the_best_weights():
    rng = np.random.default_rng(0)
    Xr, yr = rng.standard_normal((200, 10)).astype(np.float32), rng.integers(0, 3, 200)
    net = FullyConnectedNet(10, [16], 3, normalization="batchnorm", seed=0)
    snapshots = {}

    class Snap(Callback):
        def on_epoch_end(self, trainer, epoch):
            snapshots[epoch] = net.buffers["running_mean1"].copy()

    cfg = TrainConfig(num_iters=40, batch_size=50, learning_rate=0.5, update_rule="sgd", seed=0,
                      restore_best=True)
    trainer = Trainer(net, cfg, callbacks=[Snap()])
    trainer.fit(Xr, yr, Xr[:50], yr[:50])
    np.testing.assert_array_equal(net.buffers["running_mean1"], snapshots[trainer.best_epoch])
    assert (net.predict(Xr[:50]) == yr[:50]).mean() == trainer.best_val_acc


def test_weight_decay_reaches_weights_only():
    cfg = TrainConfig(update_rule="adamw", weight_decay=0.1)
    assert cfg.rule_config("W2")["weight_decay"] == 0.1
    assert cfg.rule_config("b2")["weight_decay"] == 0.0
    assert cfg.rule_config("gamma1")["weight_decay"] == 0.0


@pytest.mark.parametrize("kwargs,match", [
    (dict(patience=-1), "patience must be an integer >= 0"),
    (dict(lr_schedule="linear"), "unknown learning-rate schedule 'linear'"),
    (dict(beta2=1.0), r"beta2 must be in \[0, 1\)"),
    (dict(augment="shift"), "augment must be None or a callable"),
])
def test_bad_train_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)
