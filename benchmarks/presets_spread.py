"""The spread of the two presets over seeds: accuracy and training time.

    python benchmarks/presets_spread.py [--presets two-layer-best fc-best] [--seeds 0 1 2]

Runs ``cattern train --preset NAME --seed S`` once per preset and seed, one
after the other (the machine has 2 shared cores), each in its own process as
a user would, then reads each run's summary.json. A run whose folder already
holds a finished summary.json of the same preset, seed and config (``cattern
train`` writes it only at the end) is read, not trained again, so an
interrupted spread resumes; after a preset's config changes, its runs are
trained again. Writes benchmarks/results/presets_spread.json: every run's
validation and test accuracy, training seconds and load average, and per
preset the mean, the standard deviation and the range; the presets not run
this time keep their entries. Long: about 4 (two-layer-best) + 15
(fc-best) minutes per seed on an idle machine (two-layer-fast 1.2, fc-fast
8, fc-ensemble 21-26); not part of CI.
"""
import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cattern.atomic import write_json
from cattern.experiment import ExperimentConfig
from cattern.presets import get_preset

HERE = Path(__file__).resolve().parent
MNIST_DIR = HERE.parent.parent / "shared" / "datasets" / "mnist"


def run_one(preset, seed, out, data_dir):
    """Train one preset with one seed in a fresh process (or read the finished run in ``out``);
    return its summary dict."""
    done = out / "summary.json"
    config = json.loads(json.dumps(dataclasses.replace(get_preset(preset), seed=seed).to_dict()))
    if done.is_file():
        summary = json.loads(done.read_text())
        # Through from_dict, so a run saved before a field was added (it holds that field's default) still counts.
        try:
            saved = ExperimentConfig.from_dict(summary.get("best_hyperparameters")).to_dict()
        except (TypeError, ValueError):  # not a config this cattern reads: train again
            saved = None
        if (summary.get("preset"), summary.get("seed"), saved) == (preset, seed, config):
            print(f"{out}: finished run of {preset}, seed {seed}, read", flush=True)
            return summary
    command = [sys.executable, "-c", "import sys; from cattern.cli import main; sys.exit(main())",
               "train", "--preset", preset, "--seed", str(seed), "--out", str(out),
               "--data-dir", str(data_dir), "--no-progress"]
    load = os.getloadavg()[0]
    subprocess.run(command, check=True)
    summary = json.loads((out / "summary.json").read_text())
    summary["loadavg_start_end"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return summary


def spread(values):
    """Mean, standard deviation and range of ``values``; None when a run has none (no
    validation accuracy for a net trained on the validation images)."""
    if any(value is None for value in values):
        return None
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["two-layer-best", "fc-best"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="runs/spread", help="folder for the runs (default: runs/spread)")
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    parser.add_argument("--results", default=str(HERE / "results" / "presets_spread.json"))
    args = parser.parse_args()

    results = {"runs": [], "spread": {}}
    if Path(args.results).is_file():  # keep the presets not run this time
        results = json.loads(Path(args.results).read_text())
        results["runs"] = [r for r in results["runs"] if r["preset"] not in args.presets]
    results["when"] = time.strftime("%Y-%m-%d %H:%M:%S")
    for preset in args.presets:
        for seed in args.seeds:
            summary = run_one(preset, seed, Path(args.out) / f"{preset}-seed{seed}", args.data_dir)
            row = {k: summary.get(k) for k in ("preset", "seed", "val_accuracy", "test_accuracy",
                                               "train_seconds", "seconds", "loadavg_start_end", "interrupted",
                                               "environment")}
            results["runs"].append(row)
            print(json.dumps(row), flush=True)
        rows = [r for r in results["runs"] if r["preset"] == preset]
        results["spread"][preset] = {key: spread([r[key] for r in rows])
                                     for key in ("val_accuracy", "test_accuracy", "train_seconds")}
        print(preset, json.dumps(results["spread"][preset]), flush=True)
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        write_json(args.results, results)


if __name__ == "__main__":
    main()
