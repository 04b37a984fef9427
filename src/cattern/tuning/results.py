"""The results of a search: one row per finished training run.

A row is a dict::

    key         stable hash of (config, search seed, iterations), see run_key
    config      the config dict
    seed        the search seed
    train_seed  the seed the run trained with, derived from config and search seed
    iters       iterations trained (less than config["num_iters"] in a halving rung)
    budget      iters as a fraction of the config's full training (1.0 when full)
    rung        the successive-halving rung, or None outside halving
    status      "ok" or "diverged"
    val_acc     validation accuracy of the trained net (None when diverged)
    val_loss    its mean softmax cross-entropy on the validation set, which breaks
                ties of val_acc (None when diverged)
    train_acc   accuracy on the trainer's fixed subset of training examples
    seconds     wall time of the training run (of its new iterations, when resumed)
    resumed_from  the iterations of the shorter run of the config this run went
                on from (halving's previous rung), or None when it trained from
                the start; either way its numbers are the same
    error       the DivergedError message, or None

The results file is JSON lines, one row per line, appended as each run
finishes and fsync'd, so an interrupted search loses at most the runs in
flight and a rerun skips every key already there. The sorted table is
exported as CSV, written whole to a temporary file and renamed into place.
"""
import csv
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from cattern.atomic import atomic_write

OK, DIVERGED = "ok", "diverged"


def plain(value):
    """``value`` with NumPy scalars turned into Python ones, so that it is JSON-able."""
    return value.item() if isinstance(value, np.generic) else value


def run_key(config, seed, iters=None):
    """A stable 16-hex-digit key for training ``config`` under the search ``seed``.

    ``iters`` is part of the key only when it differs from the config's own
    ``num_iters`` (a truncated halving run), so a full run has one key whether
    a grid or a halving search trained it.
    """
    config = {name: plain(value) for name, value in config.items()}
    identity = {"config": sorted(config.items()), "seed": plain(seed)}
    if iters is not None and iters != config.get("num_iters"):
        identity["iters"] = int(iters)
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def train_seed(config, seed):
    """The training seed of ``config`` in a search with ``seed``: a 32-bit int.

    It depends on the config and the search seed only, never on the config's
    position or on the worker that trains it, so a parallel search gives the
    same numbers as a serial one, and a halving rung's run is the first
    ``iters`` steps of the config's full run.
    """
    return int(run_key(config, seed), 16) >> 32


def score(row):
    """How good a finished run is, smaller first: higher validation accuracy, then lower
    validation loss (nets stuck on the loss plateau all predict one class and tie on accuracy)."""
    return (-row["val_acc"], row.get("val_loss") or 0.0)


def sort_rows(rows):
    """Rows best first: finished runs before diverged ones, fuller budgets first,
    then by :func:`score` (ties by key, so the order is reproducible)."""
    def rank(row):
        ok = row["status"] == OK
        return (not ok, -row["budget"], score(row) if ok else (0.0, 0.0), row["key"])
    return sorted(rows, key=rank)


class ResultsLog:
    """The rows of a search, kept in memory and, given a path, in a JSON-lines file.

    Opening an existing file reads its rows, so :meth:`get` finds the runs a
    previous, perhaps interrupted, search finished.
    """

    def __init__(self, path=None):
        self.path = None if path is None else Path(path)
        self.rows = {}
        if self.path is not None and self.path.exists():
            _drop_cut_short_row(self.path)
            for row in read_rows(self.path):
                self.rows[row["key"]] = row

    def get(self, key):
        """The row with ``key``, or None if that run has not finished."""
        return self.rows.get(key)

    def append(self, row):
        """Record a finished run: in memory, and appended to the file, flushed and fsync'd."""
        self.rows[row["key"]] = row
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as f:
            f.write((json.dumps(row, default=plain) + "\n").encode())
            f.flush()
            os.fsync(f.fileno())


def _parse_row(line):
    """The row a line holds, or None if it is not a whole row."""
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) and "key" in row else None


def _drop_cut_short_row(path):
    """Cut a partial last line (a run killed while writing its row) off the file.

    That run is trained again; without the cut, the next row appended would
    be glued to the fragment. A whole last row missing only its newline gets
    the newline instead.
    """
    with open(path, "r+b") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        tail = data[end:]
        if not tail.strip():
            return
        if _parse_row(tail) is None:
            f.truncate(end)
        else:
            f.write(b"\n")
        f.flush()
        os.fsync(f.fileno())


def read_rows(path):
    """The rows of a JSON-lines results file.

    A last line that does not parse is skipped (a row cut short by an
    interrupted run, which will be trained again); any other line that does
    not parse means the file is damaged, and raises ValueError.
    """
    lines = Path(path).read_bytes().split(b"\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = _parse_row(line)
        if row is None:
            if all(not rest.strip() for rest in lines[number:]):
                continue  # the cut-short last row
            raise ValueError(
                f"results file {path} line {number} is not a results row: {line[:80]!r}. "
                "Move the file aside to start the search afresh"
            )
        rows.append(row)
    return rows


def config_columns(rows):
    """Config option names across ``rows``, in first-seen order."""
    names = {}
    for row in rows:
        names.update(dict.fromkeys(row["config"]))
    return list(names)


_STAT_COLUMNS = ["val_acc", "val_loss", "train_acc", "status", "iters", "budget", "rung", "seconds", "resumed_from"]
_ID_COLUMNS = ["seed", "train_seed", "key", "error"]


def write_csv(path, rows):
    """Write the rows (already sorted) as a CSV table with a rank column, atomically."""
    path = Path(path)
    names = config_columns(rows)
    header = ["rank"] + _STAT_COLUMNS + names + _ID_COLUMNS
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for rank, row in enumerate(rows, start=1):
            cells = [row.get(c) for c in _STAT_COLUMNS] + [row["config"].get(n) for n in names]
            cells += [row.get(c) for c in _ID_COLUMNS]
            writer.writerow([rank] + ["" if c is None else c for c in cells])


def format_table(rows, limit=None):
    """The rows (already sorted) as an aligned text table, best first.

    Only the config options that vary across the rows get a column: the
    fixed ones say nothing about the ranking. ``limit`` keeps the first rows.
    """
    names = config_columns(rows)
    varying = [n for n in names if len({json.dumps(r["config"].get(n), default=plain) for r in rows}) > 1]
    header = ["rank", "val_acc", "train_acc"] + varying + ["iters", "seconds", "status"]
    shown = rows if limit is None else rows[:limit]
    table = [header]
    for rank, row in enumerate(shown, start=1):
        table.append(
            [str(rank), _fmt_acc(row["val_acc"]), _fmt_acc(row["train_acc"])]
            + [_fmt(row["config"].get(n)) for n in varying]
            + [str(row["iters"]), f"{row['seconds']:.1f}", row["status"]]
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in table]
    if limit is not None and len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more rows")
    return "\n".join(lines)


def _fmt_acc(value):
    return "-" if value is None else f"{value:.4f}"


def _fmt(value):
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)
