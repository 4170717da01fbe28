"""Energy by phase (cosim.accel.phase): DRAM refresh is background energy, kept out of a
phase's energy and reported on its own, so a phase costs the same whether or not the
system idled before it (the dram model charges the refreshes due during an idle period
when the next request arrives, i.e. inside whichever phase touches DRAM first)."""

from __future__ import annotations

from typing import Any

import pytest

import cosim
from cosim.accel.phase import BACKGROUND_KINDS, PhaseMeter, between, snapshot


def read_after_idle(sim: cosim.Simulation, idle_ns: int) -> dict[str, Any]:
    """The host idles `idle_ns`, then reads 8 KiB of DRAM: that read is the phase."""
    soc = cosim.build_soc(sim, memory="ddr4_2400")
    out: dict[str, Any] = {}

    @sim.process
    async def host() -> None:
        await cosim.delay(idle_ns * 1000)
        meter = PhaseMeter(sim)
        for off in range(0, 8192, 64):
            await soc.host.read(soc.DRAM + 0x10_0000 + off, 64)
        p = meter.stop()
        out.update(
            energy=p.energy,
            flat=p.flat(),
            energy_pj=p.energy_pj,
            background=p.background,
            background_pj=p.background_pj,
            time_ps=p.time_ps,
            dram_bytes=p.stats(("dram.bytes_read", "dram.bytes_written")),
            refreshes=p.stat("dram.cmd.ref"),
        )

    sim.run()
    return out


def test_refresh_due_during_an_idle_gap_is_background_not_phase_energy() -> None:
    busy = cosim.simulate(read_after_idle, 0).value
    idle = cosim.simulate(read_after_idle, 50_000).value  # several refresh intervals
    assert idle["refreshes"] > 0 and idle["background_pj"] > 0
    assert busy["refreshes"] == 0 and busy["background_pj"] == 0.0
    for run in (busy, idle):
        assert run["dram_bytes"] == 8192
        kinds = {kind for by_kind in run["energy"].values() for kind in by_kind}
        assert not kinds & set(BACKGROUND_KINDS)
        assert set(run["background"].get("dram", {})) <= set(BACKGROUND_KINDS)
    # the same work costs the same energy, with or without the gap before it
    assert idle["flat"] == pytest.approx(busy["flat"])
    assert idle["energy_pj"] == pytest.approx(busy["energy_pj"])


def two_phases(sim: cosim.Simulation) -> tuple[float, float, float, int, int]:
    """A DRAM read then a write, measured as two phases and as one."""
    soc = cosim.build_soc(sim)
    res: list[Any] = []

    @sim.process
    async def host() -> None:
        s0 = snapshot(sim)
        await soc.host.read(soc.DRAM, 4096)
        s1 = snapshot(sim)
        await soc.host.write(soc.DRAM + 8192, bytes(4096))
        s2 = snapshot(sim)
        a, b, whole = between(s0, s1), between(s1, s2), between(s0, s2)
        res.extend([a.energy_pj + b.energy_pj, whole.energy_pj, whole.stat("dram.bytes_read")])
        res.extend([a.time_ps + b.time_ps, whole.time_ps])

    sim.run()
    return tuple(res)  # type: ignore[return-value]


def test_phases_between_snapshots_add_up() -> None:
    parts, whole, read, t_parts, t_whole = cosim.simulate(two_phases).value
    assert parts == pytest.approx(whole) and whole > 0
    assert read == 4096 and t_parts == t_whole > 0
