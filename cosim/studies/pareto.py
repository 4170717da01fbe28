"""Objectives, constraints and Pareto fronts of a study, shared by `cosim explore` (what
to search for) and `cosim report --pareto` (what to draw).

    objs = [Objective("cycles"), Objective("area_mm2")]           # both minimised
    cons = [parse_constraint("dram_bytes < 1e6"), parse_constraint("golden_ok")]
    front = pareto_front([r.metrics for r in records], objs, cons)  # indices

A constraint is `NAME`, `not NAME` (a bool metric) or `NAME OP NUMBER` / `NUMBER OP
NAME` with OP one of < <= > >=; NAME is a metric or a parameter of the points.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cosim.errors import ParameterError

DIRECTIONS = ("minimize", "maximize")
_OPS = ("<=", ">=", "<", ">")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_COMPARE = re.compile(rf"^\s*({_NAME}|{_NUMBER})\s*(<=|>=|<|>)\s*({_NAME}|{_NUMBER})\s*$")
_BOOL = re.compile(rf"^\s*(not\s+)?({_NAME})\s*$")


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: str = "minimize"

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ParameterError(
                f"objective direction {self.direction!r} is not one of {DIRECTIONS}"
            )

    @property
    def sign(self) -> float:
        """+1 when smaller is better, -1 when larger is."""
        return 1.0 if self.direction == "minimize" else -1.0

    def __str__(self) -> str:
        return f"{self.direction} {self.metric}"


@dataclass(frozen=True)
class Constraint:
    """`name op bound` (op one of < <= > >=), or a bool: `name` (op "true") or `not
    name` (op "false")."""

    text: str
    name: str
    op: str
    bound: float = 0.0

    def violation(self, values: Mapping[str, Any]) -> float:
        """How far `values` are from meeting the constraint: <= 0 when met (Optuna's
        convention); inf when the value is missing or not a number."""
        v = values.get(self.name)
        if self.op in ("true", "false"):
            if not isinstance(v, bool | int | float):
                return math.inf
            return 0.0 if bool(v) == (self.op == "true") else 1.0
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return math.inf
        v, b = float(v), self.bound
        scale = max(abs(b), 1e-12)
        if self.op == "<":  # equality breaks a strict bound: a violation, however small
            return max((v - b) / scale, 1e-9) if v >= b else -1.0
        if self.op == "<=":
            return (v - b) / scale if v > b else 0.0
        if self.op == ">":
            return max((b - v) / scale, 1e-9) if v <= b else -1.0
        return (b - v) / scale if v < b else 0.0

    def met(self, values: Mapping[str, Any]) -> bool:
        return self.violation(values) <= 0

    def interval(self) -> tuple[float, float, bool, bool]:
        """The values of `name` that meet it: (lo, hi, lo_open, hi_open); bools map to
        1 (true) and 0 (false)."""
        if self.op == "true":
            return (1.0, 1.0, False, False)
        if self.op == "false":
            return (0.0, 0.0, False, False)
        if self.op in ("<", "<="):
            return (-math.inf, self.bound, False, self.op == "<")
        return (self.bound, math.inf, self.op == ">", False)


def parse_constraint(text: str) -> Constraint:
    """A Constraint from `--where` text; ParameterError saying what is accepted."""
    m = _BOOL.match(text)
    if m and not re.fullmatch(_NUMBER, m.group(2)):
        return Constraint(text.strip(), m.group(2), "false" if m.group(1) else "true")
    m = _COMPARE.match(text)
    if m:
        left, op, right = m.groups()
        left_num = re.fullmatch(_NUMBER, left) is not None
        right_num = re.fullmatch(_NUMBER, right) is not None
        if left_num != right_num:
            if left_num:  # 5 < x  is  x > 5
                flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
                return Constraint(text.strip(), right, flipped, float(left))
            return Constraint(text.strip(), left, op, float(right))
    raise ParameterError(
        f"--where {text!r}: expected 'NAME OP NUMBER' (OP one of < <= > >=), 'NAME' or "
        "'not NAME', e.g. --where 'dram_bytes < 1e6' --where golden_ok"
    )


def infeasible(
    constraints: Sequence[Constraint], ranges: Mapping[str, tuple[float, float]]
) -> str | None:
    """Why no point can meet `constraints` together (the constraints on one name that
    exclude each other, or one outside the range of a parameter in `ranges`), or None."""
    by_name: dict[str, list[Constraint]] = {}
    for c in constraints:
        by_name.setdefault(c.name, []).append(c)
    for name, group in by_name.items():
        lo, hi, lo_open, hi_open = -math.inf, math.inf, False, False
        for c in group:
            a, b, ao, bo = c.interval()
            if a > lo or (a == lo and ao):
                lo, lo_open = a, ao
            if b < hi or (b == hi and bo):
                hi, hi_open = b, bo
        if lo > hi or (lo == hi and (lo_open or hi_open)):
            return (
                "the constraints "
                + " and ".join(repr(c.text) for c in group)
                + f" exclude each other: no value of '{name}' meets them all"
            )
        if name in ranges:
            rlo, rhi = ranges[name]
            if lo > rhi or hi < rlo or (lo == rhi and lo_open) or (hi == rlo and hi_open):
                texts = " and ".join(repr(c.text) for c in group)
                return (
                    f"the constraint{'s' if len(group) > 1 else ''} {texts} cannot be met: "
                    f"'{name}' ranges over {rlo:g} .. {rhi:g} in this search"
                )
    return None


def unknown_name(name: str, known: Iterable[str], what: str, where: str) -> str:
    """The one-line message for a metric or parameter nobody reports."""
    names = sorted(set(known))
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{where}: unknown {what} '{name}'{hint} (known: {', '.join(names) or 'none'})"


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """a is no worse than b in every (minimised) value and better in one."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def objective_vector(
    values: Mapping[str, Any], objectives: Sequence[Objective]
) -> list[float] | None:
    """The objectives of one point as values to minimise, or None if one is missing."""
    out = []
    for o in objectives:
        v = values.get(o.metric)
        if isinstance(v, bool):
            v = float(v)
        if not isinstance(v, int | float) or not math.isfinite(v):
            return None
        out.append(o.sign * float(v))
    return out


def pareto_front(
    points: Sequence[Mapping[str, Any]],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint] = (),
) -> list[int]:
    """Indices of the non-dominated points among those that meet every constraint and
    report every objective (the front), in the order of the first objective. Points
    with equal objective values are all kept."""
    cands = []
    for i, p in enumerate(points):
        vec = objective_vector(p, objectives)
        if vec is not None and all(c.met(p) for c in constraints):
            cands.append((i, vec))
    front = [i for i, v in cands if not any(dominates(w, v) for _, w in cands)]
    return sorted(front, key=lambda i: (objective_vector(points[i], objectives), i))


def knee(
    points: Sequence[Mapping[str, Any]], front: Sequence[int], objectives: Sequence[Objective]
) -> int:
    """The front point nearest the ideal one (each objective scaled to 0..1 over the
    front): the 'best design' of a multi-objective study. front must not be empty."""
    vecs = {i: objective_vector(points[i], objectives) or [] for i in front}
    lo = [min(v[k] for v in vecs.values()) for k in range(len(objectives))]
    hi = [max(v[k] for v in vecs.values()) for k in range(len(objectives))]

    def distance(i: int) -> float:
        return math.sqrt(
            sum(
                ((v - a) / (b - a) if b > a else 0.0) ** 2
                for v, a, b in zip(vecs[i], lo, hi, strict=True)
            )
        )

    return min(front, key=lambda i: (distance(i), i))
