"""Run a search: train every config, in parallel, resumable, and rank them.

Each config trains in a worker (:mod:`cattern.tuning.executors`: this
process, loky processes, or a Dask cluster). Its training seed comes from the
config and the search seed alone (:func:`cattern.tuning.results.train_seed`),
and every run uses the same number of BLAS threads (``blas_threads``, 1 by
default, the parallelism coming from the workers): OpenBLAS's sums depend on
its thread count, so with both fixed the numbers do not depend on the number
of workers, the backend, or the order runs finish in. Each finished run is
appended to the results file at once; a rerun with the same file skips the
runs already there, which it recognizes by a key covering everything that
decides their numbers (:func:`cattern.tuning.results.run_key`). A run whose
loss diverges is recorded as diverged and the search goes on.

Successive halving (``halving=True``) trains every config on a small budget,
keeps the best 1/eta, and trains those on to eta times the budget, going on
from where their runs stopped, until the best few reach their full budget;
see :mod:`cattern.tuning.halving`.
"""
import pickle
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from cattern.data.splits import fingerprint
from cattern.diagnosis import TrainingDoctor, diagnose, findings_summary
from cattern.errors import DivergedError
from cattern.experiment import ExperimentConfig, build_trainer, check_fits_in_memory
from cattern.layers import softmax_loss
from cattern.tuning import halving as sh
from cattern.tuning.executors import check_workers, map_tasks
from cattern.tuning.results import (
    DIVERGED,
    OK,
    ResultsLog,
    make_row,
    options_of,
    resolve,
    run_key,
    sort_rows,
    train_seed,
    write_csv,
)
from cattern.tuning.space import edge_warnings

# At most this many bytes of paused runs (pickled trainers) are kept between
# halving's rungs; a run past it starts again from scratch at its next rung.
PAUSED_BYTES = 2**30


@dataclass
class SearchOutcome:
    """What a search found.

    - results: rows (see :mod:`cattern.tuning.results`) sorted best first
    - best_config: the config of the best full-budget run, every option
      written out, or None if all diverged
    - best_options: the options of that config as the search gave them
    - best_model: the best config's trained net
    - best_history: its training history, with the doctor's signals under "doctor"
    - best_row: the best run's row
    - edge_warnings: options whose best value is the smallest or largest searched
    """

    results: list
    best_config: dict | None = None
    best_options: dict | None = None
    best_model: object = None
    best_history: dict | None = None
    best_row: dict | None = None
    edge_warnings: list = field(default_factory=list)

    def best_experiment_config(self):
        """The :class:`~cattern.experiment.ExperimentConfig` that rebuilds the best net exactly."""
        return ExperimentConfig.from_dict({**options_of(self.best_config), "seed": self.best_row["train_seed"]})


# ----------------------------------------------------------------------
# The configs
# ----------------------------------------------------------------------

def check_configs(configs):
    """The configs resolved (every option written out, see
    :func:`cattern.tuning.results.resolve`), each checked; ValueError names
    the first bad one.
    """
    configs = list(configs)
    if not configs:
        raise ValueError("no configs to search; give at least one")
    resolved = []
    for number, config in enumerate(configs, start=1):
        if not isinstance(config, dict):
            raise ValueError(f"config {number} must be a dict of option names to values; got {config!r}")
        try:
            resolved.append(resolve(config))
        except (TypeError, ValueError) as err:
            raise ValueError(f"config {number} of {len(configs)} ({config}): {err}") from None
    return resolved


def pixel_scale_of(configs):
    """The one pixel scale the configs train on; a search trains on one data set."""
    return _shared(configs, "pixel_scale", "pixel scales")


def deskew_of(configs):
    """Whether the configs train on deskewed digits: all do or none do, for the same reason."""
    return _shared(configs, "deskew", "deskew settings")


def _shared(configs, key, what):
    values = {config[key] for config in configs}
    if len(values) > 1:
        raise ValueError(f"the configs train on {what} {sorted(values)}, but a search trains on one "
                         f"data set; search each --{key.replace('_', '-')} on its own")
    return values.pop()


# ----------------------------------------------------------------------
# One training run, in a worker
# ----------------------------------------------------------------------

def _train_one(config, data, seed, paused=None):
    """Train one config on ``data`` = (X, y, X_val, y_val, mean_image) with ``seed``, watched by
    the training doctor; return the trainer.

    With ``paused``, a trainer of the same config stopped after fewer
    iterations (its doctor with it), go on from there to ``config["num_iters"]``
    instead: the same run, bit for bit (:meth:`cattern.trainer.Trainer.extend`).
    A run that diverges raises :class:`~cattern.errors.DivergedError` with the
    doctor's record of it in ``signals``.
    """
    X, y, X_val, y_val, mean_image = data
    if paused is None:
        cfg = ExperimentConfig.from_dict({**options_of(config), "seed": seed})
        trainer = build_trainer(cfg, X, y, y_val, callbacks=[TrainingDoctor(X, y)], mean_image=mean_image)
    else:
        trainer = paused
        trainer.extend(config["num_iters"])
    try:
        trainer.fit(X, y, X_val, y_val)
    except DivergedError as err:
        err.signals = _doctor(trainer).signals(err)
        raise
    return trainer


def _doctor(trainer):
    """The trainer's TrainingDoctor callback."""
    return next(cb for cb in trainer.callbacks if isinstance(cb, TrainingDoctor))


def _run(task, data, blas_threads):
    """Train a task = (config, iters, seed, paused_pickle) in a worker, BLAS limited to
    ``blas_threads`` threads in this process; go on from ``paused_pickle`` (a pickled
    trainer of a shorter run of the config) when given.

    Returns (outcome dict, trainer or None). The trainer comes back whole, so
    that a later, longer run of the config can go on from it.
    """
    from threadpoolctl import threadpool_limits

    config, iters, seed, paused_pickle = task
    start = time.perf_counter()
    # The paused trainer travels pickled: joblib would hand its large arrays
    # to the worker as read-only memory maps, and training writes to them.
    paused = pickle.loads(paused_pickle) if paused_pickle is not None else None
    resumed_from = paused.steps_done if paused is not None else None
    # The limit is set here, inside the worker: a parent's limit does not reach it.
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        try:
            trainer = _train_one({**config, "num_iters": iters}, data, seed, paused)
        except DivergedError as err:
            return {"status": DIVERGED, "val_acc": None, "val_loss": None, "train_acc": None,
                    "seconds": time.perf_counter() - start, "resumed_from": resumed_from,
                    "error": str(err), "findings": findings_summary(diagnose(err.signals, config))}, None
        _, _, X_val, y_val, _ = data
        scores = trainer.model.loss(X_val)                                    # (N_val, C)
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite loss marks the run diverged
        val_loss, _ = softmax_loss(scores.astype(np.float64), y_val)
    return {"status": OK, "val_acc": float(np.mean(np.argmax(scores, axis=1) == y_val)),
            "val_loss": float(val_loss), "train_acc": trainer.history["train_acc_history"][-1],
            "seconds": time.perf_counter() - start, "resumed_from": resumed_from, "error": None,
            "findings": findings_summary(diagnose(trainer.history["doctor"], config))}, trainer


# ----------------------------------------------------------------------
# Many runs, skipped when done and recorded when finished
# ----------------------------------------------------------------------

class _Runner:
    """Trains lists of (config, iters) tasks, skipping and recording runs in ``log``."""

    def __init__(self, data, seed, log, workers, progress, data_fingerprint):
        self.data, self.seed, self.log, self.workers, self.progress = data, seed, log, workers, progress
        self.data_fingerprint = data_fingerprint
        self.models = {}  # key -> (model, history), for full runs trained by this process
        # config key -> (iterations done, pickled trainer): shorter runs that a
        # longer run of the same config (halving's next rung) goes on from.
        self.paused = {}

    def key(self, config, iters=None):
        return run_key(config, self.seed, iters, data=self.data_fingerprint,
                       blas_threads=self.workers["blas_threads"])

    def run(self, tasks, rung=None, desc="search"):
        """Train each (config, iters) not yet in the log; return the rows of all tasks, in task order."""
        keys = [self.key(config, iters) for config, iters in tasks]
        todo = {key: (config, iters) for key, (config, iters) in zip(keys, tasks) if self.log.get(key) is None}
        # Paused runs of configs not asked for again (halving dropped them) go.
        wanted = {self.key(config) for config, _ in tasks}
        self.paused = {k: v for k, v in self.paused.items() if k in wanted}
        # Longest runs first, so that no worker sits idle at the end while
        # another finishes a long run; the order changes no number.
        order = sorted(todo, key=lambda key: -_cost(*todo[key], self._paused(*todo[key])[0]))
        jobs = [(config, iters, train_seed(config, self.seed), self._paused(config, iters)[1])
                for config, iters in (todo[key] for key in order)]
        bar = tqdm(total=len(jobs), desc=desc, unit="run", disable=not self.progress or not jobs)
        for index, (outcome, trainer) in map_tasks(_run, jobs, self.data, **self.workers):
            key = order[index]
            config, iters = todo[key]
            row = make_row(key, config, self.seed, iters, rung, outcome)
            self.log.append(row)
            if trainer is not None and row["status"] == OK:
                self._keep(key, config, iters, trainer)
            bar.update(1)
            if row["val_acc"] is not None:
                bar.set_postfix_str(f"last val {row['val_acc']:.4f}", refresh=False)
        bar.close()
        return [self.log.get(key) for key in keys]

    def _keep(self, key, config, iters, trainer):
        """Keep what later runs need: a full run's model, a shorter run's trainer to go on from."""
        config_key = self.key(config)
        if iters == config["num_iters"]:
            self.models[key] = (trainer.model, trainer.history)
            self.paused.pop(config_key, None)
        elif trainer.can_extend():
            blob = pickle.dumps(trainer, protocol=pickle.HIGHEST_PROTOCOL)
            # Past the limit a run is not kept; its next rung trains from
            # scratch, which costs time but gives the same numbers.
            if sum(len(b) for _, b in self.paused.values()) + len(blob) <= PAUSED_BYTES:
                self.paused[config_key] = (iters, blob)

    def _paused(self, config, iters):
        """(iterations done, pickled trainer) of a shorter run of ``config`` to go on from, or (0, None)."""
        done, blob = self.paused.get(self.key(config), (0, None))
        return (done, blob) if done < iters else (0, None)


def _cost(config, iters, done=0):
    """A rough cost of a run, for the dispatch order: new iterations x batch x hidden units."""
    return (iters - done) * config["batch_size"] * sum(ExperimentConfig.from_dict(
        {**options_of(config), "seed": 0}).hidden_widths())


# ----------------------------------------------------------------------
# The search
# ----------------------------------------------------------------------

def run_search(configs, X_train, y_train, X_val, y_val, *, seed=0, n_jobs=-1, backend="loky",
               scheduler=None, results_path=None, halving=False, eta=3, min_iters=200,
               blas_threads=1, progress=True, mean_image=None, data_fingerprint=None, log=None):
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
    - mean_image: (D,) the image subtracted from X, for configs that augment
    - data_fingerprint: identifies the data in the results' keys (a split's
      ``fingerprint``); None hashes the four arrays
    - log: a callable given one line, when every input has been checked and
      the search starts

    Returns a :class:`SearchOutcome`.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"the search seed must be an integer >= 0; got {seed!r}")
    check_workers(n_jobs, backend, scheduler, blas_threads)
    given = check_configs(configs)
    data = _check_data(given, X_train, y_train, X_val, y_val, mean_image)
    num_classes = max(2, int(np.max(data[1])) + 1, int(np.max(data[3])) + 1)
    for config in given:  # before any run starts: a net too large for the machine is refused
        check_fits_in_memory(ExperimentConfig.from_dict({**options_of(config), "seed": 0}), data[0].shape[1],
                             num_classes)
    if data_fingerprint is None:
        data_fingerprint = fingerprint(*data[:4])
    workers = {"n_jobs": n_jobs, "backend": backend, "scheduler": scheduler, "blas_threads": blas_threads}
    with ResultsLog(results_path) as results:
        if log is not None:
            log(f"searching {len(given)} configs{' with successive halving' if halving else ''}"
                + (f"; results in {results_path}" if results_path is not None else ""))
        runner = _Runner(data, seed, results, workers, progress, data_fingerprint)
        if halving:
            rows = sh.successive_halving(given, runner.run, eta=eta, min_iters=min_iters)
        else:
            rows = runner.run([(config, config["num_iters"]) for config in given])
        rows = sort_rows(list({row["key"]: row for row in rows}.values()))
        if results_path is not None:
            write_csv(str(results_path).removesuffix(".jsonl") + ".csv", rows)
    return _outcome(configs, given, rows, runner)


def _check_data(configs, X, y, X_val, y_val, mean_image):
    """(X, y, X_val, y_val, mean_image) as arrays, X converted once to the configs' dtype when they share one."""
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
    dtypes = {config["dtype"] for config in configs}
    if len(dtypes) == 1:
        # One conversion here instead of one per run in each worker.
        dtype = dtypes.pop()
        X, X_val = np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(X_val, dtype=dtype)
    return X, y, X_val, y_val, mean_image


def _outcome(configs, given, rows, runner):
    full = [row for row in rows if row["status"] == OK and row["budget"] == 1.0]
    if not full:
        return SearchOutcome(results=rows)
    best = full[0]
    if best["key"] not in runner.models:
        # The best run came from a resumed file: train it again, which gives
        # the same net since its seed derives from its config.
        trainer = _run((best["config"], best["iters"], best["train_seed"], None), runner.data,
                       runner.workers["blas_threads"])[1]
        runner.models[best["key"]] = (trainer.model, trainer.history)
    model, history = runner.models[best["key"]]
    # The edge warnings look at what was searched: the options as given.
    searched = [{name: config[name] for name in original if name != "replica"}
                for original, config in zip(configs, given)]
    best_searched = next(s for s, config in zip(searched, given) if config == best["config"])
    return SearchOutcome(results=rows, best_config=best["config"], best_options=best_searched,
                         best_model=model, best_history=history, best_row=best,
                         edge_warnings=edge_warnings(searched, best_searched))
