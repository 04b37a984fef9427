"""``cattern evaluate MODEL``: test accuracy, per class and per half, with pictures of the mistakes."""
from pathlib import Path

from cattern.atomic import check_out_folder, run_folder, write_json
from cattern.cli.options import add_data_options, load_raw_from_args
from cattern.evaluation import evaluate
from cattern.model_io import load_model
from cattern.viz import figures

OUTPUTS = ("confusion_matrix.png", "misclassified.png", "evaluation.json")


def add_parser(subparsers):
    """Register ``evaluate`` and its options; return the subparser."""
    parser = subparsers.add_parser(
        "evaluate",
        help="test-set accuracy of a saved model, with a confusion matrix and its mistakes",
        description="Evaluate a model file on MNIST's 10000 test images, preprocessed as the model "
                    "records (its pixel scale and mean image): accuracy, accuracy per class and on "
                    "each half of the test set; write confusion_matrix.png, misclassified.png and "
                    "evaluation.json to DIR.",
    )
    parser.add_argument("model", metavar="MODEL", help="a model file written by cattern train, tune or lab (.npz)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder for the figures and evaluation.json (default: the model's folder)")
    add_data_options(parser, split=False)  # the test set only: no --validation-size
    return parser


def run(args):
    """Evaluate; print the table and write the files. Returns the exit status."""
    saved = load_model(args.model)  # first, so a bad file fails before any data is read
    out = Path(args.out) if args.out else Path(args.model).parent
    check_out_folder(out, "--out" if args.out else "the model's folder (the default --out)")
    raw = load_raw_from_args(args, verbose=False)
    report = evaluate(saved, raw.X_test, raw.y_test)
    print(f"test accuracy        {report['accuracy']:.4f}  ({report['num_examples']} images)")
    halves = report["half_accuracy"]
    print(f"first / second half  {halves[0]:.4f} / {halves[1]:.4f}")
    print("per class:")
    for label, acc in enumerate(report["per_class_accuracy"]):
        print(f"  {label}: {acc:.4f}" if acc is not None else f"  {label}: (no examples)")
    with run_folder(out, OUTPUTS, record="evaluation.json") as folder:
        figures.save_figure(figures.confusion_figure(report["confusion_matrix"]), folder / "confusion_matrix.png")
        figures.save_figure(figures.misclassified_figure(raw.X_test, report["predicted"], raw.y_test),
                            folder / "misclassified.png")
        write_json(folder / "evaluation.json", {k: v for k, v in report.items() if k != "predicted"}
                   | {"model": str(args.model), "test_set_uses": 1})
    print(f"wrote {out / 'confusion_matrix.png'}, {out / 'misclassified.png'}, {out / 'evaluation.json'}")
    return 0
