"""clean_epochs: the last epochs of a run train on the batches as they are, not augmented."""
import dataclasses

import numpy as np
import pytest

from cattern.cli import main as cli_main
from cattern.experiment import ExperimentConfig
from cattern.models import FullyConnectedNet
from cattern.trainer import Callback, TrainConfig, Trainer

# 103 examples in batches of 20: six steps an epoch, the last one short; 5 epochs.
rng = np.random.default_rng(0)
X = rng.standard_normal((103, 12))
y = rng.integers(0, 3, size=103)

CONFIG = TrainConfig(num_iters=30, batch_size=20, learning_rate=0.1, momentum=0.9, seed=3)


class Counting:
    """An augmentation that records the iteration of each batch it moves, and moves it visibly."""

    def __init__(self):
        self.trainer, self.calls = None, []

    def __call__(self, xb, rng):
        self.calls.append(self.trainer.iteration)
        return xb + rng.standard_normal(xb.shape)


class Batches(Callback):
    """Keep a copy of every batch the net is trained on, by wrapping the trainer's step."""

    def on_train_begin(self, trainer):
        self.batches, step = [], trainer._step

        def recording_step(it, xb, yb, workspace):
            self.batches.append(xb.copy())
            return step(it, xb, yb, workspace)
        trainer._step = recording_step


def fit(clean_epochs, num_iters=30):
    augment = Counting()
    cfg = dataclasses.replace(CONFIG, num_iters=num_iters, augment=augment, clean_epochs=clean_epochs)
    net = FullyConnectedNet(12, [9], 3, dtype=np.float64, seed=1)
    seen = Batches()
    trainer = Trainer(net, cfg, callbacks=[seen])
    augment.trainer = trainer
    trainer.fit(X, y)
    return augment.calls, seen.batches, trainer


def test_the_last_clean_epochs_are_not_augmented():
    calls, batches, _ = fit(clean_epochs=2)
    assert calls == list(range(18))  # 5 epochs of 6 steps: the last 2 (12 steps) clean
    for it in range(18, 30):  # the clean batches are the training rows themselves
        assert any(np.array_equal(batches[it][0], row) for row in X)
    assert not any(np.array_equal(batches[0][0], row) for row in X)


def test_before_the_clean_epochs_the_run_is_the_augmented_run():
    _, clean, _ = fit(clean_epochs=2)
    _, augmented, _ = fit(clean_epochs=0)
    assert len(clean) == len(augmented) == 30
    for it in range(18):
        np.testing.assert_array_equal(clean[it], augmented[it])
    assert not np.array_equal(clean[18], augmented[18])


def test_fractions_of_an_epoch_count_in_steps_and_a_short_run_is_all_clean():
    calls, _, _ = fit(clean_epochs=0.5)  # half of 6 steps
    assert calls == list(range(27))
    for longer_than_the_run in (9, 1e308):  # 1e308 epochs is an infinity of steps
        calls, _, _ = fit(clean_epochs=longer_than_the_run)
        assert calls == []


def test_a_run_with_clean_epochs_cannot_be_extended():
    # Where the clean epochs begin depends on the run's length, so a longer fit differs.
    *_, trainer = fit(clean_epochs=1, num_iters=12)
    assert not trainer.can_extend()
    assert Trainer(FullyConnectedNet(12, [9], 3, seed=1), CONFIG).can_extend()


def test_clean_epochs_need_augmentation_and_must_be_nonnegative():
    with pytest.raises(ValueError, match="clean_epochs must be a finite number >= 0"):
        TrainConfig(clean_epochs=-1)
    with pytest.raises(ValueError, match="clean_epochs=2.0 stops augmenting .* this config does not augment"):
        ExperimentConfig(model="fc", clean_epochs=2.0)
    assert ExperimentConfig(model="fc", augment_shift=1, clean_epochs=2.0).train_config().clean_epochs == 2.0


def test_the_option_names_itself(capsys, tmp_path):
    assert cli_main(["train", "--clean-epochs", "3", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--clean-epochs=3.0 stops augmenting" in err[0], err
    assert not (tmp_path / "run").exists()
