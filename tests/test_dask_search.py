"""The search on a Dask cluster (joblib's dask backend) gives the serial numbers."""
import numpy as np
import pytest

from cattern.tuning import grid, run_search

distributed = pytest.importorskip("distributed")


def test_a_search_on_a_local_dask_cluster_equals_the_serial_search(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((20, 3))
    X = rng.standard_normal((300, 20)).astype(np.float32)
    X_val = rng.standard_normal((100, 20)).astype(np.float32)
    y, y_val = (X @ W).argmax(1), (X_val @ W).argmax(1)
    configs = grid(learning_rate=[1e-2, 1e-1, 1e4], hidden_size=[8, 16], num_iters=[40], batch_size=[50],
                   std=0.1, dtype="float32")

    serial = run_search(configs, X, y, X_val, y_val, seed=5, n_jobs=1, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        path = tmp_path / "results.jsonl"
        on_dask = run_search(configs, X, y, X_val, y_val, seed=5, backend="dask",
                             scheduler=cluster.scheduler_address, results_path=path, progress=False)
        # Halving's paused runs travel to the cluster's workers and back, and go on exactly.
        halving = dict(seed=5, halving=True, eta=3, min_iters=5, progress=False)
        halved_on_dask = run_search(configs, X, y, X_val, y_val, backend="dask",
                                    scheduler=cluster.scheduler_address, **halving)
    halved = run_search(configs, X, y, X_val, y_val, n_jobs=1, **halving)
    assert [(r["key"], r["val_loss"], r["resumed_from"]) for r in halved_on_dask.results] == \
           [(r["key"], r["val_loss"], r["resumed_from"]) for r in halved.results]
    assert any(r["resumed_from"] for r in halved_on_dask.results)

    assert [(r["key"], r["status"], r["val_acc"]) for r in on_dask.results] == \
           [(r["key"], r["status"], r["val_acc"]) for r in serial.results]
    assert sum(r["status"] == "diverged" for r in on_dask.results) == 2  # lr 1e4 diverges, the rest goes on
    assert len(path.read_text().splitlines()) == len(configs)
    for name, value in serial.best_model.params.items():
        assert np.array_equal(value, on_dask.best_model.params[name]), name
