"""``cattern tune``: a hyperparameter search from the command line.

Every training option takes one or more values; a grid search tries every
combination, in the order given. ``--preset NAME`` starts from a named search
(``seed-72``: the seed's 72-config grid) and the options given replace the
preset's values. ``--random N`` draws N configs instead, log-uniformly from
``LOW..HIGH`` ranges::

    cattern tune --preset seed-72 --n-jobs 2 --out runs/seed72
    cattern tune --preset seed-72 --halving --out runs/seed72-halving
    cattern tune --random 20 --learning-rate 1e-4..1e-2 --hidden-size 50..500 --dtype float32

The results go to ``OUT/results.jsonl`` (one row per finished run, so an
interrupted search resumes where it stopped), ``OUT/results.csv`` (the sorted
table) and ``OUT/best_model.npz``; the best rows are printed, with the
training doctor's findings on each config and warnings about the search
itself.
"""
import os
import sys

from cattern.atomic import check_out_folder
from cattern.cli.options import (
    add_config_options,
    add_data_options,
    load_raw_from_args,
    options_named,
    search_configs,
    whole_number,
    worker_count,
)
from cattern.data.splits import prepare
from cattern.tuning import SEARCH_PRESETS, format_table, run_search
from cattern.tuning.executors import check_workers
from cattern.tuning.hygiene import diagnosis_lines, hygiene_warnings
from cattern.tuning.search import check_configs, deskew_of, pixel_scale_of


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
    search.add_argument("--random", type=whole_number(1), default=None, metavar="N",
                        help="draw N random configs; an option value LOW..HIGH is drawn log-uniformly")
    search.add_argument("--halving", action="store_true",
                        help="successive halving: short runs for all, full runs for the best")
    search.add_argument("--eta", type=whole_number(2), default=3, help="halving keeps the best 1/eta per rung (default: 3)")
    search.add_argument("--min-iters", type=whole_number(1), default=200, metavar="N",
                        help="halving's shortest run, in iterations (default: 200)")
    search.add_argument("--seed", type=whole_number(0), default=0,
                        help="the search seed; each run's seed derives from it and its config (default: 0)")
    search.add_argument("--out", default="runs/tune", metavar="DIR",
                        help="results directory; rerunning with the same DIR resumes (default: runs/tune)")
    search.add_argument("--top", type=whole_number(0), default=20, metavar="N", help="rows of the table to print (default: 20)")
    search.add_argument("--no-progress", action="store_true", help="no progress bar")

    workers = parser.add_argument_group("where the runs train")
    workers.add_argument("--n-jobs", type=worker_count, default=-1, metavar="N",
                         help="worker processes (default: -1, cores // blas-threads)")
    workers.add_argument("--blas-threads", type=whole_number(1), default=1, metavar="N",
                         help="BLAS threads per run; the numbers depend on it, not on --n-jobs (default: 1)")
    workers.add_argument("--backend", choices=["loky", "dask"], default="loky",
                         help="loky: processes on this machine; dask: a Dask cluster (default: loky)")
    workers.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler, e.g. tcp://10.0.0.5:8786")

    add_data_options(parser)
    add_config_options(parser, many=True, exclude=("seed",))  # the search seed is --seed
    return parser


def build_configs(args):
    """The configs the options describe: a grid (over a preset, if given) or random draws."""
    return search_configs(args, preset=args.preset, random=args.random, seed=args.seed)


def run(args):
    """Run the search; print the ranked table with the doctor's findings, the best config,
    and the search's own warnings (diverged trials, configs stuck on the plateau, best
    values on the edge of a range)."""
    from cattern.model_io import save_model

    with options_named():
        configs = check_configs(build_configs(args))  # every option checked before any data is read
    check_workers(args.n_jobs, args.backend, args.scheduler, args.blas_threads)
    check_out_folder(args.out)
    split = prepare(load_raw_from_args(args, verbose=False), pixel_scale_of(configs), deskew_of(configs))
    results_path = os.path.join(args.out, "results.jsonl")
    outcome = run_search(
        configs, split.X_train, split.y_train, split.X_val, split.y_val, seed=args.seed, n_jobs=args.n_jobs,
        backend=args.backend, scheduler=args.scheduler, results_path=results_path,
        halving=args.halving, eta=args.eta, min_iters=args.min_iters, blas_threads=args.blas_threads,
        progress=not args.no_progress, mean_image=split.preprocessing.mean_image,
        data_fingerprint=split.fingerprint, log=lambda line: print(line, file=sys.stderr),
    )
    print(format_table(outcome.results, limit=args.top))
    print(f"table: {os.path.splitext(results_path)[0] + '.csv'}")
    lines = diagnosis_lines(outcome.results)
    if lines:
        print("diagnosis, on each config's longest run (every sentence is in results.jsonl):")
        for line in lines:
            print(f"  {line}")
    for warning in hygiene_warnings(outcome.results):
        print(f"warning: {warning}", file=sys.stderr)
    if outcome.best_config is None:
        print("every run diverged: try smaller learning rates", file=sys.stderr)
        return 1
    model_path = os.path.join(args.out, "best_model.npz")
    save_model(model_path, outcome.best_model, preprocessing=split.preprocessing,
               config=outcome.best_experiment_config(), history=outcome.best_history)
    options = ", ".join(f"{name}={value}" for name, value in outcome.best_options.items())
    print(f"best: val_acc {outcome.best_row['val_acc']:.4f} with {options or 'the defaults'}")
    print(f"best model: {model_path} (`cattern doctor {model_path}` diagnoses it)")
    for warning in outcome.edge_warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
