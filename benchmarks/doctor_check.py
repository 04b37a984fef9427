"""The training doctor on real MNIST: no warnings on healthy runs; the plateau named where the seed's grid stalls.

    python benchmarks/doctor_check.py [--out runs/doctor-check]
        [--parts two-layer-best two-layer-fast fc-best fc-fast lab seed-72]

Each part runs the command line, as a user would (MNIST from ../shared/datasets/mnist):

- two-layer-best, two-layer-fast, fc-best, fc-fast: ``cattern train --preset
  NAME`` with seed 0 (about 4, 1.5, 15 and 8 minutes on 2 idle cores); the
  doctor must find nothing.
- lab: ``cattern tune --preset lab``, the lab's 12-config search; its best
  net (and, as it turns out, every config) must get no warning.
- seed-72: the seed's 72-config grid twice, ``cattern tune --preset seed-72
  --pixel-scale 1`` (the inputs this project's loader gives, where most of the
  grid stalls on the ln 10 plateau) and ``--pixel-scale 255 --momentum 0``
  (the seed's own scale); the doctor must name the plateau for the configs
  that stall on [0, 1] pixels, and give the same configs no plateau warning
  at 255.

Prints each part's findings and writes them, per run, to
``benchmarks/results/doctor_check.json`` (the parts not run this time keep
their entries; an entry holds the config it ran, so a preset changed since
shows).
"""
import argparse
import json
from pathlib import Path

from cattern.atomic import write_json
from cattern.cli import main as cattern

MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
RESULTS = Path(__file__).resolve().parent / "results" / "doctor_check.json"
PRESETS = ("two-layer-best", "two-layer-fast", "fc-best", "fc-fast")
PARTS = (*PRESETS, "lab", "seed-72")
SEED_72_OPTIONS = ("learning_rate", "reg", "hidden_size", "num_iters", "batch_size")


def train(preset, out):
    """``cattern train --preset PRESET``; returns the codes and sentences of its summary's findings."""
    cattern(["train", "--preset", preset, "--data-dir", str(MNIST), "--out", str(out), "--no-progress"])
    summary = json.loads((out / "summary.json").read_text())
    return {"config": summary["best_hyperparameters"],
            "val_accuracy": summary["val_accuracy"], "train_seconds": summary["train_seconds"],
            "findings": [{"code": f["code"], "sentence": f["sentence"]} for f in summary["findings"]]}


def tune(out, *options):
    """``cattern tune OPTIONS``; returns its rows (one per config: a grid trains each fully)."""
    cattern(["tune", *options, "--data-dir", str(MNIST), "--out", str(out), "--n-jobs", "2", "--no-progress"])
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def _config(row):
    return tuple(row["config"][name] for name in SEED_72_OPTIONS)


def _codes(row):
    return [f["code"] for f in row["findings"]]


def seed_72(out):
    """The grid on [0, 1] pixels and at 255 with momentum 0, config by config."""
    unit = {_config(r): r for r in tune(out / "seed72-pixels-1", "--preset", "seed-72", "--pixel-scale", "1")}
    raw = {_config(r): r for r in tune(out / "seed72-pixels-255", "--preset", "seed-72", "--pixel-scale", "255",
                                       "--momentum", "0")}
    configs = []
    for key in unit:
        configs.append({**dict(zip(SEED_72_OPTIONS, key)),
                        "pixels_1": {"val_acc": unit[key]["val_acc"], "findings": _codes(unit[key])},
                        "pixels_255": {"val_acc": raw[key]["val_acc"], "findings": _codes(raw[key])}})
    stalled = [c for c in configs if "plateau" in c["pixels_1"]["findings"]]
    summary = {
        "configs": len(configs),
        "plateau_at_pixels_1": len(stalled),
        "best_val_acc_of_plateau_configs_at_pixels_1": max((c["pixels_1"]["val_acc"] for c in stalled), default=None),
        "worst_val_acc_of_other_configs_at_pixels_1": min(
            (c["pixels_1"]["val_acc"] for c in configs if c not in stalled), default=None),
        "plateau_at_pixels_255": sum("plateau" in c["pixels_255"]["findings"] for c in configs),
        "plateau_at_255_among_those_at_1": sum("plateau" in c["pixels_255"]["findings"] for c in stalled),
        "example_at_pixels_1": next((f["sentence"] for r in unit.values() for f in r["findings"]
                                     if f["code"] == "plateau"), None),
        "findings_at_pixels_255": sorted({code for c in configs for code in c["pixels_255"]["findings"]}),
    }
    return {"summary": summary, "configs": configs}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/doctor-check", help="folder for the runs")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    args = parser.parse_args()
    out = Path(args.out)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for part in args.parts:
        if part in PRESETS:
            results[part] = train(part, out / part)
        elif part == "lab":
            rows = tune(out / "lab", "--preset", "lab")
            results[part] = [{"config": {k: r["config"][k] for k in ("learning_rate", "reg", "hidden_size")},
                              "val_acc": r["val_acc"], "findings": _codes(r)} for r in rows]
        else:
            results[part] = seed_72(out)
        write_json(RESULTS, results)
        shown = results[part]["summary"] if part == "seed-72" else results[part]
        print(f"== {part}\n{json.dumps(shown, indent=2)}", flush=True)


if __name__ == "__main__":
    main()
