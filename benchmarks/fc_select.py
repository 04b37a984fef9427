"""One selection run of a fully-connected net on MNIST, judged on the VALIDATION set only.

    python benchmarks/fc_select.py --name h1024-shift --hidden 1024 --epochs 30 --shift 2 ...

Trains on the 55,000 training images, measures the 5,000 validation images
after every epoch, and appends one line to benchmarks/results/fc_runs.jsonl:
the options, the best validation accuracy and its epoch, the seconds spent
training, the machine's load average (the 2 cores are shared, so seconds
depend on it), and the validation history. The test images are dropped as
soon as they are loaded: nothing here can select on them.
"""
import argparse
import json
import os
import time

import numpy as np

from cattern.augment import Augmenter
from cattern.models import FullyConnectedNet
from cattern.trainer import Callback, TrainConfig, Trainer
from cattern.data.splits import load_split

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


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--hidden", type=int, nargs="*", default=[1024])
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--input-dropout", type=float, default=0.0)
    p.add_argument("--norm", default=None, choices=[None, "batchnorm", "layernorm"])
    p.add_argument("--max-norm", type=float, default=None)
    p.add_argument("--rule", default="sgd_nesterov")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--schedule", default="cosine")
    p.add_argument("--decay", type=float, default=0.95)
    p.add_argument("--min-lr", type=float, default=0.0)
    p.add_argument("--warmup", type=float, default=0.0)
    p.add_argument("--epochs", type=float, default=10)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--reg", type=float, default=0.0)
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--shift", type=int, default=0)
    p.add_argument("--rotate", type=float, default=0.0)
    p.add_argument("--scale", type=float, default=0.0)
    p.add_argument("--elastic-alpha", type=float, default=0.0)
    p.add_argument("--elastic-sigma", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patience", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=None)
    args = p.parse_args()

    split = load_split(MNIST_DIR, pixel_scale=1.0, verbose=False)  # selection never uses split.test
    X_train, y_train, X_val, y_val = split.X_train, split.y_train, split.X_val, split.y_val
    mean = split.preprocessing.mean_image

    augment = None
    if args.shift or args.rotate or args.scale or args.elastic_alpha:
        augment = Augmenter(max_shift=args.shift, max_rotation=args.rotate, max_scale=args.scale,
                            elastic_alpha=args.elastic_alpha, elastic_sigma=args.elastic_sigma, offset=mean)
    net = FullyConnectedNet(784, args.hidden, 10, dropout=args.dropout, input_dropout=args.input_dropout,
                            normalization=args.norm, max_norm=args.max_norm, seed=args.seed)
    iters = int(round(args.epochs * np.ceil(len(X_train) / args.batch)))
    cfg = TrainConfig(num_iters=iters, batch_size=args.batch, learning_rate=args.lr,
                      learning_rate_decay=args.decay, update_rule=args.rule, momentum=args.momentum,
                      reg=args.reg, seed=args.seed, lr_schedule=args.schedule, warmup_epochs=args.warmup,
                      min_learning_rate=args.min_lr, weight_decay=args.wd, patience=args.patience,
                      restore_best=True, augment=augment, catch_interrupt=True)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    trainer = Trainer(net, cfg, callbacks=[EpochLog(args.time_limit)])
    history = trainer.fit(X_train, y_train, X_val, y_val)
    seconds = time.perf_counter() - start
    row = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "name": args.name, "options": vars(args),
        "best_val_acc": trainer.best_val_acc, "best_epoch": trainer.best_epoch,
        "epochs_run": len(history["val_acc_history"]), "seconds": round(seconds, 1),
        "loadavg_start_end": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "interrupted": history.get("interrupted", False),
        "val_acc_history": history["val_acc_history"],
    }
    print(f"{args.name}: best val {trainer.best_val_acc:.4f} at epoch {trainer.best_epoch}, {seconds:.0f} s")
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    with open(LOG, "a") as f:  # one line per run, appended whole
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
