"""Complementary sparsity: formats, workload and golden, the three twins of the engine
(same sums and counters, TLM cycles equal to the RTL's), the scenario (mixed
abstraction, the MAC-reduction bound, the corrupted-input check, the RISC-V host)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel.complementary_sparsity import engine as E
from cosim.accel.complementary_sparsity import format as fmt
from cosim.accel.complementary_sparsity.workload import (
    TAPS,
    ConvLayer,
    complementary_masks,
    make_conv_layer,
)
from cosim.accel.stream_engine import CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.scenario import load_script

REPO = Path(__file__).resolve().parents[3]
#: The scenario's engine build (shared by every RTL run here) and a reduced map.
SHAPE = E.EngineShape()
SMALL = {"height": 4, "width": 5}


def layer_of(seed=3, n=8, k=16, hw=(4, 5), channels=64, outputs=64) -> ConvLayer:
    rng = np.random.default_rng(seed)
    return make_conv_layer(
        rng, height=hw[0], width=hw[1], channels=channels, outputs=outputs, n=n, k=k
    )


# ----------------------------------------------------------------- formats, workload
def test_complementary_masks_are_disjoint_and_cover_every_position():
    ids = complementary_masks(np.random.default_rng(1), 5, 576, 8)
    assert ids.shape == (5, 576) and ids.max() == 7
    for p in range(5):
        assert np.array_equal(np.bincount(ids[p], minlength=8), np.full(8, 72))
    again = complementary_masks(np.random.default_rng(1), 5, 576, 8)
    assert np.array_equal(ids, again), "seeded"
    layer = layer_of()
    dense = layer.dense_weights().reshape(8, 8, TAPS, 64)  # (pack, kernel, taps, channels)
    nonzero = dense != 0
    assert (nonzero.sum(axis=1) == 1).all(), "exactly one kernel of a pack owns a position"
    assert np.isclose(nonzero.mean(), 1 / 8)


def test_images_round_trip_and_name_bad_shapes():
    layer = layer_of(n=4)
    img = fmt.packed_image(layer.packed, layer.ids)
    assert img.shape == (2 * 16 * TAPS, 64)
    w, ids = fmt.unpack_image(img, TAPS)
    assert np.array_equal(w, layer.packed) and np.array_equal(ids, layer.ids)
    assert fmt.dense_image(layer.dense_weights()).shape == (64 * TAPS, 64)
    with pytest.raises(cosim.ParameterError, match="must be equal"):
        fmt.packed_image(layer.packed, layer.ids[:1])
    with pytest.raises(cosim.ParameterError, match="not whole packs"):
        fmt.unpack_image(img[:3], TAPS)
    with pytest.raises(cosim.ParameterError, match="not 2 pixels"):
        fmt.results(np.zeros(100, np.uint8), 2, 64, 64)


def test_bad_workload_parameters_are_named():
    rng = np.random.default_rng(0)
    kw = {"height": 4, "width": 4, "channels": 64, "outputs": 64, "n": 8, "k": 16}
    for bad, match in (
        ({"k": 65}, "k = 65 must be 1..64"),
        ({"height": 2}, "height = 2"),
        ({"outputs": 60}, "multiple of n = 8"),
        ({"n": 0}, "n = 0"),
    ):
        with pytest.raises(cosim.ParameterError, match=match):
            make_conv_layer(rng, **{**kw, **bad})


def test_kwta_rule_and_the_golden_against_a_direct_loop():
    x = np.array([3, 5, 5, -1, 5, 0], np.int8)
    assert np.flatnonzero(E.kwta_mask(x, 2)).tolist() == [1, 2], "ties to the lower channel"
    assert np.flatnonzero(E.kwta_mask(x, 4)).tolist() == [0, 1, 2, 4]
    layer = layer_of(seed=9, n=4, k=3, hw=(4, 4), channels=8, outputs=8)
    a = np.where(E.kwta_mask(layer.x, 3), layer.x.astype(np.int64), 0)
    assert np.array_equal(layer.sparse_activations(), a)
    w = layer.dense_weights().astype(np.int64)
    want = np.zeros((2, 2, 8), np.int64)
    for y in range(2):
        for xx in range(2):
            for o in range(8):
                for t in range(TAPS):
                    want[y, xx, o] += a[y + t // 3, xx + t % 3] @ w[o, t]
    assert np.array_equal(layer.golden(), want)
    assert (layer.sparse_activations() != 0).sum(axis=-1).max() <= 3


# ----------------------------------------------------------------- the engine's twins
def engine_jobs(sim: cosim.Simulation, impl: str) -> dict:
    """Load packs, conv sparse; load dense, conv dense; a refused start."""
    layer = layer_of(seed=4, n=8, k=16, hw=(3, 4))
    eng = E.complementary_sparsity_engine(sim, "cs", impl, shape=SHAPE)
    drv = EngineDriver.attach(sim, eng, "d")
    out: dict = {"sums": [], "cycles": [], "counters": []}
    vectors = [layer.x[dy, xx + dx] for xx in range(2) for dy in range(3) for dx in range(3)]

    async def configure(packs, kernels):
        for reg, v in ((E.PIXELS, 2), (E.TAPS, TAPS), (E.PACKS, packs), (E.KERNELS, kernels),
                       (E.WINNERS, layer.k)):  # fmt: skip
            await drv.write_reg(reg, v)

    async def job(packs, kernels, image, flags):
        await configure(packs, kernels)
        await drv.start(flags | E.CTRL_LOAD)
        await drv.send(image)
        await drv.wait_done()
        out["cycles"].append(await drv.read_reg(CYCLES))
        await drv.start(flags & E.CTRL_DENSE)
        sums = []
        for p in range(2):
            await drv.send(np.stack(vectors[9 * p : 9 * p + 9]).view(np.uint8))
            sums.append((await drv.receive(4)).reshape(-1).view("<i4")[:64].copy())
        await drv.wait_done()
        out["sums"].append(np.stack(sums))
        out["cycles"].append(await drv.read_reg(CYCLES))
        out["counters"].append({n: await drv.read_reg(a) for n, a in E.COUNTERS.items()})

    @sim.process
    async def run() -> None:
        await job(8, 8, fmt.packed_image(layer.packed, layer.ids), E.CTRL_IDS)
        await job(64, 1, fmt.dense_image(layer.dense_weights()), E.CTRL_DENSE)
        await drv.write_reg(E.KERNELS, 17)
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    out["golden"] = layer.golden()[0, :2]
    return out


@pytest.mark.slow
def test_three_twins_match_the_golden_the_counters_and_tlm_cycles_equal_rtl():
    r = {i: cosim.simulate(engine_jobs, i, timeout=600).value for i in ("functional", "tlm", "rtl")}
    for impl, v in r.items():
        for sums in v["sums"]:
            assert np.array_equal(sums, v["golden"]), f"{impl}: sums differ from the golden"
        assert v["refused"], impl
    assert r["functional"]["counters"] == r["tlm"]["counters"] == r["rtl"]["counters"]
    sparse, dense = r["rtl"]["counters"]
    assert (
        sparse["macs"] == 2 * TAPS * 8 * 16 and dense["macs"] - sparse["macs"] == 2 * TAPS * 64 * 64
    )
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"] and min(r["rtl"]["cycles"]) > 0
    assert r["functional"]["cycles"] == [0, 0, 0, 0]


def test_engine_shape_and_jobs_name_what_is_out_of_range():
    with pytest.raises(cosim.ParameterError, match="lanes = 65 must be at most channels"):
        E.EngineShape(lanes=65)
    with pytest.raises(cosim.ParameterError, match="channels = 10 must be a multiple of 4"):
        E.EngineShape(channels=10)
    with pytest.raises(cosim.ParameterError, match=r"kernels = 17 must be 1\.\.16"):
        SHAPE.check_job(1, 9, 1, 17, 1)
    with pytest.raises(cosim.ParameterError, match="exceed the 64 accumulators"):
        SHAPE.check_job(1, 9, 8, 16, 1)


# ----------------------------------------------------------------- the scenario
def scenario():
    return load_script(REPO / "scenarios" / "complementary_sparsity.py")


@pytest.mark.slow
def test_mixed_abstraction_same_outputs_and_counters_tlm_cycles_equal_rtl(capsys):
    s = scenario()
    runs = {
        impl: s.simulate(s.configure(SMALL, {"complementary_sparsity": impl}), timeout=600)
        for impl in ("functional", "tlm", "rtl")
    }
    for impl, o in runs.items():
        assert o.metrics["golden_ok"], f"{impl}: golden check failed"
    assert len({o.extras["output_digest"] for o in runs.values()}) == 1
    counters = [o.extras["counters"] for o in runs.values()]
    assert counters[0] == counters[1] == counters[2]
    rtl, tlm = runs["rtl"].metrics, runs["tlm"].metrics
    keys = ("engine_cycles", "baseline_engine_cycles", "cycles", "baseline_cycles")
    for key in keys:
        assert tlm[key] == rtl[key], f"{key}: TLM {tlm[key]} vs RTL {rtl[key]}"
    with capsys.disabled():
        print("\n  complementary sparsity, TLM vs RTL at " + str(SMALL) + ":")
        for key in keys:
            print(f"    {key}: RTL {rtl[key]:,} TLM {tlm[key]:,} error 0.00%")


@pytest.mark.slow
def test_default_workload_tlm_cycles_equal_rtl_and_the_bound_holds():
    """The scenario's default size: the one end-to-end run at full size."""
    s = scenario()
    rtl = s.simulate(s.configure({}, {"complementary_sparsity": "rtl"}), timeout=900)
    tlm = s.simulate(s.configure({}, {"complementary_sparsity": "tlm"}), timeout=900)
    m = rtl.metrics
    assert m["golden_ok"] and tlm.metrics["golden_ok"]
    for key in ("cycles", "baseline_cycles", "engine_cycles", "baseline_engine_cycles"):
        assert tlm.metrics[key] == m[key], key
    assert m["mac_reduction_bound"] == 8 * 64 / 16
    assert m["mac_reduction"] == pytest.approx(m["mac_reduction_bound"], rel=1e-12)
    assert 1 < m["speedup"] <= m["mac_reduction_bound"]
    assert m["energy_ratio"] > 1 and m["engine_energy_ratio"] > m["energy_ratio"] * 0.5
    assert m["area_mm2"] < m["baseline_area_mm2"], "the packed weights need less buffer"
    assert "complementary sparsity OK, dense baseline OK" in rtl.report
    assert rtl.provenance["rtl_build.complementary_sparsity"]


@pytest.mark.parametrize(("n", "k", "lanes"), [(4, 8, 16), (2, 32, 8), (16, 4, 4)])
def test_mac_reduction_bound_holds_across_n_and_k(n, k, lanes):
    s = scenario()
    params = {**SMALL, "n": n, "k": k, "lanes": lanes}
    m = s.simulate(s.configure(params, {"complementary_sparsity": "tlm"})).metrics
    assert m["golden_ok"]
    assert m["mac_reduction_bound"] == n * 64 / k
    assert m["mac_reduction"] == pytest.approx(m["mac_reduction_bound"], rel=1e-12)
    assert m["engine_speedup"] <= m["mac_reduction_bound"] + 1e-9


def test_a_corrupted_input_fails_the_golden():
    """The engine's sums for one map differ from the golden of the map with one winner
    changed (the check can fail)."""
    layer = layer_of(seed=5, hw=(3, 3))
    twin = E.CsFunctional("cs", SHAPE, type("Done", (), {"notify": lambda self: None})())
    twin.w[: 8 * TAPS] = layer.packed.reshape(-1, 64)
    twin.ids[: 8 * TAPS] = layer.ids.reshape(-1, 64)
    twin.regs.update(pixels=1, taps=TAPS, packs=8, kernels=8, winners=16)
    twin.start(0)
    twin.consume(layer.x.reshape(TAPS, 64).view(np.uint8))
    got = np.frombuffer(b"".join(twin._results), "<i4")[:64]
    assert np.array_equal(got, layer.golden().reshape(64))
    x = layer.x.copy()
    pos = np.argwhere(E.kwta_mask(x, 16))[0]
    x[tuple(pos)] = np.int8(-x[tuple(pos)] if x[tuple(pos)] != 0 else 1)
    bad = ConvLayer(x, layer.packed, layer.ids, layer.n, layer.k)
    assert not np.array_equal(got, bad.golden().reshape(64))


def test_scenario_rejects_bad_parameters_before_running():
    s = scenario()
    with pytest.raises(cosim.ParameterError, match="'n' = 3 is not allowed"):
        s.configure({"n": 3})
    with pytest.raises(cosim.ParameterError, match="k = 65 winners must be at most channels"):
        s.configure({"k": 65})
    with pytest.raises(cosim.ParameterError, match="lanes = 32 must be at most channels = 16"):
        s.configure({"lanes": 32, "channels": 16, "outputs": 16, "k": 4})
    with pytest.raises(cosim.ParameterError, match="of scratchpad, more than its 262,144 B"):
        s.configure({"height": 64, "width": 64, "channels": 128, "outputs": 128})


@pytest.mark.slow
def test_c_driver_on_the_riscv_host_gives_the_same_outputs():
    s = scenario()
    py = s.simulate(s.configure(SMALL, {"complementary_sparsity": "tlm"}))
    rv = s.simulate(s.configure({**SMALL, "host": "riscv"}, {"complementary_sparsity": "tlm"}))
    assert py.metrics["golden_ok"] and rv.metrics["golden_ok"]
    assert rv.extras["output_digest"] == py.extras["output_digest"]
    assert rv.extras["host"] == "riscv" and "sw/drivers/accel.c" in rv.report
    assert rv.extras["energy_breakdown_pj"].get("cpu", 0) > 0
    assert "cpu" not in py.extras["energy_breakdown_pj"]
