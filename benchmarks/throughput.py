"""Training throughput of cattern's float32 TwoLayerNet beside PyTorch and scikit-learn.

Measures, in one run on this machine:

- the sgemm ceiling: the best GFLOP/s of NumPy's float32 matrix multiply over
  a few square sizes;
- for each shape (H, B), the samples/s of one training epoch loop, for
  cattern, PyTorch CPU and scikit-learn's MLPClassifier, on the same net
  (784 - H - 10), batch, optimizer (SGD with momentum 0.9, L2) and thread
  count; each as a fraction of the ceiling, counting the FLOPs a step really
  needs, 4*B*D*H + 6*B*H*C (the first layer needs no input gradient);
- the "floor": the gather, the two big GEMMs and W1's momentum update alone
  (``run_floor``), the least a NumPy momentum-SGD step must do; floor /
  pytorch bounds how far ahead of PyTorch any NumPy loop can be, and the
  floor's share of the ceiling bounds any NumPy loop's share;
- then (unless ``--no-search``) the wall time of a search preset (the seed's
  72-config grid by default) on real MNIST, in full and with successive
  halving, 2 workers x 1 BLAS thread, each against its FLOP-limit time: its
  training FLOPs at the ceiling (``benchmarks/search_time.py``, which also
  runs alone).

The libraries are measured in alternation, several rounds, and the median
is reported, so that a slow moment of the machine does not land on one of them.

    python benchmarks/throughput.py            # prints two Markdown tables (about 5 minutes)
    python benchmarks/throughput.py --no-search --rounds 7 --json out.json
"""
import argparse
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from cattern.atomic import write_json
from cattern.environment import describe, numpy_blas
from flops import C, D, sgemm_ceiling, step_flops  # benchmarks/ is on sys.path

# Examples per epoch: about MNIST's 55,000, so that cattern's accuracy check
# on 1,000 training examples after each epoch costs what it does in real
# training (PyTorch's and scikit-learn's loops here check nothing); divisible
# by both batch sizes.
N = 51_200
LR, MOMENTUM, REG = 1e-2, 0.9, 1e-4


def data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D), dtype=np.float32)
    y = rng.integers(C, size=N)
    return X, y


def run_cattern(H, B, X, y, epochs):
    from cattern.models import TwoLayerNet
    from cattern.trainer import Callback, TrainConfig, Trainer

    class LoopTimer(Callback):
        """The loop's time, as the other libraries' loops are timed: not fit's one
        check of the whole data set before it (a pass over X, once per run however
        long). The accuracy check after each epoch is inside, and counted."""

        def on_train_begin(self, trainer):
            self.start = time.perf_counter()

        def on_train_end(self, trainer):
            self.seconds = time.perf_counter() - self.start

    net = TwoLayerNet(D, H, C, std=1e-2, seed=0, dtype=np.float32)
    cfg = TrainConfig(num_iters=epochs * (N // B), batch_size=B, learning_rate=LR,
                      learning_rate_decay=1.0, momentum=MOMENTUM, reg=REG, seed=0)
    timer = LoopTimer()
    Trainer(net, cfg, callbacks=[timer]).fit(X, y)
    return epochs * N / timer.seconds


def run_torch(H, B, X, y, epochs):
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, C))
    weights = [model[0].weight, model[2].weight]
    biases = [model[0].bias, model[2].bias]
    # L2 on the weights only, as cattern's 0.5 * reg * sum(W**2).
    opt = torch.optim.SGD([{"params": weights, "weight_decay": REG},
                           {"params": biases, "weight_decay": 0.0}], lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)
    t = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(N, generator=gen)
        for start in range(0, N, B):
            idx = order[start:start + B]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            loss.item()  # cattern records every loss too
    return epochs * N / (time.perf_counter() - t)


def run_sklearn(H, B, X, y, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(H,), solver="sgd", batch_size=B,
                        learning_rate_init=LR, momentum=MOMENTUM, nesterovs_momentum=False,
                        alpha=REG, max_iter=epochs, tol=0.0, n_iter_no_change=10**6,
                        shuffle=True, random_state=0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return epochs * N / (time.perf_counter() - t)


def run_floor(H, B, X, y, epochs):
    """The least any NumPy step with SGD momentum must do at this shape.

    Per batch: the gather, the two big GEMMs (X @ W1 forward, X.T @ dh for dW1)
    and the momentum update of W1 in cache-sized blocks, and nothing else. No
    loss, no second layer, no biases: it trains nothing. Its rate bounds every
    NumPy implementation from above, so floor / pytorch is the most any of
    them could be ahead of PyTorch here.
    """
    from cattern import optim
    from cattern.workspace import row_blocks

    rng = np.random.default_rng(0)
    W1 = (1e-2 * rng.standard_normal((D, H))).astype(np.float32)
    hidden = np.empty((B, H), dtype=np.float32)
    dW1 = np.empty_like(W1)
    xb = np.empty((B, D), dtype=np.float32)
    slots = [(rows, {"learning_rate": LR, "momentum": MOMENTUM}) for rows in row_blocks(W1)]
    t = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(N)
        for start in range(0, N, B):
            np.take(X, order[start:start + B], axis=0, out=xb, mode="clip")
            np.matmul(xb, W1, out=hidden)
            hidden *= 1e-3  # stands in for dh: keeps the values ordinary (no denormals)
            np.matmul(xb.T, hidden, out=dW1)
            for rows, config in slots:
                optim.sgd_momentum(W1[rows], dW1[rows], config)
    return epochs * N / (time.perf_counter() - t)


RUNNERS = {"cattern": run_cattern, "pytorch": run_torch, "sklearn": run_sklearn,
           "floor": run_floor}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--shapes", default="100x200,1024x256", help="HxB,HxB,...")
    parser.add_argument("--skip", default="", help="comma-separated runners to skip")
    parser.add_argument("--search", default="seed-72", metavar="PRESET",
                        help="the search preset to time, full and with halving (default: seed-72)")
    parser.add_argument("--no-search", action="store_true", help="measure throughput only")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    runners = {k: v for k, v in RUNNERS.items() if k not in args.skip.split(",")}
    X, y = data()
    load_before = os.getloadavg()[0]
    with threadpool_limits(args.threads):
        ceiling = sgemm_ceiling()
        rates = {(s, k): [] for s in shapes for k in runners}
        for (H, B) in shapes:  # warm up each once
            for name, fn in runners.items():
                fn(H, B, X, y, 1)
        for r in range(args.rounds):
            for (H, B) in shapes:
                for name, fn in runners.items():
                    rates[(H, B), name].append(fn(H, B, X, y, args.epochs))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        ceiling = max(ceiling, sgemm_ceiling())  # again at the end: the best the machine did

    blas = numpy_blas()  # NumPy's own: threadpoolctl also lists torch's OpenMP and SciPy's OpenBLAS
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {args.threads} threads; "
          f"NumPy {np.__version__} ({blas.get('internal_api')} {blas.get('version')}, "
          f"{blas.get('architecture')}); torch {torch.__version__}")
    print(f"sgemm ceiling: {ceiling:.1f} GFLOP/s; medians of {args.rounds} rounds of "
          f"{args.epochs} epochs x {N} examples\n")
    print("| H | B | library | samples/s | GFLOP/s | of sgemm ceiling | cattern / library |")
    print("|---|---|---|---|---|---|---|")
    # Where and how it ran: the ratios move with the machine and its load.
    out = {"command": " ".join(["python benchmarks/throughput.py", *(argv if argv is not None else sys.argv[1:])]),
           "when": time.strftime("%Y-%m-%d %H:%M:%S"), "environment": describe(), "torch": torch.__version__,
           "loadavg_before": round(load_before, 2), "ceiling_gflops": ceiling, "rows": []}
    for (H, B) in shapes:
        ours = statistics.median(rates[(H, B), "cattern"])
        for name in runners:
            med = statistics.median(rates[(H, B), name])
            gf = med / B * step_flops(B, H) / 1e9
            print(f"| {H} | {B} | {name} | {med:,.0f} | {gf:.1f} | {gf / ceiling:.0%} | "
                  f"{ours / med:.2f}x |")
            out["rows"].append({"H": H, "B": B, "library": name, "samples_per_s": med,
                                "gflops": gf, "all": rates[(H, B), name]})
    if "floor" in runners and "pytorch" in runners:
        print()
        for (H, B) in shapes:
            bound = statistics.median(rates[(H, B), "floor"]) / statistics.median(rates[(H, B), "pytorch"])
            print(f"H={H}, B={B}: the floor is {bound:.2f}x PyTorch, the most any NumPy loop can reach here")
    if not args.no_search:
        out["search"] = search_table(args.search, ceiling)
    if args.json:
        write_json(args.json, out)


def search_table(preset, ceiling):
    """Time the preset's grid and its halving on MNIST; print them against the FLOP limit."""
    import search_time

    summary = search_time.measure(preset, ceiling=ceiling)
    grid, halving = summary["grid"], summary["halving"]
    print(f"\n{preset} search on MNIST, 2 workers x 1 BLAS thread; load average "
          f"{summary['load_before'][0]:.1f} before, {summary['load_after'][0]:.1f} after; "
          f"FLOP limit = training FLOPs at {ceiling:.1f} GFLOP/s\n")
    print("| search | runs | wall time | FLOP-limit time | wall / FLOP limit | best validation |")
    print("|---|---|---|---|---|---|")
    for name, row in (("grid", grid), ("halving", halving)):
        share = "" if name == "grid" else f" ({summary['halving_time_ratio']:.2f} of the grid)"
        gap = "" if name == "grid" else f" (gap {summary['halving_gap']:.4f})"
        print(f"| {name} | {row['runs']} | {row['seconds']:.1f} s{share} | {row['flop_limit_seconds']:.1f} s | "
              f"{row['wall_over_flop_limit']:.2f}x | {row['best_val_acc']:.4f}{gap} |")
    return summary


if __name__ == "__main__":
    main()
