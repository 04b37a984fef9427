"""Run a search: train every config, in parallel, resumable, and rank them.

Each config trains in a worker process (joblib: ``loky`` on this machine,
``dask`` on a cluster). Its training seed comes from the config and the search
seed alone (:func:`cattern.tuning.results.train_seed`), and every run uses the
same number of BLAS threads (``blas_threads``, 1 by default, the parallelism
coming from the workers): OpenBLAS's sums depend on its thread count, so with
both fixed the numbers do not depend on the number of workers, the backend,
or the order runs finish in. Each finished
run is appended to the results file at once; a rerun with the same file skips
the runs already there. A run whose loss diverges is recorded as diverged and
the search goes on.

Successive halving (``halving=True``) trains every config on a small budget,
keeps the best 1/eta, and trains those on to eta times the budget, going on
from where their runs stopped, until the best few reach their full budget;
see :mod:`cattern.tuning.halving`.
"""
import os
import pickle
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from cattern.errors import DivergedError
from cattern.experiment import ExperimentConfig, build_trainer
from cattern.layers import softmax_loss
from cattern.tuning import halving as sh
from cattern.tuning.results import DIVERGED, OK, ResultsLog, run_key, sort_rows, train_seed, write_csv
from cattern.tuning.space import edge_warnings

BACKENDS = ("loky", "dask")
# At most this many bytes of paused runs (pickled trainers) are kept between
# halving's rungs; a run past it starts again from scratch at its next rung.
PAUSED_BYTES = 2**30


@dataclass
class SearchOutcome:
    """What a search found.

    - results: rows (see :mod:`cattern.tuning.results`) sorted best first
    - best_config: the config of the best full-budget run, or None if all diverged
    - best_model: the best config's trained net
    - best_row: the best run's row
    - edge_warnings: options whose best value is the smallest or largest searched
    """

    results: list
    best_config: dict | None = None
    best_model: object = None
    best_row: dict | None = None
    edge_warnings: list = field(default_factory=list)


# ----------------------------------------------------------------------
# One training run
# ----------------------------------------------------------------------

def check_config(config):
    """Raise ValueError unless ``config`` is a dict of valid ExperimentConfig options."""
    if not isinstance(config, dict):
        raise ValueError(f"a config must be a dict of option names to values; got {config!r}")
    if "seed" in config:
        raise ValueError(
            f"config {config} sets 'seed', but a search derives each run's seed from the "
            "config and the search seed; pass seed= to run_search instead"
        )
    ExperimentConfig.from_dict({**config, "seed": 0})  # raises, naming the bad option


def _train_one(config, data, seed, paused=None):
    """Train one config on ``data`` = (X, y, X_val, y_val) with ``seed``; return the trainer.

    With ``paused``, a trainer of the same config stopped after fewer
    iterations, go on from there to ``config["num_iters"]`` instead: the
    same run, bit for bit (:meth:`cattern.trainer.Trainer.extend`).
    """
    X, y, X_val, y_val = data
    if paused is None:
        trainer = build_trainer(ExperimentConfig.from_dict({**config, "seed": seed}), X, y, y_val)
    else:
        trainer = paused
        trainer.extend(config["num_iters"])
    trainer.fit(X, y, X_val, y_val)
    return trainer


def _train_limited(config, data, seed, blas_threads, paused=None):
    """:func:`_train_one` with BLAS limited to ``blas_threads`` threads in this process.

    The limit is set here, inside the worker, since a parent's limit does not
    reach a worker process; and every run of a search gets the same limit,
    since OpenBLAS's results change in the last bits with its thread count.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return _train_one(config, data, seed, paused)


def _run(config, iters, seed, data, blas_threads, paused_pickle=None):
    """Train ``config`` for ``iters`` iterations in a worker, going on from
    ``paused_pickle`` (a pickled trainer of a shorter run of it) when given.

    Returns (outcome dict, trainer or None). The trainer comes back whole, so
    that a later, longer run of the config can go on from it.
    """
    start = time.perf_counter()
    # The paused trainer travels pickled: joblib would hand its large arrays
    # to the worker as read-only memory maps, and training writes to them.
    paused = pickle.loads(paused_pickle) if paused_pickle is not None else None
    resumed_from = paused.steps_done if paused is not None else None
    try:
        trainer = _train_limited({**config, "num_iters": iters}, data, seed, blas_threads, paused)
    except DivergedError as err:
        return {"status": DIVERGED, "val_acc": None, "val_loss": None, "train_acc": None,
                "seconds": time.perf_counter() - start, "resumed_from": resumed_from, "error": str(err)}, None
    _, _, X_val, y_val = data
    scores = trainer.model.loss(X_val)                                    # (N_val, C)
    val_loss, _ = softmax_loss(scores.astype(np.float64), y_val)
    outcome = {"status": OK, "val_acc": float(np.mean(np.argmax(scores, axis=1) == y_val)),
               "val_loss": float(val_loss), "train_acc": trainer.history["train_acc_history"][-1],
               "seconds": time.perf_counter() - start, "resumed_from": resumed_from, "error": None}
    return outcome, trainer


# ----------------------------------------------------------------------
# Many runs: serial, loky workers, or a dask cluster
# ----------------------------------------------------------------------

class _Runner:
    """Trains lists of (config, iters) tasks, skipping and recording runs in ``log``."""

    def __init__(self, data, seed, log, n_jobs, backend, scheduler, progress, blas_threads):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}")
        if backend == "dask" and scheduler is None:
            raise ValueError("the dask backend needs a scheduler address, e.g. scheduler='tcp://10.0.0.5:8786'")
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
            raise ValueError(f"n_jobs must be a positive number of workers, or -1 for all cores; got {n_jobs!r}")
        if isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1:
            raise ValueError(f"blas_threads must be a positive integer; got {blas_threads!r}")
        self.data, self.seed, self.log, self.blas_threads = data, seed, log, blas_threads
        self.n_jobs, self.backend, self.scheduler, self.progress = n_jobs, backend, scheduler, progress
        self.models = {}  # key -> model, for full runs trained by this process
        # config key -> (iterations done, pickled trainer): shorter runs that a
        # longer run of the same config (halving's next rung) goes on from.
        self.paused = {}

    def run(self, tasks, rung=None, desc="search"):
        """Train each (config, iters) not yet in the log; return the rows of all tasks, in task order."""
        keys = [run_key(config, self.seed, iters) for config, iters in tasks]
        todo = [(key, config, iters) for key, (config, iters) in zip(keys, tasks)
                if self.log.get(key) is None]
        todo = list({key: (key, c, i) for key, c, i in todo}.values())  # the same run once
        # Paused runs of configs not asked for again (halving dropped them) go.
        wanted = {run_key(config, self.seed) for config, _ in tasks}
        self.paused = {k: v for k, v in self.paused.items() if k in wanted}
        bar = tqdm(total=len(todo), desc=desc, unit="run", disable=not self.progress or not todo)
        for (key, config, iters), (outcome, trainer) in self._map(todo):
            full = config["num_iters"]
            self.log.append({
                "key": key, "config": config, "seed": self.seed,
                "train_seed": train_seed(config, self.seed), "iters": iters,
                "budget": iters / full, "rung": rung, **outcome,
            })
            if trainer is not None:
                self._keep(key, config, iters, trainer)
            bar.update(1)
            if outcome["val_acc"] is not None:
                bar.set_postfix_str(f"last val {outcome['val_acc']:.4f}", refresh=False)
        bar.close()
        return [self.log.get(key) for key in keys]

    def _keep(self, key, config, iters, trainer):
        """Keep what later runs need: a full run's model, a shorter run's trainer to go on from."""
        config_key = run_key(config, self.seed)
        if iters == config["num_iters"]:
            self.models[key] = trainer.model
            self.paused.pop(config_key, None)
        elif trainer.can_extend():
            blob = pickle.dumps(trainer, protocol=pickle.HIGHEST_PROTOCOL)
            # Past the limit a run is not kept; its next rung trains from
            # scratch, which costs time but gives the same numbers.
            if sum(len(b) for _, b in self.paused.values()) + len(blob) <= PAUSED_BYTES:
                self.paused[config_key] = (iters, blob)

    def _paused(self, config, iters):
        """(iterations done, pickled trainer) of a shorter run of ``config`` to go on from, or (0, None)."""
        done, blob = self.paused.get(run_key(config, self.seed), (0, None))
        return (done, blob) if done < iters else (0, None)

    def _map(self, todo):
        """Yield (task, (outcome, trainer)) as each task finishes."""
        if not todo:
            return
        # Longest runs first, so that no worker sits idle at the end while
        # another finishes a long run; the order changes no number.
        paused = {key: self._paused(config, iters) for key, config, iters in todo}
        todo = sorted(todo, key=lambda task: -_cost(task[1], task[2] - paused[task[0]][0]))
        args = [(config, iters, train_seed(config, self.seed), paused[key][1]) for key, config, iters in todo]
        if self.backend == "loky" and (self.n_jobs == 1 or len(todo) == 1):
            for task, (config, iters, seed, paused) in zip(todo, args):  # one run at a time, in this process
                yield task, _run(config, iters, seed, self.data, self.blas_threads, paused)
            return
        yield from self._map_parallel(todo, args)

    def _map_parallel(self, todo, args):
        from joblib import Parallel, delayed, parallel_config

        X, y, X_val, y_val = self.data
        threads = self.blas_threads
        if self.backend == "loky":
            # workers x threads = cores, unless asked for fewer workers.
            cores = os.cpu_count() or 1
            workers = max(1, cores // threads) if self.n_jobs == -1 else self.n_jobs
            context, client = parallel_config(backend="loky", n_jobs=min(workers, len(todo))), None
        else:
            from distributed import Client

            client = Client(self.scheduler, set_as_default=False)
            # Scatter the data to every worker once, not with each task.
            context = parallel_config(backend="dask", n_jobs=self.n_jobs, client=client,
                                      scatter=[X, y, X_val, y_val])
        try:
            with context:
                # Each task runs for seconds: dispatch them one by one, in
                # order, and take results as they finish.
                results = Parallel(batch_size=1, return_as="generator_unordered")(
                    delayed(_run_indexed)(i, config, iters, seed, X, y, X_val, y_val, threads, paused)
                    for i, (config, iters, seed, paused) in enumerate(args)
                )
                for index, result in results:
                    yield todo[index], result
        finally:
            if client is not None:
                client.close()


def _cost(config, iters):
    """A rough cost of a run, for the dispatch order: iterations x batch x hidden units."""
    return iters * config.get("batch_size", 1) * config.get("hidden_size", 1)


def _run_indexed(index, config, iters, seed, X, y, X_val, y_val, blas_threads, paused_pickle):
    """:func:`_run` tagged with the task's index, so unordered results find their task."""
    return index, _run(config, iters, seed, (X, y, X_val, y_val), blas_threads, paused_pickle)


# ----------------------------------------------------------------------
# The search
# ----------------------------------------------------------------------

def run_search(configs, X_train, y_train, X_val, y_val, *, seed=0, n_jobs=-1, backend="loky",
               scheduler=None, results_path=None, halving=False, eta=3, min_iters=200,
               blas_threads=1, progress=True):
    """Train each config and rank them by validation accuracy.

    Inputs:
    - configs: a list of config dicts (see :mod:`cattern.tuning.space`)
    - X_train: (N, D) preprocessed training inputs; y_train: (N,) labels
    - X_val: (N_val, D) validation inputs; y_val: (N_val,) labels.
      The test set is never an argument: choosing on it would leak it.
    - seed: the search seed; each run's seed derives from it and the config
    - n_jobs: worker processes (-1: one per core, or every dask worker)
    - backend: "loky" (processes on this machine) or "dask" (a cluster)
    - scheduler: the dask scheduler address, for backend="dask"
    - results_path: JSON-lines file of finished runs; runs already in it are
      skipped, and the sorted table is written beside it as ``.csv``
    - halving: successive halving instead of training every config fully
    - eta, min_iters: halving's reduction factor and smallest rung, in iterations
    - blas_threads: BLAS threads of every run. The numbers depend on it (in
      the last bits) but not on n_jobs or the backend; n_jobs=-1 starts
      cores // blas_threads workers
    - progress: show a progress bar

    Returns a :class:`SearchOutcome`.
    """
    configs = _check_configs(configs)
    data = _check_data(configs, X_train, y_train, X_val, y_val)
    log = ResultsLog(results_path)
    runner = _Runner(data, seed, log, n_jobs, backend, scheduler, progress, blas_threads)

    if halving:
        rows = sh.successive_halving(configs, runner.run, eta=eta, min_iters=min_iters)
    else:
        rows = runner.run([(config, config["num_iters"]) for config in configs])
    rows = sort_rows(list({row["key"]: row for row in rows}.values()))
    if results_path is not None:
        write_csv(os.path.splitext(results_path)[0] + ".csv", rows)
    return _outcome(configs, rows, runner)


def _check_configs(configs):
    configs = [dict(c) if isinstance(c, dict) else c for c in configs]
    if not configs:
        raise ValueError("no configs to search; give at least one")
    for config in configs:
        check_config(config)
        # Written out, so the results say how long each run trained.
        config.setdefault("num_iters", ExperimentConfig.num_iters)
    return configs


def _check_data(configs, X, y, X_val, y_val):
    """The data as arrays, X converted once to the configs' dtype when they share one."""
    X, X_val = np.asarray(X), np.asarray(X_val)
    y, y_val = np.asarray(y), np.asarray(y_val)
    for name, inputs, labels in (("X_train", X, y), ("X_val", X_val, y_val)):
        if inputs.ndim != 2:
            raise ValueError(f"{name} must be (N, D) rows; got shape {inputs.shape}. "
                             "Reshape images with X.reshape(len(X), -1)")
        if labels.shape != (inputs.shape[0],):
            raise ValueError(f"{name} has {inputs.shape[0]} rows but its labels have shape {labels.shape}")
    if X.shape[1] != X_val.shape[1]:
        raise ValueError(f"X_train has {X.shape[1]} features but X_val has {X_val.shape[1]}")
    dtypes = {config.get("dtype", ExperimentConfig.dtype) for config in configs}
    if len(dtypes) == 1:
        # One conversion here instead of one per run in each worker.
        dtype = dtypes.pop()
        X, X_val = np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(X_val, dtype=dtype)
    return X, y, X_val, y_val


def _outcome(configs, rows, runner):
    full = [row for row in rows if row["status"] == OK and row["budget"] == 1.0]
    if not full:
        return SearchOutcome(results=rows)
    best = full[0]
    model = runner.models.get(best["key"])
    if model is None:
        # The best run came from a resumed file: train it again, which gives
        # the same net since its seed derives from its config.
        model = _train_limited(best["config"], runner.data, best["train_seed"], runner.blas_threads).model
    return SearchOutcome(results=rows, best_config=best["config"], best_model=model, best_row=best,
                         edge_warnings=edge_warnings(configs, best["config"]))
