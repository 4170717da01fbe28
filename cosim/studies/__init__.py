"""Architecture studies: parameter sweeps over a scenario, their results store, and
reports (tables and figures). The command line (`cosim sweep`, `cosim report`) is a thin
layer over `run_sweep`, `ResultStore` and `write_report`."""

from __future__ import annotations

from cosim.studies.grid import expand_grid, parse_assignments, parse_grid
from cosim.studies.report import write_report
from cosim.studies.store import SCHEMA_VERSION, PointRecord, ResultStore
from cosim.studies.sweep import SweepSummary, run_point, run_sweep

__all__ = [
    "SCHEMA_VERSION",
    "PointRecord",
    "ResultStore",
    "SweepSummary",
    "expand_grid",
    "parse_assignments",
    "parse_grid",
    "run_point",
    "run_sweep",
    "write_report",
]
