"""Wall time and best validation accuracy of a search preset on real MNIST.

Runs the preset's full grid, then successive halving over the same configs,
each into a fresh results file (nothing resumed), and prints one JSON summary:
wall seconds, best validation accuracy and config of each, their ratio and
gap, each search's wall time over its FLOP-limit time (its training FLOPs,
iterations x 4*B*D*H + 6*B*H*C, at the measured sgemm ceiling), and the
machine's load average before and after (other work on the
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


from cattern.experiment import ExperimentConfig
from cattern.tuning import format_table, preset_configs, run_search
from flops import sgemm_ceiling, step_flops  # benchmarks/ is on sys.path
from cattern.data.splits import load_split
from cattern.tuning.search import check_configs, deskew_of, pixel_scale_of


_SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets", "mnist")
# The project's copy beside the repo when there is one, else the seed's default (then the cache).
DATA_DIR = _SHARED if os.path.isdir(_SHARED) else "mnist_data"


def load(data_dir, configs):
    """MNIST train and validation rows, float32, preprocessed on the configs' pixel scale."""
    configs = check_configs(configs)
    split = load_split(data_dir, pixel_scale=pixel_scale_of(configs), deskew=deskew_of(configs), verbose=False)
    return split.X_train, split.y_train, split.X_val, split.y_val


def train_gflop(rows):
    """GFLOP of the training steps of a search's runs: new iterations x step_flops, each run once.

    A halving run that went on from the rung before counts only its new
    iterations. Evaluation passes (validation after each epoch, the
    train-accuracy subset) are not counted, so the FLOP-limit time is a lower bound.
    """
    defaults = ExperimentConfig()
    runs = {row["key"]: row for row in rows}  # a run two rungs share was trained once
    flops = 0
    for row in runs.values():
        new_iters = row["iters"] - (row.get("resumed_from") or 0)
        config = row["config"]
        flops += new_iters * step_flops(config.get("batch_size", defaults.batch_size),
                                        config.get("hidden_size", defaults.hidden_size))
    return flops / 1e9


def timed_search(configs, data, out_dir, name, ceiling, **kwargs):
    """Run one search into a fresh file; return its wall time, best and FLOP-limit time."""
    path = os.path.join(out_dir, f"{name}.jsonl")
    if os.path.exists(path):
        os.remove(path)  # measure a fresh search, not a resumed one
    start = time.perf_counter()
    outcome = run_search(configs, *data, results_path=path, **kwargs)
    seconds = time.perf_counter() - start
    print(f"\n{name}: {seconds:.1f} s", file=sys.stderr)
    print(format_table(outcome.results, limit=10), file=sys.stderr)
    gflop = train_gflop(outcome.results)
    return {
        "seconds": round(seconds, 1),
        "best_val_acc": outcome.best_row["val_acc"] if outcome.best_row else None,
        "best_config": outcome.best_config,
        "runs": len({row["key"] for row in outcome.results}),
        "diverged": sum(row["status"] == "diverged" for row in outcome.results),
        "edge_warnings": outcome.edge_warnings,
        "train_gflop": round(gflop, 1),
        "flop_limit_seconds": round(gflop / ceiling, 1),
        "wall_over_flop_limit": round(seconds / (gflop / ceiling), 2),
    }


def measure(preset="seed-72", data_dir=DATA_DIR, n_jobs=2, seed=0, eta=3, min_iters=200,
            grid=True, halving=True, out=None, ceiling=None):
    """Time the preset's grid and its halving; return the summary dict that main prints.

    ``ceiling`` (GFLOP/s) is measured here, with the process's BLAS threads,
    unless given: the search's workers x threads use the same cores.
    """
    configs = preset_configs(preset)
    data = load(data_dir, configs)
    out_dir = out or tempfile.mkdtemp(prefix="search_time_")
    os.makedirs(out_dir, exist_ok=True)
    ceiling = ceiling or sgemm_ceiling()
    summary = {"preset": preset, "configs": len(configs), "n_jobs": n_jobs, "cores": os.cpu_count(),
               "sgemm_ceiling_gflops": round(ceiling, 1), "load_before": os.getloadavg()}
    common = dict(seed=seed, n_jobs=n_jobs, progress=True)
    if grid:
        summary["grid"] = timed_search(configs, data, out_dir, "grid", ceiling, **common)
    if halving:
        summary["halving"] = timed_search(configs, data, out_dir, "halving", ceiling, halving=True,
                                          eta=eta, min_iters=min_iters, **common)
    summary["load_after"] = os.getloadavg()
    if grid and halving:
        g, h = summary["grid"], summary["halving"]
        summary["halving_time_ratio"] = round(h["seconds"] / g["seconds"], 3)
        summary["halving_gap"] = round(g["best_val_acc"] - h["best_val_acc"], 4)
    if out is None:
        shutil.rmtree(out_dir)
    return summary


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
    summary = measure(args.preset, args.data_dir, args.n_jobs, args.seed, args.eta, args.min_iters,
                      grid=not args.no_grid, halving=not args.no_halving, out=args.out)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
