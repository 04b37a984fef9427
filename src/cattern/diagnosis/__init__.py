"""Diagnosing tools: checks that say not only *whether* something is wrong, but what.

- :func:`check_gradients`: a gradient check per term of the loss and per
  parameter array, with cs231n's verdict bands, kinks and vanished entries
  left out, and the bug's shape named (:mod:`cattern.diagnosis.gradcheck`,
  :mod:`cattern.diagnosis.shapes`, :mod:`cattern.diagnosis.report`).
- The training doctor: :class:`TrainingDoctor`, a trainer callback that
  records cheap signals while a net trains (:mod:`cattern.diagnosis.signals`),
  and :func:`diagnose`, which turns them into :class:`Finding` sentences:
  what was seen, the likely causes, what to try, and the threshold with its
  source (:mod:`cattern.diagnosis.doctor`, the checks in
  :mod:`~cattern.diagnosis.curve_checks` and :mod:`~cattern.diagnosis.measured_checks`,
  the findings and their thresholds in :mod:`~cattern.diagnosis.findings`).
  :func:`format_findings` prints them.
"""
from cattern.diagnosis.doctor import CHECKS, diagnose, signals_of
from cattern.diagnosis.findings import THRESHOLDS, Finding, findings_summary, format_findings
from cattern.diagnosis.gradcheck import check_gradients
from cattern.diagnosis.report import ArrayCheck, GradCheckReport
from cattern.diagnosis.signals import TrainingDoctor

__all__ = ["CHECKS", "THRESHOLDS", "ArrayCheck", "Finding", "GradCheckReport", "TrainingDoctor", "check_gradients",
           "diagnose", "findings_summary", "format_findings", "signals_of"]
