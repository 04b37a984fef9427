"""The results of a search: one row per finished training run, checked when read.

A row is a dict, made by :func:`make_row`::

    key         what the run was, hashed (see run_key): its full config, the
                search seed, the iterations, the BLAS threads and the data's
                fingerprint; a row is reused only for the very same run
    config      the run's config dict, every option written out (the seed aside),
                and its "replica" number when it has one
    seed        the search seed
    train_seed  the seed the run trained with, derived from the config (replica
                included) and the search seed
    iters       iterations trained (less than config["num_iters"] in a halving rung)
    budget      iters as a fraction of the config's full training (1.0 when full)
    rung        the successive-halving rung, or None outside halving
    status      "ok" or "diverged"
    val_acc     validation accuracy of the trained net, in [0, 1] (None when diverged)
    val_loss    its mean softmax cross-entropy on the validation set, which breaks
                ties of val_acc (None when diverged)
    train_acc   accuracy on the trainer's fixed subset of training examples
    seconds     wall time of the training run (of its new iterations, when resumed)
    resumed_from  the iterations of the shorter run of the config this run went
                on from (halving's previous rung), or None when it trained from
                the start; either way its numbers are the same
    error       the DivergedError message, or None
    findings    the training doctor's findings on the run (see
                :mod:`cattern.diagnosis.doctor`): a list of {"code", "severity",
                "sentence"}, empty for a healthy run; absent from rows written
                before the doctor

The results file is JSON lines, one row per line, appended as each run
finishes and fsync'd, so an interrupted search loses at most the runs in
flight and a rerun skips every key already there. Every row read back is
checked (:func:`check_row`): a damaged row in the middle is an error naming
its line; a torn or garbage LAST line (a run killed while writing) is cut
off before anything is appended. A lock on the file keeps two searches from
writing it at once. The sorted table is exported as CSV, written whole to a
temporary file and renamed into place.
"""
import csv
import hashlib
import json
import math
import numbers
import os
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from cattern.atomic import atomic_write
from cattern.experiment import ExperimentConfig

OK, DIVERGED = "ok", "diverged"


def plain(value):
    """``value`` with NumPy scalars turned into Python ones, so that it is JSON-able."""
    return value.item() if isinstance(value, np.generic) else value


def resolve(config):
    """``config`` (a dict of options) with every option written out: ExperimentConfig's
    defaults filled in, values in their field's type, the seed left out (the
    search derives it). So spelling out a default (the model's own initial std
    too), or writing 1 for 1.0, names the same run.

    Besides the options, a config may hold ``"replica": k`` (an integer >= 0):
    the k-th run of the same options, with a seed of its own. A replay of the
    seed's loop, which trained some configs twice, uses it.
    """
    options = dict(config)
    replica = options.pop("replica", None)
    if "seed" in options:
        raise ValueError(f"config {config} sets 'seed', but a search derives each run's seed from the "
                         "config and the search seed; give the search seed instead (--seed), or a "
                         "'replica' number to run the same options again")
    cfg = ExperimentConfig.from_dict({**options, "seed": 0})  # raises, naming a bad option
    if cfg.ensemble != 1:
        raise ValueError(f"ensemble={cfg.ensemble}: a search trains and ranks single nets; search the net, "
                         f"then train an ensemble of the best with cattern train --ensemble")
    if cfg.train_on_validation:
        raise ValueError("train_on_validation=True: a search ranks configs by their validation accuracy, "
                         "which a net trained on the validation images cannot have; search without it, "
                         "then train the best with cattern train --train-on-validation true")
    if cfg.ensemble_jobs != 1:
        raise ValueError(f"ensemble_jobs={cfg.ensemble_jobs}: a search trains single nets; to train "
                         f"several at once, give the search workers (--n-jobs)")
    full = {**cfg.to_dict(), "std": cfg.initial_std()}
    del full["seed"]
    if replica is not None:
        if isinstance(replica, bool) or not isinstance(replica, numbers.Integral) or replica < 0:
            raise ValueError(f"replica must be an integer >= 0; got {replica!r}")
        full["replica"] = int(replica)
    return full


def options_of(config):
    """The ExperimentConfig options of a resolved config (its "replica" left out)."""
    return {name: value for name, value in config.items() if name != "replica"}


# Fields added to ExperimentConfig after searches were first logged: left out of a
# run's identity while they hold their defaults, so that the keys and training
# seeds of the runs logged before them stay the same.
LATER_FIELDS = {"label_smoothing": 0.0, "ensemble": 1, "ensemble_jobs": 1, "deskew": False,
                "train_on_validation": False, "augment_scale_each_axis": False, "augment_thickness": 0.0,
                "ema_decay": 0.0, "clean_epochs": 0.0}


def _identity(config):
    return {name: value for name, value in config.items()
            if not (name in LATER_FIELDS and value == LATER_FIELDS[name])}


def _hash(identity):
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_key(config, seed, iters=None, *, data="", blas_threads=1):
    """A stable 16-hex-digit key for one training run of a search.

    Inputs:
    - config: the run's resolved config (:func:`resolve`)
    - seed: the search seed
    - iters: the iterations trained, if fewer than ``config["num_iters"]``
      (a halving rung); a full run has one key whether a grid or a halving
      search trained it
    - data: the fingerprint of the training and validation data
      (:attr:`cattern.data.splits.Split.fingerprint`)
    - blas_threads: BLAS threads of the run, which change its numbers' last bits
    """
    identity = {"config": _identity(config), "seed": plain(seed), "data": data, "blas_threads": blas_threads}
    if iters is not None and iters != config["num_iters"]:
        identity["iters"] = int(iters)
    return _hash(identity)


def train_seed(config, seed):
    """The training seed of ``config`` in a search with ``seed``: a 32-bit int.

    Derived from the resolved config (its replica number included) and the
    search seed only, never from the config's position or the worker that
    trains it, so a parallel search gives the same numbers as a serial one,
    and a halving rung's run is the first ``iters`` steps of the config's
    full run.
    """
    return int(_hash({"config": _identity(config), "seed": plain(seed)}), 16) >> 32


def make_row(key, config, seed, iters, rung, outcome):
    """The row of one finished run (see the module docstring).

    ``outcome`` holds status, val_acc, val_loss, train_acc, seconds,
    resumed_from, error and findings. A run whose validation accuracy or loss is not
    finite is recorded as diverged: results never hold NaN.
    """
    if outcome["status"] == OK and not all(math.isfinite(outcome[name]) for name in ("val_acc", "val_loss")):
        outcome = {**outcome, "status": DIVERGED, "val_acc": None, "val_loss": None,
                   "error": f"the validation loss was {outcome['val_loss']}: the net's scores overflowed"}
    return {"key": key, "config": config, "seed": seed, "train_seed": train_seed(config, seed),
            "iters": iters, "budget": iters / config["num_iters"], "rung": rung, **outcome}


# What check_row accepts in each field: a test of the value and the words for it.
def _is_count(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0


def _is_finite(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_fraction(v):
    return _is_finite(v) and 0 <= v <= 1


_FIELDS = {
    "key": (lambda v: isinstance(v, str) and len(v) == 16, "a 16-character key"),
    "config": (lambda v: isinstance(v, dict), "a config object"),
    "seed": (_is_count, "an integer >= 0"),
    "train_seed": (_is_count, "an integer >= 0"),
    "iters": (lambda v: _is_count(v) and v > 0, "a positive integer"),
    "budget": (lambda v: _is_finite(v) and 0 < v <= 1, "a fraction in (0, 1]"),
    "rung": (lambda v: v is None or _is_count(v), "null or an integer >= 0"),
    "status": (lambda v: v in (OK, DIVERGED), f"{OK!r} or {DIVERGED!r}"),
    "seconds": (lambda v: _is_finite(v) and v >= 0, "a number of seconds >= 0"),
    "resumed_from": (lambda v: v is None or _is_count(v), "null or an integer >= 0"),
    "error": (lambda v: v is None or isinstance(v, str), "null or a message"),
}
_FINDING_KEYS = ("code", "severity", "sentence")


def _is_findings(v):
    return isinstance(v, list) and all(
        isinstance(f, dict) and set(f) == set(_FINDING_KEYS) and all(isinstance(f[k], str) for k in _FINDING_KEYS)
        for f in v)


# Fields a row may lack: rows written before they existed are still read.
_OPTIONAL = {
    "findings": (_is_findings, 'a list of {"code", "severity", "sentence"} strings'),
}
_SCORES = {
    "val_acc": (_is_fraction, "an accuracy in [0, 1]"),
    "train_acc": (_is_fraction, "an accuracy in [0, 1]"),
    "val_loss": (lambda v: _is_finite(v) and v >= 0, "a finite loss >= 0"),
}


def check_row(row):
    """Raise ValueError, naming the field, unless ``row`` is a well-formed results row."""
    if not isinstance(row, dict):
        raise ValueError(f"a row must be a JSON object; got {type(row).__name__}")
    for name, (ok, words) in _FIELDS.items():
        if name not in row:
            raise ValueError(f"the row has no {name!r}")
        if not ok(row[name]):
            raise ValueError(f"{name!r} must be {words}; got {row[name]!r}")
    for name, (ok, words) in _OPTIONAL.items():
        if name in row and not ok(row[name]):
            raise ValueError(f"{name!r} must be {words}; got {row[name]!r}")
    for name, (ok, words) in _SCORES.items():
        value = row.get(name)
        if row["status"] == OK and not ok(value):
            raise ValueError(f"{name!r} must be {words} in a finished run; got {value!r}")
        if row["status"] == DIVERGED and value is not None:
            raise ValueError(f"{name!r} must be null in a diverged run; got {value!r}")
    return row


def score(row):
    """How good a finished run is, smaller first: higher validation accuracy, then lower
    validation loss (nets stuck on the loss plateau all predict one class and tie on accuracy)."""
    return (-row["val_acc"], row["val_loss"])


def sort_rows(rows):
    """Rows best first: finished runs before diverged ones, fuller budgets first,
    then by :func:`score` (ties by key, so the order is reproducible)."""
    def rank(row):
        ok = row["status"] == OK
        return (not ok, -row["budget"], score(row) if ok else (0.0, 0.0), row["key"])
    return sorted(rows, key=rank)


class ResultsLog:
    """The rows of a search, kept in memory and, given a path, in a JSON-lines file.

    Opening an existing file reads and checks its rows, so :meth:`get` finds
    the runs a previous, perhaps interrupted, search finished. With a path,
    use it as a context manager: it holds a lock on ``<path>.lock`` while
    open, and a second search on the same file is refused at once.
    """

    def __init__(self, path=None):
        self.path = None if path is None else Path(path)
        self.rows = {}
        self._lock = None

    def __enter__(self):
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(f"{self.path}.lock")
            try:
                self._lock.acquire(timeout=0)
            except Timeout:
                raise RuntimeError(f"another search is writing {self.path} (its lock {self.path}.lock is "
                                   "held); wait for it to finish, or give this one another --out") from None
            if self.path.exists():
                _repair_last_line(self.path)
                self.rows = {row["key"]: row for row in read_rows(self.path)}
        return self

    def __exit__(self, *exc):
        if self._lock is not None:
            self._lock.release()

    def get(self, key):
        """The row with ``key``, or None if that run has not finished."""
        return self.rows.get(key)

    def append(self, row):
        """Record a finished run: in memory, and appended to the file, flushed and fsync'd."""
        check_row(row)
        self.rows[row["key"]] = row
        if self.path is None:
            return
        with open(self.path, "ab") as f:
            f.write((json.dumps(row, default=plain, allow_nan=False) + "\n").encode())
            f.flush()
            os.fsync(f.fileno())


def _parse_row(line):
    """The row a line holds, or None if it is not a whole, well-formed row."""
    try:
        return check_row(json.loads(line))
    except ValueError:
        return None


def _repair_last_line(path):
    """Cut a torn or garbage last line (a run killed while writing its row) off the file.

    That run is trained again; without the cut, the next row appended would
    be glued to the fragment, or follow a line the next reading refuses. A
    whole last row missing only its newline gets the newline instead.
    """
    with open(path, "r+b") as f:
        data = f.read()
        body = data.rstrip(b"\n")
        start = body.rfind(b"\n") + 1
        last = body[start:]
        if not last.strip():
            return
        if _parse_row(last) is None:
            f.truncate(start)
        elif not data.endswith(b"\n"):
            f.write(b"\n")
        else:
            return
        f.flush()
        os.fsync(f.fileno())


def read_rows(path):
    """The rows of a JSON-lines results file, each checked.

    A last line that is not a whole row is skipped (a row cut short by an
    interrupted run, which will be trained again); any other line that is
    not a well-formed row means the file is damaged, and raises ValueError
    naming the line and what is wrong with it.
    """
    lines = Path(path).read_bytes().split(b"\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(check_row(json.loads(line)))
        except ValueError as err:
            if number - 1 == last:
                continue  # the cut-short last row
            raise ValueError(
                f"results file {path} line {number} is not a results row ({err}): {line[:80]!r}. "
                "Move the file aside to start the search afresh") from None
    return rows


def config_columns(rows):
    """Config option names across ``rows``, in first-seen order."""
    names = {}
    for row in rows:
        names.update(dict.fromkeys(row["config"]))
    return list(names)


_STAT_COLUMNS = ["val_acc", "val_loss", "train_acc", "status", "iters", "budget", "rung", "seconds", "resumed_from"]
_ID_COLUMNS = ["seed", "train_seed", "key", "error"]


def finding_codes(row):
    """The codes of the doctor's findings on a row, comma-separated: "-" for none,
    "n/a" for a row written before the doctor."""
    if "findings" not in row:
        return "n/a"
    return ",".join(f["code"] for f in row["findings"]) or "-"


def write_csv(path, rows):
    """Write the rows (already sorted) as a CSV table with a rank column, atomically."""
    path = Path(path)
    names = config_columns(rows)
    header = ["rank"] + _STAT_COLUMNS + ["findings"] + names + _ID_COLUMNS
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for rank, row in enumerate(rows, start=1):
            cells = [row.get(c) for c in _STAT_COLUMNS] + [finding_codes(row)]
            cells += [row["config"].get(n) for n in names]
            cells += [row.get(c) for c in _ID_COLUMNS]
            writer.writerow([rank] + ["" if c is None else c for c in cells])


def format_table(rows, limit=None):
    """The rows (already sorted) as an aligned text table, best first, with the
    codes of the doctor's findings on each run.

    Only the config options that vary across the rows get a column: the
    fixed ones say nothing about the ranking. ``limit`` keeps the first rows
    (None or a negative number: all of them).
    """
    names = config_columns(rows)
    varying = [n for n in names if len({json.dumps(r["config"].get(n), default=plain) for r in rows}) > 1]
    header = ["rank", "val_acc", "train_acc"] + varying + ["iters", "seconds", "status", "findings"]
    if limit is not None and limit < 0:
        limit = None
    shown = rows if limit is None else rows[:limit]
    table = [header]
    for rank, row in enumerate(shown, start=1):
        table.append(
            [str(rank), _fmt_acc(row["val_acc"]), _fmt_acc(row["train_acc"])]
            + [_fmt(row["config"].get(n)) for n in varying]
            + [str(row["iters"]), f"{row['seconds']:.1f}", row["status"], finding_codes(row)]
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in table]
    if len(rows) > len(shown):
        lines.append(f"... {len(rows) - len(shown)} more rows")
    return "\n".join(lines)


def _fmt_acc(value):
    return "-" if value is None else f"{value:.4f}"


def _fmt(value):
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)
