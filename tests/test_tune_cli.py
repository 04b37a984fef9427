"""``cattern tune`` end to end, on a tiny synthetic data set in MNIST's file format."""
import csv

import numpy as np
import pytest

from cattern.cli import build_parser, main
from cattern.cli.tune import build_configs
from cattern.data.idx import write_idx
from cattern.model_io import load_model


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """MNIST's four files holding 400 + 20 easy digits: class k lights up row band k."""
    folder = tmp_path_factory.mktemp("tiny_mnist")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 400), ("t10k", 20)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 * label + 4:2 * label + 6, 4:24] = 255
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


def tune(data_dir, out, *options):
    return main(["tune", "--data-dir", str(data_dir), "--no-verify", "--validation-size", "100",
                 "--out", str(out), "--n-jobs", "1", "--no-progress", "--pixel-scale", "1", "--momentum", "0.9",
                 *options])


def test_tune_prints_the_sorted_table_and_writes_the_csv_and_best_model(data_dir, tmp_path, capsys):
    status = tune(data_dir, tmp_path, "--learning-rate", "1e-3", "1e-2", "--hidden-size", "16", "32",
                  "--num-iters", "60", "--batch-size", "50", "--std", "0.01", "--dtype", "float32")
    assert status == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    # Config columns in ExperimentConfig's field order; only the varied ones.
    assert lines[0].split() == ["rank", "val_acc", "train_acc", "hidden_size", "learning_rate",
                                "iters", "seconds", "status", "findings"]
    printed = [float(line.split()[1]) for line in lines[1:5]]
    assert printed == sorted(printed, reverse=True)

    with open(tmp_path / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4
    assert [round(float(row["val_acc"]), 4) for row in table] == printed
    assert {(row["learning_rate"], row["hidden_size"]) for row in table} == \
        {("0.001", "16"), ("0.001", "32"), ("0.01", "16"), ("0.01", "32")}

    saved = load_model(tmp_path / "best_model.npz")
    assert saved.config.learning_rate == float(table[0]["learning_rate"])
    assert saved.config.seed == int(table[0]["train_seed"])
    assert "learning_rate=0.01 is the largest value searched" in err  # the edge warning

    # A rerun with the same --out trains nothing again and prints the same table.
    assert tune(data_dir, tmp_path, "--learning-rate", "1e-3", "1e-2", "--hidden-size", "16", "32",
                "--num-iters", "60", "--batch-size", "50", "--std", "0.01", "--dtype", "float32") == 0
    assert [line.split()[:3] for line in capsys.readouterr().out.splitlines()[1:5]] == \
           [line.split()[:3] for line in lines[1:5]]


def test_tune_with_halving_and_random_search(data_dir, tmp_path, capsys):
    status = tune(data_dir, tmp_path, "--random", "9", "--learning-rate", "1e-3..3e-2", "--hidden-size", "16",
                  "--num-iters", "90", "--batch-size", "50", "--std", "0.01", "--halving", "--min-iters", "10")
    assert status == 0
    with open(tmp_path / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [row["rung"] for row in table].count("0") == 9
    assert table[0]["iters"] == "90" and table[0]["rung"] == "2"


def parse(*argv):
    return build_parser().parse_args(["tune", *argv])


def test_a_preset_with_overrides_keeps_the_preset_order_and_drops_repeats():
    configs = build_configs(parse("--preset", "seed-72", "--hidden-size", "200", "--dtype", "float64"))
    assert len(configs) == 24  # 72 configs, three hidden sizes made one
    assert all(c["hidden_size"] == 200 and c["dtype"] == "float64" for c in configs)
    assert (configs[0]["learning_rate"], configs[0]["batch_size"]) == (1e-3, 200)


@pytest.mark.parametrize("argv, message", [
    (["--learning-rate", "fast"], "--learning-rate takes float values; got 'fast'"),
    (["--learning-rate", "1e-4..1e-2"], "need --random N"),
    (["--random", "3", "--preset", "seed-72"], "drop --preset"),
    (["--random", "3", "--hidden-size", "10..20", "30"], "one LOW..HIGH range"),
    (["--dtype", "float16"], "must be one of"),
])
def test_bad_options_are_clear_errors(argv, message):
    with pytest.raises(ValueError, match=message):
        build_configs(parse(*argv))


def test_bad_options_end_with_a_message_not_a_traceback(data_dir, tmp_path, capsys):
    assert tune(data_dir, tmp_path, "--learning-rate", "fast") == 2
    assert "cattern tune: error: --learning-rate takes float values" in capsys.readouterr().err


def test_boolean_options_read_false_as_false():
    from cattern.cli.options import parse_value

    assert parse_value("restore_best", "false") is False
    assert parse_value("restore_best", "true") is True
    with pytest.raises(ValueError, match="--restore-best takes true or false; got 'maybe'"):
        parse_value("restore_best", "maybe")
