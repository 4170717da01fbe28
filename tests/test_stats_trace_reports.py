"""Hierarchical stats (C++ and Python), Chrome/Perfetto trace export, SystemC reports as
Python errors, and the C++ traffic generator."""

from __future__ import annotations

import contextlib
import json

import pytest

import cosim
from cosim import SimulationError, ns

# ---------------------------------------------------------------- simulation bodies


def python_stats(sim: cosim.Simulation) -> dict[str, object]:
    ops = sim.stats.counter("host.ops", "operations issued")
    lat = sim.stats.average("host.latency", "op latency", "ns")
    hist = sim.stats.histogram("host.size", 0, 100, 10, "request size", "B")
    util = sim.stats.value("host.util", "utilisation")
    for x in (5, 15, 15, 25, 95, 150, -1):
        hist.sample(x)
    for x in (1.0, 2.0, 6.0):
        lat.sample(x)
    ops.inc()
    ops.inc(4)
    util.set(0.75)
    same = sim.stats.counter("host.ops")
    same.inc()
    errors = []
    try:
        sim.stats.average("host.ops")
    except ValueError as e:
        errors.append(str(e))
    try:
        sim.stats.histogram("host.bad", 5, 5, 3)
    except ValueError as e:
        errors.append(str(e))
    return {
        "flat": sim.stats.flat(),
        "tree": sim.stats.tree(),
        "errors": errors,
        "json": json.loads(sim.stats.to_json()),
        "table": sim.stats.table("host."),
        "p50": hist.percentile(50),
        "bins": hist.bins,
    }


def traced_run(sim: cosim.Simulation, path: str, enable: bool) -> int:
    if enable:
        sim.trace.enable()
    bus = sim.model("router", "bus", latency=ns(1))
    mem = sim.model("memory", "mem")
    cpu = sim.initiator("cpu")
    gen = sim.model(
        "traffic_gen", "gen", count=5, size=4, read_fraction=0.0, base=0x1800, span=0x100
    )
    sim.bind(cpu, bus)
    sim.bind(gen, bus)
    bus.map(mem.port("target"), 0x1000, 0x1000)

    @sim.process
    async def p() -> None:
        await cpu.write(0x1000, b"abcd")
        t0 = cosim.now()
        await cpu.read(0x1004, 4)
        sim.trace.span("engine", "compute tile 0", t0, cosim.now(), tile=0, macs=64)
        sim.trace.instant("engine", "irq", cosim.now())
        with contextlib.suppress(cosim.TlmError):
            await cpu.read(0x9000, 4)

    sim.run()
    return sim.trace.export(path)


def report(sim: cosim.Simulation, severity: str) -> list[str]:
    sim.report("warning", "first a warning")

    @sim.process
    async def p() -> None:
        await cosim.delay(ns(3))
        sim.report(severity, "the model says no")

    sim.run()
    return sim.summary()["warnings"]


def traffic(sim: cosim.Simulation, decoupled: bool, pattern: str) -> dict[str, float]:
    sim.quantum = ns(100)
    mem = sim.model("memory", "mem", size=1 << 16, read_latency=ns(10), write_latency=ns(20))
    gen = sim.model(
        "traffic_gen",
        "gen",
        count=400,
        size=16,
        span=1 << 12,
        pattern=pattern,
        read_fraction=0.5,
        seed=7,
        interval=ns(2),
        decoupled=decoupled,
    )
    sim.bind(gen, mem)
    done_at: list[int] = []

    @sim.process
    async def watcher() -> None:
        await gen.event("done")
        done_at.append(cosim.now())

    end = sim.run()
    return {**sim.stats.flat(), "end": end, "done_at": done_at[0]}


def traffic_into_hole(sim: cosim.Simulation) -> None:
    bus = sim.model("router", "bus")
    mem = sim.model("memory", "mem", size=256)
    gen = sim.model("traffic_gen", "gen", count=64, size=8, base=0x100, span=0x800)
    sim.bind(gen, bus)
    bus.map(mem.port("target"), 0x100, 256)
    sim.run()


# ------------------------------------------------------------------------- the tests


def test_python_stats_counters_averages_histograms_values() -> None:
    out = cosim.simulate(python_stats).value
    flat = out["flat"]
    assert flat["host.ops"] == 6
    assert flat["host.latency.mean"] == 3.0 and flat["host.latency.count"] == 3
    assert flat["host.latency.min"] == 1.0 and flat["host.latency.max"] == 6.0
    assert flat["host.util"] == 0.75
    assert flat["host.size.count"] == 7
    assert out["bins"][:3] == [1, 2, 1] and out["bins"][9] == 1
    assert 10 <= out["p50"] <= 20
    tree = out["tree"]
    assert (
        tree["host"]["ops"]["kind"] == "counter"
        and tree["host"]["ops"]["desc"] == "operations issued"
    )
    assert tree["host"]["size"]["underflow"] == 1 and tree["host"]["size"]["overflow"] == 1
    assert out["json"] == tree
    assert "already exists as a counter, not a average" in out["errors"][0]
    assert "needs hi > lo" in out["errors"][1]
    assert "host.ops" in out["table"] and "operations issued" in out["table"]


def test_trace_exports_chrome_trace_events(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "trace.json"
    n = cosim.simulate(traced_run, str(path), True).value
    doc = json.loads(path.read_text())
    events = doc["traceEvents"]
    data = [e for e in events if e["ph"] in ("X", "i")]
    assert len(data) == n == 5 + 3 + 2  # generator, cpu, span + instant
    tracks = {e["args"]["name"]: e["tid"] for e in events if e.get("name") == "thread_name"}
    assert {"cpu", "gen", "engine"} <= set(tracks)
    cpu = [e for e in data if e["tid"] == tracks["cpu"]]
    assert [(e["name"], e["args"]["addr"], e["args"]["status"]) for e in cpu] == [
        ("write", "0x1000", "OK"),
        ("read", "0x1004", "OK"),
        ("read", "0x9000", "ADDRESS_ERROR"),
    ]
    assert cpu[0]["ts"] == 0 and cpu[0]["dur"] == 0.011  # 11 ns, in microseconds
    assert cpu[1]["ts"] == 0.011
    span = next(e for e in data if e["name"] == "compute tile 0")
    assert span["args"] == {"tile": 0, "macs": 64} and span["dur"] == 0.011


def test_trace_is_empty_when_not_enabled(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "trace.json"
    assert cosim.simulate(traced_run, str(path), False).value == 0
    doc = json.loads(path.read_text())
    assert all(e["ph"] == "M" for e in doc["traceEvents"])


@pytest.mark.parametrize("severity", ["error", "fatal"])
def test_systemc_error_and_fatal_reports_become_simulation_errors(severity: str) -> None:
    with pytest.raises(SimulationError, match="the model says no") as info:
        cosim.simulate(report, severity)
    assert "cosim/user" in str(info.value)


def test_systemc_warnings_are_kept_in_the_run_metadata() -> None:
    warnings = cosim.simulate(report, "info").value
    assert warnings == ["cosim/user: first a warning"]


def test_bad_report_severity() -> None:
    with pytest.raises(ValueError, match="severity must be one of"):
        cosim.simulate(report, "panic")


@pytest.mark.parametrize("pattern", ["sequential", "random"])
def test_traffic_generator_counts_and_closed_form_time(pattern: str) -> None:
    for decoupled in (True, False):
        s = cosim.simulate(traffic, decoupled, pattern).value
        reads, writes = s["gen.reads"], s["gen.writes"]
        assert reads + writes == 400 and 150 < reads < 250
        assert s["mem.reads"] == reads and s["mem.writes"] == writes
        assert s["gen.bytes"] == 400 * 16
        # each access costs its latency plus the 2 ns interval, whatever the decoupling
        expected = reads * ns(10) + writes * ns(20) + 400 * ns(2)
        assert s["gen.finish_time"] == expected
        assert s["done_at"] == expected
        assert s["gen.latency.mean"] == pytest.approx((reads * ns(10) + writes * ns(20)) / 400)


def test_traffic_generator_error_names_address_and_responder() -> None:
    with pytest.raises(SimulationError) as info:
        cosim.simulate(traffic_into_hole)
    msg = str(info.value)
    assert "gen: " in msg and "at 0x200 got ADDRESS_ERROR from 'bus'" in msg
    assert "no target is mapped at 0x200" in msg
