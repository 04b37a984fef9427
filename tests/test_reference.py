"""cattern.reference: the seed's printed numbers, transcribed, and compare_grid."""
import itertools
import math
import re
from pathlib import Path

import pytest

from cattern.reference import (
    GRID_AXES,
    SEED_BEST,
    SEED_FILE,
    SEED_RUNS,
    SEED_TEST_ACC,
    SEED_TEST_LINE,
    compare_grid,
    grid_configs,
    seed_grid,
    seed_val,
)

SEED_TEXT = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / SEED_FILE


@pytest.fixture(scope="module")
def seed_lines():
    if not SEED_TEXT.is_file():
        pytest.skip(f"the seed's text is not at {SEED_TEXT}")
    return SEED_TEXT.read_text().splitlines()


def test_grid_has_72_rows_in_product_order():
    rows = seed_grid()
    assert [r.config for r in rows] == list(range(1, 73))
    assert [r.params for r in rows] == list(itertools.product(
        [1e-3, 1e-4], [0.01, 0.05], [10, 50, 100], [2000, 3000], [200, 400, 1000]))
    assert grid_configs() == [r.params for r in rows]
    assert list(GRID_AXES) == ["learning_rate", "reg", "hidden_size", "num_iters", "batch_size"]


@pytest.mark.parametrize("config, val_acc, train_acc", [
    (1, 0.9338, 0.93438181818182),   # as printed: two digits lost in extraction
    (17, 0.9696, 0.97232727272727),
    (38, 0.6948, 0.6809090909090909),
    (57, 0.4954, 0.4999636363636364),
    (72, 0.7896, None),              # the text has no train accuracy line here
])
def test_spot_rows(config, val_acc, train_acc):
    row = seed_grid()[config - 1]
    assert row.val_acc == val_acc
    assert row.train_acc == train_acc


def test_missing_train_accuracies():
    assert [r.config for r in seed_grid() if r.train_acc is None] == [8, 24, 56, 72]


def test_best_is_the_grids_maximum():
    rows = seed_grid()
    best = max(rows, key=lambda r: r.val_acc)
    assert (best.config, best.val_acc, best.params) == (SEED_BEST.config, SEED_BEST.val_acc, SEED_BEST.params)


def test_seed_runs_have_20_losses():
    for run in SEED_RUNS.values():
        assert len(run.losses) == len(run.loss_lines) == 20
        assert run.loss_iterations == tuple(range(0, 2000, 100))
    assert SEED_RUNS["fixed_lr"].val_acc == 0.8922
    assert SEED_RUNS["lr_decay"].val_acc == 0.9432


def test_grid_lines_point_at_the_printed_numbers(seed_lines):
    for row in seed_grid():
        line = seed_lines[row.seed_line - 1]
        assert f"validate accuracy: {row.val_acc!r}" in line, (row.config, line)
        # The nearest "CV# k/72" before that number names its config.
        before = "\n".join(seed_lines[:row.seed_line - 1] + [line[:line.index("validate accuracy")]])
        assert re.findall(r"CV# (\d+)/72", before)[-1] == str(row.config)


def test_grid_train_accuracies_are_the_texts(seed_lines):
    text = "\n".join(seed_lines)
    for row in seed_grid():
        if row.train_acc is not None:
            assert f"train accuracy: {row.train_acc!r}" in text, row.config


def test_run_lines_point_at_the_printed_numbers(seed_lines):
    for run in SEED_RUNS.values():
        for it, loss, line in zip(run.loss_iterations, run.losses, run.loss_lines):
            assert seed_lines[line - 1].strip() == f"iteration {it} / 2000: loss {loss:.6f}"
        assert seed_lines[run.val_line - 1].strip() == f"Validation accuracy: {run.val_acc}"
    assert "best validate accuracy = 0.9696" in seed_lines[SEED_BEST.line - 1]
    assert seed_lines[SEED_TEST_LINE - 1].strip() == f"Test accuracy: {SEED_TEST_ACC}"


def test_compare_perfect_match():
    seed = seed_val()
    c = compare_grid(seed, seed)
    assert (c.n, c.mae, c.spearman) == (72, 0.0, pytest.approx(1.0))
    assert c.our_best_config == c.seed_best_config == 17 and c.winners_agree


def test_compare_reversed_order():
    # ours ranks the configs in the opposite order: every |difference| is 0.2
    # ((0.9 - 0.7), (0.8 - 0.8) = 0, (0.7 - 0.9)) -> MAE (0.2 + 0 + 0.2) / 3.
    c = compare_grid([0.7, 0.8, 0.9], [0.9, 0.8, 0.7], configs=[5, 6, 7])
    assert c.mae == pytest.approx(0.4 / 3)
    assert c.spearman == pytest.approx(-1.0)
    assert (c.our_best_config, c.our_best_val, c.seed_best_config, c.seed_best_val) == (7, 0.9, 5, 0.9)
    assert not c.winners_agree


def test_compare_ties_go_to_the_first_config():
    # The seed's loop keeps a new best only when strictly better.
    c = compare_grid([0.5, 0.9, 0.9], [0.5, 0.9, 0.8])
    assert c.our_best_config == 2 and c.winners_agree


def test_compare_constant_grid_has_no_rank_correlation():
    assert math.isnan(compare_grid([0.5, 0.5], [0.4, 0.6]).spearman)


def test_compare_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same, nonzero length"):
        compare_grid([0.5, 0.6], [0.5])
