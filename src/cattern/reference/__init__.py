"""What the seed's notebook printed, transcribed, and how to compare a replay with it.

The seed is ``../shared/seed/simple_neural_network_lab.txt`` (a PDF of the
notebook turned into text). Every number here was copied from it; each
carries the line number where the text prints it, or the words of the text,
so a reader can check.

- :mod:`cattern.reference.toy`: the toy problem of cells [3]-[7]
  (:func:`toy_problem`, :data:`SEED_CORRECT_SCORES`) and the targets the
  text states (:data:`SEED_TARGETS`);
- :mod:`cattern.reference.runs`: cells [10] (fixed learning rate) and [11]
  (learning-rate decay), :data:`SEED_RUNS`: the loss printed every 100
  iterations, 0 to 1900, and the final validation accuracy (the cells'
  arguments were cut from the text); :data:`SEED_BEST` and
  :data:`SEED_TEST_ACC`, the grid's printed winner and its test accuracy
  (cell [17]);
- :mod:`cattern.reference.grid`: cell [15]'s 72-config grid search
  (:func:`seed_grid`) and :func:`compare_grid`, a replay's validation
  accuracies against the seed's.
"""
from cattern.reference.grid import (
    GRID_AXES,
    GridComparison,
    SeedGridRow,
    compare_grid,
    grid_configs,
    seed_grid,
    seed_val,
)
from cattern.reference.runs import SEED_BEST, SEED_RUNS, SEED_TEST_ACC, SEED_TEST_LINE, SeedBest, SeedRun
from cattern.reference.toy import SEED_CORRECT_SCORES, SEED_SHAPES, SEED_TARGETS, toy_problem

SEED_FILE = "simple_neural_network_lab.txt"  # in ../shared/seed/ of the repository

__all__ = [
    "GRID_AXES", "GridComparison", "SEED_BEST", "SEED_CORRECT_SCORES", "SEED_FILE", "SEED_RUNS",
    "SEED_SHAPES", "SEED_TARGETS", "SEED_TEST_ACC", "SEED_TEST_LINE", "SeedBest", "SeedGridRow", "SeedRun",
    "compare_grid", "grid_configs", "seed_grid", "seed_val", "toy_problem",
]
