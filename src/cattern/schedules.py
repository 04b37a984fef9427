"""Learning-rate schedules: pure functions of the step.

A schedule is a callable ``lr = schedule(iteration, iterations_per_epoch)``
(nanoGPT's ``get_lr(it)``): it holds no state, so a run can be resumed or
plotted from the step alone, and the trainer asks it for the rate before
every update.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    """The same rate at every step: ``lr = learning_rate``."""

    learning_rate: float

    def __call__(self, iteration, iterations_per_epoch):
        return self.learning_rate


@dataclass(frozen=True)
class ExponentialPerEpoch:
    """The seed's decay: the rate is multiplied by ``decay`` once per epoch::

        lr = learning_rate * decay ** (iteration // iterations_per_epoch)

    ``iterations_per_epoch`` is ceil(N / batch_size), so the decay happens once
    per pass over the data whether or not the batch size divides N.
    """

    learning_rate: float
    decay: float = 0.95

    def __call__(self, iteration, iterations_per_epoch):
        epoch = iteration // iterations_per_epoch
        return self.learning_rate * self.decay ** epoch
