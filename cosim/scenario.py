"""The scenario contract: what a script in scenarios/ declares, runs and returns.

A scenario script creates one `Scenario` (name, one-line summary, parameters, engines)
and registers one module-level run function with `@scenario.run`:

    from cosim.scenario import Engine, Param, Scenario

    scenario = Scenario(
        "axpy",
        "z = a*x + y offloaded to a tiled engine vs the host loop",
        params=[
            Param("n", 4096, min=1, max=1 << 20, help="vector length"),
            Param("clock", "1 ns", type="time", help="clock period"),
        ],
        engines={"engine": Engine(("functional", "tlm", "rtl"), default="tlm")},
    )

    @scenario.run
    def run(sim, config):            # in a fresh worker process (cosim.simulate)
        x = config.rng().integers(...)
        ...                          # build the system from config.n, config.engines
        sim.run()
        return {"golden_ok": ..., "cycles": ..., "baseline_cycles": ..., "speedup": ...,
                "energy_pj": ..., "baseline_energy_pj": ..., "energy_ratio": ...,
                "dram_bytes": ..., "report": "text for people", "extras": {...}}

    if __name__ == "__main__":
        scenario.main()              # --help, --set k=v, --engine c=impl, --seed, --trace

The framework validates every value before a worker starts (ParameterError naming the
parameter and its allowed values), runs the function in a worker that imports the script
by file path, and checks the returned metrics (REQUIRED_METRICS, numbers or bools, and
speedup / energy_ratio consistent with their definitions) before anything is reported or
stored. Everything the run function returns besides "report" and "extras" is a metric.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import math
import numbers
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from cosim.errors import CosimError, ParameterError
from cosim.units import fmt_time, parse_time

ENGINE_KINDS = ("functional", "tlm", "rtl")
PARAM_TYPES = ("int", "float", "bool", "str", "time")
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

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class ScenarioError(CosimError):
    """A scenario script breaks the contract: a bad declaration, no run function, a
    result without a required metric or with a metric that is not a number."""


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
    raise ScenarioError(
        f"cannot tell the type of a parameter from its default {default!r}; "
        f"give type= one of {', '.join(PARAM_TYPES)}"
    )


# --------------------------------------------------------------------------- declaring


@dataclass(frozen=True)
class Param:
    """A scenario parameter: its default, type, allowed values and a help line.

    type: int, float, bool, str or time (integer picoseconds; accepts '2.5 ns'); by
    default inferred from `default`. min/max bound numbers and times (either may be
    None); choices lists the only allowed values. Values given as text (the command
    line) are parsed according to the type."""

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
            raise ScenarioError(f"parameter name {self.name!r} is not a Python identifier")
        kind = self.type or _infer_type(self.default)
        if kind not in PARAM_TYPES:
            raise ScenarioError(
                f"parameter '{self.name}': type {kind!r} is not one of {', '.join(PARAM_TYPES)}"
            )
        object.__setattr__(self, "type", kind)
        if kind == "time":
            for bound in ("min", "max"):
                value = getattr(self, bound)
                if isinstance(value, str):
                    object.__setattr__(self, bound, parse_time(value))
        try:
            choices = tuple(
                self._convert(c, f"a choice of parameter '{self.name}'") for c in self.choices
            )
            object.__setattr__(self, "choices", choices)
            object.__setattr__(self, "default", self.check(self.default))
        except ParameterError as e:
            raise ScenarioError(f"invalid declaration: {e}") from None

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
            value = float(value)
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


@dataclass(frozen=True)
class Engine:
    """A component whose implementation the scenario can swap: the implementations it
    has, among ENGINE_KINDS (functional = numpy, tlm = approximately timed C++,
    rtl = Verilated), and the default (the first one unless given)."""

    choices: tuple[str, ...]
    default: str = ""
    help: str = ""

    def __post_init__(self) -> None:
        choices = (self.choices,) if isinstance(self.choices, str) else tuple(self.choices)
        bad = [c for c in choices if c not in ENGINE_KINDS]
        if not choices or bad:
            raise ScenarioError(
                f"engine implementations {list(choices)!r} must be a non-empty subset of "
                f"{', '.join(ENGINE_KINDS)}"
            )
        object.__setattr__(self, "choices", choices)
        default = self.default or choices[0]
        if default not in choices:
            raise ScenarioError(f"engine default {default!r} is not one of {', '.join(choices)}")
        object.__setattr__(self, "default", default)


# ----------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Config:
    """The validated settings of one run, handed to the run function. Parameters read
    as attributes (`config.n`) or items (`config["n"]`); `config.engines` maps each
    component to its implementation; `config.rng()` is the seeded generator; `wave`
    names an RTL block whose waveform the scenario should dump (or None); `trace` says
    a timeline is being recorded (the framework enables and exports it)."""

    scenario: str
    params: Mapping[str, Any]
    engines: Mapping[str, str]
    seed: int
    wave: str | None = None
    trace: bool = False

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("params")
        if params is not None and name in params:
            return params[name]
        if name.startswith("__") or params is None:
            raise AttributeError(name)
        raise AttributeError(
            f"scenario '{self.scenario}' has no parameter '{name}' "
            f"(parameters: {', '.join(params) or 'none'})"
        )

    def __getitem__(self, name: str) -> Any:
        if name not in self.params:
            raise KeyError(
                f"scenario '{self.scenario}' has no parameter '{name}' "
                f"(parameters: {', '.join(self.params) or 'none'})"
            )
        return self.params[name]

    def engine(self, component: str) -> str:
        """The implementation chosen for `component`."""
        if component not in self.engines:
            raise KeyError(
                f"scenario '{self.scenario}' has no engine '{component}' "
                f"(engines: {', '.join(self.engines) or 'none'})"
            )
        return self.engines[component]

    def rng(self) -> np.random.Generator:
        """A numpy generator seeded with this run's seed (a new one on each call)."""
        return np.random.default_rng(self.seed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "params": dict(self.params),
            "engines": dict(self.engines),
            "seed": self.seed,
            "wave": self.wave,
            "trace": self.trace,
        }

    @property
    def point_id(self) -> str:
        """Identity of this point in a study: a hash of scenario, parameters, engines and
        seed (what determines the results; wave and trace do not)."""
        key = json.dumps(
            [self.scenario, dict(self.params), dict(self.engines), self.seed],
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- results


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
        if not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
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


# --------------------------------------------------------------------------- scenario


class Scenario:
    """One accelerator scenario: its name, summary, parameters and engines, and the run
    function registered with `@scenario.run`. Create it at module level of a script."""

    def __init__(
        self,
        name: str,
        summary: str,
        *,
        params: Iterable[Param] = (),
        engines: Mapping[str, Engine] | None = None,
        seed: int = 1,
        doc: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ScenarioError(
                f"scenario name {name!r} must be lower-case letters, digits and '_', "
                "starting with a letter"
            )
        if not isinstance(summary, str) or not summary.strip() or "\n" in summary.strip():
            raise ScenarioError(f"scenario '{name}': the summary must be one non-empty line")
        self.name = name
        self.summary = summary.strip()
        self.params: dict[str, Param] = {}
        for p in params:
            if not isinstance(p, Param):
                raise ScenarioError(f"scenario '{name}': params holds {p!r}, not a Param")
            if p.name in self.params:
                raise ScenarioError(f"scenario '{name}': parameter '{p.name}' is declared twice")
            if p.name in ("seed", "wave", "trace"):
                raise ScenarioError(
                    f"scenario '{name}': '{p.name}' is set by the framework (--{p.name}), "
                    "not a parameter"
                )
            self.params[p.name] = p
        self.engines: dict[str, Engine] = {}
        for component, engine in (engines or {}).items():
            if not isinstance(engine, Engine):
                raise ScenarioError(
                    f"scenario '{name}': engine '{component}' must be an Engine, got {engine!r}"
                )
            if not isinstance(component, str) or not component.isidentifier():
                raise ScenarioError(f"scenario '{name}': engine name {component!r} is not valid")
            self.engines[component] = engine
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ScenarioError(f"scenario '{name}': seed must be an integer >= 0, got {seed!r}")
        self.default_seed = seed
        caller = sys._getframe(1).f_globals
        self.doc = (doc if doc is not None else caller.get("__doc__")) or ""
        file = caller.get("__file__")
        self.path: Path | None = Path(file).resolve() if file else None
        self._run: Callable[[Any, Config], Any] | None = None

    def __repr__(self) -> str:
        return f"<Scenario {self.name} ({self.path})>"

    # ------------------------------------------------------------------ declaration
    def run(self, fn: Callable[[Any, Config], Any]) -> Callable[[Any, Config], Any]:
        """Decorator registering the module-level function `fn(sim, config) -> dict`."""
        if self._run is not None:
            raise ScenarioError(f"scenario '{self.name}' already has a run function")
        if not callable(fn) or "<locals>" in getattr(fn, "__qualname__", "<locals>"):
            raise ScenarioError(
                f"scenario '{self.name}': the run function must be a module-level function"
            )
        self._run = fn
        return fn

    @property
    def run_function(self) -> Callable[[Any, Config], Any]:
        if self._run is None:
            raise ScenarioError(
                f"scenario '{self.name}' ({self.path}) has no run function; decorate "
                "`def run(sim, config)` with @scenario.run"
            )
        return self._run

    # ------------------------------------------------------------------ configuring
    def param(self, name: str) -> Param:
        if name not in self.params:
            raise ParameterError(self._unknown("parameter", name, list(self.params)))
        return self.params[name]

    def _unknown(self, what: str, name: str, known: list[str]) -> str:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return (
            f"scenario '{self.name}': unknown {what} '{name}'{hint} "
            f"(known: {', '.join(known) or 'none'})"
        )

    def check_engine(self, component: str, impl: Any) -> str:
        if component not in self.engines:
            raise ParameterError(self._unknown("engine", component, list(self.engines)))
        engine = self.engines[component]
        if impl not in engine.choices:
            raise ParameterError(
                f"scenario '{self.name}': engine '{component}' = {impl!r} is not available; "
                f"choose one of {', '.join(repr(c) for c in engine.choices)}"
            )
        return str(impl)

    def check_seed(self, seed: Any) -> int:
        if isinstance(seed, str):
            try:
                seed = int(seed)
            except ValueError:
                raise ParameterError(
                    f"scenario '{self.name}': seed expects an integer, got {seed!r}"
                ) from None
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ParameterError(f"scenario '{self.name}': seed expects an integer, got {seed!r}")
        if not 0 <= int(seed) < 2**63:
            raise ParameterError(
                f"scenario '{self.name}': seed = {seed} is out of range; allowed 0 .. 2**63-1"
            )
        return int(seed)

    def configure(
        self,
        params: Mapping[str, Any] | None = None,
        engines: Mapping[str, Any] | None = None,
        seed: Any = None,
        *,
        wave: str | None = None,
        trace: bool = False,
    ) -> Config:
        """A validated Config: defaults for what is not given; ParameterError naming the
        first unknown or invalid value and what is allowed."""
        values = {name: p.default for name, p in self.params.items()}
        for key, value in (params or {}).items():
            values[key] = self.param(key).check(value, f"scenario '{self.name}'")
        chosen = {name: e.default for name, e in self.engines.items()}
        for component, impl in (engines or {}).items():
            chosen[component] = self.check_engine(component, impl)
        if wave is not None:
            if wave not in self.engines:
                raise ParameterError(
                    f"scenario '{self.name}': --wave {wave}: no such block; waveforms come "
                    f"from RTL engines (engines: {', '.join(self.engines) or 'none'})"
                )
            if chosen[wave] != "rtl":
                raise ParameterError(
                    f"scenario '{self.name}': --wave {wave}: waveforms come from RTL engines "
                    f"and '{wave}' runs as '{chosen[wave]}'"
                    + (
                        f" (add --engine {wave}=rtl)"
                        if "rtl" in self.engines[wave].choices
                        else " and has no RTL implementation"
                    )
                )
        return Config(
            scenario=self.name,
            params=values,
            engines=chosen,
            seed=self.default_seed if seed is None else self.check_seed(seed),
            wave=wave,
            trace=bool(trace),
        )

    def config_from_dict(self, data: Mapping[str, Any]) -> Config:
        """Rebuild (and re-validate) a Config from Config.to_dict()."""
        if data.get("scenario") != self.name:
            raise ScenarioError(
                f"a configuration of scenario {data.get('scenario')!r} given to '{self.name}'"
            )
        return self.configure(
            data.get("params"),
            data.get("engines"),
            data.get("seed"),
            wave=data.get("wave"),
            trace=bool(data.get("trace")),
        )

    def help_text(self) -> str:
        """Parameters and engines, for --help and `cosim run NAME --help`."""
        lines = ["parameters (--set NAME=VALUE):"]
        for p in self.params.values():
            lines.append(f"  {p.describe()}")
            if p.help:
                lines.append(f"      {p.help}")
        if not self.params:
            lines.append("  (none)")
        lines.append("engines (--engine NAME=IMPL):")
        for component, e in self.engines.items():
            lines.append(f"  {component} (default {e.default}; allowed {', '.join(e.choices)})")
            if e.help:
                lines.append(f"      {e.help}")
        if not self.engines:
            lines.append("  (none)")
        lines.append(f"seed (--seed N): default {self.default_seed}")
        return "\n".join(lines)

    # ---------------------------------------------------------------------- running
    def simulate(
        self,
        config: Config,
        *,
        trace_path: str | Path | None = None,
        timeout: float | None = None,
        echo: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> Outcome:
        """Run the scenario once in a fresh worker process (cosim.simulate) and return
        its validated Outcome. Crashes, timeouts and the run function's exceptions are
        raised as by cosim.simulate."""
        from cosim.provenance import environment
        from cosim.runner import simulate

        if self.path is None:
            raise ScenarioError(f"scenario '{self.name}' was not created in a script file")
        r = simulate(
            run_in_worker,
            str(self.path),
            config.to_dict(),
            None if trace_path is None else str(Path(trace_path).resolve()),
            timeout=timeout,
            echo=echo,
            env=dict(env or {}),
        )
        v = r.value
        provenance = {**environment(self.path.parent), **v["provenance"]}
        provenance["systemc"] = r.metadata.get("systemc", provenance.get("systemc"))
        return Outcome(
            config=config,
            metrics=v["metrics"],
            report=v["report"],
            extras=v["extras"],
            provenance=provenance,
            sim_time_ps=int(r.metadata["sim_time_ps"]),
            wall_s=float(r.metadata["worker_wall_s"]),
            trace_events=v["trace_events"],
            stats=r.stats,
            log=r.log,
        )

    def main(self, argv: list[str] | None = None) -> NoReturn:
        """The command line of a scenario script run directly (`python scenarios/x.py`):
        --help, --set k=v, --engine component=impl, --seed N, --trace FILE, --wave BLOCK.
        Prints the report; the last line is one JSON object of the metrics."""
        from cosim.cli import scenario_script_main

        sys.exit(scenario_script_main(self, argv))


# ------------------------------------------------------------------- loading scripts

_LOADED: dict[Path, Scenario] = {}
_LOADING = threading.Lock()


def load_script(path: str | Path) -> Scenario:
    """Import a scenario script by file path (scenarios are not a package) and return
    the Scenario it declares (loaded once per process). The script's folder is put on
    sys.path so it can import helper modules beside it."""
    path = Path(path).resolve()
    with _LOADING:
        if path not in _LOADED:
            _LOADED[path] = _load(path)
        return _LOADED[path]


def _load(path: Path) -> Scenario:
    if not path.is_file():
        raise ScenarioError(f"no scenario script at {path}")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    module_name = f"cosim_scenario_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.append(folder)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[module_name]
        raise ScenarioError(f"cannot load scenario script {path}: {type(e).__name__}: {e}") from e
    found = [v for v in vars(module).values() if isinstance(v, Scenario)]
    if len(found) != 1:
        raise ScenarioError(
            f"{path} must create exactly one cosim.scenario.Scenario at module level; "
            f"it creates {len(found)} (see 'Scenarios: the contract' in the README)"
        )
    scenario = found[0]
    scenario.path = path
    scenario.run_function  # noqa: B018 - raises when no run function is registered
    return scenario


def run_in_worker(
    sim: Any, script: str, config: dict[str, Any], trace_path: str | None
) -> dict[str, Any]:
    """Executed in a simulation worker by Scenario.simulate: import the script, run its
    run function on `sim` with the config, and return the validated result."""
    from cosim.provenance import recorded

    scenario = load_script(script)
    cfg = scenario.config_from_dict({**config, "trace": trace_path is not None})
    if trace_path is not None:
        sim.trace.enable()
    value = scenario.run_function(sim, cfg)
    if sim.phase == "elaboration":
        raise ScenarioError(
            f"scenario '{scenario.name}': the run function returned without running the "
            "simulation (call sim.run())"
        )
    metrics, report, extras = check_result(scenario.name, value)
    events = sim.trace.export(trace_path) if trace_path is not None else None
    return {
        "metrics": metrics,
        "report": report,
        "extras": extras,
        "trace_events": events,
        "provenance": recorded(),
    }
