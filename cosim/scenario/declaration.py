"""A scenario's declaration: `Scenario` (name, summary, parameters, engines, the
constraints between parameters, the run function) and how it turns user values into a
validated Config before any worker starts."""

from __future__ import annotations

import difflib
import numbers
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from cosim.errors import ParameterError, ScenarioError
from cosim.params import Param
from cosim.scenario.config import Config, Engine
from cosim.scenario.results import Outcome

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


#: A constraint between parameters: gets the Config, returns one line naming the
#: parameter(s) a user can change when it does not hold (or raises ParameterError);
#: any other return value (None) means it holds.
Check = Callable[[Config], str | None]


class Scenario:
    """One accelerator scenario: its name, summary, parameters, engines, the constraints
    between its parameters, and the run function registered with `@scenario.run`. Create
    it at module level of a script.

    A constraint that one parameter's range cannot say (cin a multiple of 8; a layer that
    must fit the SRAM that mat_kb gives) is a function registered with `@scenario.check`
    (or given as checks=[...]); configure() runs every check, so a bad combination is
    one line and exit status 2 before any worker starts, in a sweep for every point."""

    def __init__(
        self,
        name: str,
        summary: str,
        *,
        params: Iterable[Param] = (),
        engines: Mapping[str, Engine] | None = None,
        seed: int = 1,
        doc: str | None = None,
        checks: Iterable[Check] = (),
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
        self.checks: list[Check] = []
        for fn in checks:
            self.check(fn)

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

    def check(self, fn: Check) -> Check:
        """Decorator registering a constraint `fn(config) -> None | str` (see the class)."""
        if not callable(fn):
            raise ScenarioError(f"scenario '{self.name}': check {fn!r} is not callable")
        self.checks.append(fn)
        return fn

    def _check_constraints(self, config: Config) -> None:
        for fn in self.checks:
            try:
                problem = fn(config)
            except ParameterError as e:
                problem = str(e)
            if isinstance(problem, str) and problem:
                prefix = f"scenario '{self.name}': "
                text = str(problem).removeprefix(prefix)
                raise ParameterError(prefix + text)

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
        constraints: bool = True,
    ) -> Config:
        """A validated Config: defaults for what is not given; ParameterError naming the
        first unknown or invalid value and what is allowed. constraints=False skips the
        declared checks (a worker re-reading a configuration its caller checked)."""
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
        config = Config(
            scenario=self.name,
            params=values,
            engines=chosen,
            seed=self.default_seed if seed is None else self.check_seed(seed),
            wave=wave,
            trace=bool(trace),
        )
        if constraints:
            self._check_constraints(config)
        return config

    def config_from_dict(self, data: Mapping[str, Any], *, constraints: bool = True) -> Config:
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
            constraints=constraints,
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
        from cosim.scenario.loading import run_in_worker

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
        from cosim.scenario.command import scenario_script_main

        sys.exit(scenario_script_main(self, argv))
