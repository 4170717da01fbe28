"""What a scenario's run function returns and how it is checked: the required metrics,
every further metric a finite number or a bool, the two ratios consistent with their
definitions, report text and JSON-like extras."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cosim.errors import ScenarioError
from cosim.scenario.config import Config

REQUIRED_METRICS = (
    "golden_ok",
    "cycles",
    "baseline_cycles",
    "speedup",
    "energy_pj",
    "baseline_energy_pj",
    "energy_ratio",
    "dram_bytes",
)
#: Keys of a run function's result that are not metrics.
RESULT_TEXT_KEY = "report"
RESULT_EXTRAS_KEY = "extras"
#: Relative tolerance of the check that speedup and energy_ratio match their definitions.
RATIO_TOLERANCE = 1e-6


@dataclass
class Outcome:
    """What one scenario run produced: its validated metrics, report text, extras
    (energy breakdowns, roofline inputs, ...), provenance, and run figures."""

    config: Config
    metrics: dict[str, float | int | bool]
    report: str
    extras: dict[str, Any]
    provenance: dict[str, Any]
    sim_time_ps: int
    wall_s: float
    trace_events: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


def _plain(value: Any, where: str) -> Any:
    """`value` as plain JSON-able Python (numpy scalars and arrays converted)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ScenarioError(
        f"{where} is a {type(value).__name__}; results hold numbers, bools, text, "
        "lists and dicts of them"
    )


def _finite(v: numbers.Real) -> bool:
    """A number a float holds (an integer beyond float's range is not a metric)."""
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def check_result(scenario: str, value: Any) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Split and validate what a run function returned: (metrics, report, extras).

    Raises ScenarioError naming the missing or malformed metric."""
    at = f"scenario '{scenario}'"
    if not isinstance(value, Mapping):
        raise ScenarioError(
            f"{at}: the run function must return a dict of metrics, got {type(value).__name__}"
        )
    value = dict(value)
    report = value.pop(RESULT_TEXT_KEY, "")
    if not isinstance(report, str):
        raise ScenarioError(f"{at}: '{RESULT_TEXT_KEY}' must be text, got {type(report).__name__}")
    extras = value.pop(RESULT_EXTRAS_KEY, {})
    if not isinstance(extras, Mapping):
        raise ScenarioError(
            f"{at}: '{RESULT_EXTRAS_KEY}' must be a dict, got {type(extras).__name__}"
        )
    missing = [k for k in REQUIRED_METRICS if k not in value]
    if missing:
        raise ScenarioError(
            f"{at}: the result lacks required metric{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(k) for k in missing)} (every scenario returns "
            f"{', '.join(REQUIRED_METRICS)})"
        )
    metrics: dict[str, Any] = {}
    for key, v in value.items():
        if isinstance(v, np.generic):
            v = v.item()
        if not isinstance(key, str) or not key.isidentifier():
            raise ScenarioError(f"{at}: metric name {key!r} is not an identifier")
        if isinstance(v, bool):
            metrics[key] = v
            continue
        if not isinstance(v, numbers.Real) or not _finite(v):
            raise ScenarioError(
                f"{at}: metric '{key}' must be a finite number or a bool, got {v!r}; put "
                f"other data under '{RESULT_EXTRAS_KEY}'"
            )
        metrics[key] = int(v) if isinstance(v, numbers.Integral) else float(v)
    if not isinstance(metrics["golden_ok"], bool):
        raise ScenarioError(f"{at}: metric 'golden_ok' must be a bool, got {value['golden_ok']!r}")
    for ratio, num, den in (
        ("speedup", "baseline_cycles", "cycles"),
        ("energy_ratio", "baseline_energy_pj", "energy_pj"),
    ):
        if metrics[den] and not math.isclose(
            metrics[ratio], metrics[num] / metrics[den], rel_tol=RATIO_TOLERANCE
        ):
            raise ScenarioError(
                f"{at}: metric '{ratio}' = {metrics[ratio]!r} disagrees with {num} / {den} = "
                f"{metrics[num] / metrics[den]!r}"
            )
    return metrics, report, _plain(extras, RESULT_EXTRAS_KEY)
