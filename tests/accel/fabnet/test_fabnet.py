"""FABNet: the butterfly arithmetic against numpy's FFT and dense matrices, the workload
and its golden check, the engine's three twins (numbers, counters, refusals, TLM cycles =
RTL cycles = the phases' arithmetic), the scenario's mixed-abstraction run, its bounds,
host=riscv against host=python, bad parameters, and the default run end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel.fabnet import butterfly as bf
from cosim.accel.fabnet import engine as be
from cosim.accel.fabnet import workload as wl
from cosim.accel.stream_engine import CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.errors import ParameterError
from cosim.scenario import load_script

ROOT = Path(__file__).resolve().parents[3]
UNITS, MAX_N = 16, 256  # the scenario's build: one RTL build for every test


# ---------------------------------------------------------------------- arithmetic
@pytest.mark.parametrize("n", [4, 32, 256])
def test_fft_mode_is_the_dft_scaled_by_n(n):
    x = np.random.default_rng(n).integers(-8000, 8000, (3, n, 2))
    re, im = bf.run(x[..., 0], x[..., 1], bf.twiddles(n), "fft", 1)
    ref = np.fft.fft(x[..., 0] + 1j * x[..., 1], axis=-1) / n
    assert np.abs(re + 1j * im - ref).max() < bf.log2_exact(n)  # re and im rounding per stage


def test_linear_mode_is_its_butterfly_matrix_with_two_nonzeros_per_row():
    rng = np.random.default_rng(2)
    n = 64
    w = rng.integers(-12000, 12000, (6, n // 2, 4)).astype(np.int16)
    x = rng.integers(-3000, 3000, (4, n))
    y, _ = bf.run(x, np.zeros_like(x), w, "linear", 0)
    b = bf.linear_matrix(w)
    assert np.abs(y - x @ b.T).max() < 0.5 * 6 * 4
    j = np.arange(n // 2)
    stage = np.zeros((n, n))
    stage[2 * j, j] = stage[2 * j, j + n // 2] = 1
    stage[2 * j + 1, j] = stage[2 * j + 1, j + n // 2] = 1
    assert (stage != 0).sum(axis=1).tolist() == [2] * n
    assert bf.butterfly_mults(n, 1) == 2 * n * 6  # 2 N log2 N: ops N^2 -> N log N


def test_saturation_and_bad_lengths():
    x = np.full((1, 8), 32767)
    w = np.full((3, 4, 4), 32767, np.int16)
    y, _ = bf.run(x, np.zeros_like(x), w, "linear", 0)
    assert (y == 32767).all()
    with pytest.raises(ParameterError, match="power of two"):
        bf.log2_exact(48)


# ---------------------------------------------------------------------- workload
def test_workload_is_seeded_and_the_golden_check_catches_a_corrupted_input():
    a = wl.make_layer(np.random.default_rng(3), 32, 64)
    b = wl.make_layer(np.random.default_rng(3), 32, 64)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.weights, b.weights)
    _, y = wl.golden_fabnet(a)
    y_dense = wl.golden_dense(a)["y"]
    good = wl.check_outputs(a, y, y_dense)
    assert good["ok"] and good["error"] < wl.TOLERANCE and np.abs(y_dense).max() > 32
    x = a.x.copy()
    x[5, 7] ^= 0x40
    bad = wl.FabnetLayer(a.seq, a.d, x, a.weights, a.w_dense)
    check = wl.check_outputs(bad, y, y_dense)
    assert not check["ok"] and not check["exact"] and not check["dense_ok"]
    with pytest.raises(ParameterError, match="d = 48"):
        wl.make_layer(np.random.default_rng(0), 64, 48)


def test_the_dense_linear_layer_is_the_butterfly_matrix():
    layer = wl.make_layer(np.random.default_rng(4), 64, 64)
    b = bf.linear_matrix(layer.weights).T
    q = layer.w_dense["linear"].astype(np.float64)
    assert np.corrcoef(q.ravel(), b.ravel())[0, 1] > 0.99


# ---------------------------------------------------------------------- the engine
JOBS = [(32, "fft", 1, 2, True), (64, "linear", 0, 3, True), (64, "linear", 2, 1, False)]


def engine_jobs(sim: cosim.Simulation, impl: str) -> dict:
    eng = be.butterfly_engine(sim, "bfe", impl, units=UNITS, max_n=MAX_N)
    drv = EngineDriver.attach(sim, eng, "d")
    rng = np.random.default_rng(9)
    w64 = rng.integers(-20000, 20000, (6, 32, 4)).astype(np.int16)
    out: dict = {"ok": [], "cycles": [], "counters": []}

    @sim.process
    async def run() -> None:
        for n, mode, shift, count, load in JOBS:
            w = bf.twiddles(n) if mode == "fft" else w64
            for reg, v in (
                ("LOG_N", bf.log2_exact(n)),
                ("MODE", bf.MODES[mode]),
                ("SHIFT", shift),
                ("COUNT", count),
                ("LOAD", int(load)),
            ):
                await drv.write_reg(be.REGISTERS[reg], v)
            await drv.start()
            if load:
                await drv.send(be.weight_image(w))
            for _ in range(count):
                v = rng.integers(-30000, 30000, (n, 2)).astype(np.int16)
                await drv.send(be.pack_words(v[:, 0], v[:, 1]))
                raw = await drv.receive(be.groups(n, UNITS))
                re, im = be.unpack_words(raw, n)
                want = bf.run(v[None, :, 0], v[None, :, 1], w, mode, shift)
                out["ok"].append(np.array_equal(re, want[0]) and np.array_equal(im, want[1]))
            await drv.wait_done()
            out["cycles"].append(await drv.read_reg(CYCLES))
            out["counters"].append(
                [await drv.read_reg(be.COUNTER_BASE + 4 * i) for i in range(len(be.COUNTERS))]
            )
        await drv.write_reg(be.REGISTERS["LOG_N"], 4)  # N = 16 < 2 units: refused
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    return out


def test_three_twins_agree_and_tlm_cycles_equal_rtl_and_the_phases():
    r = {i: cosim.simulate(engine_jobs, i, timeout=600).value for i in ("functional", "tlm", "rtl")}
    for impl, v in r.items():
        assert all(v["ok"]) and len(v["ok"]) == 6 and v["refused"], impl
    assert r["functional"]["counters"] == r["tlm"]["counters"] == r["rtl"]["counters"]
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"]
    # The phases' cycles, plus the one edge this driver's first beat arrives after the
    # start (every later beat is offered when the engine takes it).
    expected = [be.job_cycles(n, UNITS, count, load) for n, _, _, count, load in JOBS]
    assert [c - e for c, e in zip(r["rtl"]["cycles"], expected, strict=True)] == [1, 1, 1]
    last = r["rtl"]["counters"][-1]
    assert last[0] == sum(c * bf.log2_exact(n) * n // 2 for n, _, _, c, _ in JOBS)


def test_bad_engine_shapes():
    with pytest.raises(ParameterError, match="units"):
        be.butterfly_engine(None, "x", "functional", units=128)
    with pytest.raises(ParameterError, match="max_n"):
        be.butterfly_engine(None, "x", "functional", units=16, max_n=16)


# ---------------------------------------------------------------------- the scenario
@pytest.fixture(scope="module")
def scenario():
    return load_script(ROOT / "scenarios" / "fabnet.py")


def run(scenario, params: dict, engines: dict | None = None) -> dict:
    out = scenario.simulate(scenario.configure(params, engines or {}))
    return out.metrics | {"extras": out.extras}


SMALL = {"seq": 32, "d": 64}


@pytest.fixture(scope="module")
def mixed(scenario):
    return {
        impl: run(scenario, SMALL, {"fabnet": impl, "baseline": "tlm"})
        for impl in ("functional", "tlm", "rtl")
    }


def test_mixed_abstraction_same_outputs_and_tlm_cycles_equal_rtl(mixed):
    digests = {m["extras"]["output_digest"] for m in mixed.values()}
    assert len(digests) == 1 and all(m["golden_ok"] for m in mixed.values())
    counters = [m["extras"]["counters"]["fabnet"] for m in mixed.values()]
    assert counters[0] == counters[1] == counters[2]
    tlm, rtl = mixed["tlm"], mixed["rtl"]
    print(
        f"engine cycles tlm {tlm['engine_cycles']} rtl {rtl['engine_cycles']}; "
        f"run cycles tlm {tlm['cycles']} rtl {rtl['cycles']}"
    )
    assert tlm["extras"]["engine_job_cycles"] == rtl["extras"]["engine_job_cycles"]
    assert tlm["cycles"] == rtl["cycles"]


def test_bounds_and_derived_cycles(mixed):
    m = mixed["rtl"]
    d = SMALL["d"]
    assert m["ops_ratio_bound"] == d / (2 * np.log2(d))
    assert m["ops_ratio_linear"] == pytest.approx(m["ops_ratio_bound"], rel=1e-12)
    assert m["ops_ratio"] >= m["ops_ratio_bound"]
    assert m["ops_ratio_attention"] >= m["ops_ratio_bound"]
    # cycles ~ (N/2) log2 N / units: the engine's jobs take the phases' cycles, of which
    # the stages are that product (the rest: weights, vectors in and out, G beats each),
    # plus the sequencer's turnaround (an edge or two per vector and per job start).
    s = SMALL["seq"]
    vectors = s + d + s
    compute = (d // 2 * 6 * s + s // 2 * 5 * d + d // 2 * 6 * s) // UNITS
    assert m["compute_cycles_expected"] == compute
    io = 2 * (s * d // (2 * UNITS)) * 3 + (6 * d // 2 + 5 * s // 2 + 6 * d // 2) // UNITS
    assert m["engine_cycles_expected"] == compute + io
    assert 0 <= m["engine_cycles"] - m["engine_cycles_expected"] <= 2 * (vectors + 3)
    assert m["mixing_engine_cycles"] + m["linear_engine_cycles"] == m["engine_cycles"]
    assert m["speedup"] > 1 and m["energy_ratio"] > 1 and m["area_mm2"] > 0
    assert m["multipliers"] == m["baseline_multipliers"] == 4 * UNITS


def test_riscv_host_gives_the_same_outputs(scenario, mixed):
    m = run(scenario, {**SMALL, "host": "riscv"}, {"fabnet": "tlm", "baseline": "tlm"})
    assert m["golden_ok"]
    assert m["extras"]["output_digest"] == mixed["tlm"]["extras"]["output_digest"]
    assert m["extras"]["host"] == "riscv"


@pytest.mark.parametrize(
    "params,match",
    [
        ({"seq": 48}, "'seq' = 48 must be a power of two"),
        ({"seq": 16, "units": 16}, "'seq' = 16 must be at least 2 x units"),
        ({"d": 512}, "'d'"),
        ({"units": 12}, "'units'"),
    ],
)
def test_bad_parameters_are_refused_before_running(scenario, params, match):
    with pytest.raises(ParameterError, match=match):
        scenario.configure(params, {})


@pytest.mark.slow
def test_default_end_to_end(scenario):
    m = run(scenario, {})
    assert m["golden_ok"] and m["ops_ratio"] > m["ops_ratio_bound"] > 5
    assert m["speedup"] > 1 and m["energy_ratio"] > 1
    assert 0 <= m["engine_cycles"] - m["engine_cycles_expected"] <= 2 * (3 * 64 + 3)
