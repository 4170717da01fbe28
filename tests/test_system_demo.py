"""The example system (examples/system_demo.py) end to end: data checked against
numpy, the probe latency against the JEDEC closed form, bandwidth against its roofs,
and the energy breakdown against the stats."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

import cosim
from cosim import energy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import system_demo

# build_soc defaults: host 2 GHz with 20 cycles per uncached access (10 ns); fabric
# 16 B/cycle at 1 GHz with a 2-cycle hop; DMA with 4 lanes of 64-byte bursts.
HOST_ACCESS_PS = 10_000
HOP_PS = 2_000
FABRIC_BYTES_PER_NS = 16


@pytest.mark.slow
@pytest.mark.parametrize(
    ("memory", "tck", "idle_cycles", "burst"),
    [("ddr4_2400", 833, 16 + 16 + 4, 64), ("hbm2", 1000, 14 + 14 + 2, 32)],
)
def test_system_demo(memory, tck, idle_cycles, burst) -> None:
    r = cosim.simulate(system_demo.run_demo, memory)
    fig = r.value
    s = r.flat_stats()
    assert fig["golden_ok"]

    # Probe: the read reaches the DRAM after the host access cost and the fabric hop, is
    # scheduled at the next DRAM clock edge, takes tRCD + CL + burst, and its data
    # crosses the fabric in burst / 16 beats.
    arrival = math.ceil((HOST_ACCESS_PS + HOP_PS) / tck) * tck
    expected = arrival + idle_cycles * tck + burst // FABRIC_BYTES_PER_NS * 1000
    assert fig["probe_read_ps"] == expected

    # The DMA load can be no faster than a fabric channel (16 GB/s) or the DRAM, and its
    # four 64-byte lanes each wait at least hop + CL + burst + beats per read.
    nbytes = fig["tile"] ** 2
    rate = nbytes / (fig["dma_load_busy_ps"] * 1e-12)
    t = fig["dram_config"]["timing"]
    per_read_ps = HOP_PS + (t["tCL"] + t["burst_cycles"]) * tck + 64 // FABRIC_BYTES_PER_NS * 1000
    assert rate <= min(16e9, s["dram.peak_bandwidth"])
    assert rate <= 4 * 64 / (per_read_ps * 1e-12)
    assert rate > 0.5 * 4 * 64 / (per_read_ps * 1e-12)
    # One access at a time, each paying the uncached-access cost: slower than the DMA.
    assert fig["cpu_copy_ps"] > 2 * fig["dma_load_ps"]
    assert s["dram.row_hit_rate"] > 0.85
    assert s["dma.descriptors"] == 2 and s["host.irqs"] == 2

    # The energy breakdown returned by the worker is the one in the stats, and sums.
    b = energy.breakdown(r)
    assert set(b) == {"dram", "host", "spad"}
    for comp, kinds in fig["energy"].items():
        assert kinds == pytest.approx(b[comp])
    assert energy.total_pj(r) == pytest.approx(sum(energy.by_component(r).values()))
    assert b["spad"]["access"] == pytest.approx(s["spad.energy_events.access"] * 5.0)


@pytest.mark.slow
def test_system_demo_script_prints_its_report(capsys) -> None:
    assert system_demo.main(["--memory", "lpddr4_3200", "--tile", "64"]) == 0
    out = capsys.readouterr().out
    assert "golden check (numpy)       : OK" in out
    assert "energy breakdown" in out and "dram" in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["golden_ok"] is True and summary["memory"] == "lpddr4_3200"
    assert summary["energy_pj"] > 0
