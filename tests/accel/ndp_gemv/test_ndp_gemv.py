"""scenarios/ndp_gemv.py end to end at reduced size: the three paths (near-bank units,
host, accelerator behind the interface) in one run, every y checked, the accelerator's
MAC units swapped between their twins (identical results, TLM timing error against
the RTL measured), the units' datapath on RTL, and bad sizes refused."""

from __future__ import annotations

from pathlib import Path

import pytest

import cosim
from cosim.scenario import load_script

SCRIPT = Path(__file__).resolve().parents[3] / "scenarios" / "ndp_gemv.py"


@pytest.fixture(scope="module")
def scenario():
    return load_script(SCRIPT)


@pytest.mark.slow
def test_three_paths_at_reduced_size(scenario):
    out = scenario.simulate(scenario.configure({"m": 512, "n": 512}))
    m = out.metrics
    assert m["golden_ok"]
    # the units read A inside the banks: only x, y and registers cross the interface
    assert m["dram_bytes"] < m["baseline_dram_bytes"] / 20
    assert m["accel_dram_bytes"] >= 512 * 512
    assert m["speedup"] > 1 and m["energy_ratio"] > 1
    # the accelerator streams A as fast as the host (same interface) and saves the host's
    # compute energy; the units beat it on both
    assert m["accel_stream_bandwidth"] > 0.8 * m["host_external_bandwidth"]
    assert m["accel_energy_pj"] < m["baseline_energy_pj"]
    assert m["ndp_vs_accel_speedup"] > 1 and m["ndp_vs_accel_energy_ratio"] > 1
    assert m["ndp_internal_bandwidth"] > m["host_external_bandwidth"]
    assert "accelerator" in out.report and "near-data" in out.report
    assert set(out.extras["paths"]) == {"ndp", "host", "accel"}
    # the host's y comes from numpy on the bytes that arrived: the report says so
    assert "host path's golden" in out.report and "transport of A" in out.report


@pytest.mark.slow
def test_accelerator_twins_agree_and_tlm_timing_error(scenario, capsys):
    params = {"m": 256, "n": 384, "dtype": "fp16", "memory": "hbm3"}
    runs = {
        impl: scenario.simulate(scenario.configure(params, {"accel": impl})).metrics
        for impl in ("functional", "tlm", "rtl")
    }
    for impl, m in runs.items():
        assert m["golden_ok"], impl  # bit-exact against the units' numpy twin
    rtl_t, tlm_t = runs["rtl"]["accel_time_us"], runs["tlm"]["accel_time_us"]
    error = (tlm_t - rtl_t) / rtl_t
    with capsys.disabled():
        print(
            f"\n  accelerator path 256x384 fp16 on HBM3: RTL {rtl_t:.3f} us, TLM {tlm_t:.3f} us,"
            f" functional {runs['functional']['accel_time_us']:.3f} us; TLM timing error "
            f"{error:+.1%}"
        )
    assert abs(error) < 0.10
    # the near-data and host paths do not depend on the accelerator's twin
    assert len({m["cycles"] for m in runs.values()}) == 1


@pytest.mark.slow
def test_units_on_rtl(scenario):
    out = scenario.simulate(scenario.configure({"m": 256, "n": 256}, {"units": "rtl"}))
    assert out.metrics["golden_ok"] and out.metrics["units_rtl_cycles"] > 256 * 8
    ref = scenario.simulate(scenario.configure({"m": 256, "n": 256})).metrics
    assert out.metrics["cycles"] == ref["cycles"]


def test_x_that_does_not_fit_the_buffer_is_refused(scenario):
    with pytest.raises(cosim.ParameterError, match="allowed n <= 1024 for fp16"):
        scenario.simulate(scenario.configure({"n": 1500, "dtype": "fp16"}))
    with pytest.raises(cosim.ParameterError, match="'units_per_channel' = 3 is not allowed"):
        scenario.configure({"units_per_channel": 3})


def test_waves_of_the_units_datapath_are_refused(scenario):
    with pytest.raises(cosim.ParameterError, match="--wave accel dumps the accelerator"):
        scenario.simulate(scenario.configure({}, {"units": "rtl"}, wave="units"))


@pytest.mark.slow
def test_c_driver_on_the_riscv_host_gives_the_same_y(scenario):
    params = {"m": 256, "n": 256}
    rv = scenario.simulate(scenario.configure({**params, "host": "riscv"}))
    py = scenario.simulate(scenario.configure(params))
    assert rv.metrics["golden_ok"]  # y exact against the units' twin, as with Python
    assert rv.extras["host"] == "riscv" and py.extras["host"] == "python"
    assert "sw/drivers/ndp_gemv.c" in rv.report and "roofline" in rv.report
    # the core ran the driver (its instructions are charged to the near-data path) and
    # the units did the same work: same bytes in the banks
    assert rv.extras["energy_breakdown_pj"].get("cpu", 0) > 0
    assert rv.extras["paths"]["ndp"]["energy_pj"] > 0
    assert rv.metrics["dram_bytes"] <= py.metrics["dram_bytes"]  # y elements only
    # the same command on the same data: the same cycles unless a DRAM refresh falls
    # inside one of them (none does at this size)
    assert rv.metrics["kernel_cycles"] == py.metrics["kernel_cycles"]
