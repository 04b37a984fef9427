"""A gradient check that diagnoses: per term and per array, a verdict, and the bug's shape.

:func:`check_gradients` perturbs each parameter entry by +-h and compares the
centered difference ``(f(x + h) - f(x - h)) / 2h`` with the model's analytic
gradient, as :mod:`cattern.gradient_check` does, and then goes further:

1. It checks the two terms of the loss apart: the data loss (reg = 0), and
   the L2 penalty alone (analytic ``grads(reg) - grads(0)``, numerical the
   difference of ``loss(reg) - loss(0)``), so a bug is pinned to its term.
2. It leaves out, and counts, the entries it cannot judge: those whose step
   crosses a ReLU kink (a finite difference across a kink measures a
   one-sided slope); those whose gradients vanished (both values below
   1e-10, or below the rounding floor of a larger loss); and those whose
   values differ by no more than that rounding floor. It refuses float32.
3. It gives each array a verdict in the cs231n bands (below), and names the
   shape of a failure with :func:`cattern.diagnosis.shapes.name_shape`.

The model is any object with ``params`` (a dict of float64 arrays keyed
W1, b1, W2, b2, ...) and ``loss(X, y, reg) -> (loss, grads)``. If it has
``relu_masks(X)`` (as :class:`~cattern.models.TwoLayerNet` and
:class:`~cattern.models.FullyConnectedNet` do), kinks are found; if it has a
``dropout_rng``, every pass drops the same units (see
:class:`cattern.diagnosis.probe.Pinned`).
"""
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from cattern.checks import check_nonnegative, check_positive_int
from cattern.diagnosis import shapes
from cattern.diagnosis.probe import (
    VANISHED_BELOW,
    Pinned,
    always_on,
    centered_differences,
    entry_chooser,
    find_leak,
    rounding_floor,
)
from cattern.diagnosis.report import (
    ACCEPTABLE,
    CORRECT,
    SUSPICIOUS,
    UNJUDGED,
    UNPENALIZED,
    VANISHED,
    WRONG,
    ArrayCheck,
    GradCheckReport,
)

# The verdict bands on the relative error |a - n| / max(1e-8, |a| + |n|), from the
# cs231n course notes, "Gradient checks" (https://cs231n.github.io/neural-networks-3/#gradcheck):
#   rel error > 1e-2          "the gradient is probably wrong"                   -> wrong
#   1e-4 < rel error <= 1e-2  "should make you feel uncomfortable"               -> suspicious
#   1e-7 < rel error <= 1e-4  "usually okay for objectives with kinks", but
#                             "if there are no kinks ... 1e-4 is too high"       -> see below
#   rel error <= 1e-7         "you should be happy"                              -> correct
# The middle band: the entries whose step crosses a kink are already left out,
# so what remains there is the difference's rounding and truncation error, which
# is largest on small entries and deep nets; no bug of the classic shapes lands
# there (a doubled gradient is off by 1/3). For an objective with kinks (a model
# whose relu_masks returns masks) it is "acceptable", as cs231n says; for a
# smooth one (no ReLU, or no relu_masks), where cs231n calls 1e-4 too high,
# it is "suspicious".
WRONG_ABOVE = 1e-2
SUSPICIOUS_ABOVE = shapes.FAILING  # 1e-4
CORRECT_AT_MOST = 1e-7

TERMS = ("data", "regularization")


def check_gradients(model, X, y, reg=0.0, *, h=1e-5, max_entries=None, seed=0, progress=False):
    """Check every parameter array's gradient, term by term, and say what is wrong.

    Inputs:
    - model: see the module docstring (TwoLayerNet, FullyConnectedNet, ...)
    - X: (N, D) inputs; y: (N,) integer labels
    - reg: L2 strength; when > 0 the penalty is checked as a term of its own
    - h: the step of the centered differences
    - max_entries: check at most this many entries of each array, chosen at
      random without replacement; None checks every entry
    - seed: int or ``np.random.Generator`` choosing those entries
    - progress: show a progress bar over the entries (on a terminal, once a
      check has taken a second: most take less)

    Returns a :class:`GradCheckReport`. The model is left as it was found:
    every perturbed entry is restored exactly, and so are the dropout stream
    and the batchnorm running statistics.
    """
    reg = check_nonnegative("reg", reg)
    if not h > 0:
        raise ValueError(f"h is the finite-difference step and must be > 0; got {h!r}")
    if max_entries is not None:
        max_entries = check_positive_int("max_entries", max_entries)
    dtypes = sorted({str(p.dtype) for p in model.params.values()})
    header = dict(model=type(model).__name__, dtype="/".join(dtypes), num_examples=len(X), reg=reg, h=h)
    low = [k for k, p in model.params.items() if p.dtype != np.float64]
    if low:
        return GradCheckReport(**header, refusal=(
            f"{', '.join(low)} {'is' if len(low) == 1 else 'are'} {'/'.join(dtypes)}, whose rounding "
            f"(about 1e-7 relative) swamps a centered difference of step {h:g}; rerun in float64 "
            f"(dtype=np.float64, or --dtype float64)"))

    pinned = Pinned(model, X, y)
    try:
        with tqdm(total=_count_entries(model, max_entries), desc="gradcheck", unit="entry", leave=False,
                  delay=1.0, disable=None if progress else True) as bar:
            checks = _check_arrays(pinned, reg, h, entry_chooser(max_entries, seed), bar.update)
    finally:
        pinned.restore()
    return GradCheckReport(**header, checks=tuple(checks), notes=tuple(_notes(checks, pinned, reg, max_entries, seed)))


def _notes(checks, pinned, reg, max_entries, seed):
    """Sentences on how the check ran, for the report."""
    notes = []
    if pinned.drew_masks:
        notes.append("dropout masks held fixed: model.dropout_rng was reset to one state before "
                     "every pass, and put back to it afterwards")
    if pinned.buffers:
        notes.append("batch normalization: each training-mode pass updated the running statistics, "
                     "which the training loss does not read; they were put back afterwards")
    if not pinned.has_kinks:
        notes.append("the model has no relu_masks(X): kinks were not looked for")
    if any(c.verdict == SUSPICIOUS and c.pattern is None for c in checks):
        notes.append("without ReLU kinks, a relative error in (1e-7, 1e-4] counts as suspicious")
    if max_entries is not None:
        notes.append(f"at most {max_entries} entries per array were checked, chosen at random (seed {seed})")
    if reg == 0:
        notes.append("reg = 0: the regularization term was not checked")
    return notes


class _Setting(NamedTuple):
    """What a term's verdicts depend on besides the values."""

    kinked: bool       # the objective has ReLU kinks (it moves the middle band)
    batch_size: int    # N, the factor of a missing or extra batch mean
    floor: float       # the term's rounding floor (see probe.rounding_floor)


def _count_entries(model, max_entries):
    """How many entries the check perturbs, for the progress bar."""
    return sum(p.size if max_entries is None else min(p.size, max_entries) for p in model.params.values())


def _check_arrays(pinned, reg, h, choose, tick):
    """ArrayChecks for every array, the data term's first, then the regularization term's;
    ``tick(1)`` after each entry perturbed."""
    loss0, grads0 = pinned.loss(0.0)
    masks0 = pinned.masks()
    kinked, N = bool(masks0), len(pinned.X)  # kinked: the net has ReLUs, and they are looked for
    settings = {"data": _Setting(kinked, N, rounding_floor(h, loss0))}
    penalty_grads = None
    if reg:
        loss_reg, grads_reg = pinned.loss(reg)
        penalty_grads = {k: g - grads0[k] for k, g in grads_reg.items()}
        # The penalty's slope is a difference of two losses' slopes: both roundings add up.
        settings["regularization"] = _Setting(kinked, N, rounding_floor(h, loss0, loss_reg))
    by_term = {term: [] for term in TERMS}
    for name, x in pinned.model.params.items():
        malformed = _malformed(name, x.shape, grads0)
        if malformed is not None:
            by_term["data"].append(malformed)
            continue
        entries = choose(x.shape)
        num_data, num_penalty, kinks = centered_differences(pinned, x, entries, reg, h, masks0, tick)
        on = always_on(name, entries, masks0)
        check = _judge(name, "data", entries, grads0[name], num_data, kinks, settings["data"], on)
        # A failure with no simple pattern in a hidden layer may be a missing ReLU mask, which
        # shows one example at a time (not with batch normalization, whose buffers mark it).
        if check.pattern == shapes.NO_PATTERN and on is not None and not pinned.buffers:
            leak = find_leak(pinned, name, entries, h)
            if leak is not None:
                pattern, sentence = shapes.leak(*leak)
                check = check.replace(pattern=pattern, diagnosis=f"{check.label}: {check.verdict}: {sentence}")
        by_term["data"].append(check)
        if penalty_grads is not None:
            # The penalty is smooth: no kink to leave out.
            by_term["regularization"].append(_judge(
                name, "regularization", entries, penalty_grads[name], num_penalty,
                np.zeros(len(entries), dtype=bool), settings["regularization"]))
    return [*shapes.pin_bias_axis(by_term["data"]), *by_term["regularization"]]


def _malformed(name, shape, grads):
    """A wrong ArrayCheck when grads has no array of the parameter's shape for ``name``, else None."""
    if name not in grads:
        problem = f"grads has no key {name!r} (it has {sorted(grads)}): the backward pass never sets it"
    elif grads[name].shape != shape:
        problem = (f"grads[{name!r}] has shape {grads[name].shape} but params[{name!r}] has {shape}: a sum "
                   f"over the wrong axis, or a transposed product")
    else:
        return None
    return ArrayCheck(name=name, term="data", shape=shape, checked=0, max_rel_error=None, worst_index=None,
                      analytic=None, numerical=None, kinks=0, kink_max_rel_error=None, vanished=0, rounding=0,
                      verdict=WRONG, pattern=shapes.WRONG_SHAPE, diagnosis=f"{name} (data term): wrong: {problem}")


def _judge(name, term, entries, analytic_full, numerical, kinks, setting, always_on=None):
    """The ArrayCheck of one array in one term: exclusions, worst entry, verdict, diagnosis.

    analytic_full has the parameter's shape; numerical, kinks and always_on are
    (K,), one per entry of ``entries`` (always_on None: no hidden unit owns them).
    """
    analytic = np.array([analytic_full[ix] for ix in entries])
    rel = np.abs(analytic - numerical) / np.maximum(1e-8, np.abs(analytic) + np.abs(numerical))
    floor = setting.floor
    tiny = max(VANISHED_BELOW, floor)
    # Vanished comes first: when both values are tiny, a kink crossed changes nothing worth judging.
    vanished = (np.abs(analytic) < tiny) & (np.abs(numerical) < tiny)
    kinks = kinks & ~vanished
    # Entries that agree as well as float64 can tell, though their relative error is large.
    rounding = ~kinks & ~vanished & (np.abs(analytic - numerical) <= floor) & (rel > CORRECT_AT_MOST)
    judged = ~kinks & ~vanished & ~rounding
    row = dict(name=name, term=term, shape=tuple(analytic_full.shape), checked=len(entries),
               kinks=int(kinks.sum()), kink_max_rel_error=float(rel[kinks].max()) if kinks.any() else None,
               vanished=int(vanished.sum()), rounding=int(rounding.sum()), pattern=None)
    label = f"{name} ({term} term)"
    excluded = _excluded_sentence(row, floor)
    if not judged.any():
        verdict, sentence = _unjudged(term, name, row, exactly_zero=not np.any(analytic))
        return ArrayCheck(**row, max_rel_error=None, worst_index=None, analytic=None, numerical=None,
                          verdict=verdict, diagnosis=f"{label}: {verdict}: {sentence}{excluded}")

    worst = int(np.argmax(np.where(judged, rel, -1.0)))
    row.update(max_rel_error=float(rel[worst]), worst_index=entries[worst],
               analytic=float(analytic[worst]), numerical=float(numerical[worst]))
    verdict = _verdict(rel[worst], setting.kinked)
    failing = judged & (rel > shapes.FAILING)
    if failing.any():
        row["pattern"], sentence = shapes.name_shape(
            term, (entries, analytic, numerical), failing, analytic_full, setting.batch_size, floor, always_on)
    elif verdict == SUSPICIOUS:
        sentence = (f"max relative error {rel[worst]:.1e} is too high for an objective without kinks "
                    f"(cs231n: 1e-4 is too high there)")
    elif verdict == ACCEPTABLE:
        sentence = (f"max relative error {rel[worst]:.1e}, in (1e-7, 1e-4]: the finite difference's "
                    f"rounding and truncation, as expected for small entries of an objective with kinks")
    else:
        sentence = f"max relative error {rel[worst]:.1e}"
    return ArrayCheck(**row, verdict=verdict, diagnosis=f"{label}: {verdict}: {sentence}{excluded}")


def _verdict(rel_error, kinked_objective):
    """The band of ``rel_error``, as the comment on WRONG_ABOVE explains."""
    if rel_error > WRONG_ABOVE:
        return WRONG
    if rel_error > SUSPICIOUS_ABOVE:
        return SUSPICIOUS
    if rel_error > CORRECT_AT_MOST:
        return ACCEPTABLE if kinked_objective else SUSPICIOUS
    return CORRECT


def _unjudged(term, name, row, exactly_zero):
    """(verdict, sentence) for an array none of whose checked entries could be judged.

    exactly_zero: the analytic values are all exactly 0 (in the penalty term: the
    penalty leaves the array out, rather than its gradient having vanished).
    """
    if row["vanished"] == row["checked"] and term == "regularization" and exactly_zero:
        return UNPENALIZED, f"the penalty's gradient is 0, analytic and numerical: the L2 penalty leaves {name} out"
    if row["vanished"] == row["checked"]:
        return VANISHED, (f"gradients vanished; check the initialization or the loss scale (all "
                            f"{row['checked']} checked entries have |analytic| and |numerical| too small to "
                            f"compare: their relative error is rounding noise), or whether the loss depends on "
                            f"{name} at all (a bias before batch normalization does not)")
    return UNJUDGED, ("no checked entry could be judged; nudge the data or the parameters off the kinks, "
                        "or scale up the loss")


def _excluded_sentence(row, floor):
    """What was left out of the verdict, as a sentence fragment ("" when nothing was)."""
    parts = []
    if row["kinks"]:
        parts.append(f"{_entries(row['kinks'])} whose step crossed a ReLU kink (relative error there up to "
                     f"{row['kink_max_rel_error']:.1e})")
    if row["vanished"] and row["vanished"] < row["checked"]:
        parts.append(f"{_entries(row['vanished'])} whose analytic and numerical values are both below "
                     f"{max(VANISHED_BELOW, floor):.1g} (vanished, or of a unit off for every example)")
    if row["rounding"]:
        parts.append(f"{_entries(row['rounding'])} whose values differ by no more than float64 rounding "
                     f"of the loss can move a difference ({floor:.1g})")
    return "" if not parts else "; left out: " + ", and ".join(parts)


def _entries(count):
    return f"{count} {'entry' if count == 1 else 'entries'}"
