"""``cattern train``: one training run; saves the model, its curves and summary.json."""
import time

from cattern.atomic import check_out_folder, run_folder, write_json
from cattern.callbacks import ProgressBar
from cattern.cli.options import add_config_options, add_data_options, config_from_args, load_raw_from_args
from cattern.data.splits import prepare
from cattern.diagnosis import TrainingDoctor, diagnose, format_findings
from cattern.environment import describe as describe_environment
from cattern.experiment import net_histories, train_model, trained_config
from cattern.model_io import save_model
from cattern.presets import PRESETS, get_preset
from cattern.viz import figures

# What a train run leaves in --out; the evaluation files of an earlier model
# there are removed, since they would describe another net.
OUTPUTS = ("model.npz", "curves.png", "summary.json", "evaluation.json", "confusion_matrix.png",
           "misclassified.png")


def add_parser(subparsers):
    """Register ``train`` and its options (one per ExperimentConfig field); return the subparser."""
    parser = subparsers.add_parser(
        "train",
        help="train one net; save model.npz, curves.png and summary.json",
        description="Train one net on MNIST's training images, measuring validation accuracy "
                    "each epoch. Writes DIR/model.npz (the net, its config, its preprocessing and the "
                    "history), DIR/curves.png and DIR/summary.json, all at once when training ends. "
                    "The test set is not touched, unless the config says --final-test true (the "
                    f"presets {', '.join(name for name, cfg in PRESETS.items() if cfg.final_test)} do): "
                    "then it is used once, after training, on the final model. Otherwise evaluate the "
                    "model you choose with `cattern evaluate DIR/model.npz`. With --train-on-validation "
                    "true the validation images are trained on too, and no validation accuracy is "
                    "measured.",
    )
    parser.add_argument("--preset", default="default", metavar="NAME",
                        help=f"start from a named config, one of {', '.join(sorted(PRESETS))}; "
                             "the options below override it (default: default)")
    parser.add_argument("--out", default="runs/train", metavar="DIR",
                        help="folder for model.npz, curves.png and summary.json (default: runs/train)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_data_options(parser)
    add_config_options(parser)
    return parser


def run(args):
    """Train as the options say and print the doctor's diagnosis; returns the exit status."""
    start = time.perf_counter()
    cfg = config_from_args(args, get_preset(args.preset))  # every option checked before any work
    check_out_folder(args.out)
    split = prepare(load_raw_from_args(args, verbose=not args.no_progress), cfg.pixel_scale, cfg.deskew,
                    cfg.train_on_validation)
    train_start = time.perf_counter()

    def callbacks(k):
        """Net k's callbacks: its own doctor (a doctor records one run), and a progress bar."""
        desc = "train" if cfg.ensemble == 1 else f"train net {k + 1}/{cfg.ensemble}"
        return [TrainingDoctor(split.X_train, split.y_train)] + ([] if args.no_progress else [ProgressBar(desc=desc)])

    model, history = train_model(cfg, split.X_train, split.y_train, split.X_val, split.y_val,
                                 callbacks=callbacks, mean_image=split.preprocessing.mean_image)
    train_seconds = time.perf_counter() - train_start
    cfg = trained_config(cfg, model)  # an interrupted ensemble holds fewer nets than asked for
    histories = net_histories(history)
    if cfg.ensemble == 1:
        signals, final_loss = history["doctor"], history["loss_history"][-1]
    else:  # an ensemble: each net's signals and final loss
        signals = {"members": [h["doctor"] for h in histories]}
        final_loss = [h["loss_history"][-1] for h in histories]
    findings = diagnose(signals, cfg)
    # None when the net trained on the validation images: an accuracy on them would measure nothing.
    val_acc = None if split.X_val is None else float((model.predict(split.X_val) == split.y_val).mean())
    # Once, after training and selection (early stopping, best epoch) are over.
    test_acc = split.test.accuracy(model) if cfg.final_test else None
    summary = {
        "val_accuracy": val_acc,
        # Without final_test the test set is kept for the model finally chosen: `cattern evaluate` uses it.
        "test_accuracy": test_acc,
        "best_hyperparameters": cfg.to_dict(),
        "seconds": round(time.perf_counter() - start, 2),
        "train_seconds": round(train_seconds, 2),
        "interrupted": bool(history.get("interrupted", False)),
        "test_set_uses": split.test.uses,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "preset": args.preset,
        "data": {"source": split.raw.source, "validation_size": len(split.raw.y_val),
                 "train_size": len(split.y_train), "fingerprint": split.fingerprint},
        "final_loss": final_loss,
        # The last digits of a run depend on the BLAS kernels and threads (cattern.environment).
        "environment": describe_environment(),
        "findings": [finding.to_dict() for finding in findings],
        "signals": signals,
        "model": "model.npz",
        "figures": {"curves": "curves.png"},
    }
    with run_folder(args.out, OUTPUTS, record="summary.json") as folder:
        save_model(folder / "model.npz", model, preprocessing=split.preprocessing, config=cfg,
                   history=history)
        labels = None if cfg.ensemble == 1 else [(f"net {k + 1} loss", f"net {k + 1} train", f"net {k + 1} val")
                                                 for k in range(cfg.ensemble)]
        figures.save_figure(figures.curves_figure(histories, labels), folder / "curves.png")
        write_json(folder / "summary.json", summary)
    print(format_findings(findings))
    if test_acc is not None:
        print(f"test accuracy {test_acc:.4f} (the test set's one use)")
    out = args.out.rstrip("/")
    measured = ("no validation accuracy (the net trained on those images)" if val_acc is None
                else f"validation accuracy {val_acc:.4f}")
    print(f"{measured}; wrote {out}/model.npz, {out}/curves.png, {out}/summary.json")
    return 0
