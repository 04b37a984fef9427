"""Hypothesis draws the same examples on every run, so the suite passes or fails
the same way on every machine: a CI verdict never depends on the day's draw.

To go looking for new counterexamples, run with fresh random draws::

    HYPOTHESIS_PROFILE=explore python -m pytest -q tests/test_layers.py

and pin any failure it finds as an ``@example`` beside the test.
"""
import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
