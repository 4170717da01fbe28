"""Sweep grids: `--grid n=1024,2048 --grid engine.pe=tlm,rtl --grid seed=1,2,3`.

An axis is a parameter, an engine (`engine.NAME`) or the seed. The points of a sweep are
the Cartesian product of its axes, in the order given (the last axis varies fastest),
over the fixed settings (--set, --engine, --seed). Every value is checked against the
scenario's declaration before anything runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cosim.errors import ParameterError
from cosim.scenario.command import parse_assignments

if TYPE_CHECKING:
    from cosim.scenario import Config, Scenario

__all__ = ["ENGINE_PREFIX", "Axis", "expand_grid", "parse_assignments", "parse_grid"]

ENGINE_PREFIX = "engine."


@dataclass(frozen=True)
class Axis:
    kind: str  # "param", "engine" or "seed"
    name: str
    values: tuple[Any, ...]

    @property
    def key(self) -> str:
        return {"param": self.name, "engine": ENGINE_PREFIX + self.name, "seed": "seed"}[self.kind]


def parse_grid(scenario: Scenario, items: Sequence[str]) -> list[Axis]:
    """Axes from ["NAME=V1,V2,...", ...], values converted and checked."""
    axes: list[Axis] = []
    seen: set[str] = set()
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        values = [v.strip() for v in text.split(",")]
        if not sep or not key or not all(values):
            raise ParameterError(f"--grid expects NAME=V1,V2,... (no empty values), got {item!r}")
        if key in seen:
            raise ParameterError(f"--grid names '{key}' more than once")
        seen.add(key)
        if key == "seed":
            axis = Axis("seed", "seed", tuple(scenario.check_seed(v) for v in values))
        elif key.startswith(ENGINE_PREFIX):
            name = key[len(ENGINE_PREFIX) :]
            axis = Axis("engine", name, tuple(scenario.check_engine(name, v) for v in values))
        else:
            where = f"scenario '{scenario.name}'"
            axis = Axis("param", key, tuple(scenario.param(key).check(v, where) for v in values))
        axes.append(axis)
    return axes


def expand_grid(
    scenario: Scenario,
    axes: Sequence[Axis],
    params: Mapping[str, Any] | None = None,
    engines: Mapping[str, Any] | None = None,
    seed: Any = None,
) -> list[Config]:
    """The validated configurations of every point (duplicates dropped, order kept).
    A parameter or engine given both as an axis and as a fixed value is refused (neither
    may silently win); a seed axis overrides the fixed seed, as --seed's help says."""
    for axis in axes:
        fixed = {"param": params or {}, "engine": engines or {}}.get(axis.kind, {})
        if axis.name in fixed:
            option = "--set" if axis.kind == "param" else "--engine"
            raise ParameterError(
                f"'{axis.key}' is both a --grid axis and fixed by {option} "
                f"{axis.name}={fixed[axis.name]}; give it once"
            )
    configs: list[Config] = []
    seen: set[str] = set()
    for combo in itertools.product(*(a.values for a in axes)):
        p, e, s = dict(params or {}), dict(engines or {}), seed
        for axis, value in zip(axes, combo, strict=True):
            if axis.kind == "param":
                p[axis.name] = value
            elif axis.kind == "engine":
                e[axis.name] = value
            else:
                s = value
        config = scenario.configure(p, e, s)
        if config.point_id not in seen:
            seen.add(config.point_id)
            configs.append(config)
    return configs
