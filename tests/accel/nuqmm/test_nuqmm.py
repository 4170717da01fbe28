"""nuQmm: BCQ fit, formats and goldens, the three twins of the engine (same results and
counters, TLM cycles equal to the RTL's), the scenario (mixed abstraction, the derived
lookup and MAC counts, the weight-bytes bound, the corrupted-input check, the RISC-V
host, bad parameters)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel.nuqmm import bcq
from cosim.accel.nuqmm import engine as E
from cosim.accel.nuqmm import format as fmt
from cosim.accel.nuqmm.workload import make_layer
from cosim.accel.stream_engine import CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.scenario import load_script

REPO = Path(__file__).resolve().parents[3]
#: The scenario's engine build (shared by every RTL run here and the cocotb bench).
SHAPE = E.EngineShape()
SMALL = {"rows": 64, "n": 256}


def layer_of(seed=3, rows=32, n=128, q=3, mu=8, batch=1):
    return make_layer(np.random.default_rng(seed), rows=rows, n=n, q=q, mu=mu, batch=batch)


# ----------------------------------------------------------------- BCQ, formats, goldens
def test_bcq_fit_is_seeded_and_improves_with_q():
    w = np.random.default_rng(0).standard_normal((16, 64))
    errs = []
    for q in (1, 2, 3, 4):
        a, p = bcq.fit(w, q)
        assert set(np.unique(p)) <= {-1, 1} and (a > 0).all()
        errs.append(np.linalg.norm(w - bcq.dequantise(a, p)) / np.linalg.norm(w))
    assert errs == sorted(errs, reverse=True) and errs[-1] < 0.15
    a1, p1 = bcq.fit(w, 3)
    a2, p2 = bcq.fit(w.copy(), 3)
    assert np.array_equal(a1, a2) and np.array_equal(p1, p2)
    greedy, _ = bcq.fit(w, 2, iterations=0), None
    g_err = np.linalg.norm(w - bcq.dequantise(*greedy)) / np.linalg.norm(w)
    assert errs[1] <= g_err + 1e-12, "alternating refinement never makes the fit worse"
    with pytest.raises(cosim.ParameterError, match=r"q = 9 must be 1\.\.8"):
        bcq.fit(w, 9)


def test_lut_holds_every_signed_sum_and_the_lut_gemv_equals_the_direct_product():
    x = np.array([3, -5, 7], np.int64)
    table = bcq.lut(x, 3)
    for p in range(8):
        assert table[p] == sum(x[j] if p >> j & 1 else -x[j] for j in range(3))
    layer = layer_of(seed=5, rows=24, n=64, q=4)
    got = bcq.lut_gemv(layer.x[0], layer.patterns(), layer.alphas_fx, 8, layer.shift)
    assert np.array_equal(got, layer.golden(0))
    # the golden is itself checked against a loop over weights
    direct = np.zeros(24, np.int64)
    for r, i in itertools.product(range(24), range(4)):
        direct[r] += int(layer.alphas_fx[i, r]) * int(
            (layer.planes[r, i].astype(np.int64) * layer.x[0]).sum()
        )
    assert np.array_equal(layer.golden(0), bcq.wrap32(direct >> layer.shift))


def test_golden_is_within_the_stated_float_bound():
    layer = layer_of(seed=2, rows=64, n=256, q=3)
    err = np.abs(layer.to_real(layer.golden(0)) - layer.reference(0))
    assert (err <= layer.tolerance(0)).all()
    assert err.max() > 0, "the fixed-point path does differ from float64"


def test_patterns_and_images_round_trip_and_name_bad_shapes():
    layer = layer_of(rows=40, n=64, q=2)
    pats = layer.patterns()
    assert pats.shape == (8, 2, 40)
    bit = (pats[3, 1, 7] >> 5) & 1
    assert bit == (layer.planes[7, 1, 3 * 8 + 5] > 0)
    img = fmt.weight_image(pats, 16)
    assert img.size == pats.size and fmt.row_blocks(40, 16) == [(0, 16), (16, 16), (32, 8)]
    assert np.array_equal(img[: 8 * 2 * 16].reshape(8, 2, 16), pats[:, :, :16])
    s = fmt.scale_image(layer.alphas_fx, 16)
    assert np.array_equal(s[: 2 * 2 * 16].view("<u2").reshape(2, 16), layer.alphas_fx[:, :16])
    with pytest.raises(cosim.ParameterError, match=r"must be \(q, rows\) uint16"):
        fmt.scale_image(layer.alphas_fx.astype(np.int32), 16)
    with pytest.raises(cosim.ParameterError, match="not 3 int32 rows"):
        fmt.results(np.zeros(8, np.uint8), 3)
    with pytest.raises(cosim.ParameterError, match="n = 60 must be a multiple of mu = 8"):
        make_layer(np.random.default_rng(0), rows=8, n=60, q=2, mu=8)
    with pytest.raises(cosim.ParameterError, match="batch = 0"):
        make_layer(np.random.default_rng(0), rows=8, n=64, q=2, mu=8, batch=0)


def test_engine_shape_and_jobs_name_what_is_out_of_range():
    with pytest.raises(cosim.ParameterError, match="lanes = 18 must be a multiple of 4"):
        E.EngineShape(lanes=18)
    with pytest.raises(cosim.ParameterError, match="rows = 20 must be a multiple of lanes"):
        SHAPE.check_job(2, 20, 1, 0)
    with pytest.raises(cosim.ParameterError, match=r"q = 5 must be 1\.\.4"):
        SHAPE.check_job(2, 16, 5, 0)
    with pytest.raises(cosim.ParameterError, match="groups x mu = 8 activations"):
        SHAPE.check_job(1, 16, 1, 0)


# ----------------------------------------------------------------- the engine's twins
def engine_jobs(sim: cosim.Simulation, impl: str) -> dict:
    """Three jobs (q 3 and 4, different sizes, batch 1 and 3) and a refused start."""
    eng = E.nuqmm_engine(sim, "nq", impl, shape=SHAPE)
    drv = EngineDriver.attach(sim, eng, "d")
    layers = [
        layer_of(seed=4, rows=32, n=128, q=3),
        layer_of(seed=6, rows=48, n=64, q=4),
        layer_of(seed=8, rows=16, n=32, q=2, batch=3),
    ]
    out: dict = {"results": [], "cycles": [], "counters": []}

    @sim.process
    async def run() -> None:
        for layer in layers:
            for reg, v in ((E.GROUPS, layer.groups), (E.ROWS, layer.rows), (E.Q, layer.q),
                           (E.SHIFT, layer.shift), (E.BATCH, layer.batch)):  # fmt: skip
                await drv.write_reg(reg, v)
            await drv.start()
            await drv.send(layer.x.view(np.uint8).reshape(-1, 16))
            await drv.send(fmt.weight_image(layer.patterns(), 1024).reshape(-1, 16))
            await drv.send(fmt.scale_image(layer.alphas_fx, 1024).reshape(-1, 16))
            raw = await drv.receive(layer.batch * layer.rows // 4)
            await drv.wait_done()
            res = fmt.results(raw.reshape(-1), layer.batch * layer.rows)
            out["results"].append(res.reshape(layer.batch, layer.rows))
            out["cycles"].append(await drv.read_reg(CYCLES))
            out["counters"].append({n: await drv.read_reg(a) for n, a in E.COUNTERS.items()})
        out["info"] = await drv.read_info()
        await drv.write_reg(E.Q, 5)
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    out["golden"] = [np.stack([la.golden(c) for c in range(la.batch)]) for la in layers]
    return out


@pytest.mark.slow
def test_three_twins_match_the_golden_the_counters_and_tlm_cycles_equal_rtl():
    r = {i: cosim.simulate(engine_jobs, i, timeout=600).value for i in ("functional", "tlm", "rtl")}
    for impl, v in r.items():
        for got, want in zip(v["results"], v["golden"], strict=True):
            assert np.array_equal(got, want), f"{impl}: results differ from the golden"
        assert v["refused"], impl
        assert v["info"] == SHAPE.info(), f"{impl}: INFO {v['info']:#x}"
    assert r["functional"]["counters"] == r["tlm"]["counters"] == r["rtl"]["counters"]
    first, both, third = r["rtl"]["counters"]
    assert first == {"lut_entries": 16 * 256, "lookups": 16 * 32 * 3, "scale_macs": 32 * 3}
    assert both["lookups"] - first["lookups"] == 8 * 48 * 4
    assert third["lookups"] - both["lookups"] == 3 * 4 * 16 * 2, "every column looks up"
    assert third["lut_entries"] - both["lut_entries"] == 3 * 4 * 256, "a table per column"
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"] and min(r["rtl"]["cycles"]) > 0
    assert r["functional"]["cycles"] == [0, 0, 0]


# ----------------------------------------------------------------- the scenario
def scenario():
    return load_script(REPO / "scenarios" / "nuqmm.py")


@pytest.mark.slow
def test_mixed_abstraction_same_outputs_and_counters_tlm_cycles_equal_rtl(capsys):
    s = scenario()
    runs = {
        impl: s.simulate(s.configure(SMALL, {"nuqmm": impl}), timeout=600)
        for impl in ("functional", "tlm", "rtl")
    }
    for impl, o in runs.items():
        assert o.metrics["golden_ok"], f"{impl}: golden check failed"
    assert len({o.extras["output_digest"] for o in runs.values()}) == 1
    counters = [o.extras["counters"] for o in runs.values()]
    assert counters[0] == counters[1] == counters[2]
    rtl, tlm = runs["rtl"].metrics, runs["tlm"].metrics
    for key in ("engine_cycles", "cycles", "baseline_cycles"):
        assert tlm[key] == rtl[key], f"{key}: TLM {tlm[key]} vs RTL {rtl[key]}"
    with capsys.disabled():
        print(f"\n  nuqmm, TLM vs RTL at {SMALL}:")
        for key in ("engine_cycles", "cycles"):
            print(f"    {key}: RTL {rtl[key]:,} TLM {tlm[key]:,} error 0.00%")


def independent_counts(rows: int, n: int, q: int, mu: int, batch: int) -> tuple[int, int]:
    """Lookups and MACs counted by walking the product, not from the formula."""
    lookups = macs = 0
    for _b in range(batch):
        for _r in range(rows):
            for _i in range(q):
                lookups += len(range(0, n, mu))
            macs += n
    return lookups, macs


@pytest.mark.parametrize(("q", "batch"), [(2, 1), (4, 2)])
def test_lookups_and_macs_match_an_independent_count_and_the_bytes_bound_holds(q, batch):
    s = scenario()
    m = s.simulate(s.configure({**SMALL, "q": q, "batch": batch}, {"nuqmm": "tlm"})).metrics
    assert m["golden_ok"]
    lookups, macs = independent_counts(64, 256, q, 8, batch)
    assert m["lookups"] == m["lookups_derived"] == lookups
    assert m["baseline_macs"] == m["baseline_macs_derived"] == macs
    assert m["weight_bytes"] == q * 64 * 256 // 8 and m["baseline_weight_bytes"] == 2 * 64 * 256
    assert m["weight_bytes_ratio"] == pytest.approx(m["weight_bytes_ratio_bound"]) == 16 / q
    # DRAM traffic: the baseline's over nuQmm's is bounded by the weight-bytes ratio
    # (activations, scales and results add at least 1/(16/q) of the baseline's own)
    assert 1 < m["baseline_dram_bytes"] / m["dram_bytes"] <= m["weight_bytes_ratio_bound"]


@pytest.mark.slow
def test_default_workload_tlm_cycles_equal_rtl_and_memory_bound_speedup():
    """The scenario's default (1024 x 1024 GEMV, q 3): the one run at full size."""
    s = scenario()
    rtl = s.simulate(s.configure({}, {"nuqmm": "rtl"}), timeout=900)
    tlm = s.simulate(s.configure({}, {"nuqmm": "tlm"}), timeout=900)
    m = rtl.metrics
    assert m["golden_ok"] and tlm.metrics["golden_ok"]
    for key in ("cycles", "engine_cycles", "baseline_cycles"):
        assert tlm.metrics[key] == m[key], key
    assert m["lookups"] == 3 * 1024 * 1024 // 8
    assert 1 < m["speedup"] <= m["weight_bytes_ratio_bound"]
    assert m["energy_ratio"] > 1
    assert "OK bit-exact" in rtl.report
    assert rtl.provenance["rtl_build.nuqmm"]


def test_a_corrupted_input_fails_the_golden():
    """The engine's arithmetic on a layer with one weight bit or one activation changed
    differs from the golden of the layer (the check can fail)."""
    layer = layer_of(seed=7, rows=32, n=64, q=3)
    pats = layer.patterns()
    out = bcq.lut_gemv(layer.x[0], pats, layer.alphas_fx, 8, layer.shift)
    assert np.array_equal(out, layer.golden(0))
    j = int(np.abs(layer.x[0].astype(np.int64)).argmax())  # an activation that counts
    pats[j // 8, 0, 5] ^= 1 << (j % 8)
    bad = bcq.lut_gemv(layer.x[0], pats, layer.alphas_fx, 8, layer.shift)
    assert not np.array_equal(bad, layer.golden(0))
    x = layer.x[0].copy()
    x[9] = np.int8(-x[9] if x[9] else 5)
    bad = bcq.lut_gemv(x, layer.patterns(), layer.alphas_fx, 8, layer.shift)
    assert not np.array_equal(bad, layer.golden(0))


def test_scenario_rejects_bad_parameters_before_running():
    s = scenario()
    with pytest.raises(cosim.ParameterError, match="'q' = 5 is not allowed"):
        s.configure({"q": 5})
    with pytest.raises(cosim.ParameterError, match="n = 4096 must be at most 512 x mu = 2048"):
        s.configure({"n": 4096, "mu": 4})
    with pytest.raises(cosim.ParameterError, match="'batch' = 5"):
        s.configure({"batch": 5})


@pytest.mark.slow
def test_c_driver_on_the_riscv_host_gives_the_same_outputs():
    s = scenario()
    py = s.simulate(s.configure(SMALL, {"nuqmm": "tlm"}))
    rv = s.simulate(s.configure({**SMALL, "host": "riscv"}, {"nuqmm": "tlm"}))
    assert py.metrics["golden_ok"] and rv.metrics["golden_ok"]
    assert rv.extras["output_digest"] == py.extras["output_digest"]
    assert rv.extras["host"] == "riscv" and "sw/drivers/accel.c" in rv.report
    assert rv.extras["energy_breakdown_pj"].get("cpu", 0) > 0
