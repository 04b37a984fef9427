"""``cattern tune``: a hyperparameter search from the command line.

Every ExperimentConfig field is an option taking one or more values; a grid
search tries every combination, in the order given. ``--preset NAME`` starts
from a named search (``seed-72``: the seed's 72-config grid) and the options
given replace the preset's values. ``--random N`` draws N configs instead,
log-uniformly from ``LOW..HIGH`` ranges::

    cattern tune --preset seed-72 --n-jobs 2 --out runs/seed72
    cattern tune --preset seed-72 --halving --out runs/seed72-halving
    cattern tune --random 20 --learning-rate 1e-4..1e-2 --hidden-size 50..500 --dtype float32

The results go to ``OUT/results.jsonl`` (one row per finished run, so an
interrupted search resumes where it stopped), ``OUT/results.csv`` (the sorted
table) and ``OUT/best_model.npz``; the best rows are printed.
"""
import argparse
import dataclasses
import os
import sys
import typing

import numpy as np

from cattern.experiment import DTYPES, MODEL_KINDS, ExperimentConfig, option_type
from cattern.tuning import SEARCH_PRESETS, format_table, grid, preset_configs, random_configs, run_search

RANGE = ".."

# The search seed is --seed; a config's own seed is derived from it.
_FIELDS = [f for f in dataclasses.fields(ExperimentConfig) if f.name != "seed"]
_CHOICES = {"model": sorted(MODEL_KINDS), "dtype": list(DTYPES)}


def add_parser(subparsers):
    """Register ``tune`` and its options; return the subparser."""
    parser = subparsers.add_parser(
        "tune", help="search hyperparameters on the validation set",
        description="Train many configs (in parallel, resumable) and rank them by validation accuracy. "
                    "Each training option takes one or more values; a grid search tries every combination.",
    )
    search = parser.add_argument_group("the search")
    search.add_argument("--preset", choices=sorted(SEARCH_PRESETS),
                        help="start from a named search; options given replace its values")
    search.add_argument("--random", type=int, default=None, metavar="N",
                        help=f"draw N random configs; an option value LOW{RANGE}HIGH is drawn log-uniformly")
    search.add_argument("--halving", action="store_true",
                        help="successive halving: short runs for all, full runs for the best")
    search.add_argument("--eta", type=int, default=3, help="halving keeps the best 1/eta per rung (default: 3)")
    search.add_argument("--min-iters", type=int, default=200, metavar="N",
                        help="halving's shortest run, in iterations (default: 200)")
    search.add_argument("--seed", type=int, default=0, help="the search seed (default: 0)")
    search.add_argument("--out", default="runs/tune", metavar="DIR",
                        help="results directory; rerunning with the same DIR resumes (default: runs/tune)")
    search.add_argument("--top", type=int, default=20, metavar="N", help="rows of the table to print (default: 20)")
    search.add_argument("--no-progress", action="store_true", help="no progress bar")

    workers = parser.add_argument_group("where the runs train")
    workers.add_argument("--n-jobs", type=int, default=-1, metavar="N",
                         help="worker processes (default: -1, cores // blas-threads)")
    workers.add_argument("--blas-threads", type=int, default=1, metavar="N",
                         help="BLAS threads per run; the numbers depend on it, not on --n-jobs (default: 1)")
    workers.add_argument("--backend", choices=["loky", "dask"], default="loky",
                         help="loky: processes on this machine; dask: a Dask cluster (default: loky)")
    workers.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler, e.g. tcp://10.0.0.5:8786")

    data = parser.add_argument_group("data")
    data.add_argument("--data-dir", default="mnist_data", metavar="DIR",
                      help="MNIST's four .gz files; missing ones come from the cache (default: mnist_data)")
    data.add_argument("--validation-size", type=int, default=5000, metavar="N",
                      help="the first N training images validate (default: 5000)")
    data.add_argument("--no-verify", action="store_true",
                      help="skip the SHA-256 check (for other data sets in MNIST's format)")

    hints = typing.get_type_hints(ExperimentConfig)
    options = parser.add_argument_group("training options (one or more values each)")
    for f in _FIELDS:
        options.add_argument(
            "--" + f.name.replace("_", "-"), dest=f.name, nargs="+", default=None,
            metavar=f.name.upper(),
            help=f"{f.metadata.get('help', '')} (default: {getattr(ExperimentConfig, f.name)!r}; "
                 f"type {hints[f.name].__name__})",
        )
    return parser


def parse_value(name, text):
    """One option value: a number or name of the field's type, or a LOW..HIGH range tuple."""
    if RANGE in text:
        low, _, high = text.partition(RANGE)
        return (parse_value(name, low), parse_value(name, high))
    kind = typing.get_type_hints(ExperimentConfig)[name]
    convert = option_type(kind)  # the same conversion as `cattern train`: "false" is False
    try:
        value = convert(text)
    except (ValueError, argparse.ArgumentTypeError):
        expected = "true or false" if kind is bool else f"{convert.__name__} values"
        raise ValueError(f"--{name.replace('_', '-')} takes {expected}; got {text!r}") from None
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ValueError(f"--{name.replace('_', '-')} must be one of {_CHOICES[name]}; got {text!r}")
    return value


def build_configs(args):
    """The configs the options describe: a grid (over a preset, if given) or random draws."""
    given = {f.name: [parse_value(f.name, v) for v in getattr(args, f.name)]
             for f in _FIELDS if getattr(args, f.name) is not None}
    ranges = [name for name, values in given.items() if any(isinstance(v, tuple) for v in values)]
    if args.random is not None:
        if args.preset:
            raise ValueError("--random draws its own configs; drop --preset, or drop --random to use the preset")
        for name in ranges:
            if len(given[name]) > 1:
                raise ValueError(f"--{name.replace('_', '-')} takes one LOW{RANGE}HIGH range or a list of values")
        space = {name: values[0] if name in ranges or len(values) == 1 else values
                 for name, values in given.items()}
        return random_configs(space, args.random, seed=args.seed)
    if ranges:
        raise ValueError(f"LOW{RANGE}HIGH ranges ({', '.join(ranges)}) need --random N; "
                         "a grid takes lists of values")
    base = preset_configs(args.preset) if args.preset else [{}]
    configs = [{**config, **override} for config in base for override in grid(**given)]
    # An override can make preset configs alike: train each once, first place kept.
    unique = {tuple(sorted(c.items())): c for c in reversed(configs)}
    return list(reversed(unique.values()))


def load_data(args):
    """MNIST as rows of float32 with the training mean image subtracted, and that mean.

    Returns (X_train, y_train, X_val, y_val, mean_image): X (N, 784), mean (784,).
    The test set is read by the loader but never used here.
    """
    from mnist_data.load_mnist import read_data_sets

    X_train, y_train, X_val, y_val, _, _ = read_data_sets(
        args.data_dir, validation_size=args.validation_size, verbose=False, verify=not args.no_verify)
    X_train = X_train.reshape(len(X_train), -1)   # (N, 28, 28, 1) -> (N, 784)
    X_val = X_val.reshape(len(X_val), -1)
    mean_image = X_train.mean(axis=0, dtype=np.float64).astype(np.float32)   # (784,)
    return X_train - mean_image, y_train, X_val - mean_image, y_val, mean_image


def run(args):
    """Run the search; print the ranked table, the best config and any edge warnings."""
    from cattern.model_io import save_model

    configs = build_configs(args)
    X_train, y_train, X_val, y_val, mean_image = load_data(args)
    os.makedirs(args.out, exist_ok=True)
    results_path = os.path.join(args.out, "results.jsonl")
    print(f"searching {len(configs)} configs{' with successive halving' if args.halving else ''}; "
          f"results in {results_path}", file=sys.stderr)
    outcome = run_search(
        configs, X_train, y_train, X_val, y_val, seed=args.seed, n_jobs=args.n_jobs,
        backend=args.backend, scheduler=args.scheduler, results_path=results_path,
        halving=args.halving, eta=args.eta, min_iters=args.min_iters, blas_threads=args.blas_threads,
        progress=not args.no_progress,
    )
    print(format_table(outcome.results, limit=args.top))
    print(f"table: {os.path.splitext(results_path)[0] + '.csv'}")
    if outcome.best_config is None:
        print("every run diverged: try smaller learning rates", file=sys.stderr)
        return 1
    best = ExperimentConfig.from_dict({**outcome.best_config, "seed": outcome.best_row["train_seed"]})
    model_path = os.path.join(args.out, "best_model.npz")
    save_model(model_path, outcome.best_model, mean_image=mean_image, config=best)
    print(f"best: val_acc {outcome.best_row['val_acc']:.4f} with {outcome.best_config}")
    print(f"best model: {model_path}")
    for warning in outcome.edge_warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
