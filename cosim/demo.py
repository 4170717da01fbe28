"""The main demo (`make run`): a small host + memory system driven by Python processes.

    .venv/bin/python -m cosim.demo [--n 4096] [--scale 3] [--seed 1] [--trace out.json]

A host CPU (a Python process) copies a vector of int32 into memory, programs a small
"vector scale" device through memory-mapped registers, waits for its completion
interrupt, reads the result back and checks it against numpy. The device is a Python
TLM target (its registers) plus a Python process (its engine) with its own bus master
socket. A C++ traffic generator adds background reads to memory. Everything sits
behind an address-mapped router. The demo prints the stats of every component and, as
its last line, one JSON object of its figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

import cosim
from cosim import Payload, Response, fmt_time, ns

DRAM_BASE = 0x8000_0000
REGS_BASE = 0x4000_0000
SRC, DST, BG = 0x0001_0000, 0x0010_0000, 0x0100_0000
BURST = 64  # bytes per bus transaction

# Register map of the device (32-bit registers).
REG_SRC, REG_DST, REG_LEN, REG_SCALE, REG_CTRL, REG_STATUS = range(0, 24, 4)


class VectorScaleRegs:
    """Register file of the device: a Python TLM target. Writing 1 to CTRL starts it."""

    def __init__(self, start: cosim.Event) -> None:
        self.values = np.zeros(6, dtype=np.uint32)
        self.start = start

    def b_transport(self, p: Payload, delay: int) -> int:
        if p.address % 4 or p.length != 4 or p.address > REG_STATUS:
            p.set_error(Response.ADDRESS_ERROR, f"no 32-bit register at offset {p.address:#x}")
            return delay
        word = p.data.view(np.uint32)
        if p.is_write:
            self.values[p.address // 4] = word[0]
            if p.address == REG_CTRL and word[0] == 1:
                self.values[REG_STATUS // 4] = 0
                self.start.notify(delay)  # at the time the write lands
        else:
            word[0] = self.values[p.address // 4]
        p.set_ok()
        return delay + ns(2)  # register access latency of a peripheral bus


def build_and_run(
    sim: cosim.Simulation, n: int, scale: int, seed: int, trace: str | None
) -> dict[str, Any]:
    if trace:
        sim.trace.enable()
    sim.quantum = ns(500)
    bus = sim.model("router", "bus", latency=ns(2))
    dram = sim.model(
        "memory",
        "dram",
        size=64 << 20,
        read_latency=ns(45),
        write_latency=ns(45),
        bytes_per_beat=16,
        beat_time=ns(1.25),
    )
    start, irq = sim.event("start"), sim.event("irq")
    regs = VectorScaleRegs(start)
    dev_regs = sim.target("vscale_regs", regs)
    host = sim.initiator("host")
    dev = sim.initiator("vscale_dma")
    background = sim.model(
        "traffic_gen",
        "background",
        count=2000,
        size=BURST,
        pattern="random",
        base=DRAM_BASE + BG,
        span=1 << 20,
        read_fraction=1.0,
        interval=ns(40),
        seed=seed,
    )
    for initiator in (host, dev, background):
        sim.bind(initiator, bus)
    bus.map(dram.port("target"), DRAM_BASE, 64 << 20)
    bus.map(dev_regs.port("socket"), REGS_BASE, 0x100)
    busy = sim.stats.value("vscale.busy_time", "time the engine spent on the job", "ps")
    elements = sim.stats.counter("vscale.elements", "elements scaled")

    @sim.process(daemon=True)
    async def engine() -> None:
        while True:
            await start
            t0 = cosim.now()
            src, dst, length = (int(v) for v in regs.values[:3])
            k = int(regs.values[REG_SCALE // 4 : REG_SCALE // 4 + 1].view(np.int32)[0])
            for off in range(0, length * 4, BURST):
                chunk = min(BURST, length * 4 - off)
                x = (await dev.read(src + off, chunk)).view(np.int32)
                await cosim.delay(ns(1) * (chunk // 4))  # one element per ns
                await dev.write(dst + off, (x * k).astype(np.int32))
                elements.inc(chunk // 4)
            busy.set(cosim.now() - t0)
            regs.values[REG_STATUS // 4] = 1
            irq.notify()

    rng = np.random.default_rng(seed)
    x = rng.integers(-1000, 1000, size=n, dtype=np.int32)
    result: dict[str, Any] = {}

    @sim.process
    async def driver() -> None:
        raw = x.view(np.uint8)
        for off in range(0, raw.size, BURST):
            await host.write(DRAM_BASE + SRC + off, raw[off : off + BURST])
        t_loaded = cosim.now()
        for reg, value in (
            (REG_SRC, DRAM_BASE + SRC),
            (REG_DST, DRAM_BASE + DST),
            (REG_LEN, n),
            (REG_SCALE, scale),
            (REG_CTRL, 1),
        ):
            await host.write(REGS_BASE + reg, np.array([value], dtype=np.int64).astype(np.uint32))
        await irq
        t_done = cosim.now()
        status = (await host.read(REGS_BASE + REG_STATUS, 4)).view(np.uint32)[0]
        y = np.empty(n, dtype=np.int32)
        await host.read_into(DRAM_BASE + DST, y)
        result.update(
            t_loaded=t_loaded,
            t_done=t_done,
            status=int(status),
            golden_ok=bool(np.array_equal(y, x * scale)),
        )

    end = sim.run()
    if trace:
        result["trace_events"] = sim.trace.export(trace)
    result.update(sim_time=end, table=sim.stats.table())
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=4096, help="vector length (int32 elements)")
    ap.add_argument("--scale", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trace", help="write a Chrome/Perfetto trace-event JSON file here")
    args = ap.parse_args(argv)
    if args.n < 1 or args.n > (8 << 20) // 4:
        ap.error("--n must be between 1 and 2097152")
    r = cosim.simulate(build_and_run, args.n, args.scale, args.seed, args.trace, timeout=600)
    v = r.value
    print("cosim demo: host + router + memory + a Python device + background traffic")
    verdict = "OK" if v["golden_ok"] else "FAILED"
    print(f"  vector of {args.n} int32 x {args.scale}: golden check {verdict}")
    print(
        f"  input loaded at {fmt_time(v['t_loaded'])}, device done at {fmt_time(v['t_done'])}, "
        f"simulation ended at {fmt_time(v['sim_time'])}"
    )
    print(
        f"  wall time {r.metadata['wall_s']:.3f} s, {r.metadata['python_resumes']:,} Python "
        f"process resumptions, {r.metadata['delta_cycles']:,} delta cycles"
    )
    if args.trace:
        print(f"  trace: {v['trace_events']:,} events in {args.trace} (open in ui.perfetto.dev)")
    print("\nstats:")
    print(v["table"])
    moved = r.stat("dram.bytes_read") + r.stat("dram.bytes_written")
    summary = {
        "golden_ok": v["golden_ok"],
        "n": args.n,
        "device_time_ps": v["t_done"] - v["t_loaded"],
        "sim_time_ps": v["sim_time"],
        "dram_bytes": int(moved),
        "dram_bandwidth_GBps": round(moved / (v["sim_time"] * 1e-12) / 1e9, 3),
        "bus_transactions": int(r.stat("bus.transactions")),
        "wall_s": round(r.metadata["wall_s"], 4),
    }
    print(json.dumps(summary))
    return 0 if v["golden_ok"] and v["status"] == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
