"""The seed's lab, section by section, each result printed beside the seed's.

:func:`run_lab` runs the sections in the seed notebook's order and writes the
figures and ``summary.json``; ``cattern lab`` is a thin front over it. Each
section is also a function of its own, so the notebook and the tests call
the same code:

1. :func:`toy_problem`, :func:`check_toy_scores`, :func:`check_toy_loss`:
   cells [3]-[5], the toy net's scores and loss against the seed's values;
2. :func:`gradient_check_table`: cell [6];
3. :func:`train_toy`: cell [7];
4. :func:`cattern.data.splits.load_split`: cell [8], MNIST with the mean
   image subtracted; :func:`cattern.viz.figures.digits_figure`: cell [9];
5. :func:`train_run` with the presets ``seed-fixed-lr`` and ``seed-lr-decay``:
   cells [10] and [11]; the curves and first-layer weights: cells [12], [13];
6. :func:`search`: cell [15], through :func:`cattern.tuning.run_search`;
7. :class:`cattern.data.splits.TestSet`: cell [17], the test set used once,
   at the end, on the net chosen by validation.
"""
import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from cattern.atomic import run_folder, write_json
from cattern.callbacks import ProgressBar
from cattern.data.splits import load_split
from cattern.experiment import train_model
from cattern.gradient_check import eval_numerical_gradient, rel_error
from cattern.model_io import save_model
from cattern.models.two_layer import TwoLayerNet
from cattern.presets import get_preset
from cattern.viz import figures

# What the seed's notebook shows (its printed outputs and the thresholds its text states).
SEED = {
    "scores_difference": 1e-7,        # "We get < 1e-7"
    "loss": 1.30378789133,            # cell [5]'s correct_loss
    "loss_difference": 1e-12,         # "we get < 1e-12"
    "gradient_error": 1e-8,           # "should all be less than 1e-8 or so"
    "toy_final_loss": 0.05,           # "a training loss less than 0.05"; the seed got 0.017143643532923757
    "fixed_lr_val": 0.8922,           # cell [10]
    "lr_decay_val": 0.9432,           # cell [11]
    "search_val": 0.974,              # "greater than 97.4% on the validation set"
    "test": 0.963,                    # "you should get above 96.3%"; the seed got 0.9656
}
SEED_CORRECT_SCORES = np.asarray([
    [-0.81233741, -1.27654624, -0.70335995],
    [-0.17129677, -1.18803311, -0.47310444],
    [-0.51590475, -1.01354314, -0.8504215],
    [-0.15419291, -0.48629638, -0.52901952],
    [-0.00618733, -0.12435261, -0.15226949]])

SEED_SHAPES = {"X_train": "(55000, 784)", "y_train": "(55000,)", "X_val": "(5000, 784)",
               "y_val": "(5000,)", "X_test": "(10000, 784)", "y_test": "(10000,)"}

OUTPUTS = ("mnist_digits.png", "loss_accuracy_curves.png", "first_layer_weights.png", "best_net_weights.png",
           "best_model.npz", "summary.json")
QUICK_ENV = "CATTERN_QUICK"


def quick_mode():
    """True when CATTERN_QUICK is set to anything but "", "0" or "false": shrink the search."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no")


def default_search_preset():
    """The lab's search: "lab", or "lab-quick" in quick mode (see :mod:`cattern.tuning.space`)."""
    return "lab-quick" if quick_mode() else "lab"


def say(label, value, target=""):
    """Print one result, aligned, with the seed's value or target beside it."""
    print(f"  {label:<34} {value:<24} {('seed: ' + target) if target else ''}".rstrip(), flush=True)


# ----------------------------------------------------------------------
# 1-3. The toy problem (cells [3]-[7])
# ----------------------------------------------------------------------

def toy_problem():
    """The seed's toy net and data (cell [3]): net (4 -> 10 -> 3, std 0.1), X (5, 4), y (5,).

    Draws from NumPy's global random state as the seed does
    (``np.random.seed(0)`` for the net, ``np.random.seed(1)`` for the data).
    """
    np.random.seed(0)
    net = TwoLayerNet(4, 10, 3, std=1e-1)
    np.random.seed(1)
    X = 10 * np.random.randn(5, 4)
    y = np.array([0, 1, 2, 2, 1])
    return net, X, y


def check_toy_scores(net, X):
    """Cell [4]: the sum of absolute differences from the seed's correct scores."""
    return float(np.sum(np.abs(net.loss(X) - SEED_CORRECT_SCORES)))


def check_toy_loss(net, X, y):
    """Cell [5]: (loss with reg=0.1, its absolute difference from the seed's)."""
    loss, _ = net.loss(X, y, reg=0.1)
    return float(loss), float(abs(loss - SEED["loss"]))


def gradient_check_table(net, X, y, reg=0.05):
    """Cell [6]: max relative error of each analytic gradient against the numeric one.

    Returns a dict parameter name -> relative error, in the seed's order
    (the order of ``grads``).
    """
    _, grads = net.loss(X, y, reg=reg)
    errors = {}
    for name in grads:
        f = lambda W: net.loss(X, y, reg=reg)[0]  # noqa: E731 (the seed's form)
        numeric = eval_numerical_gradient(f, net.params[name], verbose=False)
        errors[name] = float(rel_error(numeric, grads[name]))
    return errors


def train_toy(net, X, y):
    """Cell [7]: train the toy net on its own data; return the final training loss."""
    stats = net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100, verbose=False)
    return float(stats["loss_history"][-1])


# ----------------------------------------------------------------------
# 5-6. Training runs and the search (cells [10]-[15])
# ----------------------------------------------------------------------

def accuracy(model, X, y):
    return float(np.mean(model.predict(X) == y))


def train_run(cfg, split, desc="train", progress=True):
    """Train ``cfg`` on a :class:`~cattern.data.splits.Split`; return (model, history, val_accuracy)."""
    callbacks = [ProgressBar(desc=desc)] if progress else []
    model, history = train_model(cfg, split.X_train, split.y_train, split.X_val, split.y_val,
                                 callbacks=callbacks, mean_image=split.preprocessing.mean_image)
    return model, history, accuracy(model, split.X_val, split.y_val)


def search(split, preset=None, configs=None, seed=0, n_jobs=-1, progress=True):
    """Cell [15]: the hyperparameter search on train/validation only.

    ``configs`` (a list of config dicts) or the name of a search preset
    (default: :func:`default_search_preset`). Returns the
    :class:`cattern.tuning.SearchOutcome`.
    """
    from cattern.tuning import preset_configs, run_search

    if configs is None:
        configs = preset_configs(preset or default_search_preset())
    return run_search(configs, split.X_train, split.y_train, split.X_val, split.y_val, seed=seed,
                      n_jobs=n_jobs, progress=progress, mean_image=split.preprocessing.mean_image,
                      data_fingerprint=split.fingerprint)


# ----------------------------------------------------------------------
# The whole lab
# ----------------------------------------------------------------------

def _section(title):
    print(f"\n== {title}", flush=True)


def _seed_run(title, preset, seed, split, progress, seed_loss, seed_val):
    """One of the seed's two single runs (cells [10], [11]); returns (cfg, net, history, val_acc)."""
    _section(title)
    cfg = dataclasses.replace(get_preset(preset), seed=seed)
    net, history, val_acc = train_run(cfg, split, preset, progress)
    losses = history["loss_history"]
    say("loss first / mean of last 100", f"{losses[0]:.3f} / {np.mean(losses[-100:]):.3f}",
        f"2.303 / {seed_loss}")
    say("validation accuracy", f"{val_acc:.4f}", f"{seed_val}")
    return cfg, net, history, val_acc


def run_lab(out_dir, *, seed=0, data_dir=None, validation_size=5000, verify=True, search_preset=None,
            search_configs=None, n_jobs=-1, progress=True):
    """Run every section of the seed's lab; write figures, the best model and summary.json.

    Inputs:
    - out_dir: folder for the PNGs, ``best_model.npz`` and ``summary.json``,
      written there together when the lab is done (:func:`cattern.atomic.run_folder`)
    - seed: seeds the two single runs and the search
    - data_dir, validation_size, verify: where the data comes from and how it
      is split (see :func:`cattern.data.splits.load_raw`)
    - search_preset / search_configs: the search (default :func:`default_search_preset`)
    - n_jobs: search workers (-1: one per core)

    Returns the summary dict (also written to ``out_dir/summary.json``).
    """
    with run_folder(out_dir, OUTPUTS, record="summary.json") as folder:
        summary = _run_lab(folder, seed, data_dir, validation_size, verify, search_preset, search_configs,
                           n_jobs, progress)
    _section(f"Done in {summary['seconds']:.0f} s; wrote {Path(out_dir) / 'summary.json'}")
    return summary


def _run_lab(out, seed, data_dir, validation_size, verify, search_preset, search_configs, n_jobs, progress):
    start = time.perf_counter()
    figs = {}

    def save(name, fig):
        figures.save_figure(fig, out / name)
        figs[name.removesuffix(".png")] = name

    _section("Toy model: forward pass, loss, gradients (cells 3-6)")
    net, X, y = toy_problem()
    scores_diff = check_toy_scores(net, X)
    say("scores difference", f"{scores_diff:.3e}", f"< {SEED['scores_difference']:g}")
    loss, loss_diff = check_toy_loss(net, X, y)
    say("loss (reg=0.1)", f"{loss:.11f}", f"{SEED['loss']}")
    say("loss difference", f"{loss_diff:.3e}", f"< {SEED['loss_difference']:g}")
    grad_errors = gradient_check_table(net, X, y)
    for name, err in grad_errors.items():
        say(f"{name} max relative error", f"{err:e}", f"< {SEED['gradient_error']:g}")

    _section("Toy training (cell 7)")
    toy_loss = train_toy(net, X, y)
    say("final training loss", f"{toy_loss:.6f}", f"< {SEED['toy_final_loss']} (0.0171)")

    _section("MNIST (cells 8-9)")
    split = load_split(data_dir, pixel_scale=1.0, validation_size=validation_size, verify=verify,
                       verbose=progress)
    test_set = split.test
    shapes = {"X_train": split.X_train.shape, "y_train": split.y_train.shape, "X_val": split.X_val.shape,
              "y_val": split.y_val.shape, "X_test": test_set.shape, "y_test": (test_set.shape[0],)}
    for key, shape in shapes.items():
        say(f"{key} shape", str(shape), SEED_SHAPES[key])
    save("mnist_digits.png", figures.digits_figure(split.raw.X_train[:36], "The first 36 training digits"))

    cfg_fixed, net_fixed, stats, val_fixed = _seed_run(
        "Training with a fixed learning rate (cell 10)", "seed-fixed-lr", seed, split, progress,
        seed_loss="~0.4", seed_val=SEED["fixed_lr_val"])
    cfg_decay, net_decay, stats_decay, val_decay = _seed_run(
        "Larger starting rate with decay (cell 11)", "seed-lr-decay", seed, split, progress,
        seed_loss="~0.2", seed_val=SEED["lr_decay_val"])

    _section("Loss and accuracy curves; first-layer weights (cells 12-13)")
    save("loss_accuracy_curves.png", figures.curves_figure([stats, stats_decay]))
    save("first_layer_weights.png", figures.weights_figure(
        net_decay.params["W1"], "First-layer weights of the LR-decay net"))
    print("  drew loss_accuracy_curves.png and first_layer_weights.png")

    _section("Hyperparameter search on the validation set (cell 15)")
    from cattern.tuning import format_table

    preset = None if search_configs is not None else (search_preset or default_search_preset())
    outcome = search(split, preset=preset, configs=search_configs, seed=seed, n_jobs=n_jobs,
                     progress=progress)
    if outcome.best_model is None:
        raise RuntimeError("every configuration of the search diverged; try smaller learning rates")
    print(format_table(outcome.results, limit=10))
    for warning in outcome.edge_warnings:
        print(f"  note: {warning}")
    best_cfg = outcome.best_experiment_config()
    best_val = accuracy(outcome.best_model, split.X_val, split.y_val)
    say("best validation accuracy", f"{best_val:.4f}", f"> {SEED['search_val']} (0.9696)")
    say("best hyperparameters", ", ".join(f"{k}={v}" for k, v in outcome.best_options.items()))
    save("best_net_weights.png", figures.weights_figure(
        outcome.best_model.params["W1"], "First-layer weights of the best net"))
    save_model(out / "best_model.npz", outcome.best_model, preprocessing=split.preprocessing,
               config=best_cfg)

    _section("Test set: once, on the net chosen by validation (cell 17)")
    test_acc = test_set.accuracy(outcome.best_model)
    say("test accuracy", f"{test_acc:.4f}", f"> {SEED['test']} (0.9656)")

    seconds = time.perf_counter() - start
    summary = {
        "val_accuracy": best_val,
        "test_accuracy": test_acc,
        "best_hyperparameters": outcome.best_options,
        "seconds": round(seconds, 2),
        "test_set_uses": test_set.uses,
        "seed": seed,
        "config": {
            "fixed_lr_run": cfg_fixed.to_dict(),
            "lr_decay_run": cfg_decay.to_dict(),
            "search_preset": preset,
            "search_size": len(outcome.results),
            "best_model": best_cfg.to_dict(),
            "data": {"source": split.raw.source, "validation_size": len(split.y_val),
                     "fingerprint": split.fingerprint},
        },
        "targets_met": {
            "val_accuracy > 0.974": best_val > SEED["search_val"],
            "test_accuracy > 0.963": test_acc > SEED["test"],
        },
        "toy": {
            "scores_difference": scores_diff, "loss": loss, "loss_difference": loss_diff,
            "gradient_relative_errors": grad_errors, "final_training_loss": toy_loss,
        },
        "runs": {
            "fixed_lr": {"val_accuracy": val_fixed, "final_loss": stats["loss_history"][-1]},
            "lr_decay": {"val_accuracy": val_decay, "final_loss": stats_decay["loss_history"][-1]},
        },
        "search_results": [{k: row[k] for k in ("config", "val_acc", "train_acc", "seconds", "status")}
                           for row in outcome.results],
        "figures": figs,
        "model": "best_model.npz",
    }
    write_json(out / "summary.json", summary)
    return summary
