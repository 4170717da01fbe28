"""Mixed abstraction (docs/design.md, principle 5): the systolic array's functional, TLM and
RTL implementations swapped in one system give identical numbers; the TLM twin's time and
CYCLES equal the RTL's, and the functional twin's CYCLES are the analytical schedule."""

from __future__ import annotations

import numpy as np
import pytest

import cosim
from cosim.accel import IMPLEMENTATIONS, SystolicDriver, golden_matmul, systolic_array
from cosim.accel.systolic import Mapping

CSR, DATA_IN, DATA_OUT = 0x1000_0000, 0x1001_0000, 0x1002_0000


def gemm_system(sim, impl, dataflow, a, b):
    """A host behind a router in front of the array; the host tiles C = A @ B onto it."""
    sa = systolic_array(sim, "sa", impl=impl, rows=4, cols=4, dataflow=dataflow)
    bus = sim.model("router", "bus")
    host = sim.initiator("host")
    sim.bind(host, bus.port("target"))
    bus.map(sa.csr, base=CSR, size=0x100)
    bus.map(sa.data_in, base=DATA_IN, size=0x1_0000)
    bus.map(sa.data_out, base=DATA_OUT, size=0x1_0000)
    driver = SystolicDriver(host, sa.layout, csr=CSR, data_in=DATA_IN, data_out=DATA_OUT)
    out = {}

    @sim.process
    async def host_main():
        await cosim.delay(20_000)  # past the RTL's reset (20 ns)
        t0 = cosim.now()
        out["c"] = await driver.matmul(a, b)
        out["time_ps"] = cosim.now() - t0
        out["jobs"] = driver.jobs
        out["cycles"] = driver.cycles
        out["info"] = await driver.read_reg("INFO")

    sim.run()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["OS", "WS", "IS"])
def test_twins_agree_and_tlm_timing_is_exact(dataflow, capsys):
    rng = np.random.default_rng(11)
    a = rng.integers(-128, 128, (9, 13), dtype=np.int8)
    b = rng.integers(-128, 128, (13, 7), dtype=np.int8)
    a[0, :] = -128  # extremes in one row/column
    b[:, 0] = -128
    runs = {
        impl: cosim.simulate(gemm_system, impl, dataflow, a, b).value for impl in IMPLEMENTATIONS
    }
    want = golden_matmul(a, b)
    code = ("OS", "WS", "IS").index(dataflow)
    for impl, r in runs.items():
        assert np.array_equal(r["c"], want), f"{impl} twin differs from numpy"
        assert r["info"] == 4 | 4 << 8 | code << 16 | 2 << 24, impl
    assert len({r["jobs"] for r in runs.values()}) == 1, "all twins run the same jobs"
    assert runs["functional"]["time_ps"] == 0, "the functional twin is untimed"
    rtl_t, tlm_t = runs["rtl"]["time_ps"], runs["tlm"]["time_ps"]
    with capsys.disabled():
        print(
            f"\n  systolic array 4x4 {dataflow}, 9x13 @ 13x7 in one job: RTL {rtl_t / 1000:.0f} "
            f"ns, TLM {tlm_t / 1000:.0f} ns, CYCLES {runs['rtl']['cycles']} / "
            f"{runs['tlm']['cycles']} / {runs['functional']['cycles']} (RTL / TLM / functional)"
        )
    # The TLM twin follows the RTL's schedule edge for edge; the functional twin reports
    # the schedule at full rate (the driver's first beat comes one edge after the start).
    assert rtl_t > 0 and tlm_t == rtl_t
    assert runs["tlm"]["cycles"] == runs["rtl"]["cycles"]
    full_rate = Mapping(dataflow, 4, 4, 9, 7, 13).array_cycles()
    assert runs["functional"]["cycles"] == [full_rate]
    assert runs["rtl"]["cycles"] == [full_rate + 1]


def misuse(sim, impl):
    """Operands sent to an array that was never started."""
    sa = systolic_array(sim, "sa", impl=impl, rows=4, cols=4, dataflow="OS")
    host = sim.initiator("host")
    sim.bind(host, sa.data_in)
    sim.bind(sim.initiator("unused_csr"), sa.csr)
    sim.bind(sim.initiator("unused_out"), sa.data_out)

    @sim.process
    async def send():
        await host.write(0, np.zeros(8, dtype=np.uint8))

    sim.run()


@pytest.mark.parametrize("impl", ["functional", "tlm"])
def test_abstract_twins_reject_operands_without_a_job(impl):
    with pytest.raises(cosim.TlmError, match="no job is waiting for 1 operand beats"):
        cosim.simulate(misuse, impl)


def unknown_impl(sim):
    systolic_array(sim, "sa", impl="gate-level")


def test_unknown_implementation():
    with pytest.raises(cosim.ParameterError, match="impl must be one of functional, tlm, rtl"):
        cosim.simulate(unknown_impl)
