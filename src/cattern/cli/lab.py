"""``cattern lab``: the whole seed lab, in the terminal and in pictures."""
import argparse

from cattern.lab import QUICK_ENV, run_lab


def add_parser(subparsers):
    """Register ``lab`` and its options; return the subparser."""
    parser = subparsers.add_parser(
        "lab",
        help="run the whole lab: toy checks, MNIST training, search, test accuracy",
        description="Run the seed notebook's sections in order (toy scores, loss and gradient check; "
                    "toy training; MNIST; a fixed-rate run and a decaying-rate run; their curves and "
                    "weights; the hyperparameter search; the test accuracy of the net chosen on "
                    "validation), printing each result beside the seed's, and write the figures, "
                    "best_model.npz and summary.json to DIR.",
    )
    parser.add_argument("--out", default="runs/lab", metavar="DIR",
                        help="folder for the figures, best_model.npz and summary.json (default: runs/lab)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the training runs and the search (default: 0)")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="folder holding the MNIST .gz files (default: mnist_data, then the cache, "
                             "then a download)")
    parser.add_argument("--search-preset", default=None, metavar="NAME",
                        help=f"search preset of cattern.tuning (default: lab, or lab-quick when "
                             f"{QUICK_ENV}=1)")
    parser.add_argument("--n-jobs", type=int, default=-1, metavar="N",
                        help="search worker processes (default: -1, one per core)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    # For tests: the six arrays from an .npz instead of MNIST.
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    return parser


def run(args):
    """Run the lab; returns the exit status (0, or 1 when a seed target is missed)."""
    summary = run_lab(args.out, seed=args.seed, data_dir=args.data_dir, data_file=args.data,
                      search_preset=args.search_preset, n_jobs=args.n_jobs, progress=not args.no_progress)
    missed = [name for name, met in summary["targets_met"].items() if not met]
    if missed:
        print(f"cattern lab: missed the seed's target(s): {', '.join(missed)}")
        return 1
    return 0
