"""What the training doctor's signals cost, as a share of training time, on real MNIST.

    python benchmarks/doctor_cost.py [--rounds 7] [--epochs 2] [--nets NAME ...] [--out benchmarks/results/doctor_cost.json]

For each net, the same run (same config, same seed) trains with and without
the :class:`~cattern.diagnosis.TrainingDoctor` callback, alternately (without,
with, with, without, ...) for ``--rounds`` rounds, and the medians are
compared. Two measures:

- the difference of the medians of the whole run's CPU time, with and
  without the doctor (what the issue asks; noisy, so every run's time is
  kept, and the spread of the runs without the doctor is its noise floor);
- the time spent inside the doctor's own hooks, summed and divided by the
  run's time (direct, and much less noisy).

The nets: ``two-layer-best`` (784-1024-10, dropout, Cireşan's distortions,
batch 128), ``two-layer-fast`` (the same net with translations only: the
doctor's largest share of a preset, since its steps are the cheapest),
``fc-best`` (784-1024-1024-10 with batch norm) and the seed's net
(``seed-lr-decay``: 784-50-10, float64, batch 200), each cut to ``--epochs``
epochs. Every run has one BLAS thread (threadpoolctl), so
CPU time (time.process_time) is the work done, whatever else the machine's
2 shared cores run.
"""
import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from cattern.atomic import write_json
from cattern.data.splits import load_split
from cattern.diagnosis import TrainingDoctor
from cattern.experiment import build_trainer
from cattern.presets import get_preset

MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
NETS = {"two-layer-best": "two-layer-best", "two-layer-fast": "two-layer-fast", "fc-best": "fc-best",
        "seed-sized (seed-lr-decay)": "seed-lr-decay"}
HOOKS = ("on_train_begin", "on_iteration_end", "on_epoch_end", "on_train_end")


class TimedDoctor(TrainingDoctor):
    """The doctor, with the CPU time spent in its hooks added up in ``seconds``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds = 0.0
        for name in HOOKS:
            setattr(self, name, self._timed(getattr(self, name)))

    def _timed(self, hook):
        def timed(*args):
            start = time.process_time()
            hook(*args)
            self.seconds += time.process_time() - start
        return timed


def one_run(cfg, split, with_doctor):
    """(CPU seconds of the fit, CPU seconds inside the doctor's hooks) of one run."""
    doctor = TimedDoctor(split.X_train, split.y_train) if with_doctor else None
    trainer = build_trainer(cfg, split.X_train, split.y_train, split.y_val, callbacks=[doctor] if doctor else [],
                            mean_image=split.preprocessing.mean_image)
    start = time.process_time()
    trainer.fit(split.X_train, split.y_train, split.X_val, split.y_val)
    return time.process_time() - start, doctor.seconds if doctor else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--nets", nargs="+", choices=list(NETS), default=list(NETS))
    parser.add_argument("--out", default=None, help="write the numbers as JSON here (the nets not run keep theirs)")
    args = parser.parse_args()

    split = load_split(MNIST, pixel_scale=1.0, verbose=False)
    results = json.loads(Path(args.out).read_text()) if args.out and Path(args.out).is_file() else {}
    with threadpool_limits(limits=1, user_api="blas"):
        for label in args.nets:
            preset = NETS[label]
            cfg = get_preset(preset)
            steps = round(args.epochs * len(split.y_train) / cfg.batch_size)
            cfg = dataclasses.replace(cfg, num_iters=steps, final_test=False)
            times = {False: [], True: []}
            hooks = []
            for r in range(args.rounds):
                # Alternate the order, so that a slow spell of the machine hits both.
                for with_doctor in ((False, True) if r % 2 == 0 else (True, False)):
                    seconds, in_hooks = one_run(cfg, split, with_doctor)
                    times[with_doctor].append(seconds)
                    if with_doctor:
                        hooks.append(in_hooks / seconds)
            without, with_ = statistics.median(times[False]), statistics.median(times[True])
            results[label] = {"steps": steps, "without_s": round(without, 3), "with_s": round(with_, 3),
                              "cost_from_medians": round(with_ / without - 1, 4),
                              "cost_in_hooks": round(statistics.median(hooks), 4),
                              "rounds": args.rounds,
                              # The noise floor: how far apart runs without the doctor land.
                              "spread_without": round((max(times[False]) - min(times[False])) / without, 4),
                              "runs_without_s": [round(t, 3) for t in times[False]],
                              "runs_with_s": [round(t, 3) for t in times[True]]}
            print(f"{label}: {steps} steps; CPU s without {without:.2f}, with {with_:.2f} "
                  f"(medians of {args.rounds}): {with_ / without - 1:+.2%}; inside the doctor's hooks "
                  f"{statistics.median(hooks):.2%} of the run; runs without it spread over "
                  f"{results[label]['spread_without']:.2%}", flush=True)
    if args.out:
        write_json(args.out, results)


if __name__ == "__main__":
    main()
