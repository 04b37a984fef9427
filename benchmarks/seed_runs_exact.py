"""Which setup prints the seed's numbers: its cells [7], [10] and [11] replayed under each.

The seed's notebook seeds NumPy's global state in its toy cells and never
again; cells [7], [10] and [11] then draw their nets and batches from it. So
the printed numbers can be replayed exactly, and each candidate setup either
reproduces them digit for digit or does not. For each setup (pixel scale x
update rule) this replays the notebook's sequence with cattern's own
``TwoLayerNet.train`` (the seed's loop: batches with replacement, decay after
each epoch's first step) and the arguments recovered for the two cells
(cattern.presets ``seed-fixed-lr`` and ``seed-lr-decay``), and counts how
many of the 20 printed losses of each cell come out the same to the 6 digits
shown, beside the validation accuracies.

    python benchmarks/seed_runs_exact.py     # about a minute; writes results/seed_runs_exact.json

The table goes into the docstring of ``mnist_data.load_mnist`` (the seed's
pixel scale) and the README ("The seed as it ran").
"""
import json
import time
from pathlib import Path

import numpy as np

from cattern.data.splits import load_raw, prepare
from cattern.neural_net import TwoLayerNet
from cattern.presets import get_preset
from cattern.reference import SEED_RUNS, toy_problem

HERE = Path(__file__).resolve().parent
MNIST = HERE.parents[1] / "shared" / "datasets" / "mnist"
SETUPS = [(255.0, 0.0), (255.0, 0.9), (1.0, 0.0), (1.0, 0.9)]   # (pixel scale, momentum)
CELLS = (("fixed_lr", "seed-fixed-lr"), ("lr_decay", "seed-lr-decay"))


def replay(split, momentum):
    """Cells [7], [10], [11] in the notebook's order on NumPy's global state; returns what they print."""
    _, X, y = toy_problem()                        # cell [3]: np.random.seed(0), then seed(1)
    np.random.seed(0)                              # cell [7]: init_toy_model() and train
    toy = TwoLayerNet(4, 10, 3, std=1e-1)
    toy_loss = toy.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100, momentum=momentum)
    printed = {"toy_final_loss": toy_loss["loss_history"][-1]}
    for name, preset in CELLS:                    # cells [10] and [11]
        cfg = get_preset(preset)
        net = TwoLayerNet(784, cfg.hidden_size, 10, std=cfg.initial_std())
        stats = net.train(split.X_train, split.y_train, split.X_val, split.y_val, num_iters=cfg.num_iters,
                          batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                          learning_rate_decay=cfg.learning_rate_decay, reg=cfg.reg, momentum=momentum)
        ours = [f"{loss:f}" for loss in stats["loss_history"][::100]]
        printed[name] = {"losses_equal": sum(a == f"{b:f}" for a, b in zip(ours, SEED_RUNS[name].losses)),
                         "val_accuracy": float((net.predict(split.X_val) == split.y_val).mean())}
    return printed


def main():
    raw = load_raw(MNIST if MNIST.is_dir() else None, verbose=False)
    rows = []
    for scale, momentum in SETUPS:
        start = time.perf_counter()
        result = replay(prepare(raw, scale), momentum)
        rows.append({"pixel_scale": scale, "momentum": momentum, **result,
                     "seconds": round(time.perf_counter() - start, 1)})
    print("| pixels | update | cell [7] final loss (seed 0.017143643532923757) | cell [10]: losses equal of 20, "
          "val (seed 0.8922) | cell [11]: losses equal of 20, val (seed 0.9432) |")
    print("|---|---|---|---|---|")
    for r in rows:
        pixels = "0..255" if r["pixel_scale"] == 255 else "[0, 1]"
        update = "plain SGD" if r["momentum"] == 0 else f"momentum {r['momentum']:g}"
        print(f"| {pixels} | {update} | {r['toy_final_loss']!r} | {r['fixed_lr']['losses_equal']}, "
              f"{r['fixed_lr']['val_accuracy']:.4f} | {r['lr_decay']['losses_equal']}, "
              f"{r['lr_decay']['val_accuracy']:.4f} |")
    out = HERE / "results" / "seed_runs_exact.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"\nsaved to {out}")


if __name__ == "__main__":
    main()
