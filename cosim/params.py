"""A declared parameter: name, default, type, allowed values and a help line, written once.

`Param` is what scenarios declare (`cosim.scenario`) and what any model written in
Python can declare for its own settings: checking a value, the error naming the
parameter and what is allowed, and the help text all come from the declaration."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.errors import DeclarationError, ParameterError
from cosim.units import fmt_time, parse_time

PARAM_TYPES = ("int", "float", "bool", "str", "time")

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _num(x: float) -> str:
    if float(x).is_integer() and abs(x) < 2**63:
        return str(int(x))
    return f"{x:g}"


def _infer_type(default: Any) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, numbers.Integral):
        return "int"
    if isinstance(default, numbers.Real):
        return "float"
    if isinstance(default, str):
        return "str"
    raise DeclarationError(
        f"cannot tell the type of a parameter from its default {default!r}; "
        f"give type= one of {', '.join(PARAM_TYPES)}"
    )


@dataclass(frozen=True)
class Param:
    """A parameter: its default, type, allowed values and a help line.

    type: int, float, bool, str or time (integer picoseconds; accepts '2.5 ns'); by
    default inferred from `default`. min/max bound numbers and times (either may be
    None); choices lists the only allowed values. Values given as text (the command
    line) are parsed according to the type. A declaration that contradicts itself is a
    DeclarationError; a bad value given to check() is a ParameterError."""

    name: str
    default: Any
    help: str = ""
    type: str = ""
    min: float | str | None = None
    max: float | str | None = None
    choices: tuple[Any, ...] = ()
    unit: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise DeclarationError(f"parameter name {self.name!r} is not a Python identifier")
        kind = self.type or _infer_type(self.default)
        if kind not in PARAM_TYPES:
            raise DeclarationError(
                f"parameter '{self.name}': type {kind!r} is not one of {', '.join(PARAM_TYPES)}"
            )
        object.__setattr__(self, "type", kind)
        try:
            if kind == "time":
                for bound in ("min", "max"):
                    value = getattr(self, bound)
                    if isinstance(value, str):
                        object.__setattr__(self, bound, parse_time(value))
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ParameterError(
                    f"parameter '{self.name}': min {self.min!r} is above max {self.max!r}"
                )
            choices = tuple(
                self._convert(c, f"a choice of parameter '{self.name}'") for c in self.choices
            )
            object.__setattr__(self, "choices", choices)
            object.__setattr__(self, "default", self.check(self.default))
        except (ParameterError, ValueError) as e:
            raise DeclarationError(f"invalid declaration: {e}") from None

    def allowed(self) -> str:
        """The allowed values, for messages and help text."""
        if self.choices:
            return ", ".join(self._show(c) for c in self.choices)
        if self.type == "bool":
            return "true or false"
        if self.type == "str":
            return "any text"
        show = (lambda v: fmt_time(int(v))) if self.type == "time" else _num
        unit = f" {self.unit}" if self.unit and self.type != "time" else ""
        if self.min is not None and self.max is not None:
            return f"{show(self.min)} .. {show(self.max)}{unit}"
        if self.min is not None:
            return f">= {show(self.min)}{unit}"
        if self.max is not None:
            return f"<= {show(self.max)}{unit}"
        return {"int": "any integer", "float": "any number", "time": "any time"}[self.type]

    def _show(self, value: Any) -> str:
        if self.type == "time":
            return fmt_time(value)
        if self.type == "bool":
            return "true" if value else "false"
        return repr(value)

    def check(self, value: Any, where: str = "") -> Any:
        """`value` converted to this parameter's type, or ParameterError naming the
        parameter and its allowed values. Text is parsed (command-line values)."""
        at = f"{where}: parameter '{self.name}'" if where else f"parameter '{self.name}'"
        value = self._convert(value, at)
        if self.choices and value not in self.choices:
            raise ParameterError(
                f"{at} = {self._show(value)} is not allowed; choose one of {self.allowed()}"
            )
        too_low = self.min is not None and value < self.min
        too_high = self.max is not None and value > self.max
        if too_low or too_high:
            raise ParameterError(
                f"{at} = {self._show(value)} is out of range; allowed {self.allowed()}"
            )
        return value

    def _convert(self, value: Any, at: str) -> Any:
        """`value` as this parameter's type (text parsed), without the range check."""
        kind = self.type
        if isinstance(value, str) and kind != "str":
            value = self._parse(value, at)
        if isinstance(value, np.generic):
            value = value.item()
        if kind == "bool":
            if not isinstance(value, bool):
                raise ParameterError(f"{at} expects true or false, got {value!r}")
        elif kind == "str":
            if not isinstance(value, str):
                raise ParameterError(f"{at} expects text, got {value!r}")
        elif kind in ("int", "time"):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                what = "an integer" if kind == "int" else "a time like '2.5 ns' (or integer ps)"
                raise ParameterError(f"{at} expects {what}, got {value!r}")
            value = int(value)
            if kind == "time" and value < 0:
                raise ParameterError(f"{at} expects a time >= 0, got {value} ps")
        else:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ParameterError(f"{at} expects a number, got {value!r}")
            try:
                value = float(value)
            except OverflowError:
                value = math.inf
            if not math.isfinite(value):
                raise ParameterError(f"{at} expects a finite number, got {value!r}")
        return value

    def _parse(self, text: str, at: str) -> Any:
        t = text.strip()
        try:
            if self.type == "int":
                return int(t.replace("_", ""), 0) if t[:2].lower() in ("0x", "0b", "0o") else int(t)
            if self.type == "float":
                return float(t)
            if self.type == "time":
                return parse_time(t)
        except ValueError:
            pass
        if self.type == "bool":
            if t.lower() in _TRUE:
                return True
            if t.lower() in _FALSE:
                return False
        what = {
            "int": "an integer",
            "float": "a number",
            "time": "a time like '2.5 ns'",
            "bool": "true or false",
        }[self.type]
        raise ParameterError(f"{at} expects {what}, got {text!r}")

    def describe(self) -> str:
        default = self._show(self.default)
        unit = f" {self.unit}" if self.unit and self.type not in ("time", "str", "bool") else ""
        return f"{self.name} ({self.type}, default {default}{unit}; allowed {self.allowed()})"
