"""Speed of the RISC-V host core (riscv_cpu on the Unicorn engine), two figures:

  mips        a compute loop in the core's local (cached) RAM: an integer hash over a
              16 KiB array, no bus traffic; simulated instructions per wall second.
              Target (docs/riscv-host.md): at least 50 M instructions/s.
  mmio_per_s  a loop of uncached 32-bit register reads through the core's TLM socket
              (a router and a 10 ns memory without DMI): bus transactions per wall second.
              Target: at least 1 M/s.

The programs are compiled once (cached); each figure is the median of --repeat runs,
each in a fresh worker process, timing sim.run() only. Rates are per CPU second of the
worker (time.process_time: the machine is shared, and wall time also counts the time
the worker waited for a core); the wall-clock rates and the load average are printed
alongside. Core at 2 GHz, cpi 1, 10 us quantum. Last line: one JSON object.

    .venv/bin/python bench/riscv_host.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cosim
from cosim.system.riscv_host import Board, RiscvHost, build_program

MEM = 0x8000_0000
BOARD = Board(
    regions={"mem": (MEM, 1 << 16)}, cpu={"clock_hz": 2e9, "quantum": 10_000_000, "echo": False}
)

COMPUTE = r"""
#include <stdint.h>
#include "cosim.h"
static uint32_t buf[4096];
int main(void) {
  uint32_t h = 2166136261u;
  for (int r = 0; r < ROUNDS; ++r)
    for (int i = 0; i < 4096; ++i) {
      h = (h ^ (buf[i] + (uint32_t)i)) * 16777619u;
      buf[i] = h;
    }
  return (int)(h & 1);
}
"""

MMIO = r"""
#include <stdint.h>
#include "cosim.h"
int main(void) {
  volatile uint32_t *reg = (volatile uint32_t *)(uintptr_t)COSIM_MEM_BASE;
  uint32_t s = 0;
  for (int i = 0; i < READS; ++i) s += reg[i & 255];
  return (int)(s & 1);
}
"""


def run(sim: cosim.Simulation, elf: str) -> dict[str, Any]:
    host = RiscvHost(sim, BOARD, elf)
    bus = sim.model("router", "bus", latency=0)
    mem = sim.model("memory", "mem", size=1 << 16, read_latency="10 ns", dmi=False)
    bus.map(mem.port("target"), MEM, 1 << 16)
    sim.bind(host.bus, bus.port("target"))
    t0, c0 = time.perf_counter(), time.process_time()
    sim.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "wall": wall,
        "cpu": cpu,
        "instructions": host.model.instret,
        "mmio": sim.stats["cpu.mmio_reads"],
        "exited": host.exited,
    }


def median_rates(elf: Path, key: str, repeat: int) -> tuple[float, float, dict[str, Any]]:
    """Median (per CPU second, per wall second) of `key` over `repeat` runs."""
    cpu, wall, last = [], [], {}
    for _ in range(repeat):
        last = cosim.simulate(run, str(elf)).value
        assert last["exited"], "the bench program did not exit"
        cpu.append(last[key] / last["cpu"])
        wall.append(last[key] / last["wall"])
    return statistics.median(cpu), statistics.median(wall), last


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller programs (CI smoke run)")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    rounds, reads = (200, 200_000) if args.quick else (2000, 2_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        c, m = Path(tmp) / "compute.c", Path(tmp) / "mmio.c"
        c.write_text(COMPUTE)
        m.write_text(MMIO)
        compute_elf = build_program([c], BOARD, defines={"ROUNDS": rounds})
        mmio_elf = build_program([m], BOARD, defines={"READS": reads})
    mips, mips_wall, cl = median_rates(compute_elf, "instructions", args.repeat)
    mmio, mmio_wall, ml = median_rates(mmio_elf, "mmio", args.repeat)
    print(
        f"compute loop: {cl['instructions']:,} instructions in {cl['cpu']:.3f} CPU s "
        f"({cl['wall']:.3f} s wall) -> {mips / 1e6:.1f} M instr/s ({mips_wall / 1e6:.1f} wall)"
    )
    print(
        f"uncached reads: {ml['mmio']:,} bus reads in {ml['cpu']:.3f} CPU s "
        f"({ml['wall']:.3f} s wall) -> {mmio / 1e6:.2f} M reads/s ({mmio_wall / 1e6:.2f} wall)"
    )
    print(
        json.dumps(
            {
                "mips": round(mips / 1e6, 1),
                "mmio_per_s": round(mmio),
                "mips_wall": round(mips_wall / 1e6, 1),
                "mmio_per_s_wall": round(mmio_wall),
                "load_avg_1min": round(os.getloadavg()[0], 1),
                "target_mips": 50,
                "target_mmio_per_s": 1_000_000,
                "quick": args.quick,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
