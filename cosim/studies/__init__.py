"""Architecture studies: parameter sweeps and guided searches over a scenario, their
results store, and reports (tables, figures, Pareto fronts). The command line (`cosim
sweep`, `cosim explore`, `cosim report`) is a thin layer over `run_sweep`, `run_explore`,
`ResultStore` and `write_report`."""

from __future__ import annotations

from cosim.studies.explore import ExploreSpec, ExploreSummary, run_explore, search_space
from cosim.studies.grid import expand_grid, parse_assignments, parse_grid
from cosim.studies.pareto import Constraint, Objective, pareto_front, parse_constraint
from cosim.studies.report import write_report
from cosim.studies.store import SCHEMA_VERSION, PointRecord, ResultStore
from cosim.studies.sweep import SweepSummary, run_point, run_sweep

__all__ = [
    "SCHEMA_VERSION",
    "Constraint",
    "ExploreSpec",
    "ExploreSummary",
    "Objective",
    "PointRecord",
    "ResultStore",
    "SweepSummary",
    "expand_grid",
    "pareto_front",
    "parse_assignments",
    "parse_constraint",
    "parse_grid",
    "run_explore",
    "run_point",
    "run_sweep",
    "search_space",
    "write_report",
]
