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
the validation history. The test images are dropped as soon as they are
loaded: nothing here can select on them.

An ensemble (``--ensemble K``) trains its K nets one after another, as
``cattern train`` does, and its line holds the ensemble's validation accuracy
(the mean of the nets' log-probabilities, :class:`cattern.models.Ensemble`'s
rule; the mean of their probabilities beside it, for comparison), the sum of
the nets' seconds, and each net's own line under ``nets``. With
``--nets-dir DIR`` (default runs/select/nets) each net's validation
log-probabilities and its line are kept in DIR, named by a hash of its
config (with the net itself, DIR/HASH.npz, to study on validation), and a
net already there is not trained again: net 0 of an ensemble
is the single run of the same config and seed (see
``ExperimentConfig.member_configs``), so an ensemble costs only its new nets.
"""
import argparse
import hashlib
import json
import math
import os
import time

import numpy as np

from cattern.cli.options import add_config_options, config_from_args
from cattern.data.splits import load_split
from cattern.environment import describe as describe_environment
from cattern.experiment import build_trainer
from cattern.model_io import save_model
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


class EpochPredictions(Callback):
    """Keep the validation images' predicted labels after every epoch, (epochs, N_val) int8, so
    that a choice of epoch can be judged on one half of the validation set and checked on the
    other (``benchmarks/restore_best_halves.py``). Predicting in test mode draws no random
    numbers, so the run is the run without it."""

    def __init__(self, X_val):
        self.X_val = X_val
        self.predictions = []

    def on_epoch_end(self, trainer, epoch):
        self.predictions.append(trainer.model.predict(self.X_val).astype(np.int8))


def log_softmax(scores):
    """Row-wise log-softmax of (N, C) scores, in float64."""
    scores = scores.astype(np.float64)
    scores -= scores.max(axis=1, keepdims=True)
    return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))


# Fields added after nets were first kept, with their "off" values: left out of a
# net's name while off, so the nets kept before they existed keep their names.
LATER_FIELDS = {"deskew": False, "train_on_validation": False, "augment_scale_each_axis": False,
                "augment_thickness": 0.0, "ema_decay": 0.0,
                "clean_epochs": 0.0}


def net_key(cfg):
    """A name for one net's config: 16 hex digits of a hash of its fields (those of
    :data:`LATER_FIELDS` left out while off)."""
    fields = {k: v for k, v in cfg.to_dict().items() if not (k in LATER_FIELDS and v == LATER_FIELDS[k])}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def train_net(cfg, split, time_limit, nets_dir, epoch_predictions=False):
    """Train one net (or read it back from ``nets_dir``); return (validation log-probabilities
    (N_val, C) of its best epoch, its record: best accuracy and epoch, seconds, load, history).
    With ``epoch_predictions`` the kept net's folder also gets HASH.epochs.npy: the validation
    predictions after every epoch (:class:`EpochPredictions`)."""
    path = os.path.join(nets_dir, net_key(cfg))
    # A kept net is reused, unless the epochs' predictions are asked for and it has none.
    if os.path.exists(path + ".json") and (not epoch_predictions or os.path.exists(path + ".epochs.npy")):
        with open(path + ".json") as f:
            return np.load(path + ".npy"), {**json.load(f), "reused": True}
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    predictions = EpochPredictions(split.X_val) if epoch_predictions else None
    callbacks = [EpochLog(time_limit)] + ([predictions] if predictions else [])
    trainer = build_trainer(cfg, split.X_train, split.y_train, split.y_val, callbacks=callbacks,
                            mean_image=split.preprocessing.mean_image)
    history = trainer.fit(split.X_train, split.y_train, split.X_val, split.y_val)
    record = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "seed": cfg.seed,
        "best_val_acc": trainer.best_val_acc, "best_epoch": trainer.best_epoch,
        "epochs_run": len(history["val_acc_history"]), "seconds": round(time.perf_counter() - start, 1),
        "loadavg_start_end": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "interrupted": history.get("interrupted", False),
        "val_acc_history": history["val_acc_history"],
    }
    # With restore_best the model now holds the best epoch's weights.
    log_probs = log_softmax(trainer.model.scores(split.X_val)).astype(np.float32)
    if not record["interrupted"] and not time_limit:  # only whole runs are kept for reuse
        os.makedirs(nets_dir, exist_ok=True)
        np.save(path + ".npy", log_probs)
        if predictions:
            np.save(path + ".epochs.npy", np.stack(predictions.predictions))
        save_model(path + ".npz", trainer.model, preprocessing=split.preprocessing, config=cfg, history=history)
        with open(path + ".json", "w") as f:
            json.dump({**record, "config": cfg.to_dict()}, f)
    print(f"net seed {cfg.seed}: best val {trainer.best_val_acc:.4f} at epoch {trainer.best_epoch}, "
          f"{record['seconds']:.0f} s", flush=True)
    return log_probs, {**record, "reused": False}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--preset", default="fc-best", help="the config to start from (default: fc-best)")
    p.add_argument("--epochs", type=float, default=None,
                   help="training length in epochs (sets --num-iters; default: the preset's)")
    p.add_argument("--time-limit", type=float, default=None, help="stop after the epoch that passes this many s")
    p.add_argument("--nets-dir", default=os.path.join("runs", "select", "nets"),
                   help="where each net's validation log-probabilities are kept, and reused from")
    p.add_argument("--epoch-predictions", action="store_true",
                   help="also keep each net's validation predictions after every epoch, as "
                        "NETS_DIR/HASH.epochs.npy (for benchmarks/restore_best_halves.py)")
    p.add_argument("--log", default=LOG, help="the file each run appends its line to (default: %(default)s)")
    add_config_options(p, base=get_preset("fc-best"))
    args = p.parse_args()

    cfg = config_from_args(args, get_preset(args.preset))  # checked before the data is read
    if cfg.train_on_validation:
        p.error("--train-on-validation true: a selection run is judged on the validation images, so it "
                "cannot train on them; select without it, then train with cattern train")
    split = load_split(MNIST_DIR, pixel_scale=cfg.pixel_scale, deskew=cfg.deskew, verbose=False)
    split.test = None  # selection never sees the test images
    if args.epochs is not None:
        cfg = config_from_args(argparse.Namespace(num_iters=int(round(
            args.epochs * math.ceil(len(split.X_train) / cfg.batch_size)))), cfg)

    results = [train_net(net, split, args.time_limit, args.nets_dir, args.epoch_predictions)
               for net in cfg.member_configs()]
    log_probs = np.stack([lp for lp, _ in results])                       # (K, N_val, C)
    records = [record for _, record in results]
    row = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "name": args.name, "preset": args.preset,
           "config": cfg.to_dict(), "environment": describe_environment()}
    if cfg.ensemble == 1:
        row.update({k: v for k, v in records[0].items() if k not in ("when", "seed")})
    else:
        val_acc = float(np.mean(log_probs.mean(axis=0).argmax(axis=1) == split.y_val))
        mean_probs = float(np.mean(np.exp(log_probs).mean(axis=0).argmax(axis=1) == split.y_val))
        row.update({"best_val_acc": val_acc, "val_acc_probabilities_averaged": mean_probs,
                    "seconds": round(sum(r["seconds"] for r in records), 1),
                    "interrupted": any(r["interrupted"] for r in records), "nets": records})
    print(f"{args.name}: best val {row['best_val_acc']:.4f}, {row['seconds']:.0f} s")
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    with open(args.log, "a") as f:  # one line per run, appended whole
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
