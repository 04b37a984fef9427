"""``cattern doctor RUN_DIR_OR_MODEL``: diagnose a saved run from its history."""
import json
from pathlib import Path

from cattern.diagnosis import diagnose, format_findings, signals_of
from cattern.experiment import ExperimentConfig
from cattern.model_io import load_model


def add_parser(subparsers):
    """Register ``doctor`` and its options; return the subparser."""
    parser = subparsers.add_parser(
        "doctor",
        help="diagnose a saved run: plateau, divergence, dead units, overfitting, ...",
        description="Read a run's training history and say, in a few sentences, what went wrong and "
                    "what to try: the loss stuck at ln C, divergence, update-to-weight ratios, dead "
                    "ReLUs, predictions on one class, overfitting, underfitting, oscillation, vanishing "
                    "gradients. RUN_DIR_OR_MODEL is a model file (.npz, from cattern train, tune or lab), "
                    "a run folder holding model.npz, best_model.npz or summary.json, or a summary.json. "
                    "Model files saved before the doctor recorded its signals are judged on their loss "
                    "and accuracy curves alone. Exit status: 0 healthy, 1 findings, 2 bad input.",
    )
    parser.add_argument("path", metavar="RUN_DIR_OR_MODEL",
                        help="a model file, a summary.json, or a folder holding one of them")
    parser.add_argument("--brief", action="store_true", help="leave out each finding's threshold and source")
    return parser


def read_run(path):
    """(signals, config) of a saved run: a model file, a summary.json, or a folder holding one.

    Raises ValueError (or :class:`~cattern.model_io.ModelFileError`) naming what is missing.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no run folder or model file at {path}; give a folder written by cattern train, "
                         "tune or lab, or its model file")
    if path.is_dir():
        for name in ("model.npz", "best_model.npz", "summary.json"):
            if (path / name).is_file():
                return read_run(path / name)
        raise ValueError(f"{path} holds no model.npz, best_model.npz or summary.json; give a run folder "
                         "written by cattern train, tune or lab, or a model file")
    if path.suffix == ".json":
        try:
            summary = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON ({err})") from None
        if not isinstance(summary, dict) or not summary.get("signals"):
            raise ValueError(f"{path} holds no 'signals' (written before the doctor, or not a "
                             "summary.json); point at the run's model.npz instead")
        config = summary.get("config")
        return summary["signals"], ExperimentConfig.from_dict(config) if isinstance(config, dict) else None
    saved = load_model(path)
    return signals_of(saved.history, saved.num_classes), saved.config


def run(args):
    """Print the diagnosis; returns 0 (no findings) or 1 (findings)."""
    signals, config = read_run(args.path)
    try:
        findings = diagnose(signals, config)
    except (KeyError, TypeError, IndexError) as err:
        raise ValueError(f"the signals in {args.path} are incomplete or damaged ({type(err).__name__}: {err}); "
                         "point at the run's model.npz, or train it again") from None
    print(format_findings(findings, details=not args.brief))
    return 1 if findings else 0
