"""The seed's single runs (cells [10] and [11]), and its grid's winner and test accuracy (cells [15], [17])."""
from dataclasses import dataclass

@dataclass(frozen=True)
class SeedRun:
    """A single training run the seed printed (cells [10] and [11]).

    - cell: the notebook cell, e.g. "[10]"
    - description: what the seed's text says the run does
    - loss_iterations: (20,) iterations 0, 100, ..., 1900 of 2000
    - losses: (20,) the loss printed at those iterations (one minibatch's
      loss, regularization included)
    - loss_lines: (20,) the seed text's line of each printed loss
    - val_acc: the printed "Validation accuracy", and val_line its line
    """

    cell: str
    description: str
    losses: tuple
    loss_lines: tuple
    val_acc: float
    val_line: int
    loss_iterations: tuple = tuple(range(0, 2000, 100))


SEED_RUNS = {
    "fixed_lr": SeedRun(
        cell="[10]",
        description="SGD with momentum, 'fixed learning rate'",
        losses=(2.302592, 2.302232, 2.300876, 2.291126, 2.239348, 2.008828, 1.814898, 1.425479,
                1.268225, 0.994899, 0.847616, 0.758159, 0.633341, 0.536447, 0.478063, 0.397137,
                0.415201, 0.385851, 0.517132, 0.425830),
        loss_lines=tuple(range(225, 245)),
        val_acc=0.8922, val_line=245),
    "lr_decay": SeedRun(
        cell="[11]",
        description="'run the model again with larger starting learning rate and learning rate decay'",
        losses=(2.302581, 2.119326, 0.804760, 0.492363, 0.407158, 0.286767, 0.318665, 0.363674,
                0.273462, 0.278906, 0.263698, 0.181063, 0.257531, 0.353448, 0.188915, 0.165813,
                0.248227, 0.259703, 0.292172, 0.196248),
        loss_lines=tuple(range(255, 275)),
        val_acc=0.9432, val_line=275),
}


@dataclass(frozen=True)
class SeedBest:
    """The grid's printed winner: val_acc, its config (1-based), params, line."""

    val_acc: float
    config: int
    params: tuple
    line: int


SEED_BEST = SeedBest(val_acc=0.9696, config=17, params=(0.001, 0.01, 100, 3000, 400), line=783)
SEED_TEST_ACC = 0.9656   # cell [17]: the grid's best net on the 10,000 test images
SEED_TEST_LINE = 802


