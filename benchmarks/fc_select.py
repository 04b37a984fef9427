"""One selection run of a fully-connected net on MNIST, judged on the VALIDATION set only.

    python benchmarks/fc_select.py --name 2x1024-el34s6-e120 --preset fc-best --epochs 120 \\
        --elastic-alpha 34 --elastic-sigma 6

The run is an :class:`~cattern.experiment.ExperimentConfig`: a preset (``--preset``,
default ``fc-best``) with any of its fields overridden by the options of
``cattern train`` (``--hidden-dims``, ``--dropout``, ``--augment-rotation``, ...),
built and trained by :func:`cattern.experiment.build_trainer`, exactly as
``cattern train --preset`` would train it. ``--epochs E`` is a shorthand for
``--num-iters`` = E epochs of the 55,000 training images.

Trains on the 55,000 training images, measures the 5,000 validation images
after every epoch, and appends one line to benchmarks/results/fc_runs.jsonl:
the name, the whole config (``config``: the fields a preset would hold), the
best validation accuracy and its epoch, the seconds spent training, the
machine's load average (the 2 cores are shared, so seconds depend on it), and
the validation history. ``--save-scores DIR`` also writes the best epoch's
validation class probabilities to DIR/NAME.npy (5,000 x 10), from which
``benchmarks/fc_ensemble.py`` scores ensembles of runs without training again.
The test images are dropped as soon as they are loaded: nothing here can
select on them.
"""
import argparse
import json
import math
import os
import time

import numpy as np

from cattern.cli.options import add_config_options, config_from_args
from cattern.data.splits import load_split
from cattern.experiment import build_trainer
from cattern.presets import get_preset
from cattern.trainer import Callback

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist")
LOG = os.path.join(os.path.dirname(__file__), "results", "fc_runs.jsonl")


class EpochLog(Callback):
    """Print each epoch's validation accuracy; stop once ``time_limit`` seconds have passed."""

    def __init__(self, time_limit):
        self.time_limit = time_limit
        self.start = None

    def on_train_begin(self, trainer):
        self.start = time.perf_counter()

    def on_epoch_end(self, trainer, epoch):
        elapsed = time.perf_counter() - self.start
        h = trainer.history
        print(f"epoch {epoch:3d}  {elapsed:7.1f}s  lr {trainer.learning_rate:.2e}  "
              f"loss {np.mean(h['loss_history'][-trainer.iterations_per_epoch:]):.4f}  "
              f"train {h['train_acc_history'][-1]:.4f}  val {h['val_acc_history'][-1]:.4f}", flush=True)
        if self.time_limit and elapsed > self.time_limit:
            trainer.stop_training = True


def softmax(scores):
    """Row-wise softmax of (N, C) scores, in float64."""
    scores = scores.astype(np.float64)
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    return probs / probs.sum(axis=1, keepdims=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--preset", default="fc-best", help="the config to start from (default: fc-best)")
    p.add_argument("--epochs", type=float, default=None,
                   help="training length in epochs (sets --num-iters; default: the preset's)")
    p.add_argument("--time-limit", type=float, default=None, help="stop after the epoch that passes this many s")
    p.add_argument("--save-scores", default=None, metavar="DIR",
                   help="write the best epoch's validation probabilities to DIR/NAME.npy")
    add_config_options(p, base=get_preset("fc-best"))
    args = p.parse_args()

    cfg = config_from_args(args, get_preset(args.preset))  # checked before the data is read
    split = load_split(MNIST_DIR, pixel_scale=cfg.pixel_scale, verbose=False)
    split.test = None  # selection never sees the test images
    X_train, y_train, X_val, y_val = split.X_train, split.y_train, split.X_val, split.y_val
    if args.epochs is not None:
        cfg = config_from_args(argparse.Namespace(num_iters=int(round(
            args.epochs * math.ceil(len(X_train) / cfg.batch_size)))), cfg)

    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    trainer = build_trainer(cfg, X_train, y_train, y_val, callbacks=[EpochLog(args.time_limit)],
                            mean_image=split.preprocessing.mean_image)
    history = trainer.fit(X_train, y_train, X_val, y_val)
    seconds = time.perf_counter() - start
    row = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "name": args.name, "preset": args.preset,
        "config": cfg.to_dict(),
        "best_val_acc": trainer.best_val_acc, "best_epoch": trainer.best_epoch,
        "epochs_run": len(history["val_acc_history"]), "seconds": round(seconds, 1),
        "loadavg_start_end": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "interrupted": history.get("interrupted", False),
        "val_acc_history": history["val_acc_history"],
    }
    if args.save_scores:
        os.makedirs(args.save_scores, exist_ok=True)
        # With restore_best the model now holds the best epoch's weights.
        np.save(os.path.join(args.save_scores, f"{args.name}.npy"),
                softmax(trainer.model.scores(X_val)).astype(np.float32))
    print(f"{args.name}: best val {trainer.best_val_acc:.4f} at epoch {trainer.best_epoch}, {seconds:.0f} s")
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    with open(LOG, "a") as f:  # one line per run, appended whole
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
