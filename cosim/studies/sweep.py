"""Running a sweep: every point of a grid, each in its own simulation worker, each
stored the moment it finishes; a rerun of the same sweep resumes where it stopped.

    from cosim.scenario_catalog import find
    from cosim.studies import parse_grid, expand_grid, run_sweep

    s = find("axpy_offload")
    configs = expand_grid(s, parse_grid(s, ["n=1024,4096", "lanes=4,8"]))
    summary = run_sweep(s, configs, "results/axpy", workers=2)

A point that fails (an exception in the scenario, a crashed or timed-out worker, a
result that breaks the contract) is stored with its status and error and does not stop
the others. Points already in the store are skipped (failed ones too, unless
retry_failed). The store is written by this process only, so a backend needs no access
to the results folder.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import RemoteTraceback, SimulationCrashed, SimulationTimeout
from cosim.progress import SweepProgress
from cosim.provenance import environment
from cosim.scenario import Config, Scenario, load_script
from cosim.studies.backends import Task, make_backend
from cosim.studies.store import PointRecord, ResultStore


def _describe_error(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    if isinstance(e.__cause__, RemoteTraceback):
        text += "\n\nworker traceback:\n" + e.__cause__.tb.rstrip()
    return text


def run_point(
    script: str, config: dict[str, Any], timeout: float | None, backend: str = "local"
) -> PointRecord:
    """Run one point in a fresh simulation worker and describe how it went. The task
    that every backend runs; a failure of the point is a record, never an exception."""
    t0 = time.monotonic()
    status, error = "ok", None
    outcome = None
    scenario_name = str(config.get("scenario"))
    try:
        scenario = load_script(script)
        cfg = scenario.config_from_dict(config)
        outcome = scenario.simulate(cfg, timeout=timeout)
        if not outcome.metrics["golden_ok"]:
            status, error = "golden_mismatch", "the results differ from the numpy golden model"
    except SimulationCrashed as e:
        status, error = "crashed", str(e)
    except SimulationTimeout as e:
        status, error = "timeout", str(e)
    except Exception as e:
        status, error = "error", _describe_error(e)
    if outcome is not None:
        return PointRecord(
            point_id=outcome.config.point_id,
            scenario=scenario_name,
            params=dict(outcome.config.params),
            engines=dict(outcome.config.engines),
            seed=outcome.config.seed,
            status=status,
            error=error,
            metrics=outcome.metrics,
            extras=outcome.extras,
            report=outcome.report,
            wall_s=time.monotonic() - t0,
            sim_time_ps=outcome.sim_time_ps,
            provenance=outcome.provenance,
            backend=backend,
        )
    return PointRecord(
        point_id=Config(
            scenario_name, config["params"], config["engines"], config["seed"]
        ).point_id,
        scenario=scenario_name,
        params=dict(config["params"]),
        engines=dict(config["engines"]),
        seed=int(config["seed"]),
        status=status,
        error=error,
        wall_s=time.monotonic() - t0,
        provenance=environment(Path(script).parent),
        backend=backend,
    )


@dataclass
class SweepSummary:
    """What a sweep did. `statuses` counts the grid's points in the store by status."""

    out: Path
    total: int
    skipped: int
    ran: int
    failed: int
    wall_s: float
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every point of the grid is stored and ok."""
        return self.statuses.get("ok", 0) == self.total

    def line(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        return (
            f"{self.total} points: {self.skipped} already stored, {self.ran} run now "
            f"({self.failed} failed) in {self.wall_s:.1f} s; store holds {counts or 'nothing'}"
        )


def _varying(configs: Sequence[Config]) -> list[str]:
    """The settings that differ between the points (what names a point in messages)."""
    keys = []
    for key in [*configs[0].params, *(f"engine.{e}" for e in configs[0].engines), "seed"]:
        if len({repr(_setting(c, key)) for c in configs}) > 1:
            keys.append(key)
    return keys


def _setting(c: Config, key: str) -> Any:
    if key == "seed":
        return c.seed
    if key.startswith("engine."):
        return c.engines[key[len("engine.") :]]
    return c.params[key]


def _failure_line(record: PointRecord, config: Config, keys: Sequence[str]) -> str:
    first = (record.error or "").strip().splitlines()
    settings = ", ".join(f"{k}={_setting(config, k)}" for k in keys)
    where = f"point {record.point_id}" + (f" ({settings})" if settings else "")
    return f"{where} {record.status}: {first[0] if first else ''}"


def run_sweep(
    scenario: Scenario,
    configs: Sequence[Config],
    out: str | Path,
    *,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    timeout: float | None = None,
    retry_failed: bool = False,
    progress: bool | None = None,
) -> SweepSummary:
    """Run the points of `configs` not yet in the store at `out`, storing each as it
    finishes (see the module doc). progress: show the progress line (default: when
    stderr is a terminal). KeyboardInterrupt stops the sweep: stored points stay,
    running ones are abandoned and their workers killed."""
    if scenario.path is None:
        raise ValueError(f"scenario '{scenario.name}' has no script file")
    t0 = time.monotonic()
    out = Path(out)
    with ResultStore(out, writer=True) as store:
        store.bind_scenario(scenario.name, str(scenario.path))
        stored = store.statuses()
        todo = [
            c
            for c in configs
            if c.point_id not in stored or (retry_failed and stored[c.point_id] != "ok")
        ]
        ran = failed = 0
        if todo:
            keys = _varying(configs)
            by_id = {c.point_id: c for c in todo}
            with make_backend(backend, workers, address) as pool:
                tasks = [
                    Task(c.point_id, (str(scenario.path), c.to_dict(), timeout, pool.name))
                    for c in todo
                ]
                bar = SweepProgress(
                    f"sweep {scenario.name}",
                    len(todo),
                    running_limit=pool.concurrency,
                    enabled=progress,
                )
                with bar:
                    for task, result in pool.run(run_point, tasks):
                        record = result if isinstance(result, PointRecord) else None
                        if record is None:
                            config = task.args[1]
                            record = PointRecord(
                                point_id=task.key,
                                scenario=scenario.name,
                                params=config["params"],
                                engines=config["engines"],
                                seed=config["seed"],
                                status="error",
                                error=f"the {pool.name} backend could not run the point: "
                                + _describe_error(result),
                                provenance=environment(scenario.path.parent),
                                backend=pool.name,
                            )
                        store.write(record)
                        ran += 1
                        failed += record.status != "ok"
                        bar.point_finished(
                            record.status == "ok",
                            None
                            if record.status == "ok"
                            else _failure_line(record, by_id[task.key], keys),
                        )
        wanted = {c.point_id for c in configs}
        statuses = Counter(s for pid, s in store.statuses().items() if pid in wanted)
    return SweepSummary(
        out=out,
        total=len(configs),
        skipped=len(configs) - len(todo),
        ran=ran,
        failed=failed,
        wall_s=time.monotonic() - t0,
        statuses=dict(statuses),
    )
