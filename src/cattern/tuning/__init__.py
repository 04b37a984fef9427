"""Hyperparameter search: spaces of configs, parallel resumable runs, the ranked results.

- :mod:`cattern.tuning.space`: :func:`grid`, :func:`random_configs`, :data:`SEARCH_PRESETS`
- :mod:`cattern.tuning.search`: :func:`run_search` -> :class:`SearchOutcome`
- :mod:`cattern.tuning.executors`: where the runs train (this process, loky, dask)
- :mod:`cattern.tuning.halving`: the successive-halving rule
- :mod:`cattern.tuning.results`: the rows, the results file, the CSV and the text table
"""
from cattern.tuning.results import format_table, read_rows, write_csv
from cattern.tuning.search import SearchOutcome, run_search
from cattern.tuning.space import SEARCH_PRESETS, edge_warnings, grid, preset_configs, random_configs

__all__ = [
    "SEARCH_PRESETS", "SearchOutcome", "edge_warnings", "format_table", "grid",
    "preset_configs", "random_configs", "read_rows", "run_search", "write_csv",
]
