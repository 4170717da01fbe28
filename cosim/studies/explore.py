"""Guided search over a scenario's declared parameters: `cosim explore` (Optuna).

    from cosim.studies.explore import ExploreSpec, run_explore, search_space
    spec = ExploreSpec(
        dimensions=search_space(s, ["pes", "mat_kb", "weight_density"]),
        objectives=[Objective("cycles"), Objective("area_mm2")],
        constraints=[parse_constraint("golden_ok")],
    )
    summary = run_explore(s, spec, "results/eie-explore", trials=60, workers=2)

Trials run in batches of `spec.batch` on the sweep backends; each trial is an ordinary
point of the results store (a trial that repeats a stored point reuses it). The sampler
(TPE or NSGA-II) is seeded and told each batch in trial order, so a seed and a trial
count give the same trials, whatever the backend or the order points finish in. The
Optuna study itself lives in memory: a rerun replays the stored points through the same
sampler (no simulation) and continues, which resumes after kill -9 with the same result
as an uninterrupted run. Trial 0 is the scenario's default configuration (the paper's).
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import CosimError, ParameterError
from cosim.progress import SweepProgress
from cosim.provenance import environment
from cosim.scenario import Config, Param, Scenario
from cosim.studies.backends import Backend, Task, make_backend
from cosim.studies.pareto import (
    Constraint,
    Objective,
    infeasible,
    knee,
    objective_vector,
    pareto_front,
    unknown_name,
)
from cosim.studies.store import PointRecord, ResultStore, StoreError
from cosim.studies.sweep import run_point

SAMPLERS = ("tpe", "nsga2", "random")
DEFAULT_BATCH = 8
#: Counting the equivalent grid of a search: every integer of a range of up to
#: GRID_MAX_INTEGERS values, GRID_VALUES_PER_RANGE values of a wider or continuous one.
GRID_VALUES_PER_RANGE = 5
GRID_MAX_INTEGERS = 64
META_KEY = "explore"
TRIALS_KEY = "explore_trials"


class ExploreError(CosimError):
    """An explore cannot go on: its default configuration failed, or its results
    folder holds an explore with other settings."""


# ------------------------------------------------------------------ search space


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a list of values (choices, bools, or given on the
    command line) or a numeric range (int, float or time in ps), log-scaled when it
    spans a factor of 16 or more."""

    name: str
    kind: str  # "choice", "int" or "float"
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False

    def values_in_grid(self) -> int:
        if self.kind == "choice":
            return len(self.choices)
        if self.kind == "int" and self.high - self.low + 1 <= GRID_MAX_INTEGERS:
            return int(self.high - self.low + 1)
        return GRID_VALUES_PER_RANGE

    def bounds(self) -> tuple[float, float] | None:
        if self.kind == "choice":
            nums = [c for c in self.choices if isinstance(c, int | float)]
            return (float(min(nums)), float(max(nums))) if len(nums) == len(self.choices) else None
        return (self.low, self.high)

    def describe(self) -> str:
        if self.kind == "choice":
            return f"{self.name} in {{{', '.join(str(c) for c in self.choices)}}}"
        show = (lambda v: f"{int(v)}") if self.kind == "int" else (lambda v: f"{v:g}")
        return f"{self.name} in {show(self.low)} .. {show(self.high)}" + (
            " (log)" if self.log else ""
        )

    def steps(self, value: Any) -> tuple[Any, Any]:
        """The values one step below and above `value` (None where the range ends):
        the neighbouring choice, x/2 and x*2 on a log range, -/+ a tenth of a linear one."""
        if self.kind == "choice":
            i = self.choices.index(value) if value in self.choices else -1
            if i < 0:
                return None, None
            down = self.choices[i - 1] if i > 0 else None
            up = self.choices[i + 1] if i + 1 < len(self.choices) else None
            return down, up
        if self.log:
            down, up = value / 2, value * 2
        else:
            step = (self.high - self.low) / 10
            down, up = value - step, value + step
        if self.kind == "int":
            down, up = math.floor(down), math.ceil(up)
            if down == value:
                down -= 1
            if up == value:
                up += 1
        return (
            down if down >= self.low else None,
            up if up <= self.high else None,
        )


def _parse_values(p: Param, text: str, where: str) -> Dimension:
    """A dimension from `--vary NAME=V1,V2,...` or `--vary NAME=LO..HI`."""
    if ".." in text:
        lo_text, _, hi_text = text.partition("..")
        if p.type not in ("int", "float", "time"):
            raise ParameterError(f"{where}: '{p.name}' is a {p.type} parameter; give values V1,V2")
        lo, hi = p.check(lo_text.strip(), where), p.check(hi_text.strip(), where)
        if not lo < hi:
            raise ParameterError(f"{where}: the range of '{p.name}' is empty ({text})")
        kind = "float" if p.type == "float" else "int"
        return Dimension(p.name, kind, low=lo, high=hi, log=lo > 0 and hi / lo >= 16)
    values: list[Any] = []
    for v in text.split(","):
        value = p.check(v.strip(), where)
        if value not in values:
            values.append(value)
    if not values:
        raise ParameterError(f"{where}: no values for '{p.name}'")
    return Dimension(p.name, "choice", tuple(values))


def dimension_of(p: Param, where: str) -> Dimension:
    """The declared range of parameter p as a dimension; ParameterError if it has none."""
    if p.choices:
        return Dimension(p.name, "choice", tuple(p.choices))
    if p.type == "bool":
        return Dimension(p.name, "choice", (False, True))
    if p.type in ("int", "float", "time") and p.min is not None and p.max is not None:
        lo, hi = p.min, p.max
        kind = "float" if p.type == "float" else "int"
        return Dimension(p.name, kind, low=lo, high=hi, log=lo > 0 and hi / lo >= 16)
    raise ParameterError(
        f"{where}: parameter '{p.name}' has no range to search (allowed {p.allowed()}); "
        f"give one: --vary {p.name}=LO..HI or --vary {p.name}=V1,V2,..."
    )


def search_space(
    scenario: Scenario, vary: Sequence[str] = (), fixed: Mapping[str, Any] | None = None
) -> list[Dimension]:
    """The dimensions of a search: each `vary` item is NAME (its declared range), NAME=V1,V2
    or NAME=LO..HI; with no `vary`, every parameter with a declared range that is not in
    `fixed`. ParameterError names an unknown parameter or one without a range."""
    where = f"scenario '{scenario.name}'"
    dims: list[Dimension] = []
    if not vary:
        for p in scenario.params.values():
            if fixed and p.name in fixed:
                continue
            try:
                dims.append(dimension_of(p, where))
            except ParameterError:
                continue
        if not dims:
            raise ParameterError(
                f"{where}: no parameter has a range to search; name them with --vary"
            )
        return dims
    seen: set[str] = set()
    for item in vary:
        name, sep, text = item.partition("=")
        name = name.strip()
        p = scenario.param(name)
        if name in seen:
            raise ParameterError(f"--vary names '{name}' more than once")
        if fixed and name in fixed:
            raise ParameterError(
                f"'{name}' is both searched (--vary) and fixed (--set); choose one"
            )
        seen.add(name)
        dims.append(_parse_values(p, text, where) if sep else dimension_of(p, where))
    return dims


def grid_size(dims: Sequence[Dimension]) -> int:
    """Points of the equivalent grid: every choice, every integer of a range of at most
    GRID_MAX_INTEGERS values, GRID_VALUES_PER_RANGE values of any wider or continuous one."""
    return math.prod(d.values_in_grid() for d in dims)


# ------------------------------------------------------------------- the spec


@dataclass
class ExploreSpec:
    """What to search, for what, how. Everything here fixes the sequence of trials."""

    dimensions: list[Dimension]
    objectives: list[Objective]
    constraints: list[Constraint] = field(default_factory=list)
    fixed: dict[str, Any] = field(default_factory=dict)
    engines: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    sampler: str = "tpe"
    search_seed: int = 0
    batch: int = DEFAULT_BATCH

    def __post_init__(self) -> None:
        if not self.objectives:
            raise ParameterError(
                "give at least one objective: --minimize METRIC or --maximize METRIC"
            )
        names = [o.metric for o in self.objectives]
        for n in names:
            if names.count(n) > 1:
                raise ParameterError(f"objective '{n}' is given more than once")
        if self.sampler not in SAMPLERS:
            raise ParameterError(
                f"unknown sampler '{self.sampler}'; choose one of {', '.join(SAMPLERS)}"
            )
        if self.batch < 1:
            raise ParameterError(f"--batch must be >= 1, got {self.batch}")
        if self.sampler == "nsga2" and self.batch < 2:
            raise ParameterError("--sampler nsga2 needs --batch >= 2 (its population size)")
        ranges = {d.name: b for d in self.dimensions if (b := d.bounds()) is not None}
        for k, v in self.fixed.items():
            if isinstance(v, int | float):
                ranges[k] = (float(v), float(v))
        why = infeasible(self.constraints, ranges)
        if why:
            raise ParameterError(f"infeasible constraint set: {why}")

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, sort_keys=True, default=list)

    @staticmethod
    def from_json(text: str) -> ExploreSpec:
        data = json.loads(text)
        return ExploreSpec(
            dimensions=[
                Dimension(**{**d, "choices": tuple(d["choices"])}) for d in data["dimensions"]
            ],
            objectives=[Objective(**o) for o in data["objectives"]],
            constraints=[Constraint(**c) for c in data["constraints"]],
            fixed=data["fixed"],
            engines=data["engines"],
            seed=data["seed"],
            sampler=data["sampler"],
            search_seed=data["search_seed"],
            batch=data["batch"],
        )


def stored_spec(store: ResultStore) -> ExploreSpec | None:
    text = store.meta().get(META_KEY)
    return None if text is None else ExploreSpec.from_json(text)


def stored_trials(store: ResultStore) -> list[str]:
    """Point ids of the explore's trials, in trial order."""
    return json.loads(store.meta().get(TRIALS_KEY, "[]"))


# ---------------------------------------------------------------------- sampler


def _sampler(spec: ExploreSpec) -> Any:
    import optuna

    def constraints(trial: Any) -> list[float]:
        return list(trial.user_attrs.get("violations", [1.0] * len(spec.constraints)))

    cfunc = constraints if spec.constraints else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning for these options
        if spec.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(
                population_size=spec.batch, seed=spec.search_seed, constraints_func=cfunc
            )
        if spec.sampler == "random":
            return optuna.samplers.RandomSampler(seed=spec.search_seed)
        return optuna.samplers.TPESampler(
            seed=spec.search_seed,
            n_startup_trials=max(spec.batch, 4),
            multivariate=True,
            constant_liar=True,
            constraints_func=cfunc,
        )


def _suggest(trial: Any, d: Dimension) -> Any:
    if d.kind == "choice":
        return trial.suggest_categorical(d.name, list(d.choices))
    if d.kind == "int":
        return trial.suggest_int(d.name, int(d.low), int(d.high), log=d.log)
    return trial.suggest_float(d.name, float(d.low), float(d.high), log=d.log)


# ----------------------------------------------------------------------- running


@dataclass
class ExploreSummary:
    """What an explore did and found."""

    out: Path
    spec: ExploreSpec
    trials: int
    replayed: int
    ran: int
    failed: int
    wall_s: float
    records: list[PointRecord]  # one per trial, in trial order
    front: list[int]  # indices into records
    best: int | None
    sensitivity: list[dict[str, Any]] = field(default_factory=list)
    stopped_by_time: bool = False

    @property
    def grid(self) -> int:
        return grid_size(self.spec.dimensions)

    def line(self) -> str:
        return (
            f"{self.trials} trials ({self.ran} run now, {self.replayed} served from the store: "
            f"resumed or repeated; {self.failed} failed) in {self.wall_s:.1f} s; equivalent grid "
            f"{self.grid:,} points; front {len(self.front)} design(s)"
            + ("; stopped by --time" if self.stopped_by_time else "")
        )


def _values(r: PointRecord) -> dict[str, Any]:
    """What a constraint or objective may name: the point's parameters and metrics."""
    return {**r.params, **(r.metrics or {})}


class _Runner:
    """Runs configs on a backend, storing each record; serves stored points."""

    def __init__(
        self,
        scenario: Scenario,
        store: ResultStore,
        pool: Backend,
        timeout: float | None,
        retry_failed: bool,
        progress: bool | None,
    ) -> None:
        self.scenario, self.store, self.pool = scenario, store, pool
        self.timeout, self.retry_failed, self.progress = timeout, retry_failed, progress
        self.known = {r.point_id: r for r in store.records()}
        self.ran = 0

    def records(self, configs: Sequence[Config], label: str) -> list[PointRecord]:
        todo: dict[str, Config] = {}
        for c in configs:
            r = self.known.get(c.point_id)
            if (r is None or (self.retry_failed and r.status != "ok")) and c.point_id not in todo:
                todo[c.point_id] = c
        if todo:
            assert self.scenario.path is not None
            tasks = [
                Task(pid, (str(self.scenario.path), c.to_dict(), self.timeout, self.pool.name))
                for pid, c in todo.items()
            ]
            bar = SweepProgress(
                label, len(tasks), running_limit=self.pool.concurrency, enabled=self.progress
            )
            with bar:
                for task, result in self.pool.run(run_point, tasks):
                    record = result if isinstance(result, PointRecord) else None
                    if record is None:
                        config = task.args[1]
                        record = PointRecord(
                            point_id=task.key,
                            scenario=self.scenario.name,
                            params=config["params"],
                            engines=config["engines"],
                            seed=config["seed"],
                            status="error",
                            error=f"the {self.pool.name} backend could not run the point: "
                            f"{type(result).__name__}: {result}",
                            provenance=environment(self.scenario.path.parent),
                            backend=self.pool.name,
                        )
                    self.store.write(record)
                    self.known[record.point_id] = record
                    self.ran += 1
                    first = (record.error or "").strip().splitlines()
                    bar.point_finished(
                        record.status == "ok",
                        None
                        if record.status == "ok"
                        else f"point {record.point_id} "
                        f"{record.status}: {first[0] if first else ''}",
                    )
        return [self.known[c.point_id] for c in configs]


def check_names(scenario: Scenario, spec: ExploreSpec, record: PointRecord) -> None:
    """ParameterError naming an objective or constraint that no metric or parameter of
    the scenario answers (checked on the metrics of a completed point)."""
    metrics = set(record.metrics or {})
    where = f"scenario '{scenario.name}'"
    for o in spec.objectives:
        if o.metric not in metrics:
            raise ParameterError(
                unknown_name(o.metric, metrics, "metric", f"--{o.direction} {o.metric}: {where}")
            )
        if isinstance((record.metrics or {})[o.metric], bool):
            raise ParameterError(
                f"--{o.direction} {o.metric}: '{o.metric}' is a bool, not a number"
            )
    for c in spec.constraints:
        if c.name not in metrics and c.name not in scenario.params:
            raise ParameterError(
                unknown_name(
                    c.name,
                    metrics | set(scenario.params),
                    "metric or parameter",
                    f"--where {c.text!r}: {where}",
                )
            )


def run_explore(
    scenario: Scenario,
    spec: ExploreSpec,
    out: str | Path,
    *,
    trials: int,
    time_budget: float | None = None,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    timeout: float | None = None,
    retry_failed: bool = False,
    sensitivity: bool = True,
    progress: bool | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> ExploreSummary:
    """Run (or resume) the explore of `spec` in `out` until `trials` trials are done or
    `time_budget` seconds have passed (no new batch starts after it); then, with
    `sensitivity`, the one-at-a-time steps around the best design. See the module doc."""
    import optuna

    if trials < 1:
        raise ParameterError(f"--trials must be >= 1, got {trials}")
    if time_budget is not None and time_budget <= 0:
        raise ParameterError(f"--time must be > 0 seconds, got {time_budget}")
    if scenario.path is None:
        raise ValueError(f"scenario '{scenario.name}' has no script file")
    optuna.logging.set_verbosity(logging.WARNING)
    t0 = time.monotonic()
    out = Path(out)

    def configure(params: Mapping[str, Any]) -> Config:
        return scenario.configure({**spec.fixed, **params}, spec.engines, spec.seed)

    with ResultStore(out, writer=True) as store:
        store.bind_scenario(scenario.name, str(scenario.path))
        held = stored_spec(store)
        if held is not None and held.to_json() != spec.to_json():
            raise StoreError(
                f"{out} holds an explore with other settings (search space, objectives, "
                "constraints, sampler, seeds or batch); rerun it with the same options or "
                "choose another --out"
            )
        with make_backend(backend, workers, address) as pool:
            runner = _Runner(scenario, store, pool, timeout, retry_failed, progress)
            study = optuna.create_study(
                directions=[o.direction for o in spec.objectives], sampler=_sampler(spec)
            )
            # Trial 0: the declared defaults (those inside the searched ranges).
            defaults = {}
            for d in spec.dimensions:
                v = scenario.params[d.name].default
                inside = v in d.choices if d.kind == "choice" else d.low <= v <= d.high
                if inside:
                    defaults[d.name] = v
            study.enqueue_trial(defaults, skip_if_exists=False)
            done: list[PointRecord] = []
            stopped = False
            # Batch 0 is the default configuration alone: it names the metrics, so a
            # misspelt objective stops the explore after one run.
            while len(done) < trials:
                if time_budget is not None and done and time.monotonic() - t0 > time_budget:
                    stopped = True
                    break
                n = 1 if not done else min(spec.batch, trials - len(done))
                asked = [study.ask() for _ in range(n)]
                configs = [
                    configure({d.name: _suggest(t, d) for d in spec.dimensions}) for t in asked
                ]
                records = runner.records(configs, f"explore {scenario.name}")
                if not done:
                    first = records[0]
                    if not first.ran or not first.metrics:
                        why = (first.error or first.status).strip().splitlines()[0]
                        raise ExploreError(
                            f"the default configuration of '{scenario.name}' (trial 0) did not "
                            f"run: {first.status}: {why}"
                        )
                    check_names(scenario, spec, first)
                    store.set_meta(META_KEY, spec.to_json())
                for t, r in zip(asked, records, strict=True):
                    values = _values(r)
                    vec = objective_vector(values, spec.objectives) if r.status == "ok" else None
                    t.set_user_attr("point_id", r.point_id)
                    if vec is None:
                        study.tell(t, state=optuna.trial.TrialState.FAIL)
                        continue
                    t.set_user_attr("violations", [c.violation(values) for c in spec.constraints])
                    study.tell(t, [o.sign * v for o, v in zip(spec.objectives, vec, strict=True)])
                done += records
                store.set_meta(TRIALS_KEY, json.dumps([r.point_id for r in done]))
                if on_batch is not None:
                    on_batch(len(done), trials)
            ran_trials = runner.ran
            # One entry per design: a trial repeating an earlier trial's point is left out.
            seen: set[str] = set()
            points: list[dict[str, Any]] = []
            for r in done:
                points.append(_values(r) if r.status == "ok" and r.point_id not in seen else {})
                seen.add(r.point_id)
            front = pareto_front(points, spec.objectives, spec.constraints)
            best = knee(points, front, spec.objectives) if front else None
            table: list[dict[str, Any]] = []
            if sensitivity and best is not None:
                table = _sensitivity(spec, done[best], runner, configure, scenario.name)
    return ExploreSummary(
        out=out,
        spec=spec,
        trials=len(done),
        replayed=max(0, len(done) - ran_trials),
        ran=ran_trials,
        failed=sum(r.status != "ok" for r in done),
        wall_s=time.monotonic() - t0,
        records=done,
        front=front,
        best=best,
        sensitivity=table,
        stopped_by_time=stopped,
    )


def _sensitivity(
    spec: ExploreSpec,
    best: PointRecord,
    runner: _Runner,
    configure: Callable[[Mapping[str, Any]], Config],
    name: str,
) -> list[dict[str, Any]]:
    """One row per searched parameter: its value in `best`, the values one step down and
    up, and the relative change of each objective there (None where the step leaves the
    range or the point failed)."""
    base = {d.name: best.params[d.name] for d in spec.dimensions}
    steps: list[tuple[Dimension, Any, Any]] = []
    configs: list[Config] = []
    for d in spec.dimensions:
        down, up = d.steps(base[d.name])
        steps.append((d, down, up))
        for v in (down, up):
            if v is not None:
                configs.append(configure({**base, d.name: v}))
    records = {r.point_id: r for r in runner.records(configs, f"sensitivity {name}")}
    ref = best.metrics or {}
    rows = []
    for d, down, up in steps:
        row: dict[str, Any] = {"parameter": d.name, "value": base[d.name]}
        for side, v in (("down", down), ("up", up)):
            row[side] = v
            changes: dict[str, float | None] = {}
            r = records.get(configure({**base, d.name: v}).point_id) if v is not None else None
            row[f"{side}_status"] = None if r is None else r.status
            for o in spec.objectives:
                m = (r.metrics or {}) if r is not None and r.status == "ok" else {}
                a, b = m.get(o.metric), ref.get(o.metric)
                ok = isinstance(a, int | float) and isinstance(b, int | float) and b
                changes[o.metric] = (a - b) / abs(b) if ok else None  # type: ignore[operator]
            row[f"{side}_change"] = changes
        rows.append(row)
    return rows


# ----------------------------------------------------------------------- output


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def front_table(summary: ExploreSummary) -> str:
    """The front as a Markdown table: the searched parameters and the objectives."""
    dims = [d.name for d in summary.spec.dimensions]
    objs = [o.metric for o in summary.spec.objectives]
    lines = [
        "| trial | " + " | ".join(dims + objs) + " |",
        "|" + "---|" * (1 + len(dims) + len(objs)),
    ]
    for i in summary.front:
        r = summary.records[i]
        mark = " (best)" if i == summary.best else ""
        cells = [f"{i}{mark}"] + [_cell(r.params[d]) for d in dims]
        cells += [_cell((r.metrics or {}).get(m)) for m in objs]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sensitivity_table(rows: Sequence[Mapping[str, Any]], objectives: Sequence[Objective]) -> str:
    """One-at-a-time sensitivity as a Markdown table (changes in percent)."""
    names = [o.metric for o in objectives]
    head = ["parameter", "value", "step down", *(f"{m} down" for m in names)]
    head += ["step up", *(f"{m} up" for m in names)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:+.1f}%"

    for row in rows:
        cells = [row["parameter"], _cell(row["value"])]
        for side in ("down", "up"):
            v = row[side]
            status = row.get(f"{side}_status")
            cells.append("-" if v is None else _cell(v))
            if v is not None and status not in (None, "ok"):
                cells += [status] * len(names)  # the design at this step does not run
            else:
                cells += [
                    pct(row[f"{side}_change"].get(m)) if v is not None else "-" for m in names
                ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_summary(summary: ExploreSummary) -> Path:
    """DIR/explore.md: the search, its front and the sensitivity of the best design."""
    spec = summary.spec
    lines = [
        f"# explore: {', '.join(str(o) for o in spec.objectives)}",
        "",
        f"- search space: {'; '.join(d.describe() for d in spec.dimensions)}",
        f"- constraints: {', '.join(c.text for c in spec.constraints) or 'none'}",
        f"- sampler {spec.sampler}, search seed {spec.search_seed}, batch {spec.batch}",
        f"- {summary.line()}",
        "",
        "## Pareto front" if len(spec.objectives) > 1 else "## Best design",
        "",
        front_table(summary) if summary.front else "no trial met the constraints",
    ]
    if summary.sensitivity:
        lines += [
            "",
            f"## Sensitivity of the best design (trial {summary.best})",
            "",
            sensitivity_table(summary.sensitivity, spec.objectives),
        ]
    path = summary.out / "explore.md"
    path.write_text("\n".join(lines) + "\n")
    return path
