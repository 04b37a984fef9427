"""Time one training step of FullyConnectedNet, and the augmentation of one batch, on random data.

    python benchmarks/fc_step_cost.py [--hidden 1024] [--batch 128] [--repeats 50]

Prints milliseconds per step (forward + backward + update) and per augmented
batch for each augmentation setting, and their ratio, in CPU time of this
process (time.process_time): the machine's 2 cores are shared, and CPU time
is what the work costs whatever else runs. With OPENBLAS_NUM_THREADS=1 it is
also the wall time on an idle core.
"""
import argparse
import time

import numpy as np

from cattern import optim
from cattern.augment import Augmenter
from cattern.models import FullyConnectedNet
from cattern.workspace import Workspace


def _time(fn, repeats):
    fn()  # warm up: allocations, BLAS threads
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return (time.process_time() - start) / repeats * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[1024])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--normalization", default=None, choices=[None, "batchnorm", "layernorm"])
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.random((args.batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.batch)
    net = FullyConnectedNet(784, args.hidden, 10, dropout=args.dropout, normalization=args.normalization, seed=0)
    configs = {k: {"learning_rate": 0.01} for k in net.params}
    ws = Workspace()

    def step():
        _, grads = net.batch_loss(X, y, 1e-4, ws)
        for k, w in net.params.items():
            optim.sgd_nesterov(w, grads[k], configs[k])

    step_ms = _time(step, args.repeats)
    print(f"step (CPU ms): hidden {args.hidden}, batch {args.batch}, dropout {args.dropout}, "
          f"normalization {args.normalization}: {step_ms:.2f} ms")
    mean = X.mean(axis=0)
    for name, aug in [
        ("shift 2", Augmenter(max_shift=2, offset=mean)),
        ("shift 2 + rotate 10 + scale 0.1", Augmenter(max_shift=2, max_rotation=10, max_scale=0.1, offset=mean)),
        ("shift 1 + elastic 34/4 + rotate 10 + scale 0.1",
         Augmenter(max_shift=1, max_rotation=10, max_scale=0.1, elastic_alpha=34, elastic_sigma=4, offset=mean)),
        ("shift 1 + elastic 36/6 + rotate 15 + scale 0.15",
         Augmenter(max_shift=1, max_rotation=15, max_scale=0.15, elastic_alpha=36, elastic_sigma=6, offset=mean)),
    ]:
        ms = _time(lambda: aug(X, rng), args.repeats)
        print(f"augment {name}: {ms:.2f} ms = {ms / step_ms:.1%} of a step")


if __name__ == "__main__":
    main()
