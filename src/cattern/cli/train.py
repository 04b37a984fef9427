"""``cattern train``: one training run; saves the model, its curves and summary.json."""
import argparse
import time
from pathlib import Path

from cattern.atomic import write_json
from cattern.experiment import add_config_arguments, config_from_args
from cattern.lab import TestSet, load_splits, prepare, train_run
from cattern.model_io import save_model
from cattern.presets import PRESETS, get_preset
from cattern.viz import figures


def add_parser(subparsers):
    """Register ``train`` and its options (one per ExperimentConfig field); return the subparser."""
    parser = subparsers.add_parser(
        "train",
        help="train one net; save model.npz, curves.png and summary.json",
        description="Train one net on MNIST's 55000 training images, measuring validation accuracy "
                    "each epoch. Writes DIR/model.npz (the net, its config, the mean image and the "
                    "history), DIR/curves.png and DIR/summary.json. The test set is not touched, "
                    "unless the config says --final-test true (the presets two-layer-best and "
                    "fc-best do): then it is used once, after training, on the final model. "
                    "Otherwise evaluate the model you choose with `cattern evaluate DIR/model.npz`.",
    )
    parser.add_argument("--preset", default="default", metavar="NAME",
                        help=f"start from a named config, one of {', '.join(sorted(PRESETS))}; "
                             "the options below override it (default: default)")
    parser.add_argument("--out", default="runs/train", metavar="DIR",
                        help="folder for model.npz, curves.png and summary.json (default: runs/train)")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="folder holding the MNIST .gz files (default: mnist_data, then the cache)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)  # tests: arrays from an .npz
    add_config_arguments(parser)
    return parser


def run(args):
    """Train as the options say; returns the exit status."""
    start = time.perf_counter()
    cfg = config_from_args(args, get_preset(args.preset))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = prepare(*load_splits(args.data_dir, args.data, verbose=not args.no_progress))
    test_set = TestSet(data.pop("X_test"), data.pop("y_test"), mean_image=data["mean_image"])
    train_start = time.perf_counter()
    model, history, val_acc = train_run(cfg, data, desc="train", progress=not args.no_progress)
    train_seconds = time.perf_counter() - train_start
    # Once, after training and selection (early stopping, best epoch) are over.
    test_acc = test_set.accuracy(model) if cfg.final_test else None
    save_model(out / "model.npz", model, mean_image=data["mean_image"], config=cfg, history=history)
    figures.save_figure(figures.curves_figure([history]), out / "curves.png")
    summary = {
        "val_accuracy": val_acc,
        # Without final_test the test set is kept for the model finally chosen: `cattern evaluate` uses it.
        "test_accuracy": test_acc,
        "best_hyperparameters": cfg.to_dict(),
        "seconds": round(time.perf_counter() - start, 2),
        "train_seconds": round(train_seconds, 2),
        "interrupted": bool(history.get("interrupted", False)),
        "test_set_uses": test_set.uses,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "preset": args.preset,
        "final_loss": history["loss_history"][-1],
        "model": "model.npz",
        "figures": {"curves": "curves.png"},
    }
    write_json(out / "summary.json", summary)
    if test_acc is not None:
        print(f"test accuracy {test_acc:.4f} (the test set's one use)")
    print(f"validation accuracy {val_acc:.4f}; wrote {out / 'model.npz'}, {out / 'curves.png'}, "
          f"{out / 'summary.json'}")
    return 0
