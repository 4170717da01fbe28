"""Phantom: format and workload, the three twins of the core against numpy (TLM cycles =
RTL cycles), the mesh's balancing, the scenario at a reduced size under every twin
(identical outputs and counters, TLM = RTL cycles, the bound), a corrupted input, bad
parameters, and host=riscv against host=python."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel.phantom import engine as E
from cosim.accel.phantom import format as fmt
from cosim.accel.phantom import workload as wl
from cosim.accel.phantom.system import PhantomAccelerator, assign
from cosim.accel.phase import PhaseMeter
from cosim.accel.stream_engine import CTRL, CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.errors import ParameterError
from cosim.scenario import load_script

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "phantom.py"
SMALL = {"channels": 8, "size": 4, "fc_in": 64, "fc_out": 8}
SHAPE = E.CoreShape()  # the scenario's build: one RTL build shared by every test


# ------------------------------------------------------------------ format and workload
def test_image_round_trip_size_and_errors():
    x = wl.sparse_int8(np.random.default_rng(1), (3, 5, 7), 0.3)
    img = fmt.encode(x)
    assert img.size == fmt.image_bytes(x.size, int((x != 0).sum())) == 14 + (x != 0).sum()
    assert np.array_equal(fmt.decode(img, x.shape), x)
    with pytest.raises(ParameterError, match="mask of 105 bits has"):
        fmt.decode(img[:-1], x.shape)
    with pytest.raises(ParameterError, match="cannot hold"):
        fmt.decode(img[:3], x.shape)


def test_window_beats_carry_values_and_masks():
    w = np.array([[1, 0, -3, 0, 5, 0, 0, 7]], np.int8)
    a = np.array([[2, 2, 0, 0, -1, 0, 4, 4]], np.int8)
    beat = fmt.window_beats(w, a, 8)[0]
    assert beat[:8].view(np.int8).tolist() == w[0].tolist()
    assert beat[8:16].view(np.int8).tolist() == a[0].tolist()
    assert int(beat[16:].view("<u4")[0]) == 0b1001_0101 | 0b1101_0011 << 16
    with pytest.raises(ParameterError, match="not a multiple of the window"):
        fmt.window_beats(w[:, :6], a[:, :6], 8)


def test_workload_densities_determinism_and_golden():
    rng = np.random.default_rng(7)
    layer = wl.conv_layer(rng, 8, 8, 8, 1, 0.3, 0.5)
    assert abs((layer.weights != 0).mean() - 0.3) < 0.08
    assert abs((layer.activations != 0).mean() - 0.5) < 0.05
    again = wl.conv_layer(np.random.default_rng(7), 8, 8, 8, 1, 0.3, 0.5)
    assert np.array_equal(layer.weights, again.weights)
    for stride, out in ((1, (8, 8, 8)), (2, (8, 4, 4))):
        lay = wl.conv_layer(rng, 8, 8, 8, stride, 0.3, 0.5)
        w, a = lay.rows()
        lowered = (w.astype(np.int64) * a).sum(axis=1)
        assert lay.out_shape == out
        assert np.array_equal(lay.golden().reshape(-1), lowered)
        assert lay.useful_pairs() == int(((w != 0) & (a != 0)).sum())
    fc = wl.fc_layer(rng, 64, 8, 0.3, 0.5)
    assert np.array_equal(fc.golden(), fc.weights.astype(np.int64) @ fc.activations)
    with pytest.raises(ParameterError, match=r"density = 1\.5"):
        wl.sparse_int8(rng, (4,), 1.5)


def test_bad_core_parameters_are_named():
    with pytest.raises(ParameterError, match=r"threads = 17 must be 1\.\.16"):
        E.CoreShape(threads=17)
    with pytest.raises(ParameterError, match=r"outputs = 65 must be 1\.\.64"):
        SHAPE.check_job(65, 1)


def test_balanced_assignment_beats_static_on_skewed_work():
    costs = np.array([9, 8, 1, 1, 1, 1, 1, 1])
    static = [int(costs[o].sum()) for o in assign(costs, 2, "static")]
    balanced = [int(costs[o].sum()) for o in assign(costs, 2, "balanced")]
    assert sorted(np.concatenate(assign(costs, 2, "balanced")).tolist()) == list(range(8))
    assert max(static) == 19 and max(balanced) == 12
    with pytest.raises(ParameterError, match="balance"):
        assign(costs, 2, "random")


# ------------------------------------------------------------------ the core's twins
def core_jobs(sim: cosim.Simulation, impl: str) -> dict:
    eng = E.phantom_core(sim, "core", impl, SHAPE)
    drv = EngineDriver.attach(sim, eng, "d")
    rng = np.random.default_rng(5)
    out: dict = {"ok": [], "cycles": [], "counters": []}

    @sim.process
    async def run() -> None:
        for dense, (n, g, dw, da) in [
            (False, (SHAPE.max_outs, 9, 0.3, 0.5)),
            (True, (7, 9, 0.3, 0.5)),
            (False, (5, 2, 0.0, 1.0)),
            (False, (3, 4, 1.0, 1.0)),
        ]:
            w = wl.sparse_int8(rng, (n, g * SHAPE.window), dw)
            a = wl.sparse_int8(rng, (n, g * SHAPE.window), da)
            await drv.write_reg(E.OUTPUTS, n)
            await drv.write_reg(E.GROUP, g)
            await drv.write_reg(E.MODE, E.MODE_DENSE if dense else 0)
            await drv.write_reg(CTRL, E.CTRL_CLEAR)
            await drv.start()
            await drv.send(fmt.window_beats(w, a, SHAPE.window))
            got = (await drv.receive(n)).view("<i4").reshape(-1)
            out["ok"].append(np.array_equal(got, (w.astype(np.int64) * a).sum(1)))
            await drv.wait_done()
            out["cycles"].append(await drv.read_reg(CYCLES))
            out["counters"].append({c: await drv.read_reg(r) for c, r in E.COUNTERS.items()})
        await drv.write_reg(E.OUTPUTS, SHAPE.max_outs + 1)
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    return out


def test_three_twins_match_numpy_and_tlm_cycles_equal_rtl():
    r = {i: cosim.simulate(core_jobs, i, timeout=300).value for i in ("functional", "tlm", "rtl")}
    for v in r.values():
        assert all(v["ok"]) and v["refused"]
    assert r["functional"]["counters"] == r["tlm"]["counters"] == r["rtl"]["counters"]
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"] and min(r["rtl"]["cycles"]) > 0
    dense, sparse = r["rtl"]["counters"][1], r["rtl"]["counters"][0]
    assert dense["issued"] == 7 * 9 * SHAPE.window and sparse["issued"] == sparse["valid"]


# ------------------------------------------------------------------ a corrupted input
def layer_system(
    sim: cosim.Simulation,
    impl: str,
    flip: int | None,
    balance: str = "balanced",
    layer: wl.Layer | None = None,
) -> dict:
    """One sparse layer on a 1x2 mesh; `flip` XORs a byte of the activation image in DRAM."""
    layer = layer or wl.conv_layer(np.random.default_rng(4), 4, 4, 4, 1, 0.4, 0.6)
    soc = cosim.build_soc(sim)
    acc = PhantomAccelerator(sim, soc, impl, shape=SHAPE, mesh=(1, 2), balance=balance)
    acc.add_layer(0, layer)
    w_img, a_img = fmt.encode(layer.weights), fmt.encode(layer.activations)
    if flip is not None:
        a_img = a_img.copy()
        a_img[flip] ^= 0x01
    mem, base = soc.dram.array(), soc.DATA - soc.DRAM
    at = {"w": base, "a": base + 0x1000, "o": base + 0x2000}
    mem[at["w"] : at["w"] + w_img.size] = w_img
    mem[at["a"] : at["a"] + a_img.size] = a_img
    out: dict = {}

    @sim.process
    async def host() -> None:
        meter = PhaseMeter(sim)
        d = soc.DRAM
        await acc.run_layer(0, d + at["w"], w_img.size, d + at["a"], a_img.size, d + at["o"], False)
        out["energy"] = meter.stop().energy_pj

    sim.run()
    got = mem[at["o"] : at["o"] + 4 * layer.outputs].view("<i4").copy()
    out["ok"] = bool(np.array_equal(got, layer.golden().reshape(-1)))
    out["record"] = acc.records[-1].totals
    out["core_cycles"] = acc.records[-1].core_cycles
    return out


def test_a_corrupted_input_fails_the_golden():
    good = cosim.simulate(layer_system, "functional", None).value
    assert good["ok"] and good["energy"] > 0
    nnz_byte = 2 + 10  # a value byte after the 64-bit mask of 4x4x4 activations
    assert not cosim.simulate(layer_system, "functional", nnz_byte).value["ok"]


def test_mesh_balancing_evens_out_filters_of_different_density():
    """Half the filters dense, half sparse: equal contiguous blocks give one core the
    dense half; the balanced assignment (by the masks' popcounts) evens the cores out."""
    rng = np.random.default_rng(9)
    w = np.concatenate([wl.sparse_int8(rng, (4, 8, 3, 3), d) for d in (1.0, 0.1)])
    layer = wl.Layer("skewed", "conv", w, wl.sparse_int8(rng, (8, 4, 4), 0.8))
    runs = {
        b: cosim.simulate(layer_system, "tlm", None, b, layer).value for b in ("static", "balanced")
    }
    assert all(r["ok"] for r in runs.values())
    static, balanced = runs["static"]["core_cycles"], runs["balanced"]["core_cycles"]
    assert max(balanced) < 0.75 * max(static)
    assert max(balanced) - min(balanced) < 0.1 * max(balanced)


# ------------------------------------------------------------------ the scenario
@pytest.fixture(scope="module")
def scenario():
    return load_script(SCENARIO)


def test_scenario_twins_agree_tlm_equals_rtl_and_bound_holds(scenario, capsys):
    runs, extras = {}, {}
    for impl in ("functional", "tlm", "rtl"):
        cfg = scenario.configure(SMALL, engines={"phantom": impl})
        out = scenario.simulate(cfg)
        runs[impl], extras[impl] = out.metrics, out.extras
    assert len({e["output_digest"] for e in extras.values()}) == 1
    layers = {i: e["layers"] for i, e in extras.items()}
    for name in layers["rtl"]:
        counters = [layers[i][name]["counters"] for i in runs]
        assert counters[0] == counters[1] == counters[2]
        assert layers["tlm"][name]["engine_cycles"] == layers["rtl"][name]["engine_cycles"]
        assert layers["tlm"][name]["core_cycles"] == layers["rtl"][name]["core_cycles"]
    m = runs["rtl"]
    with capsys.disabled():
        print(
            f"\n  phantom small: TLM {runs['tlm']['engine_cycles']} vs RTL {m['engine_cycles']} "
            f"engine cycles; speedup {m['speedup']:.2f}x, bound {m['speedup_bound']:.2f}x"
        )
    assert m["golden_ok"] and m["counters_ok"]
    assert runs["tlm"]["cycles"] == m["cycles"]
    assert 1.0 < m["speedup"] <= m["speedup_bound"]
    assert m["engine_speedup"] <= m["speedup_bound"]
    for v in layers["rtl"].values():
        assert v["speedup"] <= v["speedup_bound"] and v["engine_speedup"] <= v["speedup_bound"]
        assert 0 < v["thread_utilisation"] <= 1
    assert m["energy_ratio"] > 1 and m["dram_bytes"] < m["baseline_dram_bytes"]


def test_bound_holds_with_dense_data(scenario):
    """At density 1 only the convolutions' zero padding is skippable: still within bound."""
    cfg = scenario.configure(
        SMALL | {"weight_density": 1.0, "act_density": 1.0}, engines={"phantom": "tlm"}
    )
    out = scenario.simulate(cfg)
    assert out.metrics["golden_ok"] and out.metrics["speedup"] <= out.metrics["speedup_bound"]
    for v in out.extras["layers"].values():
        assert v["engine_speedup"] <= v["speedup_bound"]
        assert v["speedup"] <= v["speedup_bound"]


def test_useful_fraction_is_the_popcount_of_the_anded_masks(scenario):
    cfg = scenario.configure(SMALL, engines={"phantom": "functional"})
    m = scenario.simulate(cfg).metrics
    work = sys.modules[scenario.run_function.__module__].layers(cfg)
    valid = sum(int(((lay.rows()[0] != 0) & (lay.rows()[1] != 0)).sum()) for lay in work)
    pairs = sum(lay.outputs * lay.k for lay in work)
    assert m["useful_mac_fraction"] == pytest.approx(valid / pairs)
    assert m["speedup_bound"] == pytest.approx(pairs / valid)


def test_scenario_rejects_bad_parameters(scenario):
    with pytest.raises(ParameterError, match="threads"):
        scenario.configure({"threads": 3})
    with pytest.raises(ParameterError, match="change channels"):
        scenario.configure({"channels": 4})
    with pytest.raises(ParameterError, match="global buffer"):
        scenario.configure({"fc_in": 4096, "fc_out": 1024})
    with pytest.raises(ParameterError, match="weight_density"):
        scenario.configure({"weight_density": 1.5})


def test_host_riscv_gives_the_same_outputs_as_python(scenario):
    out = {}
    for host in ("python", "riscv"):
        cfg = scenario.configure(SMALL | {"host": host}, engines={"phantom": "tlm"})
        got = scenario.simulate(cfg)
        assert got.metrics["golden_ok"]
        out[host] = got.extras["output_digest"]
    assert out["python"] == out["riscv"]


def test_default_workload_tlm_cycles_equal_rtl(scenario):
    """The scenario's own workload (default size): TLM and RTL agree to the cycle."""
    out = {
        i: scenario.simulate(scenario.configure({}, engines={"phantom": i})) for i in ("tlm", "rtl")
    }
    tlm, rtl = out["tlm"].metrics, out["rtl"].metrics
    assert rtl["golden_ok"] and rtl["counters_ok"] and rtl["speedup"] <= rtl["speedup_bound"]
    for key in ("cycles", "baseline_cycles", "engine_cycles", "baseline_engine_cycles"):
        assert tlm[key] == rtl[key], key
    assert out["tlm"].extras["output_digest"] == out["rtl"].extras["output_digest"]
