"""The FLOPs a training step needs, and the machine's sgemm ceiling to count them against.

Shared by benchmarks/throughput.py (samples/s as a share of the ceiling) and
benchmarks/search_time.py (a search's wall time against the time its FLOPs
would take at the ceiling).
"""
import time

import numpy as np

D, C = 784, 10  # MNIST pixels, classes


def step_flops(B, H, D=D, C=C):
    """FLOPs of one SGD step of a D-H-C net on a batch of B: 4*B*D*H + 6*B*H*C.

    Forward X @ W1 (2BDH) and dW1 = X.T @ dh (2BDH); the first layer needs no
    gradient with respect to its input. The second layer does all three
    products: forward, dW2 and dh (2BHC each). Element-wise work is not counted.
    """
    return 4 * B * D * H + 6 * B * H * C


def sgemm_ceiling(sizes=(1024, 2048, 3072), reps=5):
    """Best float32 GEMM rate, GFLOP/s, over square sizes, with the current BLAS threads."""
    best = 0.0
    rng = np.random.default_rng(0)
    for n in sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        c = np.empty_like(a)
        np.matmul(a, b, out=c)
        for _ in range(reps):
            t = time.perf_counter()
            np.matmul(a, b, out=c)
            best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best
