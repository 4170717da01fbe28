"""The systolic array's cycles against the standard analytical model of dense arrays
(SCALE-Sim, Samajdar et al., ISPASS 2020): OS folds x (K + R + C - 2) - 1, WS and IS folds
x (2R + C + T - 2) - 1, with the folds of each dataflow. Expected figures are derived here
from those formulas, never copied from a run. The RTL must be within 5% of the model on
GEMMs of several shapes (edge folds included), the TLM twin equal to the RTL, the
functional twin's CYCLES the array's schedule at full rate."""

from __future__ import annotations

import numpy as np
import pytest

import cosim
from cosim.accel.systolic import (
    GemmJob,
    Mapping,
    SystolicDriver,
    SystolicLayout,
    gemm_job,
    gemm_result,
    golden_matmul,
    job_cycles,
    systolic_array,
)
from cosim.accel.systolic.topology import ConvLayer

CSR, DATA_IN, DATA_OUT = 0x1000_0000, 0x2000_0000, 0x4000_0000


def ceil(a: int, b: int) -> int:
    return -(-a // b)


def scalesim(dataflow: str, r: int, c: int, m: int, n: int, k: int) -> int:
    """The analytical model, written out from the paper's mapping."""
    if dataflow == "OS":
        return ceil(m, r) * ceil(n, c) * (k + r + c - 2) - 1
    if dataflow == "WS":
        return ceil(k, r) * ceil(n, c) * (2 * r + c + m - 2) - 1
    return ceil(k, r) * ceil(m, c) * (2 * r + c + n - 2) - 1


# (rows, cols, m, n, k): square and tall arrays, whole and edge folds in every dimension
SHAPES = [(8, 8, 64, 64, 64), (8, 8, 20, 12, 30), (4, 4, 18, 10, 25), (4, 8, 17, 29, 21)]


@pytest.mark.parametrize("dataflow", ["OS", "WS", "IS"])
@pytest.mark.parametrize(("r", "c", "m", "n", "k"), SHAPES)
def test_mapping_is_the_analytical_model(dataflow, r, c, m, n, k):
    mp = Mapping(dataflow, r, c, m, n, k)
    assert mp.scalesim_cycles() == scalesim(dataflow, r, c, m, n, k)
    spatial = {"OS": (m, n), "WS": (k, n), "IS": (k, m)}[dataflow]
    assert mp.folds == ceil(spatial[0], r) * ceil(spatial[1], c)
    assert mp.mapping_efficiency == pytest.approx(spatial[0] * spatial[1] / (mp.folds * r * c))


@pytest.mark.parametrize("dataflow", ["OS", "WS", "IS"])
@pytest.mark.parametrize(("r", "c", "m", "n", "k"), SHAPES)
def test_tiling_round_trips_through_a_numpy_array(dataflow, r, c, m, n, k):
    """The job's beats, pushed through a numpy model of the array, give A @ B back."""
    rng = np.random.default_rng(5)
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    lay = SystolicLayout(r, c, dataflow)
    job = gemm_job(lay, a, b)
    assert job.folds == Mapping(dataflow, r, c, m, n, k).folds
    assert np.array_equal(gemm_result(lay, job, numpy_array(lay, job)), golden_matmul(a, b))


def numpy_array(lay: SystolicLayout, job: GemmJob) -> np.ndarray:
    beats = job.beats.view(np.int8).reshape(-1, lay.beat_bytes).astype(np.int64)
    b_part, a_part = beats[:, : lay.cols], beats[:, lay.cols :]
    per = job.depth + (lay.rows if lay.stationary else 0)
    out = []
    for f in range(job.folds):
        s = slice(f * per, (f + 1) * per)
        if lay.stationary:
            tile = b_part[s][: lay.rows][::-1]
            out.append(a_part[s][lay.rows :] @ tile)
        else:
            out.append(a_part[s].T @ b_part[s])
    return np.concatenate(out).astype(np.int32)


def test_bad_shapes_and_dataflows_are_named():
    with pytest.raises(cosim.ParameterError, match="dataflow must be one of OS, WS, IS"):
        SystolicLayout(4, 4, "XS")
    with pytest.raises(cosim.ParameterError, match="every dimension must be >= 1"):
        Mapping("OS", 4, 4, 0, 4, 4)
    with pytest.raises(ValueError, match="do not chain"):
        gemm_job(SystolicLayout(4, 4), np.zeros((3, 5), np.int8), np.zeros((4, 2), np.int8))


def gemm_system(sim, impl, r, c, dataflow, a, b):
    sa = systolic_array(sim, "sa", impl=impl, rows=r, cols=c, dataflow=dataflow)
    bus = sim.model("router", "bus")
    host = sim.initiator("host")
    sim.bind(host, bus.port("target"))
    bus.map(sa.csr, base=CSR, size=0x100)
    bus.map(sa.data_in, base=DATA_IN, size=0x1000_0000)
    bus.map(sa.data_out, base=DATA_OUT, size=0x1000_0000)
    driver = SystolicDriver(host, sa.layout, csr=CSR, data_in=DATA_IN, data_out=DATA_OUT)
    out = {}

    @sim.process
    async def main():
        await cosim.delay(20_000)  # past the RTL's reset
        t0 = cosim.now()
        out["c"] = await driver.matmul(a, b)
        out["time_ps"] = cosim.now() - t0
        out["cycles"] = driver.cycles[0]

    sim.run()
    return out


def test_functional_twin_reports_the_schedule():
    rng = np.random.default_rng(2)
    for dataflow in ("OS", "WS", "IS"):
        for r, c, m, n, k in SHAPES[1:]:
            a = rng.integers(-128, 128, (m, k), dtype=np.int8)
            b = rng.integers(-128, 128, (k, n), dtype=np.int8)
            got = cosim.simulate(gemm_system, "functional", r, c, dataflow, a, b).value
            assert np.array_equal(got["c"], golden_matmul(a, b))
            mp = Mapping(dataflow, r, c, m, n, k)
            # the schedule: folds x period, then the last fold's drain
            if dataflow == "OS":
                want = mp.folds * (k + r + c - 2) + r + 2
            else:
                want = mp.folds * (2 * r + c + mp.temporal - 2) + 2
            assert got["cycles"] == want == job_cycles(dataflow, r, c, mp.temporal, mp.folds)


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["OS", "WS", "IS"])
def test_rtl_is_within_5_percent_of_the_model_and_tlm_is_exact(dataflow, capsys):
    rng = np.random.default_rng(4)
    for r, c, m, n, k in SHAPES[1:]:
        a = rng.integers(-128, 128, (m, k), dtype=np.int8)
        b = rng.integers(-128, 128, (k, n), dtype=np.int8)
        runs = {
            i: cosim.simulate(gemm_system, i, r, c, dataflow, a, b).value for i in ("rtl", "tlm")
        }
        model = scalesim(dataflow, r, c, m, n, k)
        rtl = runs["rtl"]["cycles"]
        with capsys.disabled():
            print(
                f"\n  {r}x{c} {dataflow} {m}x{k}x{n}: RTL {rtl} cycles, model {model} "
                f"({(rtl - model) / model:+.1%}), TLM {runs['tlm']['cycles']}"
            )
        for run in runs.values():
            assert np.array_equal(run["c"], golden_matmul(a, b))
        assert abs(rtl - model) <= 0.05 * model
        assert runs["tlm"]["cycles"] == rtl and runs["tlm"]["time_ps"] == runs["rtl"]["time_ps"]


def test_a_corrupted_input_fails_the_golden():
    """The conv golden (a direct convolution, no lowering) catches one flipped input."""
    conv = ConvLayer("c", 6, 5, 3, 2, 3, 4, 1)
    x, w = conv.operands(np.random.default_rng(3))
    a, b = conv.lower(x, w)
    good = cosim.simulate(gemm_system, "functional", 4, 4, "WS", a, b).value["c"]
    assert np.array_equal(good, conv.golden(x, w))
    bad_a = a.copy()
    bad_a[2, 3] ^= 0x10
    bad = cosim.simulate(gemm_system, "functional", 4, 4, "WS", bad_a, b).value["c"]
    assert not np.array_equal(bad, conv.golden(x, w))
