"""The lab's sections, its test-set discipline, and the whole lab on a tiny synthetic set."""
import csv
import json

import numpy as np
from matplotlib.image import imread

from cattern import lab
from cattern.reference import seed_grid, toy_problem
from cattern.tuning.space import seed_72_as_run
from cattern.cli import main
from cattern.model_io import load_model
from synthetic_data import N_VAL, data_options, raw, write_mnist_dir

# A tiny search for the synthetic data: two configs, a few hundred steps.
TINY_SEARCH = [
    {"learning_rate": 0.05, "reg": 1e-4, "hidden_size": 16, "num_iters": 300, "std": 0.01, "dtype": "float32",
     "pixel_scale": 1.0, "momentum": 0.9},
    {"learning_rate": 1e-4, "reg": 1e-4, "hidden_size": 16, "num_iters": 300, "std": 0.01, "dtype": "float32",
     "pixel_scale": 1.0, "momentum": 0.9},
]
FIGURES = ("mnist_digits.png", "loss_accuracy_curves.png", "first_layer_weights.png", "seed_grid.png",
           "best_net_weights.png")
# Two configs of the seed's grid as its loop ran them (16 and 17, around its winner), shortened.
TINY_GRID = [dict(config, num_iters=300) for config in seed_72_as_run()[15:17]]


def test_toy_sections_reproduce_the_seed():
    net, X, y = toy_problem()
    assert lab.check_toy_scores(net, X) < 1e-7
    loss, diff = lab.check_toy_loss(net, X, y)
    assert diff < 1e-12 and abs(loss - 1.30378789133) < 1e-10
    errors = lab.gradient_check_table(net, X, y)
    assert list(errors) == ["W1", "W2", "b1", "b2"]  # the order the seed prints them in
    assert max(errors.values()) < 1e-8
    assert abs(lab.train_toy(X, y) - 0.017143643532923757) < 1e-16  # cell [7]'s printed loss


def test_quick_mode_reads_the_environment(monkeypatch):
    monkeypatch.delenv(lab.QUICK_ENV, raising=False)
    assert lab.default_search_preset() == "lab"
    monkeypatch.setenv(lab.QUICK_ENV, "1")
    assert lab.default_search_preset() == "lab-quick"
    monkeypatch.setenv(lab.QUICK_ENV, "0")
    assert not lab.quick_mode()


def test_run_lab_on_synthetic_data(tmp_path, capsys):
    data_dir = write_mnist_dir(tmp_path / "mnist")
    out = tmp_path / "lab"
    summary = lab.run_lab(out, data_dir=data_dir, validation_size=N_VAL, verify=False,
                          search_configs=TINY_SEARCH, grid_configs=TINY_GRID, n_jobs=1, progress=False)
    printed = capsys.readouterr().out
    for line in ("scores difference", "seed: < 1e-07", "W1 max relative error", "printed losses equal",
                 "validation accuracy", "seed: 0.8922", "CV#", "Spearman", "seed: 0.9656",
                 "best validation accuracy", "test accuracy", "seed: > 0.963"):
        assert line in printed

    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    for key in ("val_accuracy", "test_accuracy", "best_hyperparameters", "seconds", "test_set_uses",
                "seed", "config", "targets_met", "toy", "runs", "seed_grid", "search_results"):
        assert key in on_disk
    assert on_disk["test_set_uses"] == 2  # once for the seed grid's winner, once for the lab's own net
    assert on_disk["best_hyperparameters"] == TINY_SEARCH[0]  # the rate that learns wins
    searched = [{name: row["config"][name] for name in TINY_SEARCH[0]} for row in on_disk["search_results"]]
    assert searched == TINY_SEARCH
    for name in FIGURES:
        assert imread(out / name).ndim == 3
    assert on_disk["toy"]["final_training_loss"] == lab.train_toy(*toy_problem()[1:])

    # The grid, side by side with the seed's printed numbers, in the seed's order.
    grid = on_disk["seed_grid"]
    assert [row["config"] for row in grid["rows"]] == [16, 17] and grid["shortened"] is True
    assert [row["seed_val_acc"] for row in grid["rows"]] == [0.9676, 0.9696]
    assert [row["hidden_trained"] for row in grid["rows"]] == [100, 100]  # 16 from 15's 100, 17 from 16's
    assert all(met is None for name, met in on_disk["targets_met"].items() if name.startswith("seed grid:"))
    with open(out / "seed_grid.csv") as f:
        assert [int(row["config"]) for row in csv.DictReader(f)] == [16, 17]

    # The saved best net is the one that was chosen: same validation accuracy from raw pixels.
    data = raw(data_dir)
    saved = load_model(out / "best_model.npz")
    assert np.mean(saved.predict(data.X_val) == data.y_val) == on_disk["val_accuracy"]
    assert np.mean(saved.predict(data.X_test) == data.y_test) == on_disk["test_accuracy"]
    assert on_disk["val_accuracy"] > 0.9


def test_the_replay_carries_each_config_s_hidden_size_to_the_next():
    """Cell [15] builds the net before unpacking its config: config k trains config k-1's size."""
    configs = seed_72_as_run(initial_hidden=7)
    listed = [row.hidden_size for row in seed_grid()]
    assert [c["hidden_size"] for c in configs] == [7] + listed[:-1]
    assert [c["replica"] for c in configs] == list(range(1, 73))
    # Configs 1 and 7 train alike (10 hidden units carried) but are two runs of their own.
    runs = seed_72_as_run()
    assert [c["hidden_size"] for c in (runs[0], runs[6])] == [10, 10]
    assert {k: v for k, v in runs[0].items() if k != "replica"} == {k: v for k, v in runs[6].items() if k != "replica"}


def test_cattern_lab_command(tmp_path, monkeypatch):
    # The real presets train for 5500 steps; on 300 examples that is thousands of
    # epochs, so the command runs a tiny preset registered for this test.
    from cattern.tuning import space

    monkeypatch.setitem(space.SEARCH_PRESETS, "tiny", TINY_SEARCH)
    data_dir = write_mnist_dir(tmp_path / "mnist")
    status = main(["lab", "--out", str(tmp_path / "run"), *data_options(data_dir), "--n-jobs", "1",
                   "--no-progress", "--seed", "3", "--search-preset", "tiny", "--quick"])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["config"]["search_preset"] == "tiny" and summary["seed"] == 3
    assert summary["test_set_uses"] == 2 and summary["seed_grid"]["configs"] == 5  # --quick: 5 of 72
    # The exit status says whether the seed's targets were met (a shortened grid's are not judged).
    assert status == (0 if all(met is not False for met in summary["targets_met"].values()) else 1)


def test_cattern_lab_reports_a_missed_target(tmp_path, monkeypatch, capsys):
    from cattern.tuning import space

    monkeypatch.setitem(space.SEARCH_PRESETS, "hopeless", TINY_SEARCH[1:])  # a rate too small to learn
    data_dir = write_mnist_dir(tmp_path / "mnist")
    status = main(["lab", "--out", str(tmp_path / "run"), *data_options(data_dir), "--n-jobs", "1",
                   "--no-progress", "--search-preset", "hopeless", "--quick"])
    assert status == 1
    assert "missed the seed's target(s): val_accuracy > 0.974" in capsys.readouterr().out
