"""ema_decay: the trainer's moving average of the weights (Polyak averaging), checked by hand."""
import numpy as np
import pytest

from cattern.cli import main as cli_main
from cattern.experiment import ExperimentConfig
from cattern.models import FullyConnectedNet
from cattern.trainer import Callback, TrainConfig, Trainer

# 103 examples in batches of 20: six steps an epoch, the last one short.
rng = np.random.default_rng(0)
X = rng.standard_normal((103, 12))
y = rng.integers(0, 3, size=103)
X_val, y_val = X[:40], y[:40]

CONFIG = TrainConfig(num_iters=30, batch_size=20, learning_rate=0.1, learning_rate_decay=0.9,
                     momentum=0.9, seed=3, ema_decay=0.8)


def make_net():
    # Batch norm, so that buffers (the running statistics) are averaged too.
    return FullyConnectedNet(12, [9, 7], 3, dropout=0.2, normalization="batchnorm", dtype=np.float64, seed=1)


def arrays_of(model):
    return {**model.params, **model.buffers}


class ByHand(Callback):
    """Average the trained arrays by hand after every update, as TrainConfig's docstring
    says; at each epoch's end, check that the model holds that average and that the
    validation accuracy recorded is that average's."""

    def __init__(self, decay):
        self.decay, self.average, self.at_epochs = decay, None, []

    def on_train_begin(self, trainer):
        self.average = {k: v.copy() for k, v in arrays_of(trainer.model).items()}  # the initial net

    def on_iteration_end(self, trainer, iteration, loss):
        d = min(self.decay, (1 + iteration) / (10 + iteration))
        for k, avg in self.average.items():
            avg += (1 - d) * (arrays_of(trainer.model)[k] - avg)

    def on_epoch_end(self, trainer, epoch):
        model = trainer.model
        for k, avg in self.average.items():
            np.testing.assert_allclose(arrays_of(model)[k], avg, rtol=0, atol=1e-14, err_msg=k)
        assert trainer.history["val_acc_history"][-1] == np.mean(model.predict(X_val) == y_val)
        self.at_epochs.append({k: v.copy() for k, v in self.average.items()})


def test_the_model_measured_each_epoch_and_kept_at_the_end_is_the_average():
    by_hand = ByHand(CONFIG.ema_decay)
    trainer = Trainer(make_net(), CONFIG, callbacks=[by_hand])
    trainer.fit(X, y, X_val, y_val)
    assert len(by_hand.at_epochs) == 5
    for k, avg in by_hand.average.items():
        np.testing.assert_allclose(arrays_of(trainer.model)[k], avg, rtol=0, atol=1e-14, err_msg=k)
    # The average is not the trained net: the test would pass vacuously otherwise.
    plain = Trainer(make_net(), TrainConfig(**{**CONFIG.__dict__, "ema_decay": 0.0}))
    plain.fit(X, y, X_val, y_val)
    assert not np.allclose(plain.model.params["W1"], trainer.model.params["W1"], rtol=0, atol=1e-3)


def test_averaging_changes_nothing_in_training():
    # The same losses, step by step: the average draws no random numbers and feeds nothing back.
    plain = Trainer(make_net(), TrainConfig(**{**CONFIG.__dict__, "ema_decay": 0.0}))
    averaged = Trainer(make_net(), CONFIG)
    assert plain.fit(X, y)["loss_history"] == averaged.fit(X, y)["loss_history"]


def test_restore_best_puts_back_the_best_epochs_average():
    by_hand = ByHand(CONFIG.ema_decay)
    trainer = Trainer(make_net(), TrainConfig(**{**CONFIG.__dict__, "restore_best": True}), callbacks=[by_hand])
    history = trainer.fit(X, y, X_val, y_val)
    best = trainer.best_epoch
    assert history["val_acc_history"][best] == max(history["val_acc_history"])
    for k, avg in by_hand.at_epochs[best].items():
        np.testing.assert_allclose(arrays_of(trainer.model)[k], avg, rtol=0, atol=1e-14, err_msg=k)


def test_an_extended_averaged_run_is_the_longer_run():
    whole = Trainer(make_net(), CONFIG)
    whole.fit(X, y, X_val, y_val)
    trainer = Trainer(make_net(), CONFIG)
    for stop in (7, 18, CONFIG.num_iters):
        trainer.extend(stop)
        trainer.fit(X, y, X_val, y_val)
    for k, value in arrays_of(whole.model).items():
        np.testing.assert_array_equal(arrays_of(trainer.model)[k], value, err_msg=k)
    assert trainer.history["loss_history"] == whole.history["loss_history"]
    assert trainer.history["val_acc_history"][-1] == whole.history["val_acc_history"][-1]


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, float("nan")])
def test_a_decay_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=bad)
    with pytest.raises(ValueError, match="ema_decay"):
        ExperimentConfig(ema_decay=bad)


def test_the_option_names_itself(capsys, tmp_path):
    assert cli_main(["train", "--ema-decay", "1", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--ema-decay" in err[0], err
    assert not (tmp_path / "run").exists()
