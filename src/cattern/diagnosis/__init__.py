"""Diagnosing tools: checks that say not only *whether* something is wrong, but what.

- :func:`check_gradients`: a gradient check per term of the loss and per
  parameter array, with cs231n's verdict bands, kinks and vanished entries
  left out, and the bug's shape named (:mod:`cattern.diagnosis.gradcheck`,
  :mod:`cattern.diagnosis.shapes`, :mod:`cattern.diagnosis.report`).
"""
from cattern.diagnosis.gradcheck import check_gradients
from cattern.diagnosis.report import ArrayCheck, GradCheckReport

__all__ = ["ArrayCheck", "GradCheckReport", "check_gradients"]
