"""vitcod: a vector in DRAM scaled by the vitcod engine behind its command window,
against the host doing the same on the same system (written by `cosim new`)."""

from __future__ import annotations

from typing import Any

import numpy as np

import cosim
from cosim.accel import vitcod
from cosim.accel.phase import PhaseMeter
from cosim.scenario import Config, Engine, Param, Scenario

CLOCK_PS, DRAM_BYTES = 2000, ("dram.bytes_read", "dram.bytes_written")  # 2 ns engine clock

scenario = Scenario(
    "vitcod",
    "Vector scale on the vitcod engine vs the host (the skeleton of `cosim new`)",
    params=[
        Param("beats", 256, min=1, max=1 << 14, help="input beats of `lanes` int32"),
        Param("lanes", 4, choices=(1, 2, 4, 8, 16), help="int32 lanes per beat"),
        Param("scale", 3, min=-(1 << 31), max=(1 << 31) - 1, help="multiplier"),
        Param("shift", 1, min=0, max=31, help="arithmetic right shift"),
    ],
    engines={"vitcod": Engine(("functional", "tlm", "rtl"), default="rtl", help="the engine")},
    seed=1,
)


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    soc, impl = cosim.build_soc(sim, memory="ddr4_2400"), cfg.engines["vitcod"]
    acc = vitcod.system.VitcodAccelerator(sim, soc, impl, lanes=cfg.lanes, max_beats=64)
    n = cfg.beats * cfg.lanes
    x = cfg.rng().integers(-(1 << 31), 1 << 31, n).astype(np.int32)
    src, dst, host_dst = (soc.DATA + i * -(-4 * n // 4096) * 4096 for i in range(3))
    mem = soc.dram.array()
    mem[src - soc.DRAM : src - soc.DRAM + 4 * n] = x.view(np.uint8)
    runs: dict[str, Any] = {}

    @sim.process
    async def host() -> None:
        meter = PhaseMeter(sim)
        await acc.scale(src, dst, cfg.beats, cfg.scale, cfg.shift)
        runs["accel"] = meter.stop()
        meter = PhaseMeter(sim)  # the baseline: the host reads, scales and writes back
        data = np.asarray(await soc.host.read(src, 4 * n)).view("<i4")
        await soc.host.compute(2 * n)
        await soc.host.write(
            host_dst, vitcod.engine.golden(data, cfg.scale, cfg.shift).view(np.uint8)
        )
        runs["host"] = meter.stop()

    sim.run()
    y = mem[dst - soc.DRAM : dst - soc.DRAM + 4 * n].view("<i4")
    ok = bool(np.array_equal(y, vitcod.engine.golden(x, cfg.scale, cfg.shift)))
    a, h = runs["accel"], runs["host"]
    cycles, base = round(a.time_ps / CLOCK_PS), round(h.time_ps / CLOCK_PS)
    return {
        "golden_ok": ok,
        "cycles": cycles,
        "baseline_cycles": base,
        "speedup": base / cycles,
        "energy_pj": a.energy_pj,
        "baseline_energy_pj": h.energy_pj,
        "energy_ratio": h.energy_pj / a.energy_pj,
        "dram_bytes": int(a.stats(DRAM_BYTES)),
        "report": f"vitcod: {cycles} cycles, the host {base}; golden {'OK' if ok else 'FAILED'}",
        "extras": {
            "energy_breakdown_pj": cosim.energy.by_component(a.energy),
            "baseline_energy_breakdown_pj": cosim.energy.by_component(h.energy),
        },
    }


if __name__ == "__main__":
    scenario.main()
