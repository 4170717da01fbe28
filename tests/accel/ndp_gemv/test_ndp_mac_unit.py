"""The near-bank MAC unit as an engine (cosim.accel.ndp_gemv.mac_unit): its functional, TLM and RTL
twins agree bit for bit with the near-data units' numpy twin, the TLM timing error
against the RTL is measured, bad jobs are refused; the ndp model runs its units' GEMV on
the RTL (parameter `datapath`) with the same results and timing, and refuses an RTL that
does not fit it."""

from __future__ import annotations

import numpy as np
import pytest

import cosim
from cosim.accel.ndp_gemv.mac_unit import (
    STATUS_REFUSED,
    MacUnitDriver,
    check_shape,
    latency,
    mac_unit,
    rtl_datapath,
)
from cosim.accel.stream_engine import IMPLEMENTATIONS
from cosim.system.ndp_layout import reference_gemv
from cosim.system.ndp_system import ndp_vs_host


def test_latency_and_shape_rules():
    assert latency(32) == 6 and latency(4) == 3 and latency(128) == 8
    check_shape(32, 2048)
    with pytest.raises(cosim.ParameterError, match="burst_bytes = 24: must be a power of two"):
        check_shape(24, 2048)
    with pytest.raises(cosim.ParameterError, match="xbytes = 96: must be burst_bytes"):
        check_shape(32, 96)


def gemv_rows(sim, impl, a, x, burst=32):
    """Load x, stream the rows of `a` with a concurrent reader; time from the RUN write
    to the done interrupt, CYCLES, INFO, and the results as uint32 bit patterns."""
    eng = mac_unit(sim, "mac", impl, burst_bytes=burst, xbytes=2048)
    drv = MacUnitDriver.attach(sim, eng, "ctl")
    out = {}

    @sim.process
    async def main():
        out["info"] = await drv.info()
        await drv.load_x(x)
        t0 = cosim.now()
        await drv.run(len(a))
        got = []

        async def reader():
            for _ in range(len(a)):
                got.append(await drv.results(1))

        r = cosim.spawn(reader())
        for row in a:
            await drv.send(drv.pad(np.ascontiguousarray(row).view(np.uint8)))
        await r
        await drv.wait_done()
        out["time_ps"] = cosim.now() - t0
        out["cycles"] = await drv.read_reg(0x08)
        out["y"] = np.concatenate(got) if got else np.zeros(0, np.uint32)

    sim.run()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["int8", "fp16"])
def test_twins_agree_and_tlm_timing_error_is_reported(dtype, capsys):
    rng = np.random.default_rng(5)
    m, n = 24, 200
    if dtype == "int8":
        a = rng.integers(-128, 128, (m, n), dtype=np.int8)
        x = rng.integers(-128, 128, n, dtype=np.int8)
        a[0] = -128
    else:
        a = (rng.standard_normal((m, n)) * 4).astype(np.float16)
        x = rng.standard_normal(n).astype(np.float16)
        a[0, :3] = [65504.0, -65504.0, 2.0**-24]
    want = np.ascontiguousarray(reference_gemv(a, x, 32 if dtype == "int8" else 16)).view(np.uint32)
    runs = {impl: cosim.simulate(gemv_rows, impl, a, x).value for impl in IMPLEMENTATIONS}
    for impl, r in runs.items():
        assert np.array_equal(r["y"], want), f"{impl} twin differs from numpy"
        assert r["info"] == {"burst_bytes": 32, "latency": 6, "x_beats": 64, "version": 1}
    assert runs["functional"]["time_ps"] == 0
    rtl_t, tlm_t = runs["rtl"]["time_ps"], runs["tlm"]["time_ps"]
    error = (tlm_t - rtl_t) / rtl_t
    with capsys.disabled():
        print(
            f"\n  MAC unit {dtype}, {m}x{n}: RTL {rtl_t / 1000:.0f} ns ({runs['rtl']['cycles']} "
            f"cycles), TLM {tlm_t / 1000:.0f} ns ({runs['tlm']['cycles']}), "
            f"TLM timing error {error:+.1%}"
        )
    assert rtl_t > 0 and abs(error) < 0.10
    assert runs["tlm"]["cycles"] == runs["rtl"]["cycles"]


def refused(sim, impl):
    eng = mac_unit(sim, "mac", impl)
    drv = MacUnitDriver.attach(sim, eng, "ctl")
    out = {}

    @sim.process
    async def main():
        await drv.write_reg(0x10, 3)  # fp16
        await drv.write_reg(0x14, 1025)  # 2050 B: larger than the 2 KiB buffer
        await drv.start(2)
        out["status"] = await drv.wait_done()
        await drv.write_reg(0x14, 16)
        await drv.start(2)
        await drv.send(np.zeros(32, np.uint8))
        out["ok"] = await drv.wait_done()

    sim.run()
    return out


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_a_job_the_unit_cannot_hold_is_refused(impl):
    r = cosim.simulate(refused, impl).value
    assert r["status"] & STATUS_REFUSED and r["status"] & 2
    assert r["ok"] == 2


def beats_without_job(sim, impl):
    eng = mac_unit(sim, "mac", impl)
    drv = MacUnitDriver.attach(sim, eng, "ctl")

    @sim.process
    async def main():
        await drv.send(np.zeros(32, np.uint8))

    sim.run()


@pytest.mark.parametrize("impl", ["functional", "tlm"])
def test_abstract_twins_refuse_beats_without_a_job(impl):
    with pytest.raises(cosim.TlmError, match="no job is waiting for 1 input beats"):
        cosim.simulate(beats_without_job, impl)


def unknown_impl(sim):
    mac_unit(sim, "mac", "gates")


def test_unknown_implementation():
    with pytest.raises(cosim.ParameterError, match="impl must be one of functional, tlm, rtl"):
        cosim.simulate(unknown_impl)


# ------------------------------------------------ the ndp model on the RTL datapath


def ndp_run(sim, ndp, dtype, m, n):
    r = ndp_vs_host(sim, m, n, dtype, ndp=ndp)
    r["datapath"] = sim.stats.flat().get("ndp.datapath_cycles", 0)
    return r


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["int8", "fp16"])
def test_ndp_units_on_the_rtl_datapath_compute_the_same_in_the_same_time(dtype):
    m, n = 300, 200
    c = cosim.simulate(ndp_run, {"unit_latency": latency(32)}, dtype, m, n).value
    r = cosim.simulate(ndp_run, rtl_datapath(32, 2048), dtype, m, n).value
    assert c["golden_ok"] and r["golden_ok"]  # both bit-exact against the units' twin
    assert r["ndp"]["time_ps"] == c["ndp"]["time_ps"]
    assert r["kernel_cycles"] == c["kernel_cycles"]
    assert c["datapath"] == 0
    # every burst of A went through the RTL (plus x loads and per-unit set-up)
    bursts = m * (-(-n * (2 if dtype == "fp16" else 1) // 32))
    assert bursts <= r["datapath"] < bursts + 200 * 128


def bad_datapath(sim, ndp, memory="hbm2"):
    ndp_vs_host(sim, 8, 8, "int8", ndp=ndp, memory=memory)


@pytest.mark.slow
def test_ndp_refuses_an_rtl_datapath_that_does_not_fit():
    lib = rtl_datapath(32, 2048)
    with pytest.raises(cosim.ParameterError, match=r"unit_latency = 8 cycles, but the RTL unit's"):
        cosim.simulate(bad_datapath, {"datapath": lib["datapath"]})
    with pytest.raises(cosim.ParameterError, match="x buffer holds 2048 B, less than buffer_bytes"):
        cosim.simulate(bad_datapath, {**lib, "buffer_bytes": 4096})
    with pytest.raises(cosim.ParameterError, match="takes 32-byte beats but a burst of the dram"):
        cosim.simulate(bad_datapath, lib, "ddr4_2400")
    with pytest.raises(cosim.ParameterError, match="cannot load RTL library"):
        cosim.simulate(bad_datapath, {"datapath": "/nonexistent/lib.so"})
