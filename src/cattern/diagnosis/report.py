"""The results of a diagnosing gradient check: one row per term and array, and a table of them."""
import dataclasses
from dataclasses import dataclass

# Verdicts, from cattern.diagnosis.gradcheck's bands and its refusals.
CORRECT, ACCEPTABLE, SUSPICIOUS, WRONG = "correct", "acceptable", "suspicious", "wrong"
VANISHED, UNPENALIZED, UNJUDGED = "vanished", "unpenalized", "unjudged"
BUGS = (SUSPICIOUS, WRONG)


@dataclass(frozen=True)
class ArrayCheck:
    """One parameter array's check, in one term of the loss.

    - name: the parameter's key, e.g. "W1"; term: "data" or "regularization"
    - shape: the array's shape; checked: how many of its entries were perturbed
    - max_rel_error: the largest ``|a - n| / max(1e-8, |a| + |n|)`` over the
      judged entries (checked, minus kinks, vanished and rounding), or None if none is
    - worst_index, analytic, numerical: that entry's index and two values (or None)
    - kinks: entries whose step of +-h crossed a ReLU kink, excluded;
      kink_max_rel_error: the largest relative error among them (or None)
    - vanished: entries whose analytic and numerical values are both below
      the vanishing threshold (1e-10, or the rounding floor if higher), excluded
    - rounding: entries whose analytic and numerical values differ by no more
      than float64 rounding of the loss can move a centered difference (the
      rounding floor), though their relative error exceeds 1e-7, excluded
    - verdict: one of this module's verdicts
    - pattern: the bug's shape (a name in :mod:`cattern.diagnosis.shapes`), or
      None when the array passes or is not judged
    - diagnosis: a plain sentence, starting with :attr:`label`
    """

    name: str
    term: str
    shape: tuple
    checked: int
    max_rel_error: float | None
    worst_index: tuple | None
    analytic: float | None
    numerical: float | None
    kinks: int
    kink_max_rel_error: float | None
    vanished: int
    rounding: int
    verdict: str
    pattern: str | None
    diagnosis: str

    @property
    def label(self):
        """How sentences name the array: "W1 (data term)"."""
        return f"{self.name} ({self.term} term)"

    def replace(self, **changes):
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class GradCheckReport:
    """A whole gradient check: the problem it ran on, and one :class:`ArrayCheck` per term and array.

    ``refusal`` is None, or why the check refused to judge at all (then
    ``checks`` is empty). ``notes`` are sentences about how the check ran
    (fixed dropout masks, restored batchnorm statistics, a subset of entries).
    """

    model: str
    dtype: str
    num_examples: int
    reg: float
    h: float
    checks: tuple = ()
    refusal: str | None = None
    notes: tuple = ()

    @property
    def bugs(self):
        """The checks whose verdict is suspicious or wrong."""
        return [c for c in self.checks if c.verdict in BUGS]

    @property
    def passed(self):
        """True when nothing was refused, no array is suspicious or wrong, and at least one was judged."""
        return (self.refusal is None and not self.bugs
                and any(c.verdict in (CORRECT, ACCEPTABLE) for c in self.checks))

    def summary(self):
        """One sentence: passed, where the bugs are, or why nothing was judged."""
        if self.refusal is not None:
            return f"refused to judge: {self.refusal}"
        if self.bugs:
            terms = [t for t in ("data", "regularization") if any(c.term == t for c in self.bugs)]
            where = "; ".join(f"{t} term: " + ", ".join(f"{c.name} ({c.pattern or c.verdict})"
                                                       for c in self.bugs if c.term == t) for t in terms)
            return f"BUG FOUND in the {' and '.join(terms)} term{'s' if len(terms) > 1 else ''} -- {where}"
        unjudged = [c.label for c in self.checks if c.verdict in (VANISHED, UNJUDGED)]
        if not self.passed:
            return f"not judged: no array could be judged ({', '.join(unjudged)})"
        if unjudged:
            return f"no bug found in the arrays judged, but NOT JUDGED: {', '.join(unjudged)} (see above)"
        return "passed: every array is correct or acceptable"

    def format(self):
        """The report as text: a header, a table of the checks, the diagnoses, and the summary."""
        header = (f"gradient check of {self.model} ({self.dtype}), N = {self.num_examples} examples, "
                  f"reg = {self.reg:g}, h = {self.h:g}")
        lines = [header]
        if self.checks:
            lines += ["", *_table(self.checks), ""]
            # Sentences where there is more to say than the table: not correct, or entries left out
            # for a reason other than a unit off for every example; unpenalized arrays share one line.
            lines += [c.diagnosis for c in self.checks
                      if c.verdict not in (CORRECT, UNPENALIZED) or c.kinks or c.rounding]
            unpenalized = [c.name for c in self.checks if c.verdict == UNPENALIZED]
            if unpenalized:
                lines.append(f"unpenalized (regularization term): {', '.join(unpenalized)}: the penalty's "
                             f"gradient is 0, analytic and numerical, as the L2 penalty leaves them out")
        lines += [f"note: {note}" for note in self.notes]
        lines.append(self.summary())
        return "\n".join(lines)

    __str__ = format


_COLUMNS = ("term", "array", "checked", "max rel err", "worst index", "analytic", "numerical",
            "kinks", "vanished", "rounding", "verdict")


def _table(checks):
    """The rows of the checks' table, columns aligned, as a list of strings."""
    def number(x, spec):
        return "-" if x is None else format(x, spec)

    rows = [_COLUMNS] + [
        (c.term, c.name, str(c.checked), number(c.max_rel_error, ".2e"),
         "-" if c.worst_index is None else str(c.worst_index), number(c.analytic, ".6e"),
         number(c.numerical, ".6e"), str(c.kinks), str(c.vanished), str(c.rounding), c.verdict)
        for c in checks
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
