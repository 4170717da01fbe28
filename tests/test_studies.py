"""Studies: sweep grids, the results store, sweeps that survive failing points and
interrupted drivers and resume, the same results on the local pool, Dask and Ray, and
reports (tables and figures)."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cli_helpers import AXPY, ROOT, STREAM, cli_env, cosim_cli

from cosim import ParameterError
from cosim.scenario import load_script
from cosim.studies import (
    PointRecord,
    ResultStore,
    expand_grid,
    parse_assignments,
    parse_grid,
    run_sweep,
    write_report,
)
from cosim.studies.store import StoreError

# -------------------------------------------------------------------------- grids


def test_grid_axes_cover_parameters_engines_and_seed() -> None:
    s = load_script(AXPY)
    axes = parse_grid(s, ["n=16,64", "engine.engine=tlm,functional", "seed=1,2"])
    assert [(a.key, a.values) for a in axes] == [
        ("n", (16, 64)),
        ("engine.engine", ("tlm", "functional")),
        ("seed", (1, 2)),
    ]
    configs = expand_grid(s, axes, {"lanes": 2}, seed=9)
    assert len(configs) == 8 and len({c.point_id for c in configs}) == 8
    first, last = configs[0], configs[-1]
    assert (first.n, first.engines["engine"], first.seed, first.lanes) == (16, "tlm", 1, 2)
    assert (last.n, last.engines["engine"], last.seed) == (64, "functional", 2)
    assert configs[1].seed == 2  # the last axis varies fastest


def test_grid_drops_duplicate_points_and_checks_values() -> None:
    s = load_script(AXPY)
    assert len(expand_grid(s, parse_grid(s, ["n=16,0x10,16"]))) == 1
    assert len(expand_grid(s, [])) == 1  # no axis: the one point of the fixed settings
    with pytest.raises(ParameterError, match="'tile' = 3 is not allowed"):
        parse_grid(s, ["tile=64,3"])
    with pytest.raises(ParameterError, match="seed expects an integer, got 'x'"):
        parse_grid(s, ["seed=1,x"])
    with pytest.raises(ParameterError, match="--set expects NAME=VALUE, got '=3'"):
        parse_assignments(["=3"], "--set")


# -------------------------------------------------------------------------- store


def _record(point_id: str, status: str = "ok", **changes: object) -> PointRecord:
    values: dict[str, object] = {
        "point_id": point_id,
        "scenario": "s",
        "params": {"n": 4},
        "engines": {"pe": "tlm"},
        "seed": 1,
        "status": status,
        "metrics": {"cycles": 10, "golden_ok": True},
        "provenance": {"cosim": "0.1.0"},
    }
    values.update(changes)
    return PointRecord(**values)  # type: ignore[arg-type]


def test_store_round_trips_points_and_replaces_a_point(tmp_path: Path) -> None:
    with ResultStore(tmp_path, writer=True) as store:
        store.bind_scenario("s", "/x/s.py")
        store.write(_record("a", extras={"e": [1, 2]}))
        store.write(_record("b", "crashed", metrics=None, error="killed by SIGSEGV"))
        store.write(_record("c", extras={"e": [3]}, report="text"))
        store.write(_record("a", metrics={"cycles": 11, "golden_ok": True}))
    with ResultStore(tmp_path) as store:
        records = {r.point_id: r for r in store.records()}
        assert store.statuses() == {"a": "ok", "b": "crashed", "c": "ok"}
        assert store.meta()["scenario"] == "s" and store.meta()["schema_version"] == "1"
    assert records["a"].metrics == {"cycles": 11, "golden_ok": True}
    assert records["a"].extras is None and records["a"].ran  # the whole point replaced
    assert records["c"].extras == {"e": [3]} and records["c"].report == "text"
    assert records["b"].error == "killed by SIGSEGV" and not records["b"].ran
    db = sqlite3.connect(tmp_path / "results.sqlite")
    (speed,) = db.execute(
        "SELECT json_extract(metrics, '$.cycles') FROM points WHERE point_id = 'a'"
    ).fetchone()
    assert speed == 11


def test_store_refuses_a_second_writer_another_scenario_and_bad_statuses(
    tmp_path: Path,
) -> None:
    with ResultStore(tmp_path, writer=True) as store:
        store.bind_scenario("s", "/x/s.py")
        with pytest.raises(StoreError, match=f"another cosim sweep \\(pid {os.getpid()}\\)"):
            ResultStore(tmp_path, writer=True)
    with (
        ResultStore(tmp_path, writer=True) as store,
        pytest.raises(StoreError, match="holds results of scenario 's', not 't'"),
    ):
        store.bind_scenario("t", "/x/t.py")
    with pytest.raises(ValueError, match="status 'meh' is not one of"):
        _record("c", "meh")
    db = sqlite3.connect(tmp_path / "results.sqlite")
    db.execute("UPDATE study SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    with pytest.raises(StoreError, match="schema version 99; this cosim reads version 1"):
        ResultStore(tmp_path)


# ------------------------------------------------------------------------- sweeps


def stored(folder: Path) -> dict[str, PointRecord]:
    with ResultStore(folder) as store:
        return {r.point_id: r for r in store.records()}


def test_sweep_stores_every_point_and_a_rerun_skips_them(tmp_path: Path) -> None:
    out = tmp_path / "study"
    args = ["sweep", "axpy_offload", "--grid", "n=256,1024", "--grid", "lanes=2,8"]
    r = cosim_cli(*args, "--workers", "2", "--out", str(out), "--set", "tile=128")
    assert r.returncode == 0, r.stderr
    assert "4 points: 0 already stored, 4 run now (0 failed)" in r.stdout
    assert f"cosim report {out}" in r.stdout and r.stderr == ""
    first = stored(out)
    assert len(first) == 4 and all(rec.status == "ok" for rec in first.values())
    s = load_script(AXPY)
    for rec in first.values():
        assert rec.params["tile"] == 128 and rec.backend == "local"
        assert rec.metrics is not None and rec.metrics["golden_ok"] is True
        assert rec.metrics["dram_bytes"] == 3 * 4 * rec.params["n"]
        assert rec.provenance["cosim"] and rec.provenance["systemc"].startswith("2.3")
        assert rec.provenance["git_revision"] is None or len(rec.provenance["git_revision"]) >= 40
        config = s.configure(rec.params, rec.engines, rec.seed)
        assert config.point_id == rec.point_id
    r = cosim_cli(*args, "--workers", "2", "--out", str(out), "--set", "tile=128")
    assert r.returncode == 0 and "4 already stored, 0 run now" in r.stdout
    assert {k: v.finished_at for k, v in stored(out).items()} == {
        k: v.finished_at for k, v in first.items()
    }
    r = cosim_cli("sweep", "stream_fill", "--out", str(out))
    assert r.returncode == 2 and "holds results of scenario 'axpy_offload'" in r.stderr


def test_a_failing_point_is_recorded_and_does_not_stop_the_others(tmp_path: Path) -> None:
    out = tmp_path / "faults"
    grid = ["--grid", "fault=none,segfault,error,missing_metric", "--grid", "burst=16,64"]
    r = cosim_cli("sweep", "stream_fill", *grid, "--workers", "2", "--out", str(out))
    assert r.returncode == 1
    assert "8 points: 0 already stored, 8 run now (6 failed)" in r.stdout
    assert r.stderr.count("crashed: ") == 2 and r.stderr.count(" error: ") == 4
    by_fault: dict[str, list[PointRecord]] = {}
    for rec in stored(out).values():
        by_fault.setdefault(rec.params["fault"], []).append(rec)
    assert [rec.status for rec in by_fault["none"]] == ["ok", "ok"]
    for rec in by_fault["segfault"]:
        assert rec.status == "crashed" and rec.metrics is None
        assert "SIGSEGV" in (rec.error or "") and "dereferencing NULL" in (rec.error or "")
    for rec in by_fault["error"]:
        assert rec.status == "error"
        assert "RuntimeError: stream_fill: failing on purpose" in (rec.error or "")
        assert "worker traceback" in (rec.error or "")
    for rec in by_fault["missing_metric"]:
        assert rec.status == "error" and "lacks required metric 'dram_bytes'" in (rec.error or "")
    # Resuming leaves failed points alone unless asked to retry them.
    r = cosim_cli("sweep", "stream_fill", *grid, "--out", str(out))
    assert r.returncode == 1 and "8 already stored, 0 run now" in r.stdout
    r = cosim_cli("sweep", "stream_fill", *grid, "--out", str(out), "--retry-failed")
    assert r.returncode == 1 and "2 already stored, 6 run now (6 failed)" in r.stdout


def test_a_timed_out_point_is_recorded_as_such(tmp_path: Path) -> None:
    s = load_script(STREAM)
    configs = expand_grid(s, parse_grid(s, ["passes=1,100000"]))
    summary = run_sweep(s, configs, tmp_path, workers=2, timeout=1.0, progress=False)
    assert summary.statuses == {"ok": 1, "timeout": 1} and not summary.complete
    slow = [r for r in stored(tmp_path).values() if r.status == "timeout"]
    assert slow[0].params["passes"] == 100000 and "within 1.0 s" in (slow[0].error or "")


def _processes_with(tag: str) -> list[int]:
    """Pids of running processes whose environment holds `tag` (a sweep's workers)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if tag.encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def _command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return f"{pid} (gone)"


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _count(out: Path) -> int:
    if not (out / "results.sqlite").exists():
        return 0
    try:
        with sqlite3.connect(out / "results.sqlite", timeout=10) as db:
            return int(db.execute("SELECT count(*) FROM points").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("how", ["kill -9", "ctrl-c", "kill -9 ray"])
def test_an_interrupted_sweep_loses_nothing_leaves_no_worker_and_resumes(
    tmp_path: Path, how: str
) -> None:
    out = tmp_path / "study"
    tag = f"COSIM_TEST_TAG={uuid.uuid4().hex}"
    env = cli_env(COSIM_TEST_TAG=tag.split("=", 1)[1])
    # 12 points of about half a second each, two at a time
    grid = ["--grid", "passes=" + ",".join(str(1500 + i) for i in range(12))]
    command = [sys.executable, "-m", "cosim", "sweep", "stream_fill", *grid]
    command += ["--workers", "2", "--out", str(out)]
    if how.endswith("ray"):  # Ray's own processes (raylet, agents) must go too
        command += ["--backend", "ray"]
    # As from a terminal, whatever this process inherited: a shell starts background jobs
    # with SIGINT ignored, and a sweep that ignores it runs to the end.
    driver = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        assert _wait(lambda: _count(out) >= 3, 120), "the sweep stored nothing"
        # the driver and its running workers
        assert _wait(lambda: len(_processes_with(tag)) >= 3, 10)
        os.kill(driver.pid, signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
        _, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    if how == "ctrl-c":
        assert driver.returncode == 130
        assert "interrupted; every finished point is stored" in err
    else:
        assert driver.returncode == -signal.SIGKILL
    assert _wait(lambda: not _processes_with(tag), 10), (
        f"outlived the driver: {[_command_of(pid) for pid in _processes_with(tag)]}"
    )
    before = {k: (v.finished_at, v.metrics) for k, v in stored(out).items()}
    assert 3 <= len(before) < 12 and all(m for _, m in before.values())
    r = cosim_cli("sweep", "stream_fill", *grid, "--workers", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"12 points: {len(before)} already stored, {12 - len(before)} run now" in r.stdout
    after = stored(out)
    assert len(after) == 12 and all(rec.status == "ok" for rec in after.values())
    for point, (finished_at, metrics) in before.items():  # not lost, not recomputed
        assert (after[point].finished_at, after[point].metrics) == (finished_at, metrics)


@pytest.mark.slow
def test_local_dask_and_ray_give_the_same_results(tmp_path: Path) -> None:
    grid = ["--grid", "passes=1,3", "--grid", "burst=16,256", "--seed", "4"]
    results = {}
    for backend in ("local", "dask", "ray"):
        out = tmp_path / backend
        r = cosim_cli(
            "sweep", "stream_fill", *grid, "--backend", backend, "--workers", "2",
            "--out", str(out), timeout=300,
        )  # fmt: skip
        assert r.returncode == 0, f"{backend}: {r.stdout}\n{r.stderr}"
        records = stored(out)
        assert len(records) == 4 and {rec.backend for rec in records.values()} == {backend}
        results[backend] = {k: (v.status, v.metrics, v.extras) for k, v in records.items()}
    assert results["dask"] == results["local"]
    assert results["ray"] == results["local"]
    assert len({m["cycles"] for _, m, _ in results["local"].values()}) == 4


def test_sweep_backends_report_missing_clusters_clearly(tmp_path: Path) -> None:
    r = cosim_cli(
        "sweep", "stream_fill", "--backend", "dask", "--address", "tcp://127.0.0.1:9",
        "--out", str(tmp_path), timeout=120,
        env=cli_env(DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s"),
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.startswith("cosim sweep: error: cannot reach the Dask scheduler at tcp://")


# ------------------------------------------------------------------------ reports


@pytest.mark.slow
def test_report_writes_tables_and_figures(tmp_path: Path) -> None:
    out = tmp_path / "study"
    s = load_script(AXPY)
    configs = expand_grid(
        s, parse_grid(s, ["n=256,1024", "engine.engine=tlm,functional"]), {"tile": 128}
    )
    assert run_sweep(s, configs, out, workers=2, progress=False).complete
    r = cosim_cli("report", str(out), "--metric", "throughput_gops")
    assert r.returncode == 0, r.stderr
    written = [Path(line) for line in r.stdout.splitlines()]
    names = {p.name for p in written}
    stems = ("lines_n", "lines_engine_engine", "ratios", "energy_breakdown", "roofline")
    for stem in (*stems, "throughput_gops_vs_n", "throughput_gops_vs_engine_engine"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert {"results.csv", "results.md"} <= names
    for p in written:
        assert p.parent == out / "report" and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (out / "report" / "lines_n.svg").read_text()
    for label in ("n (elements)", "cycles", "energy per run (", "DRAM traffic (", "baseline"):
        assert label in svg
    assert "operational intensity" in (out / "report" / "roofline.svg").read_text()
    assert "tile_buffer" in (out / "report" / "energy_breakdown.svg").read_text()
    rows = list(csv.DictReader((out / "report" / "results.csv").open()))
    records = stored(out)
    assert len(rows) == 4
    for row in rows:
        metrics = records[row["point_id"]].metrics or {}
        assert int(row["cycles"]) == metrics["cycles"]
        assert float(row["speedup"]) == pytest.approx(metrics["speedup"])
        assert row["status"] == "ok" and row["tile"] == "128"
    table = (out / "report" / "results.md").read_text()
    assert table.startswith("# axpy_offload: 4 points, 4 ok")
    assert "| n | engine.engine | status | golden | speedup |" in table
    assert "throughput_gops" in (out / "report" / "throughput_gops_vs_n.svg").read_text()
    r = cosim_cli("report", str(out), "--metric", "utilisation")
    assert r.returncode == 2
    assert r.stderr.strip().startswith(
        "cosim report: error: no metric 'utilisation' in the results of axpy_offload "
        "(metrics: baseline_cycles, baseline_dram_bytes,"
    )


def test_report_lists_failed_points_and_plots_the_rest(tmp_path: Path) -> None:
    s = load_script(STREAM)
    configs = expand_grid(s, parse_grid(s, ["fault=none,error", "burst=16,64"]))
    run_sweep(s, configs, tmp_path, workers=2, progress=False)
    paths = write_report(tmp_path, tmp_path / "figs")
    table = (tmp_path / "figs" / "results.md").read_text()
    assert "## Failed points" in table and "failing on purpose" in table
    assert "| 16 | none | ok | yes |" in table
    names = {p.name for p in paths}
    assert "ratios.png" in names and "lines_burst.png" in names
    assert "energy_breakdown.png" not in names  # this scenario gives no breakdown
