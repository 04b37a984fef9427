"""Wall time and best validation accuracy of a search preset on real MNIST.

Runs the preset's full grid, then successive halving over the same configs,
each into a fresh results file (nothing resumed), and prints one JSON summary:
wall seconds, best validation accuracy and config of each, their ratio and
gap, and the machine's load average before and after (other work on the
machine slows the search; compare the load with the core count).

    python benchmarks/search_time.py                        # seed-72, n_jobs=2, float32
    python benchmarks/search_time.py --preset lab --no-halving
    python benchmarks/search_time.py --data-dir ../shared/datasets/mnist --out runs/bench

Targets (issue #5): the seed-72 grid in <= 300 s on 2 cores; halving within
0.3 % validation accuracy of the grid's best in <= 1/3 of the grid's time.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

from cattern.tuning import format_table, preset_configs, run_search
from mnist_data.load_mnist import read_data_sets


_SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets", "mnist")
# The project's copy beside the repo when there is one, else the seed's default (then the cache).
DATA_DIR = _SHARED if os.path.isdir(_SHARED) else "mnist_data"


def load(data_dir):
    """MNIST train and validation rows, float32, mean image subtracted."""
    X, y, X_val, y_val, _, _ = read_data_sets(data_dir, verbose=False)
    X, X_val = X.reshape(len(X), -1), X_val.reshape(len(X_val), -1)
    mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
    return X - mean, y, X_val - mean, y_val


def timed_search(configs, data, out_dir, name, **kwargs):
    path = os.path.join(out_dir, f"{name}.jsonl")
    if os.path.exists(path):
        os.remove(path)  # measure a fresh search, not a resumed one
    start = time.perf_counter()
    outcome = run_search(configs, *data, results_path=path, **kwargs)
    seconds = time.perf_counter() - start
    print(f"\n{name}: {seconds:.1f} s", file=sys.stderr)
    print(format_table(outcome.results, limit=10), file=sys.stderr)
    return {
        "seconds": round(seconds, 1),
        "best_val_acc": outcome.best_row["val_acc"] if outcome.best_row else None,
        "best_config": outcome.best_config,
        "runs": len(outcome.results),
        "diverged": sum(row["status"] == "diverged" for row in outcome.results),
        "edge_warnings": outcome.edge_warnings,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed-72")
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--min-iters", type=int, default=200)
    parser.add_argument("--no-grid", action="store_true", help="skip the full grid")
    parser.add_argument("--no-halving", action="store_true", help="skip successive halving")
    parser.add_argument("--out", default=None, help="keep the results files here (default: a temp dir)")
    args = parser.parse_args(argv)

    data = load(args.data_dir)
    configs = preset_configs(args.preset)
    out_dir = args.out or tempfile.mkdtemp(prefix="search_time_")
    os.makedirs(out_dir, exist_ok=True)
    summary = {"preset": args.preset, "configs": len(configs), "n_jobs": args.n_jobs,
               "cores": os.cpu_count(), "load_before": os.getloadavg()}
    common = dict(seed=args.seed, n_jobs=args.n_jobs, progress=True)
    if not args.no_grid:
        summary["grid"] = timed_search(configs, data, out_dir, "grid", **common)
    if not args.no_halving:
        summary["halving"] = timed_search(configs, data, out_dir, "halving", halving=True, eta=args.eta,
                                          min_iters=args.min_iters, **common)
    summary["load_after"] = os.getloadavg()
    if "grid" in summary and "halving" in summary:
        grid, halving = summary["grid"], summary["halving"]
        summary["halving_time_ratio"] = round(halving["seconds"] / grid["seconds"], 3)
        summary["halving_gap"] = round(grid["best_val_acc"] - halving["best_val_acc"], 4)
    print(json.dumps(summary, indent=2))
    if args.out is None:
        shutil.rmtree(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
