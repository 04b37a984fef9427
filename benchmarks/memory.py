"""Peak resident memory of training on full MNIST (issue target: below 600 MB).

    python benchmarks/memory.py [--hidden 1024] [--batch 256] [--iters 300]

Loads the seed's split from ../shared/datasets/mnist (or the cache), subtracts
the mean image in float32, trains a float32 TwoLayerNet with validation each
epoch, and prints the peak RSS of this process (ru_maxrss).
"""
import argparse
import resource
import time
from pathlib import Path

import numpy as np

from cattern.models import TwoLayerNet
from cattern.data.mnist import read_data_sets

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--iters", type=int, default=300)
    args = p.parse_args()
    X_train, y_train, X_val, y_val, X_test, y_test = read_data_sets(
        str(SHARED) if SHARED.is_dir() else "mnist_data", verbose=False)
    after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    X_train, X_val = X_train.reshape(len(X_train), -1), X_val.reshape(len(X_val), -1)
    mean = X_train.mean(axis=0)
    X_train -= mean  # in place: float32 stays float32, no second copy
    X_val -= mean
    net = TwoLayerNet(784, args.hidden, 10, std=1e-2, seed=0, dtype=np.float32)
    t = time.perf_counter()
    stats = net.train(X_train, y_train, X_val, y_val, learning_rate=1e-2, num_iters=args.iters,
                      batch_size=args.batch, seed=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"H={args.hidden} B={args.batch} iters={args.iters}: peak RSS {peak:.0f} MB "
          f"(after loading {after_load:.0f} MB); {time.perf_counter() - t:.1f} s; "
          f"val acc {stats['val_acc_history'][-1]:.4f}")


if __name__ == "__main__":
    main()
