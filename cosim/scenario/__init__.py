"""The scenario contract: what a script in scenarios/ declares, runs and returns.

A script creates one `Scenario` (name, summary, `Param`s, `Engine`s, constraints) and
registers one module-level run function with `@scenario.run`; README's "Scenarios: the
contract" shows one. Modules: `declaration` (Scenario), `config` (Engine, Config),
`results` (what a run returns and its checks), `loading` (scripts by path), `command`
(the command line of one run). Everything a script or test uses is re-exported here.
"""

from __future__ import annotations

from cosim.errors import ScenarioError
from cosim.params import PARAM_TYPES, Param
from cosim.scenario.config import ENGINE_KINDS, Config, Engine
from cosim.scenario.declaration import Scenario
from cosim.scenario.loading import load_script, run_in_worker
from cosim.scenario.results import (
    RATIO_TOLERANCE,
    REQUIRED_METRICS,
    RESULT_EXTRAS_KEY,
    RESULT_TEXT_KEY,
    Outcome,
    check_result,
)

__all__ = [
    "ENGINE_KINDS",
    "PARAM_TYPES",
    "RATIO_TOLERANCE",
    "REQUIRED_METRICS",
    "RESULT_EXTRAS_KEY",
    "RESULT_TEXT_KEY",
    "Config",
    "Engine",
    "Outcome",
    "Param",
    "Scenario",
    "ScenarioError",
    "check_result",
    "load_script",
    "run_in_worker",
]
