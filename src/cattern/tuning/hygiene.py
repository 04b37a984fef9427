"""What a search's rows say about the search: the doctor's findings per config, and its hygiene.

Each row carries the training doctor's findings on its run
(:mod:`cattern.diagnosis.doctor`). A config is judged on its longest run
(halving trains most configs only briefly). Besides the best values on the
edge of a range (:func:`cattern.tuning.space.edge_warnings`), two things
say a search was badly set up rather than unlucky: trials that diverged, and
configs whose loss never left the ln C plateau (the rates or the initial
weights too small for the inputs' scale).
"""
import json
from collections import Counter

from cattern.tuning.results import DIVERGED, plain


def _config_key(config):
    return json.dumps(config, sort_keys=True, default=plain)


def longest_runs(rows):
    """Each config's longest run, in the order of ``rows`` (best first when sorted)."""
    longest = {}
    for row in rows:
        key = _config_key(row["config"])
        if key not in longest or row["iters"] > longest[key]["iters"]:
            longest[key] = row  # a dict keeps a key where it was first put: the configs' order
    return list(longest.values())


def diagnosis_lines(rows):
    """Per finding code: in how many configs' longest runs it was found, and the sentence
    of the best-ranked of them. ``rows`` sorted best first."""
    runs = [row for row in longest_runs(rows) if "findings" in row]
    if not runs:
        return []
    counts = Counter(f["code"] for row in runs for f in row["findings"])
    lines = []
    for code, count in counts.most_common():
        rank, row = next((rank, row) for rank, row in enumerate(runs, start=1)
                         if any(f["code"] == code for f in row["findings"]))
        sentence = next(f["sentence"] for f in row["findings"] if f["code"] == code)
        lines.append(f"{code} in {count} of {len(runs)} configs; the best of them "
                     f"({_options(row, runs)}): {sentence}")
    healthy = sum(1 for row in runs if not row["findings"])
    lines.append(f"no warnings in {healthy} of {len(runs)} configs")
    return lines


def _varying(rows):
    names = {name for row in rows for name in row["config"]}
    return sorted(name for name in names
                  if len({json.dumps(row["config"].get(name), default=plain) for row in rows}) > 1)


def _options(row, rows):
    """The options of ``row``'s config that vary across ``rows``, as name=value."""
    return " ".join(f"{name}={row['config'].get(name)}" for name in _varying(rows)) or "the only config"


def _shared(subset, runs):
    """The option values every config of ``runs`` holding them is in ``subset`` with, as words."""
    words = []
    for name in _varying(runs):
        for value in sorted({json.dumps(r["config"].get(name), default=plain) for r in subset}):
            having = [r for r in runs if json.dumps(r["config"].get(name), default=plain) == value]
            if all(r in subset for r in having):
                words.append(f"{name}={json.loads(value)} ({len(having)})")
    return f": every config with {', '.join(words)}" if words else ""


def hygiene_warnings(rows):
    """Warnings about the search itself: diverged trials, configs that never left the plateau."""
    runs = longest_runs(rows)
    warnings = []
    diverged = [row for row in runs if row["status"] == DIVERGED]
    if diverged:
        warnings.append(f"{len(diverged)} of {len(runs)} configs diverged{_shared(diverged, runs)}; "
                        "their rates are too high: search smaller ones")
    stuck = [row for row in runs if any(f["code"] == "plateau" and f["severity"] == "error"
                                        for f in row.get("findings", []))]
    if stuck:
        warnings.append(f"{len(stuck)} of {len(runs)} configs never left the loss plateau at ln C"
                        f"{_shared(stuck, runs)}; their rates or initial weights are too small for "
                        "the inputs' scale: search larger rates, or a larger --std")
    return warnings
