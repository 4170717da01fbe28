"""vitcod: three twins against the golden, TLM cycles = RTL cycles, the scenario end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import cosim
from cosim.accel import vitcod
from cosim.accel.stream_engine import CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.scenario import load_script

JOBS = ((8, 3, 1), (7, -7, 0), (6, 1 << 20, 31))  # beats, scale, shift
E = vitcod.engine  # its registers, golden and engine


def jobs(sim: cosim.Simulation, impl: str) -> dict:
    eng = E.vitcod_engine(sim, "eng", impl, lanes=2, max_beats=8)
    drv = EngineDriver.attach(sim, eng, "d")
    x = np.random.default_rng(5).integers(-(1 << 31), 1 << 31, (3, 8, 2)).astype(np.int32)
    out: dict = {"ok": [], "cycles": []}

    @sim.process
    async def run() -> None:
        for job, (n, scale, shift) in enumerate(JOBS):
            for reg, v in ((E.COUNT, n), (E.SCALE, scale & 0xFFFF_FFFF), (E.SHIFT, shift)):
                await drv.write_reg(reg, v)
            await drv.start()
            await drv.send(x[job, :n].view(np.uint8))
            y = (await drv.receive(n)).view("<i4").reshape(-1, 2)
            out["ok"].append(np.array_equal(y, E.golden(x[job, :n], scale, shift)))
            await drv.wait_done()
            out["cycles"].append(await drv.read_reg(CYCLES))
        await drv.write_reg(E.SHIFT, 32)
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    return out


def test_three_twins_match_the_golden_and_tlm_cycles_equal_rtl():
    r = {i: cosim.simulate(jobs, i, timeout=300).value for i in ("functional", "tlm", "rtl")}
    assert all(all(v["ok"]) and v["refused"] for v in r.values())
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"] and min(r["rtl"]["cycles"]) > 0


def test_scenario_end_to_end():
    s = load_script(Path(__file__).resolve().parents[3] / "scenarios" / "vitcod.py")
    m = s.simulate(s.configure({"beats": 40})).metrics
    assert m["golden_ok"] and m["speedup"] > 0 and m["dram_bytes"] >= 2 * 40 * 4 * 4
