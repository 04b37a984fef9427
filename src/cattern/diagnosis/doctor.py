"""The training doctor: turns a run's signals into a few plain sentences.

:func:`diagnose` runs every check of :data:`CHECKS` on the signals that
:class:`~cattern.diagnosis.signals.TrainingDoctor` recorded (or, for a model
file saved before the doctor, on what its history alone says:
:func:`signals_of`), and returns a :class:`~cattern.diagnosis.findings.Finding`
per problem, none for a healthy run. Findings that another finding explains
are left out (a net on the loss plateau also predicts one class and
underfits; the plateau's sentence says so). An ensemble's signals are
``{"members": [each net's signals]}``, and each net is diagnosed on its own.
"""
import dataclasses

from cattern.diagnosis import curve_checks as curve
from cattern.diagnosis import measured_checks as measured
from cattern.diagnosis.findings import config_dict
from cattern.diagnosis.signals import curve_signals

# In the order the findings are listed (errors first whatever their place here).
CHECKS = {
    "diverged": curve.check_diverged,
    "loss_rising": curve.check_loss_rising,
    "initial_loss": measured.check_initial_loss,
    "warmup_too_long": curve.check_warmup,
    "plateau": curve.check_plateau,
    "update_ratio_high": measured.check_update_ratio_high,
    "update_ratio_low": measured.check_update_ratio_low,
    "dead_units": measured.check_dead_units,
    "one_class": measured.check_one_class,
    "overfitting": curve.check_overfitting,
    "underfitting": curve.check_underfitting,
    "oscillation": curve.check_oscillation,
    "gradient_ratio": measured.check_gradient_ratio,
}


def signals_of(history, num_classes=None):
    """The signals of a saved history: the doctor's record if it has one (its curves read again
    from the history), else what the curves alone say.

    ``num_classes`` (C) is needed only for a history without the doctor's
    record (a model file saved before it), to place ln C. An ensemble's
    history ``{"members": [...]}`` gives ``{"members": [each net's signals]}``.
    """
    if isinstance(history, dict) and isinstance(history.get("members"), list):
        return {"members": [signals_of(member, num_classes) for member in history["members"]]}
    if not isinstance(history, dict) or not history.get("loss_history") and not history.get("doctor"):
        raise ValueError("this run has no training history to diagnose (a model saved without one, "
                         "e.g. by an older cattern tune); train it again with `cattern train`")
    record = history.get("doctor")
    if record:
        # The curves are read again from the history itself, which is the whole of it.
        return {**record, "curve": curve_signals(history, record["num_classes"], record["iterations_per_epoch"])}
    if num_classes is None:
        raise ValueError("a history without the doctor's record needs num_classes to place ln C")
    return {"version": 0, "num_classes": int(num_classes), "diverged": None,
            "curve": curve_signals(history, num_classes)}


def diagnose(signals, config=None):
    """The findings of one run, most serious first; [] for a healthy run.

    Inputs:
    - signals: a dict from :meth:`TrainingDoctor.signals
      <cattern.diagnosis.signals.TrainingDoctor.signals>` or :func:`signals_of`,
      or an ensemble's ``{"members": [...]}`` of them
    - config: the run's :class:`~cattern.experiment.ExperimentConfig` (or its
      dict), which names the causes (its std, rate, reg, pixel scale); None
      names them from the signals alone
    """
    if "members" in signals:
        # An ensemble: each net's findings, saying which net (nets differ only in their seed).
        count = len(signals["members"])
        return [dataclasses.replace(f, observation=f"net {k + 1} of {count}: {f.observation}")
                for k, member in enumerate(signals["members"]) for f in diagnose(member, config)]
    cfg = config_dict(config)
    found = [f for f in (check(signals, cfg) for check in CHECKS.values()) if f is not None]
    explained = {code for f in found for code in f.explains}
    return sorted((f for f in found if f.code not in explained), key=lambda f: f.severity != "error")
