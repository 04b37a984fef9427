"""``cattern train``: one training run; saves the model, its curves and summary.json."""
import argparse
import time
from pathlib import Path

from cattern.atomic import write_json
from cattern.experiment import add_config_arguments, config_from_args
from cattern.lab import load_splits, prepare, train_run
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
                    "history), DIR/curves.png and DIR/summary.json. The test set is not touched: "
                    "evaluate the model you choose with `cattern evaluate DIR/model.npz`.",
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
    model, history, val_acc = train_run(cfg, data, desc="train", progress=not args.no_progress)
    save_model(out / "model.npz", model, mean_image=data["mean_image"], config=cfg, history=history)
    figures.save_figure(figures.curves_figure([history]), out / "curves.png")
    summary = {
        "val_accuracy": val_acc,
        # The test set is kept for the model finally chosen: `cattern evaluate` uses it.
        "test_accuracy": None,
        "best_hyperparameters": cfg.to_dict(),
        "seconds": round(time.perf_counter() - start, 2),
        "test_set_uses": 0,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "preset": args.preset,
        "final_loss": history["loss_history"][-1],
        "model": "model.npz",
        "figures": {"curves": "curves.png"},
    }
    write_json(out / "summary.json", summary)
    print(f"validation accuracy {val_acc:.4f}; wrote {out / 'model.npz'}, {out / 'curves.png'}, "
          f"{out / 'summary.json'}")
    return 0
