"""ViTALiTy: arithmetic, formats and workload; the engine's three twins against the
bit-exact golden with equal counters and TLM cycles equal to the RTL's; the scenario at a
reduced size (every twin, the MAC-ratio bound, both drivers) and at its default size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel import online_softmax as osm
from cosim.accel.stream_engine import CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.accel.vitality import arithmetic as ar
from cosim.accel.vitality import engine as E
from cosim.accel.vitality import format as fmt
from cosim.accel.vitality import workload as wl
from cosim.scenario import load_script

REPO = Path(__file__).resolve().parents[3]
SMALL = {"tokens": 21, "heads": 1}
BUILD = {"dim": 64, "rows": 8, "max_tokens": 512}  # the scenario's build: one RTL build


def head(n: int, d: int = 64, seed: int = 4) -> wl.Head:
    w = wl.make_workload(np.random.default_rng(seed), n, d, 1, 15)
    return w.heads[0]


# ---------------------------------------------------------------- arithmetic and workload


def test_integer_centring_equals_mean_centred_keys_times_n():
    h = head(37)
    k, v = h.k.astype(np.int64), h.v.astype(np.int64)
    gc = ar.centred_g(k.T @ v, k.sum(0), v.sum(0), 37, 0)
    exact = 37 * (k - k.mean(0)).T @ v
    assert np.array_equal(gc, np.clip(np.rint(exact), ar.G_MIN, ar.G_MAX).astype(np.int64))


def test_calibrated_shift_is_the_smallest_without_saturation():
    h = head(64)
    k, v = h.k.astype(np.int64), h.v.astype(np.int64)
    gc = 64 * k.T @ v - np.outer(k.sum(0), v.sum(0))
    assert np.abs(ar.round_shift(gc, h.g_shift)).max() <= ar.G_MAX
    assert np.abs(ar.round_shift(gc, h.g_shift - 1)).max() > ar.G_MAX


@pytest.mark.parametrize("n", [2, 63, 197])
def test_goldens_are_within_their_float64_tolerances(n):
    h, alpha = head(n), 2.0**-15
    t = wl.golden_taylor(h, 15) / 256.0
    assert (np.abs(t - wl.taylor_float(h, alpha)) <= wl.taylor_tolerance(h, alpha)[:, None]).all()
    mult, shift = osm.softmax_scale(alpha)
    s = wl.golden_softmax(h, mult, shift) / 256.0
    assert np.abs(s - wl.softmax_float(h, alpha)).max() <= wl.softmax_tolerance(h)
    # first-order Taylor is close to softmax at this logit spread, not equal
    assert 0 < np.abs(wl.taylor_float(h, alpha) - wl.softmax_float(h, alpha)).max() < 4


def test_taylor_float_normaliser_is_n_after_mean_centring():
    h = head(50)
    q, k = h.q.astype(float), h.k.astype(float)
    assert np.allclose(q @ (k - k.mean(0)).sum(0), 0.0, atol=1e-6)


def test_workload_is_deterministic_and_rejects_bad_sizes():
    a = wl.make_workload(np.random.default_rng(9), 30, 16, 2, 12)
    b = wl.make_workload(np.random.default_rng(9), 30, 16, 2, 12)
    for x, y in zip(a.heads, b.heads, strict=True):
        assert np.array_equal(x.q, y.q) and x.g_shift == y.g_shift
    assert a.heads[0].q.shape == (30, 16) and a.heads[0].q.dtype == np.int8
    with pytest.raises(cosim.ParameterError, match=r"tokens = 1 must be 2\.\.512"):
        wl.make_workload(np.random.default_rng(0), 1, 16, 1, 12)
    with pytest.raises(cosim.ParameterError, match=r"dim = 65 must be 1\.\.64"):
        wl.make_workload(np.random.default_rng(0), 8, 65, 1, 12)


def test_formats_interleave_pairs_and_pad_lanes():
    h = head(5, d=3)
    kv = fmt.kv_image(h.k, h.v, 8).view(np.int8).reshape(10, 8)
    assert np.array_equal(kv[0::2, :3], h.k) and np.array_equal(kv[1::2, :3], h.v)
    assert not kv[:, 3:].any()
    out = np.arange(5 * 8, dtype="<i2")
    assert np.array_equal(fmt.decode_out(out.view(np.uint8), 5, 8, 3), out.reshape(5, 8)[:, :3])
    with pytest.raises(cosim.ParameterError, match="do not fit beats of 2 lanes"):
        fmt.q_image(h.q, 2)


# ---------------------------------------------------------------- the engine's twins

CASES = ((20, E.TAYLOR), (20, E.SOFTMAX), (9, E.TAYLOR), (70, E.SOFTMAX))


def jobs(sim: cosim.Simulation, impl: str, corrupt: bool = False) -> dict:
    eng = E.taylor_attention_engine(sim, "eng", impl, **BUILD)
    drv = EngineDriver.attach(sim, eng, "d")
    out: dict = {"out": [], "cycles": [], "counters": []}

    @sim.process
    async def run() -> None:
        for i, (n, mode) in enumerate(CASES):
            h = head(n, seed=i)
            mult, shift = osm.softmax_scale(2.0**-15)
            regs = {E.TOKENS: n, E.MODE: mode, E.TAYLOR_SHIFT: 15, E.G_SHIFT: h.g_shift}
            for reg, v in (regs | {E.MULT: mult, E.SHIFT: shift}).items():
                await drv.write_reg(reg, v)
            await drv.start()
            kv = fmt.kv_image(h.k, h.v, 64).copy()
            if corrupt:
                kv[5] ^= 0x40
            await drv.send(kv)
            await drv.send(fmt.q_image(h.q, 64))
            raw = await drv.receive(n)
            out["out"].append(fmt.decode_out(raw.reshape(-1), n, 64, 64))
            await drv.wait_done()
            out["cycles"].append(await drv.read_reg(CYCLES))
            out["counters"].append({c: await drv.read_reg(a) for c, a in E.COUNTERS.items()})
        await drv.write_reg(E.TOKENS, 513)
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    return out


def goldens() -> list[np.ndarray]:
    mult, shift = osm.softmax_scale(2.0**-15)
    return [
        wl.golden_taylor(head(n, seed=i), 15)
        if mode == E.TAYLOR
        else wl.golden_softmax(head(n, seed=i), mult, shift)
        for i, (n, mode) in enumerate(CASES)
    ]


def test_three_twins_match_the_golden_count_alike_and_tlm_cycles_equal_rtl():
    r = {i: cosim.simulate(jobs, i, timeout=900).value for i in ("functional", "tlm", "rtl")}
    want = goldens()
    for impl, v in r.items():
        assert v["refused"], impl
        for i, (got, g) in enumerate(zip(v["out"], want, strict=True)):
            assert np.array_equal(got, g), f"{impl}: case {CASES[i]} differs from the golden"
    assert r["functional"]["counters"] == r["tlm"]["counters"] == r["rtl"]["counters"]
    last = r["rtl"]["counters"][-1]
    taylor = sum((2 * n + 1) * 64 * 64 for n, m in CASES if m == E.TAYLOR)
    softmax = sum(2 * n * n * 64 for n, m in CASES if m == E.SOFTMAX)
    assert last["MACS"] == taylor + softmax
    assert last["EXPS"] == sum(n * n for n, m in CASES if m == E.SOFTMAX)
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"] and min(r["rtl"]["cycles"]) > 0
    # the state machine's promised cost: 2N edges per block of 8 queries, 2 per query
    assert r["rtl"]["cycles"][3] >= 2 * 70 * E.query_blocks(70, 8) + 2 * 70


def test_a_corrupted_input_fails_the_golden():
    bad = cosim.simulate(jobs, "functional", True).value
    for got, g in zip(bad["out"], goldens(), strict=True):
        assert not np.array_equal(got, g)


def test_engine_rejects_rows_that_do_not_divide_dim():
    with pytest.raises(cosim.ParameterError, match="rows = 3 must divide dim = 64"):
        E.taylor_attention_engine(None, "e", "functional", dim=64, rows=3)


# ---------------------------------------------------------------- the scenario


@pytest.fixture(scope="module")
def script():
    return load_script(REPO / "scenarios" / "vitality.py")


def test_mixed_abstraction_same_outputs_counters_and_cycles(script, capsys):
    runs = {
        impl: script.simulate(script.configure(SMALL, {"vitality": impl}), timeout=900)
        for impl in ("functional", "tlm", "rtl")
    }
    for impl, o in runs.items():
        assert o.metrics["golden_ok"], impl
    assert len({o.extras["output_digest"] for o in runs.values()}) == 1
    assert len({str(o.extras["counters"]) for o in runs.values()}) == 1
    rtl, tlm = runs["rtl"].metrics, runs["tlm"].metrics
    for key in ("engine_cycles", "baseline_engine_cycles", "cycles", "baseline_cycles"):
        assert tlm[key] == rtl[key], f"{key}: TLM {tlm[key]} RTL {rtl[key]}"
    with capsys.disabled():
        print(f"\n  vitality {SMALL}: RTL = TLM cycles {rtl['cycles']} / {rtl['baseline_cycles']}")


def test_mac_ratio_holds_its_bound_and_buffers_do_not_grow_for_taylor(script):
    small = script.simulate(script.configure({"tokens": 40, "heads": 1}, {"vitality": "tlm"}))
    large = script.simulate(script.configure({"tokens": 300, "heads": 1}, {"vitality": "tlm"}))
    for o, n in ((small, 40), (large, 300)):
        m = o.metrics
        assert m["golden_ok"]
        assert m["mac_ratio"] <= m["mac_ratio_bound"] == n / 64
        assert m["mac_ratio"] == pytest.approx(2 * n * n * 64 / ((2 * n + 1) * 64 * 64))
    assert small.metrics["attention_buffer_bytes"] == large.metrics["attention_buffer_bytes"]
    assert large.metrics["baseline_attention_buffer_bytes"] == 2 * 300 * 64 + 4 * 300 * 8
    assert large.metrics["speedup"] > 1 and large.metrics["energy_ratio"] > 1
    assert large.metrics["engine_speedup"] > small.metrics["engine_speedup"]


def test_scenario_rejects_bad_parameters_before_running(script):
    with pytest.raises(cosim.ParameterError, match="'tokens' = 513 is out of range"):
        script.configure({"tokens": 513})
    with pytest.raises(cosim.ParameterError, match="'host' = 'arm' is not allowed"):
        script.configure({"host": "arm"})


@pytest.mark.slow
def test_c_driver_on_the_riscv_host_gives_the_same_outputs(script):
    py = script.simulate(script.configure(SMALL, {"vitality": "tlm"}))
    rv = script.simulate(script.configure({**SMALL, "host": "riscv"}, {"vitality": "tlm"}))
    assert rv.metrics["golden_ok"] and py.metrics["golden_ok"]
    assert rv.extras["output_digest"] == py.extras["output_digest"]
    assert "sw/drivers/accel.c" in rv.report
    assert rv.extras["energy_breakdown_pj"].get("cpu", 0) > 0


@pytest.mark.slow
def test_default_size_end_to_end_tlm_cycles_equal_rtl(script, capsys):
    runs = {i: script.simulate(script.configure({}, {"vitality": i})) for i in ("tlm", "rtl")}
    rtl, tlm = runs["rtl"].metrics, runs["tlm"].metrics
    assert rtl["golden_ok"] and tlm["golden_ok"]
    for key in ("engine_cycles", "baseline_engine_cycles", "cycles", "baseline_cycles"):
        assert tlm[key] == rtl[key], key
    assert rtl["mac_ratio"] <= rtl["mac_ratio_bound"]
    assert rtl["speedup"] > 1 and rtl["energy_ratio"] > 1
    with capsys.disabled():
        print("\n" + runs["rtl"].report)
