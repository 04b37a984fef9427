"""Naming a wrong gradient's shape from how the analytic values differ from the numerical ones.

A backward pass usually goes wrong in a few classic ways, and each leaves a
mark on the ratio analytic / numerical over the entries that fail:

- a constant ratio: 2 or 1/2 (a doubled or halved gradient, e.g. ``2*reg*W``
  where the loss has ``0.5*reg*W**2``), N or 1/N (a missing or extra batch
  mean), -1 (a flipped sign), or some other constant;
- the analytic array equal to the numerical one transposed (the operands of a
  matrix product swapped);
- analytic zero where the numerical is not (a term left out);
- analytic nonzero where the numerical is zero, or failures confined to the
  hidden units that were off for some examples (a missing ReLU mask);
- only the biases wrong while the weights pass (a sum over the wrong axis),
  which :func:`pin_bias_axis` finds across the data term's arrays.

Ratios are taken only over failing entries whose numerical value is sizeable
(at least 1e-3 of the largest), since the ratio of two rounding errors says
nothing; "constant" means at least 90% of them lie within 1% of the median.
"""
import re

import numpy as np

# Machine-readable names of the shapes, kept in ArrayCheck.pattern.
DOUBLED, HALVED = "factor 2", "factor 1/2"
TIMES_N, OVER_N = "factor N", "factor 1/N"
SIGN, CONSTANT = "sign", "constant factor"
TRANSPOSED, MISSING_TERM, MISSING_MASK = "transposed", "missing term", "missing mask"
BIAS_AXIS, NO_PATTERN = "bias axis", "no simple pattern"
WRONG_SHAPE = "wrong shape"  # the gradient's shape is not the parameter's: nothing to compare

# A failing entry's relative error is above this (the lower edge of cs231n's "suspicious" band).
FAILING = 1e-4
# Ratios within this relative distance of the median count as the same constant.
_SAME_RATIO = 1e-2
_CONSTANT_SHARE = 0.9
# Numerical values below this share of the largest one are too small for a ratio.
_SIZEABLE = 1e-3

_MASK_MEANING = "a missing mask, e.g. a ReLU backward pass that lets the gradient through units that were off"

# What each constant factor means, for the data term and for the penalty term.
_FACTOR_MEANINGS = {
    DOUBLED: ("a doubled gradient, e.g. a term added twice or the 2 of a square's derivative kept "
              "where the loss halves it",
              "a doubled penalty gradient, e.g. 2*reg*W where the loss has 0.5*reg*W**2"),
    HALVED: ("a halved gradient, e.g. a stray 0.5",
             "a halved penalty gradient, e.g. 0.5*reg*W where the loss 0.5*reg*W**2 has gradient reg*W"),
    TIMES_N: ("a missing batch mean: the gradient of the summed loss where the loss is the mean "
              "(e.g. dscores not divided by N)",
              "a penalty gradient multiplied by the batch size"),
    OVER_N: ("an extra batch mean: divided by N once more than the loss is (e.g. dscores /= N twice)",
             "a penalty gradient divided by the batch size, where the loss does not average the penalty"),
    SIGN: ("a flipped sign, e.g. a subtraction where the chain rule adds",
           "a flipped sign: the penalty gradient subtracted (-reg*W)"),
}


def name_shape(term, checked, failing, analytic_full, batch_size, floor, always_on=None):
    """Name the bug behind one array's failing entries.

    Inputs:
    - term: "data" or "regularization"
    - checked: (entries, analytic, numerical): the K checked entries' indices
      (a list of index tuples) and their analytic and numerical values, (K,) each
    - failing: (K,) bool, the judged entries whose relative error is above FAILING
    - analytic_full: the whole analytic gradient (the parameter's shape), for the
      transpose test, which needs the analytic value at the mirrored index
    - batch_size: N, the factor of a missing or extra batch mean
    - floor: the rounding floor of the numerical values: below it a value counts as zero
    - always_on: (K,) bool, whether each entry belongs to a hidden unit active on
      every example, or None when the entry belongs to no hidden unit

    Returns (pattern, sentence): one of this module's pattern names and a
    plain sentence saying what was seen and what it usually means.
    """
    entries, analytic, numerical = checked
    a, n = analytic[failing], numerical[failing]
    count = int(failing.sum())
    zero = max(floor, 1e-7 * float(np.max(np.abs(numerical), initial=0.0)))
    a_zero = (np.abs(a) <= zero) & (np.abs(n) > zero)
    # A leak shows as a sizeable analytic value where the function is flat, not a tiny one at the floor.
    n_zero = (np.abs(n) <= zero) & (np.abs(a) > _SIZEABLE * np.max(np.abs(a), initial=0.0))

    if _is_transposed([ix for ix, f in zip(entries, failing) if f], n, analytic_full):
        return TRANSPOSED, (f"analytic = numerical transposed on all {count} failing entries: the operands "
                            f"of a matrix product swapped (e.g. dout.T @ x, shaped to fit, instead of x.T @ dout)")
    if a_zero.all():
        what = ("the penalty's gradient is left out" if term == "regularization"
                else "a term of the chain rule is left out")
        return MISSING_TERM, f"analytic = 0 where numerical is not, on all {count} failing entries: {what}"
    if not n_zero.any():
        factor = _constant_factor(a, n)
        named = None if factor is None else _factor_sentence(factor, a, n, term, batch_size)
        if named is not None:
            return named
    if n_zero.any() or _only_units_sometimes_off(failing, always_on):
        seen = (f"analytic != 0 where numerical = 0 on {int(n_zero.sum())} of {count} failing entries"
                if n_zero.any() else f"all {count} failing entries belong to hidden units that were off for "
                                     f"some examples, while the units on for every example pass")
        return MISSING_MASK, f"{seen}: {_MASK_MEANING}"
    if a_zero.any():
        return MISSING_TERM, (f"analytic = 0 where numerical is not on {int(a_zero.sum())} of {count} "
                              f"failing entries: a term left out, or a mask that zeroes too much")
    return NO_PATTERN, f"no simple pattern: {_ratio_summary(a, n)}"


def leak(example, flat, leaks):
    """(MISSING_MASK, sentence) for a leak found one example at a time (see cattern.diagnosis.probe.find_leak)."""
    return MISSING_MASK, (f"on example {example} alone, the loss is flat along {flat} checked entries of units "
                          f"that are off, yet the analytic gradient is nonzero on {leaks} of them: {_MASK_MEANING}")


def pin_bias_axis(checks):
    """Across the data term's arrays: when only biases fail and the weights pass, name a sum over the wrong axis.

    ``checks`` is the list of the data term's ArrayCheck results; returns it with the
    failing biases' pattern replaced by BIAS_AXIS where their own pattern said
    no more than a mask or nothing (a constant factor or a transpose is more
    specific, and stays).
    """
    failing = [c for c in checks if c.pattern is not None]
    weights_pass = any(_is_weight(c.name) and c.pattern is None and c.max_rel_error is not None for c in checks)
    if not failing or not weights_pass or not all(_is_bias(c.name) for c in failing):
        return checks
    sentence = ("only the biases are wrong while the weights pass: a bias gradient summed over the wrong "
                "axis (db = dout.sum(axis=0), over the batch)")
    return [c.replace(pattern=BIAS_AXIS, diagnosis=f"{c.label}: {c.verdict}: {sentence}")
            if c.pattern in (MISSING_MASK, MISSING_TERM, NO_PATTERN) else c for c in checks]


def _is_bias(name):
    return re.fullmatch(r"b\d+", name) is not None


def _is_weight(name):
    return re.fullmatch(r"W\d+", name) is not None


def _is_transposed(failing_entries, n, analytic_full):
    """True if the numerical values match the analytic gradient read transposed.

    A 2-D gradient G of shape (D, H) computed as the (H, D) product and
    reshaped to fit reads back as ``G.reshape(H, D).T``; for a square G
    that is just ``G.T``.
    """
    if analytic_full.ndim != 2 or len(failing_entries) < 2:
        return False
    mirrored = analytic_full.reshape(analytic_full.shape[::-1]).T
    m = np.array([mirrored[ix] for ix in failing_entries])
    return bool(np.all(np.abs(m - n) <= FAILING * np.maximum(1e-8, np.abs(m) + np.abs(n))))


def _only_units_sometimes_off(failing, always_on):
    """True if every failing entry is of a unit that was off for some example, and some always-on unit passes."""
    if always_on is None:
        return False
    return bool(failing.any() and not (failing & always_on).any() and (~failing & always_on).any())


def _sizeable_ratios(a, n):
    """The ratios a / n over the entries whose numerical value is sizeable, (M,)."""
    sizeable = np.abs(n) >= _SIZEABLE * np.max(np.abs(n), initial=0.0)
    sizeable &= n != 0
    return a[sizeable] / n[sizeable]


def _constant_factor(a, n):
    """The median ratio a / n if it is (nearly) the same on the sizeable entries, else None."""
    r = _sizeable_ratios(a, n)
    if r.size == 0:
        return None
    median = float(np.median(r))
    if median == 0 or np.mean(np.abs(r - median) <= _SAME_RATIO * abs(median)) < _CONSTANT_SHARE:
        return None
    return median


def _factor_sentence(factor, a, n, term, batch_size):
    """The pattern and sentence for a constant ratio ``factor``: which known constant it is, if any.

    Returns None for a single sizeable ratio that matches no known constant.
    """
    r = _sizeable_ratios(a, n)
    near = int(np.sum(np.abs(r - factor) <= _SAME_RATIO * abs(factor)))
    on = f"on all {r.size}" if near == r.size else f"on {near} of {r.size}"
    seen = f"analytic = {factor:.4g} x numerical {on} failing entries with sizeable values"
    known = {SIGN: -1.0, DOUBLED: 2.0, HALVED: 0.5, TIMES_N: float(batch_size), OVER_N: 1.0 / batch_size}
    matches = [p for p, c in known.items() if abs(factor / c - 1) <= 2 * _SAME_RATIO]
    if not matches and r.size < 2:
        return None  # one ratio of no known constant is no pattern
    if not matches:
        return CONSTANT, f"{seen}: a constant scale error (a wrong constant, or a missing or extra division)"
    meanings = [_FACTOR_MEANINGS[p][term == "regularization"] for p in matches]
    if matches[0] in (TIMES_N, OVER_N):
        seen += f" (N = {batch_size}, the batch size)"
    return matches[0], f"{seen}: " + "; or ".join(meanings)


def _ratio_summary(a, n):
    """The median ratio and its spread, in words, for a failing array with no simple pattern."""
    r = _sizeable_ratios(a, n)
    if r.size == 0:
        return "no failing entry has a sizeable numerical value"
    median = float(np.median(r))
    spread = float(np.median(np.abs(r - median)))
    return (f"the ratio analytic / numerical over {r.size} sizeable failing entries has median {median:.3g} "
            f"and median absolute deviation {spread:.3g}")
