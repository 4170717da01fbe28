"""The simulation of bench/simulate_overhead.py: one memory, one Python process, one write
(as little simulation as there is). A module of its own, as a sweep's run function is,
so that workers import it rather than re-running the benchmark script."""

from __future__ import annotations

import numpy as np

import cosim


def tiny(sim: cosim.Simulation) -> int:
    mem = sim.model("memory", "mem", size=4096)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)

    @sim.process
    async def write() -> None:
        await cpu.write(0, np.arange(8, dtype=np.uint8))

    sim.run()
    return int(sim.now)
