"""The host CPU: cost of driver accesses, driver code and interrupts; host-compute
roofline. Host at 1 GHz (1 ns cycles), access_cycles 20, cpi 1.5, interrupt latency
500 ns, in front of a 16-byte 1 GHz fabric (2-cycle hop) and a 10 ns memory."""

from __future__ import annotations

from typing import Any

import pytest

import cosim
from cosim.system.host import HostCpu, InterruptLine


def build(sim: cosim.Simulation, **host: Any) -> tuple[HostCpu, Any]:
    params = {"clock_hz": 1e9, "access_cycles": 20, "cpi": 1.5, "irq_latency": "500 ns", **host}
    h = HostCpu(sim, "host", **params)
    fab = sim.model("fabric", "fab", width=16, clock_hz=1e9, latency=2)
    mem = sim.model("memory", "mem", size=1 << 16, read_latency=10_000, write_latency=10_000)
    fab.map(mem.port("target"), 0, 1 << 16)
    sim.bind(h.bus, fab.port("target"))
    return h, mem


def driver_costs(sim: cosim.Simulation) -> dict[str, int]:
    h, _ = build(sim)
    t = {}

    @sim.process
    async def driver() -> None:
        t0 = cosim.now()
        await h.write32(0x100, 0xDEADBEEF)
        t["write32"] = cosim.now() - t0
        t0 = cosim.now()
        t["value"] = await h.read32(0x100)
        t["read32"] = cosim.now() - t0
        t0 = cosim.now()
        await h.compute(100)
        t["compute"] = cosim.now() - t0

    sim.run()
    return t


def interrupts(sim: cosim.Simulation, device_at: int, host_busy_until: int) -> dict[str, int]:
    h, _ = build(sim)
    ev = sim.event("device_irq")
    line = InterruptLine(sim, ev, "line")
    t = {}

    @sim.process
    async def device():
        await cosim.delay(device_at)
        ev.notify()

    @sim.process
    async def driver() -> None:
        await cosim.delay(host_busy_until)
        await h.wait_irq(line)
        t["handled"] = cosim.now()

    sim.run()
    return t


def kernel(sim: cosim.Simulation, flops: float, nbytes: int) -> dict[str, Any]:
    h, _ = build(sim)
    out = {}

    @sim.process
    async def driver() -> None:
        t0 = cosim.now()
        out.update(await h.run_kernel(flops, nbytes))
        out["elapsed"] = cosim.now() - t0
        out["predicted"] = h.kernel_time(flops, nbytes)

    sim.run()
    return out


def bad_host(sim: cosim.Simulation, **params: Any) -> None:
    HostCpu(sim, "host", **params)


def test_driver_access_and_code_costs() -> None:
    t = cosim.simulate(driver_costs).value
    # Uncached store: 20 core cycles + fabric hop 2 + memory 10 + 1 beat = 33 ns.
    assert t["write32"] == 33_000
    assert t["read32"] == 33_000
    assert t["value"] == 0xDEADBEEF
    assert t["compute"] == 150_000  # 100 ops x 1.5 cycles


def test_interrupt_latency_and_latching() -> None:
    # Host waiting first: handled 500 ns after the device raises the line.
    assert cosim.simulate(interrupts, 1_000_000, 0).value["handled"] == 1_500_000
    # Host busy until 2 us: the latched interrupt is taken at once, plus the latency.
    assert cosim.simulate(interrupts, 100_000, 2_000_000).value["handled"] == 2_500_000


def test_roofline_compute_bound_and_memory_bound() -> None:
    # Defaults: 256 GFLOP/s x 0.7 = 179.2 GFLOP/s; 38.4 GB/s x 0.8 = 30.72 GB/s.
    r = cosim.simulate(kernel, 179.2e6, 1e6)
    assert r.value["bound"] == "compute"
    assert r.value["elapsed"] == r.value["time_ps"] == 1_000_000_000  # 1 ms
    assert r.value["predicted"] == r.value["time_ps"]
    assert r.value["memory_ps"] == round(1e6 / 30.72e9 * 1e12)
    m = cosim.simulate(kernel, 1e6, 30.72e6)
    assert m.value["bound"] == "memory" and m.value["elapsed"] == 1_000_000_000
    assert m.stat("host.memory_bound_kernels") == 1
    # Energy: an FMA (fp32 mult + add) per two flops, flops / 16 vector instructions,
    # and the DDR4 interface energy per bit moved.
    s = m.flat_stats()
    assert s["host.energy_events.fp32_mult"] == 500_000
    assert s["host.energy_events.instruction"] == 1e6 / 16
    assert s["host.energy_pj.memory"] == pytest.approx(30.72e6 * 8 * 15.0)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"cpi": 0}, "cpi"),
        ({"clock_hz": -1.0}, "clock_hz"),
        ({"memory_energy": "nope"}, "memory_energy"),
    ],
)
def test_bad_parameters_name_the_parameter(params: Any, words) -> None:
    with pytest.raises(cosim.ParameterError, match=words):
        cosim.simulate(bad_host, **params)
