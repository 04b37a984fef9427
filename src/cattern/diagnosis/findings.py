"""What the training doctor says: findings, the thresholds behind them, and their words.

A :class:`Finding` is one problem seen in a run: what was seen, with its
numbers; the likely causes; what to try; and the rule that made it, with its
source (:data:`THRESHOLDS`, which the README's table of signals repeats).
The checks that make findings are in :mod:`cattern.diagnosis.curve_checks`
(from the loss and accuracy curves) and :mod:`cattern.diagnosis.measured_checks`
(from what :class:`~cattern.diagnosis.TrainingDoctor` measured);
:func:`cattern.diagnosis.diagnose` runs them all.

Each threshold sits well outside what healthy runs measure: the presets
``two-layer-best``, ``two-layer-fast``, ``fc-best``, ``fc-fast`` and the lab's
12 configs on MNIST get no finding (``benchmarks/doctor_check.py``), nor do
the three seeds of ``fc-ensemble`` (``benchmarks/presets_spread.py``).
"""
from dataclasses import asdict, dataclass, field

CS231N_3 = "cs231n notes, Neural Networks Part 3 (Learning and Evaluation)"


@dataclass(frozen=True)
class Threshold:
    """When a finding is made (``rule``, with its numbers) and where the rule comes from."""

    rule: str
    source: str


# One per finding's code; the README's table of signals is this table.
THRESHOLDS = {
    "diverged": Threshold("the loss became NaN or infinite",
                          f"{CS231N_3}, 'Babysitting': NaN cost almost always means a rate too high"),
    "loss_rising": Threshold("the smoothed loss rose above 4x its best",
                             "fastai's learning-rate finder, which stops at 4x the best smoothed loss"),
    "initial_loss": Threshold("the loss at initialization above 1.5 x ln C",
                              f"{CS231N_3}, 'Sanity checks': the loss at chance is ln C (2.30 for 10 "
                              "classes); the factor is cattern's (fc-best's He init: 1.01 x)"),
    "plateau": Threshold("the loss still within 5 % of ln C after one epoch, and for half the run or more",
                         "issue #14 ('within a few percent of ln C after an epoch'); the half is cattern's: "
                         "the seed's grid on 0..255 pixels spends at most a third of its runs there, and "
                         "learns"),
    "update_ratio_high": Threshold("median ||dW|| / ||W|| per step above 1e-1 for a weight matrix, while "
                                   "the rate is at least 1/10 of its start",
                                   f"{CS231N_3}, 'Ratio of weights:updates' (about 1e-3); 100x above "
                                   "it is cattern's bound"),
    "update_ratio_low": Threshold("median ||dW|| / ||W|| per step below 1e-5 for a weight matrix, in a run "
                                  "whose train accuracy stays below 0.88",
                                  f"{CS231N_3}, 'Ratio of weights:updates' (about 1e-3); 100x below "
                                  "it is cattern's bound"),
    "dead_units": Threshold("40 % or more of a layer's ReLUs never fire on the sample, after the last epoch",
                            "cs231n notes, Neural Networks Part 1: 'as much as 40% of your network "
                            "can be dead' when the rate is too high"),
    "one_class": Threshold("half the sample's predictions or more on one class, 25 points above its "
                           "true share", "cattern's; a healthy MNIST net's top class is about 11 %"),
    "overfitting": Threshold("train accuracy 5 points or more above validation at the end",
                             f"{CS231N_3}, 'Train/Val accuracy'; 5 points is cattern's "
                             "(healthy MNIST runs: 1.5 at most)"),
    "underfitting": Threshold("train and validation accuracy both below 0.88",
                              "LeCun et al. 1998: a linear classifier makes 12 % test error on MNIST"),
    "oscillation": Threshold("the epoch's mean loss rose by 10 % or more, and by 1 % of ln C or more, "
                             "in 2 epochs or more",
                             "cattern's; healthy runs' epoch losses fall or stay within a few %, and "
                             "near the end, at losses of 0.04-0.06, wobble by up to 10 % (0.005)"),
    "warmup_too_long": Threshold("the linear warmup (--warmup-epochs) is longer than the run: the rate never "
                                 "reaches the one set",
                                 "cattern's: a warmup is the start of a run; Goyal et al. 2017 warm up "
                                 "for 5 of 90 epochs"),
    "gradient_ratio": Threshold("first-to-last layer ratio of ||dW|| / ||W|| below 1e-2 or above 1e2 "
                                "(nets of 3 layers or more)",
                                "Glorot & Bengio 2010 (vanishing gradients); the band is cattern's"),
}

INITIAL_LOSS_FACTOR = 1.5
PLATEAU_TOLERANCE, PLATEAU_SHARE = 0.05, 0.5
UPDATE_RATIO_BAND = (1e-5, 1e-1)
DEAD_SHARE = 0.4
ONE_CLASS_SHARE, ONE_CLASS_EXCESS = 0.5, 0.25
GAP = 0.05
LOW_ACCURACY = 0.88
# A rise must also be large against ln C: late in a long run the epoch's mean
# loss is small (0.04-0.06 for fc-best), and its noise alone moves it by 10 %.
OSCILLATION_RISE, OSCILLATION_FLOOR, OSCILLATION_COUNT = 0.10, 0.01, 2
GRADIENT_RATIO_BAND = (1e-2, 1e2)
LOSS_RISE = 4.0

# What a finding explains: when it is made, these are left out (its sentence
# covers them). A net that has not learned predicts one class and underfits;
# a finding may add to its list when its evidence explains more (Finding.explains).
NOT_LEARNING = ("one_class", "underfitting", "update_ratio_low")
EXPLAINS = {
    "diverged": ("loss_rising", "plateau", "overfitting", "oscillation", "dead_units", "update_ratio_high",
                 *NOT_LEARNING),
    "loss_rising": ("oscillation", "plateau", *NOT_LEARNING),
    "plateau": NOT_LEARNING,
    "update_ratio_low": ("one_class", "underfitting"),
    "one_class": ("underfitting",),
    # A rate held far below the one set is why such a net sits on the plateau, if it does.
    "warmup_too_long": ("plateau", *NOT_LEARNING),
}


@dataclass(frozen=True)
class Finding:
    """One problem the doctor found.

    - code: a key of :data:`THRESHOLDS` ("plateau", "diverged", ...)
    - severity: "error" (the run failed) or "warning"
    - observation: what was seen, with its numbers
    - evidence: the numbers, as a dict
    - causes: the likely causes, most likely first
    - remedies: what to try
    - threshold, source: the rule that made the finding, and where it comes from
    - explains: the codes of the findings this one accounts for, which
      :func:`diagnose` leaves out
    """

    code: str
    severity: str
    observation: str
    evidence: dict
    causes: tuple
    remedies: tuple
    threshold: str = field(default="")
    source: str = field(default="")
    explains: tuple = field(default=())

    @property
    def sentence(self):
        """What was seen: the likely causes; what to try."""
        return f"{self.observation}: {'; or '.join(self.causes)}; try {', or '.join(self.remedies)}"

    def to_dict(self):
        """The finding as a JSON-able dict, with its sentence."""
        return {**asdict(self), "causes": list(self.causes), "remedies": list(self.remedies),
                "explains": list(self.explains), "sentence": self.sentence}


def make_finding(code, observation, evidence, causes, remedies, severity="warning", explains=()):
    rule = THRESHOLDS[code]
    return Finding(code, severity, observation, evidence, tuple(causes), tuple(remedies), rule.rule, rule.source,
                   tuple(EXPLAINS.get(code, ())) + tuple(explains))


# ----------------------------------------------------------------------
# Printing
# ----------------------------------------------------------------------

def format_findings(findings, *, details=True):
    """The findings as printed text: one paragraph each, or a line saying none was found.

    ``details`` adds each finding's threshold and source.
    """
    if not findings:
        return "diagnosis: no warnings"
    lines = [f"diagnosis: {len(findings)} finding{'s' if len(findings) > 1 else ''}"]
    for f in findings:
        lines.append(f"- {f.code} ({f.severity}): {f.sentence}.")
        if details:
            lines.append(f"  threshold: {f.threshold} ({f.source})")
    return "\n".join(lines)


def findings_summary(findings):
    """The findings as JSON-able dicts of code, severity and sentence (a search's rows hold these)."""
    return [{"code": f.code, "severity": f.severity, "sentence": f.sentence} for f in findings]


# ----------------------------------------------------------------------
# The run's config and signals, in words (for the checks' sentences)
# ----------------------------------------------------------------------

def config_dict(config):
    """A config (ExperimentConfig, dict or None) as a dict."""
    if config is None:
        return {}
    return config.to_dict() if hasattr(config, "to_dict") else dict(config)


def inputs_in_words(signals, cfg):
    """The inputs' scale in words: "pixels in [0, 1]" or "0..255", with their RMS when measured."""
    rms = (signals.get("initial") or {}).get("input_rms")
    scale = cfg.get("pixel_scale")
    words = {1.0: "pixels in [0, 1]", 255.0: "pixels in 0..255"}.get(scale, "inputs")
    return f"{words} (RMS {rms:.2g})" if rms is not None else words


def initial_std(signals, cfg):
    """The initial weights' scale: the config's std, else the measured std of W1."""
    if cfg.get("std") is not None:
        return cfg["std"]
    if cfg.get("model") == "fc":
        return None  # He initialization
    return ((signals.get("initial") or {}).get("weight_std") or {}).get("W1")


def rate_of(signals, cfg):
    """The starting learning rate: the config's, else the one the doctor recorded."""
    return cfg.get("learning_rate", (signals.get("initial") or {}).get("learning_rate"))


def the_rate(rate):
    """"the rate 0.001", or "the rate" when it is not known (a history without its config)."""
    return "the rate" if rate is None else f"the rate {rate:g}"


def scaled(rate, factor):
    """" (0.01)": the rate times ``factor``, to suggest; "" when the rate is not known."""
    return "" if rate is None else f" ({rate * factor:g})"


def per_epoch(signals, key):
    """The per-epoch list ``key`` of the doctor's record, or [] for a history without it."""
    return (signals.get("epochs") or {}).get(key) or []


def reg_of(s, cfg):
    """The L2 strength: the config's, else the one the doctor recorded."""
    return cfg.get("reg", (s.get("initial") or {}).get("reg"))


def crushed_by_reg(s, cfg):
    """"the L2 penalty (reg 5) crushed W1, W2 to under a tenth of their initial norms", or ""
    when no weight matrix shrank that much (or there is no penalty to blame)."""
    shrunk, reg = shrunk_weights(s), reg_of(s, cfg)
    if not shrunk or not reg:
        return ""
    whose = "its initial norm" if len(shrunk) == 1 else "their initial norms"
    return f"the L2 penalty (reg {reg:g}) crushed {', '.join(shrunk)} to under a tenth of {whose}"


def shrunk_weights(s):
    """The weight matrices whose norm after the last epoch is under a tenth of their initial norm."""
    initial = (s.get("initial") or {}).get("weight_norm") or {}
    norms = (s.get("epochs") or {}).get("weight_norm") or {}
    return [name for name, values in norms.items()
            if values and values[-1] is not None and initial.get(name) and values[-1] < 0.1 * initial[name]]


def final_accuracies(s):
    """(train accuracy, validation accuracy) after the last epoch, or None without both."""
    c = s["curve"]
    if not c["train_acc"] or not c["val_acc"] or None in (c["train_acc"][-1], c["val_acc"][-1]):
        return None
    return c["train_acc"][-1], c["val_acc"][-1]
