"""``cattern lab``: the whole seed lab, in the terminal and in pictures."""
from cattern.atomic import check_out_folder
from cattern.cli.options import (add_config_options, add_data_options, config_fields, options_named, search_configs,
                                 whole_number, worker_count)
from cattern.lab import QUICK_ENV, default_search_preset, quick_mode, run_lab
from cattern.tuning import SEARCH_PRESETS
from cattern.tuning.search import check_configs, deskew_of, pixel_scale_of


def add_parser(subparsers):
    """Register ``lab`` and its options; return the subparser."""
    parser = subparsers.add_parser(
        "lab",
        help="run the whole lab: toy checks, MNIST training, search, test accuracy",
        description="Run the seed notebook's sections in order (toy scores, loss and gradient check; "
                    "toy training; MNIST; a fixed-rate run and a decaying-rate run; their curves and "
                    "weights; the hyperparameter search; the test accuracy of the net chosen on "
                    "validation), printing each result beside the seed's, and write the figures, "
                    "best_model.npz and summary.json to DIR, together, when the lab is done.",
    )
    parser.add_argument("--out", default="runs/lab", metavar="DIR",
                        help="folder for the figures, best_model.npz and summary.json (default: runs/lab)")
    parser.add_argument("--seed", type=whole_number(0), default=0, help="seeds the training runs and the search (default: 0)")
    parser.add_argument("--search-preset", default=None, choices=sorted(SEARCH_PRESETS), metavar="NAME",
                        help=f"the search, a preset of cattern.tuning: {', '.join(sorted(SEARCH_PRESETS))} "
                             f"(default: lab, or lab-quick when {QUICK_ENV}=1); the training options "
                             "below replace its values")
    parser.add_argument("--n-jobs", type=worker_count, default=-1, metavar="N",
                        help="search worker processes (default: -1, one per core)")
    parser.add_argument("--quick", action="store_true",
                        help=f"shrink the searches, as {QUICK_ENV}=1 does: 5 of the seed grid's 72 configs, "
                             "and the lab's search to one config")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_data_options(parser)
    add_config_options(parser, many=True, exclude=("seed",))
    return parser


def run(args):
    """Run the lab; returns the exit status (0, or 1 when a seed target is missed)."""
    quick = args.quick or quick_mode()
    check_out_folder(args.out)
    overridden = any(getattr(args, f.name) is not None for f, _, _ in config_fields(exclude=("seed",)))
    configs = None
    if overridden:
        with options_named():  # every option checked before the lab's first section, named as an option
            configs = search_configs(args, preset=args.search_preset or default_search_preset(quick))
            checked = check_configs(configs)
            pixel_scale_of(checked)  # each raises unless every config trains on the same data
            deskew_of(checked)
    summary = run_lab(args.out, seed=args.seed, data_dir=args.data_dir, validation_size=args.validation_size,
                      verify=not args.no_verify, search_preset=args.search_preset, search_configs=configs,
                      n_jobs=args.n_jobs, progress=not args.no_progress, quick=quick)
    missed = [name for name, met in summary["targets_met"].items() if met is False]  # None: not judged
    if missed:
        print(f"cattern lab: missed the seed's target(s): {', '.join(missed)}")
        return 1
    return 0
