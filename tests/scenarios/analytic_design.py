"""Test fixture scenario: a design space whose metrics are formulas, so the optimum of a
search is known by construction (the tests of `cosim explore`).

cycles = 1000 + 10 (x - 37)^2 + 500 (log2(lanes) - 4)^2 + 3000 [mode != 'b']: its one
minimum is x = 37, lanes = 16, mode = 'b' (1000 cycles), one point of a grid of
64 x 8 x 3 = 1536. area_mm2 = 0.1 lanes + 0.01 x and energy_pj = 2 cycles + 40 lanes
pull the other way. The simulation itself only advances time to `cycles` ns.
"""

from __future__ import annotations

import math
from typing import Any

import cosim
from cosim import ns
from cosim.scenario import Config, Param, Scenario

OPTIMUM = {"x": 37, "lanes": 16, "mode": "b"}
OPTIMUM_CYCLES = 1000
GRID = 64 * 8 * 3
BASELINE_CYCLES = 40_000
BASELINE_ENERGY_PJ = 100_000.0

scenario = Scenario(
    "analytic_design",
    "A design space with formula metrics and a known optimum (test fixture)",
    params=[
        Param("x", 0, min=0, max=63, help="an integer knob"),
        Param("lanes", 1, choices=(1, 2, 4, 8, 16, 32, 64, 128), help="parallel lanes"),
        Param("mode", "a", choices=("a", "b", "c"), help="a categorical knob"),
        Param("label", "run", help="free text: has no range to search"),
        Param("scale", 1.0, min=0.5, help="a number without an upper bound"),
    ],
)


def formulas(x: int, lanes: int, mode: str) -> dict[str, float]:
    cycles = 1000 + 10 * (x - 37) ** 2 + 500 * (math.log2(lanes) - 4) ** 2
    cycles += 0 if mode == "b" else 3000
    return {
        "cycles": int(cycles),
        "energy_pj": 2.0 * cycles + 40 * lanes,
        "area_mm2": 0.1 * lanes + 0.01 * x,
    }


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    m = formulas(cfg.x, cfg.lanes, cfg.mode)

    @sim.process
    async def wait() -> None:
        await cosim.delay(ns(m["cycles"]))

    sim.run()
    return {
        "golden_ok": True,
        "cycles": m["cycles"],
        "baseline_cycles": BASELINE_CYCLES,
        "speedup": BASELINE_CYCLES / m["cycles"],
        "energy_pj": m["energy_pj"],
        "baseline_energy_pj": BASELINE_ENERGY_PJ,
        "energy_ratio": BASELINE_ENERGY_PJ / m["energy_pj"],
        "dram_bytes": 64 * cfg.lanes,
        "baseline_dram_bytes": 64,
        "area_mm2": m["area_mm2"],
        "baseline_area_mm2": 0.1,
        "report": f"x={cfg.x} lanes={cfg.lanes} mode={cfg.mode}: {m['cycles']} cycles",
    }
