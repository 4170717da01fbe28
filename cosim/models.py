"""The registry of C++ models: what exists, what each takes, and checking user values.

`cosim.models()` lists every model compiled into cosim; `cosim.model_info("memory")`
describes one (parameters with types, defaults, ranges, units and the source of the
defaults; ports). `Simulation.model()` checks the values given against this schema
before anything is built, so a wrong name, type or range fails at the user's line."""

from __future__ import annotations

import difflib
import numbers
from dataclasses import dataclass
from typing import Any

from cosim import _core
from cosim.errors import ParameterError
from cosim.units import fmt_time, parse_time


def _num(x: float) -> str:
    if x is None:
        return "?"
    if float(x).is_integer() and abs(x) < 2**63:
        return str(int(x))
    return f"{x:g}"


@dataclass(frozen=True)
class ParamInfo:
    name: str
    type: str  # int, float, bool, str, time (integer ps)
    default: Any
    min: float | None
    max: float | None
    choices: tuple[str, ...]
    unit: str
    doc: str
    source: str

    def allowed(self) -> str:
        """The allowed values, for messages and help text."""
        if self.type == "bool":
            return "True or False"
        if self.type == "str":
            return ", ".join(repr(c) for c in self.choices) if self.choices else "any string"
        if self.type == "time":
            return f"{fmt_time(int(self.min))} .. {fmt_time(int(self.max))}"
        unit = f" {self.unit}" if self.unit else ""
        return f"{_num(self.min)} .. {_num(self.max)}{unit}"

    def check(self, model: str, value: Any) -> Any:
        """Return `value` converted to this parameter's type or raise ParameterError."""
        where = f"{model}: parameter '{self.name}'"
        t = self.type
        if t == "bool":
            if not isinstance(value, bool) and type(value).__name__ != "bool_":
                raise ParameterError(f"{where} expects True or False, got {value!r}")
            return bool(value)
        if t == "str":
            if not isinstance(value, str):
                raise ParameterError(f"{where} expects a string, got {value!r}")
            if self.choices and value not in self.choices:
                raise ParameterError(
                    f"{where} = {value!r} is not allowed; choose one of {self.allowed()}"
                )
            return value
        if t == "time":
            if isinstance(value, str):
                try:
                    value = parse_time(value)
                except ValueError as e:
                    raise ParameterError(f"{where}: {e}") from None
            elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ParameterError(
                    f"{where} expects a time: integer picoseconds (use cosim.ns(2.5)) or a "
                    f"string like '2.5 ns'; got {value!r}"
                )
            value = int(value)
        elif t == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ParameterError(f"{where} expects an integer, got {value!r}")
            value = int(value)
        elif t == "float":
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ParameterError(f"{where} expects a number, got {value!r}")
            value = float(value)
        if self.min is not None and self.max is not None and not (self.min <= value <= self.max):
            shown = fmt_time(value) if t == "time" and value >= 0 else repr(value)
            raise ParameterError(f"{where} = {shown} is out of range; allowed {self.allowed()}")
        return value


@dataclass(frozen=True)
class PortInfo:
    name: str
    kind: str  # tlm_initiator, tlm_target, event
    doc: str
    multi: bool


@dataclass(frozen=True)
class ModelInfo:
    name: str
    summary: str
    doc: str
    source: str
    params: tuple[ParamInfo, ...]
    ports: tuple[PortInfo, ...]

    def param(self, name: str) -> ParamInfo:
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(self._unknown(name, f"model '{self.name}'"))

    def _unknown(self, name: str, where: str) -> str:
        known = [p.name for p in self.params]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"{where}: unknown parameter '{name}'{hint} (known: {', '.join(known) or 'none'})"

    def check(self, instance: str, values: dict[str, Any]) -> dict[str, Any]:
        """Validate `values` for an instance named `instance`; returns them converted,
        with defaults for what was not given."""
        where = f"{self.name} '{instance}'"
        out: dict[str, Any] = {}
        for key in values:
            if key not in {p.name for p in self.params}:
                raise ParameterError(self._unknown(key, where))
        for p in self.params:
            out[p.name] = p.check(where, values[p.name]) if p.name in values else p.default
        return out

    def help(self) -> str:
        """A text description: summary, parameters and ports."""
        lines = [f"{self.name}: {self.summary}"]
        if self.doc:
            lines.append(f"  {self.doc}")
        if self.source:
            lines.append(f"  source: {self.source}")
        lines.append("  parameters:")
        for p in self.params:
            default = fmt_time(p.default) if p.type == "time" else repr(p.default)
            lines.append(
                f"    {p.name} ({p.type}, default {default}; allowed {p.allowed()}): {p.doc}"
            )
            if p.source:
                lines.append(f"      source: {p.source}")
        lines.append("  ports:")
        for q in self.ports:
            lines.append(f"    {q.name} ({q.kind}{', multi' if q.multi else ''}): {q.doc}")
        return "\n".join(lines)


def _load() -> dict[str, ModelInfo]:
    out = {}
    for s in _core.model_specs():
        params = tuple(
            ParamInfo(
                name=p["name"],
                type=p["type"],
                default=p["default"],
                min=p["min"],
                max=p["max"],
                choices=tuple(p["choices"]),
                unit=p["unit"],
                doc=p["doc"],
                source=p["source"],
            )
            for p in s["params"]
        )
        ports = tuple(PortInfo(q["name"], q["kind"], q["doc"], q["multi"]) for q in s["ports"])
        out[s["name"]] = ModelInfo(s["name"], s["summary"], s["doc"], s["source"], params, ports)
    return out


_MODELS: dict[str, ModelInfo] | None = None


def models() -> dict[str, ModelInfo]:
    """All C++ models compiled into cosim, by name."""
    global _MODELS
    if _MODELS is None:
        _MODELS = _load()
    return dict(_MODELS)


def model_info(name: str) -> ModelInfo:
    """The schema of model `name`; ParameterError naming the known models otherwise."""
    known = models()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ParameterError(f"unknown model '{name}'{hint} (known: {', '.join(sorted(known))})")
    return known[name]
