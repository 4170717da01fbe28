"""Test fixture scenario: fill a DRAM buffer with a C++ traffic generator issuing wide
bursts (the "accelerator") and, side by side, with one issuing 8-byte stores (the
baseline), then read both buffers back from a Python host and check them against numpy.

The generators are the C++ `traffic_gen` model behind a `router` in front of a `memory`
(fixed latency, no contention), so the transactions cost no Python time: `passes` sets
how long a point takes. `fault` makes a point fail on purpose (a segfault, an
exception, a result missing a metric, sys.exit, KeyboardInterrupt), for the tests of
failure isolation.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import numpy as np

import cosim
from cosim import ns
from cosim.scenario import Config, Param, Scenario

DRAM_BASE = 0x1000_0000
BASELINE_WORD = 8
PJ_DRAM_PER_BIT = 640 / 32  # 32-bit DRAM read: 640 pJ (Horowitz, ISSCC 2014)
PJ_PER_TRANSACTION = 20.0  # command and bus overhead per access (fixture assumption)

scenario = Scenario(
    "stream_fill",
    "Fill DRAM with wide C++ bursts vs 8-byte stores (test fixture)",
    params=[
        Param("burst", 64, choices=(16, 32, 64, 128, 256), unit="B", help="burst size"),
        Param("span", 16384, min=4096, max=1 << 24, unit="B", help="buffer size"),
        Param("passes", 2, min=1, max=100_000, help="times each generator fills its buffer"),
        Param("latency", "20 ns", type="time", max="1 us", help="DRAM write latency"),
        Param("clock", "1 ns", type="time", min="100 ps", max="100 ns", help="clock period"),
        Param(
            "fault",
            "none",
            choices=("none", "segfault", "error", "missing_metric", "exit", "interrupt"),
            help="make this point fail on purpose",
        ),
    ],
)


def _pattern(size: int, span: int) -> np.ndarray:
    """What traffic_gen writes: every access carries bytes i*7+1 (mod 256), i < size."""
    one = ((np.arange(size) * 7 + 1) & 0xFF).astype(np.uint8)
    return np.tile(one, span // size)


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    if cfg.fault == "segfault":
        print("stream_fill: dereferencing NULL as asked (fault=segfault)", flush=True)
        ctypes.string_at(0)
    if cfg.fault == "error":
        raise RuntimeError("stream_fill: failing on purpose (fault=error)")
    if cfg.fault == "exit":
        sys.exit(0)
    if cfg.fault == "interrupt":
        raise KeyboardInterrupt
    span = cfg.span
    sim.quantum = ns(200)
    bus = sim.model("router", "bus", latency=ns(1))
    dram = sim.model(
        "memory", "dram", size=2 * span, write_latency=cfg.latency, read_latency=cfg.latency
    )
    bus.map(dram.port("target"), DRAM_BASE, 2 * span)
    gens = {}
    for name, size, base in (
        ("dma", cfg.burst, DRAM_BASE),
        ("cpu", BASELINE_WORD, DRAM_BASE + span),
    ):
        gens[name] = sim.model(
            "traffic_gen",
            name,
            count=cfg.passes * span // size,
            size=size,
            base=base,
            span=span,
            read_fraction=0.0,
            pattern="sequential",
            seed=cfg.seed,
        )
        sim.bind(gens[name], bus)
    host = sim.initiator("host")
    sim.bind(host, bus)
    got: dict[str, np.ndarray] = {}

    @sim.process
    async def check() -> None:
        await cosim.all_of(gens["dma"].event("done"), gens["cpu"].event("done"))
        for name, base in (("dma", DRAM_BASE), ("cpu", DRAM_BASE + span)):
            buf = np.empty(span, dtype=np.uint8)
            await host.read_into(base, buf)
            got[name] = buf

    sim.run()
    stats = sim.stats.flat()
    golden_ok = bool(
        np.array_equal(got["dma"], _pattern(cfg.burst, span))
        and np.array_equal(got["cpu"], _pattern(BASELINE_WORD, span))
    )

    def energy(name: str) -> float:
        return (
            stats[f"{name}.bytes"] * 8 * PJ_DRAM_PER_BIT
            + (stats[f"{name}.writes"]) * PJ_PER_TRANSACTION
        )

    cycles = round(stats["dma.finish_time"] / cfg.clock)
    baseline_cycles = round(stats["cpu.finish_time"] / cfg.clock)
    metrics: dict[str, Any] = {
        "golden_ok": golden_ok,
        "cycles": cycles,
        "baseline_cycles": baseline_cycles,
        "speedup": baseline_cycles / cycles,
        "energy_pj": energy("dma"),
        "baseline_energy_pj": energy("cpu"),
        "energy_ratio": energy("cpu") / energy("dma"),
        "dram_bytes": int(stats["dma.bytes"]),
        "baseline_dram_bytes": int(stats["cpu.bytes"]),
        "report": f"stream_fill: {cfg.burst} B bursts {baseline_cycles / cycles:.2f}x faster "
        f"than {BASELINE_WORD} B stores; golden check {'OK' if golden_ok else 'FAILED'}",
    }
    if cfg.fault == "missing_metric":
        del metrics["dram_bytes"]
    return metrics


if __name__ == "__main__":
    scenario.main()
