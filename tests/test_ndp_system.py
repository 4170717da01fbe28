"""Near-data GEMV against the same GEMV on the host, in one simulation: results
equal to numpy, and time, bandwidth and energy of both paths checked against what the
mechanism implies (internal bank bandwidth above the interface's peak, no interface
energy for the operands the units read, the host paying interface, fabric and compute).
"""

from __future__ import annotations

import pytest

import cosim
from cosim import energy
from cosim.system.ndp_system import ndp_vs_host

ITEMSIZE = {"int8": 1, "fp16": 2}


@pytest.mark.parametrize(
    ("m", "n", "dtype", "memory"),
    [(512, 1024, "int8", "hbm2"), (256, 1024, "fp16", "hbm2"), (512, 1024, "int8", "hbm3")],
)
def test_near_data_and_host_gemv_in_one_run(m: int, n: int, dtype: str, memory: str) -> None:
    r = cosim.simulate(ndp_vs_host, m, n, dtype, memory=memory, seed=4)
    v = r.value
    assert v["golden_ok"], (v["check_ndp"], v["check_host"])
    ndp, host, cmd = v["ndp"], v["host"], v["command"]
    preset = cosim.system.dram.preset_info(memory)
    channels, burst = preset["org"]["channels"], preset["org"]["burst_bytes"]
    a_bytes = m * n * ITEMSIZE[dtype]
    x_bytes = n * ITEMSIZE[dtype]

    # The units read every burst of A once, inside the banks; only x (broadcast to every
    # channel) and the result cross the interface on the near-data path.
    assert cmd["rd"] == a_bytes // burst and cmd["internal_read_bytes"] == a_bytes
    assert r.stat("ndp.energy_events.io") == channels * x_bytes * 8
    # y (4 B per element) is read back as whole bursts of every unit's stream
    units = v["units"]
    y_read = units * -(-(-(-m // units) * 4) // burst) * burst
    assert ndp["external_bytes"] == channels * x_bytes + y_read
    io_pj = preset["energy"]["io_pj_per_bit"]
    assert ndp["energy"]["dram"]["io"] == pytest.approx(y_read * 8 * io_pj)
    # The host path moves all of A over the interface and the fabric.
    assert host["external_bytes"] == a_bytes
    assert host["energy"]["dram"]["io"] == pytest.approx(a_bytes * 8 * io_pj)
    fabric_bit_pj = cosim.energy.table()["soc_fabric_bit"].pj  # the table's default
    assert host["energy"]["fabric"]["bits"] == pytest.approx(a_bytes * 8 * fabric_bit_pj)
    assert set(host["energy"]) == {"dram", "fabric", "host"}
    # Storing A happened before the measurement: no write bursts in either path.
    assert "wr" not in ndp["energy"]["dram"] and "wr" not in host["energy"]["dram"]

    # Near-bank energy: the preset's ACT and core read energies per command, MACs from
    # the Horowitz table, all counted in the shared breakdown.
    b = energy.breakdown(r)
    assert {"ndp", "dram", "fabric", "host"} <= set(b)
    assert b["ndp"]["rd"] == pytest.approx(cmd["rd"] * preset["energy"]["rd_pj"])
    assert b["ndp"]["act"] == pytest.approx(r.stat("ndp.cmd.act") * preset["energy"]["act_pj"])
    mult = "int8_mult" if dtype == "int8" else "fp16_mult"
    assert b["ndp"][mult] == pytest.approx(cmd["macs"] * cosim.energy.entry(mult).pj)
    assert cmd["macs"] == m * n

    # Bandwidth: during the command the units exceed what the interface could deliver,
    # and stay within one burst per unit per tCCD_L; the host stays below the interface.
    kernel_s = ndp["kernel_time_ps"] * 1e-12
    kernel_bw = (cmd["internal_read_bytes"] + cmd["internal_written_bytes"]) / kernel_s
    assert v["peak_external_bandwidth"] < kernel_bw <= v["peak_internal_bandwidth"]
    assert host["external_bandwidth"] <= v["peak_external_bandwidth"]
    assert ndp["kernel_time_ps"] >= a_bytes / v["peak_internal_bandwidth"] * 1e12
    assert host["time_ps"] >= a_bytes / v["peak_external_bandwidth"] * 1e12

    # Both figures come from the same run; near-data is faster and cheaper here.
    assert v["speedup"] == pytest.approx(host["time_ps"] / ndp["time_ps"])
    assert v["speedup"] > 1 and v["energy_ratio"] > 1


def test_interrupt_completion_costs_the_host_an_interrupt_per_command() -> None:
    poll = cosim.simulate(ndp_vs_host, 128, 256, "int8", completion="poll")
    irq = cosim.simulate(ndp_vs_host, 128, 256, "int8", completion="irq")
    assert irq.value["golden_ok"] and poll.value["golden_ok"]
    commands = sum(v for k, v in irq.flat_stats().items() if k.startswith("ndp.commands."))
    assert irq.stat("host.irqs") == commands == 3  # LAYOUT A, LAYOUT y, GEMV
    irq_latency = cosim.model_info("host_cpu").param("irq_latency").default
    assert irq.value["ndp"]["time_ps"] > poll.value["ndp"]["time_ps"] + irq_latency // 2
