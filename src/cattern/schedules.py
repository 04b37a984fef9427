"""Learning-rate schedules: pure functions of the step.

A schedule is a callable ``lr = schedule(iteration, iterations_per_epoch)``
(nanoGPT's ``get_lr(it)``): it holds no state, so a run can be resumed or
plotted from the step alone, and the trainer asks it for the rate before
every update.
"""
import math
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


@dataclass(frozen=True)
class SeedDecay:
    """The seed's own decay (cs231n's ``train``): the rate is multiplied by
    ``decay`` after the FIRST iteration of each epoch, iteration 0 included::

        lr = learning_rate * decay ** ceil(iteration / iterations_per_epoch)

    The seed decays where ``it % iterations_per_epoch == 0`` after the update
    of iteration ``it``, so iterations 1 .. P train at the once-decayed rate.
    With :class:`ExponentialPerEpoch` they would still train at the first.
    """

    learning_rate: float
    decay: float = 0.95

    def __call__(self, iteration, iterations_per_epoch):
        epochs_begun = -(-iteration // iterations_per_epoch)  # ceil, in whole numbers
        return self.learning_rate * self.decay ** epochs_begun


@dataclass(frozen=True)
class Step:
    """Step decay: the rate is multiplied by ``gamma`` every ``step_epochs`` epochs::

        lr = learning_rate * gamma ** floor(iteration / (step_epochs * iterations_per_epoch))
    """

    learning_rate: float
    step_epochs: float = 10.0
    gamma: float = 0.1

    def __call__(self, iteration, iterations_per_epoch):
        return self.learning_rate * self.gamma ** math.floor(
            iteration / (self.step_epochs * iterations_per_epoch))


@dataclass(frozen=True)
class Exponential:
    """Smooth exponential decay, by ``decay`` per epoch but applied at every step::

        lr = learning_rate * decay ** (iteration / iterations_per_epoch)

    (:class:`ExponentialPerEpoch` is the seed's staircase version.)
    """

    learning_rate: float
    decay: float = 0.95

    def __call__(self, iteration, iterations_per_epoch):
        return self.learning_rate * self.decay ** (iteration / iterations_per_epoch)


@dataclass(frozen=True)
class Cosine:
    """Cosine annealing (Loshchilov & Hutter 2017, one cycle, no restarts) from
    ``learning_rate`` down to ``min_learning_rate`` at step ``total_iters``::

        progress = min(1, iteration / total_iters)
        lr = min_learning_rate + 0.5 * (learning_rate - min_learning_rate)
                                     * (1 + cos(pi * progress))

    and ``min_learning_rate`` after ``total_iters``.
    """

    learning_rate: float
    total_iters: int
    min_learning_rate: float = 0.0

    def __call__(self, iteration, iterations_per_epoch):
        progress = min(1.0, iteration / self.total_iters)
        return self.min_learning_rate + 0.5 * (self.learning_rate - self.min_learning_rate) * (
            1 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class Warmup:
    """A linear warmup in front of any schedule: over the first
    ``warmup_epochs`` epochs (W = warmup_epochs * iterations_per_epoch steps)
    the rate climbs linearly to the wrapped schedule's, then follows it::

        lr = schedule(iteration) * (iteration + 1) / W    if iteration + 1 < W
        lr = schedule(iteration)                          otherwise

    Large rates (and Adam's first noisy second-moment estimates) can throw a
    fresh net into a bad region; starting small avoids it.
    """

    schedule: object
    warmup_epochs: float

    def __call__(self, iteration, iterations_per_epoch):
        lr = self.schedule(iteration, iterations_per_epoch)
        warmup_iters = self.warmup_epochs * iterations_per_epoch
        if iteration + 1 < warmup_iters:
            return lr * (iteration + 1) / warmup_iters
        return lr


# Schedules by name, for configs and the command line, as cattern.optim.RULES
# names the update rules: each builds its schedule from the run's options
# (``decay`` the per-epoch factor of the two exponential schedules;
# ``step_epochs`` and ``gamma`` of Step; ``num_iters`` and
# ``min_learning_rate`` of Cosine).
SCHEDULES = {
    "exponential_per_epoch": lambda lr, o: ExponentialPerEpoch(lr, o["decay"]),
    "seed": lambda lr, o: SeedDecay(lr, o["decay"]),
    "constant": lambda lr, o: Constant(lr),
    "step": lambda lr, o: Step(lr, o["step_epochs"], o["gamma"]),
    "exponential": lambda lr, o: Exponential(lr, o["decay"]),
    "cosine": lambda lr, o: Cosine(lr, o["num_iters"], o["min_learning_rate"]),
}


def build_schedule(name, learning_rate, *, num_iters, decay=0.95, step_epochs=10.0, gamma=0.1,
                   min_learning_rate=0.0, warmup_epochs=0.0):
    """The schedule called ``name`` (a key of :data:`SCHEDULES`), with a linear
    warmup in front when ``warmup_epochs`` > 0."""
    try:
        build = SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown learning-rate schedule {name!r}; choose one of {list(SCHEDULES)}") from None
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be >= 0; got {warmup_epochs!r}")
    schedule = build(learning_rate, {"num_iters": num_iters, "decay": decay, "step_epochs": step_epochs,
                                     "gamma": gamma, "min_learning_rate": min_learning_rate})
    return Warmup(schedule, warmup_epochs) if warmup_epochs > 0 else schedule
