"""LW-GCN: graphs and edge-list files, the PCOO and CSR images, the GCN's golden, the three
twins of the PE array against numpy (TLM cycles = RTL cycles = the RTL's promise), the
scenario at a reduced size under every twin (identical outputs and counters, TLM = RTL
cycles, the bounds), a corrupted input, bad parameters, host=riscv against host=python."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel.lw_gcn import engine as E
from cosim.accel.lw_gcn import format as fmt
from cosim.accel.lw_gcn import graph as G
from cosim.accel.lw_gcn import workload as wl
from cosim.accel.lw_gcn.system import LwGcnAccelerator
from cosim.accel.stream_engine import CTRL, CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.errors import ParameterError
from cosim.scenario import load_script

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "lw_gcn.py"
SMALL = {"nodes": 160}
SHAPE = E.ArrayShape()  # the scenario's build at its default PE count: one RTL build


# ------------------------------------------------------------------ graphs
def test_citation_graph_has_cora_like_statistics_and_is_seeded():
    g = G.citation_graph(np.random.default_rng(3))
    deg = g.degrees()
    assert g.nodes == 2708 and 3.4 < deg.mean() < 4.2
    assert deg.max() > 15 * deg.mean()  # a power-law tail: hubs
    assert (deg >= 1).all() and np.median(deg) <= 3
    same = g.communities[g.edges[:, 0]] == g.communities[g.edges[:, 1]]
    assert 0.7 < same.mean() < 0.9
    assert (g.edges[:, 0] < g.edges[:, 1]).all() and len(np.unique(g.edges, axis=0)) == len(g.edges)
    again = G.citation_graph(np.random.default_rng(3))
    assert np.array_equal(g.edges, again.edges)
    with pytest.raises(ParameterError, match=r"nodes = 1 must be"):
        G.citation_graph(np.random.default_rng(3), 1)


def test_edge_list_file_and_its_errors(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("# a comment\n0 1\n\n1 2  # trailing\n2 0\n2 2\n1 0\n")
    g = G.read_edge_list(p)
    assert g.nodes == 3 and g.edges.tolist() == [[0, 1], [0, 2], [1, 2]]
    p.write_text("0 1\n1 x\n")
    with pytest.raises(ParameterError, match=rf"{p}:2: expected 'src dst'"):
        G.read_edge_list(p)
    p.write_text("0 1 2\n")
    with pytest.raises(ParameterError, match=rf"{p}:1:"):
        G.read_edge_list(p)
    with pytest.raises(ParameterError, match="cannot be read"):
        G.read_edge_list(tmp_path / "missing.txt")


def test_normalised_adjacency_is_symmetric_fixed_point():
    g = G.Graph(4, np.array([[0, 1], [1, 2], [1, 3]]))
    r, c, v = G.normalised_adjacency(g, 8)
    a = np.zeros((4, 4))
    a[r, c] = v
    deg = np.array([2, 4, 2, 2])
    want = np.rint(256 / np.sqrt(np.outer(deg, deg))) * ((np.eye(4) + (a > 0)) > 0)
    assert np.array_equal(a, want) and np.array_equal(a, a.T)
    assert np.all(np.diff(r * 4 + c) > 0)


# ------------------------------------------------------------------ formats
@pytest.fixture(scope="module")
def cora_like():
    g = G.citation_graph(np.random.default_rng(5), 1024)
    return g, G.normalised_adjacency(g)


def test_images_hold_the_matrix_pcoo_has_no_hazard_and_balances(cora_like):
    g, (r, c, v) = cora_like
    want = set(zip(r.tolist(), c.tolist(), v.tolist(), strict=True))
    imgs = {f: fmt.encode(r, c, v, g.nodes, 4, f, 4) for f in fmt.FORMATS}
    for img in imgs.values():
        got = fmt.SlotImage.from_image(img.image(), len(img.beats), img.rows, img.pes).to_coo()
        assert set(zip(*(a.tolist() for a in got), strict=True)) == want and img.nnz == len(r)
    pcoo, csr = (fmt.ideal_issue(imgs[f], 4) for f in fmt.FORMATS)
    assert pcoo[1] == 0 and csr[1] > len(r) // 8  # stalls
    assert len(imgs["pcoo"].beats) < 1.15 * -(-len(r) // 4)  # near one nonzero per PE per cycle
    assert pcoo[0] < csr[0]
    with pytest.raises(ParameterError, match="format = 'coo'"):
        fmt.encode(r, c, v, g.nodes, 4, "coo")


def test_interleave_pads_short_rounds_to_the_latency():
    local = np.array([0, 0, 0, 1])  # row 0 thrice, row 1 once
    r, c, _ = fmt.interleave(local, np.arange(4), np.arange(4), 3)
    assert r.tolist() == [0, 1, -1, 0, -1, -1, 0]
    assert c.tolist() == [0, 3, 0, 1, 0, 0, 2]


def test_dense_slots_and_feature_beats():
    x = np.arange(10).reshape(5, 2)
    beats, rows = fmt.dense_slots(x, 2)
    assert rows == 3 and beats.shape == (6, 2)
    assert beats["val"][:, 0].tolist() == [0, 4, 8, 1, 5, 9] and not beats["flags"][2, 1]
    assert fmt.feature_beats(np.ones((3, 2)), 2).shape == (1, 16)


# ------------------------------------------------------------------ workload
def test_gcn_golden_against_a_direct_computation():
    g = G.citation_graph(np.random.default_rng(2), 40)
    gcn = wl.make_gcn(np.random.default_rng(2), g, 8, 16)
    out = gcn.golden()
    a = gcn.dense_adjacency()

    def q(m, s, relu):
        m = np.array([[int(v) >> s for v in row] for row in m])
        return np.clip(np.maximum(m, 0) if relu else m, -32768, 32767)

    xw = q(gcn.x.astype(np.int64) @ gcn.w1, wl.XW_SHIFT, False)
    h = q(a @ xw, wl.ADJ_FRAC, True)
    assert np.array_equal(out["h"], h)
    assert np.array_equal(out["y"], q(a @ q(h @ gcn.w2, wl.XW_SHIFT, False), wl.ADJ_FRAC, False))
    with pytest.raises(ParameterError, match="features_in"):
        wl.make_gcn(np.random.default_rng(2), g, 0)


def test_bad_array_parameters_are_named():
    with pytest.raises(ParameterError, match=r"pes = 17 must be 1\.\.16"):
        E.ArrayShape(pes=17)
    with pytest.raises(ParameterError, match="max_rows = 1000 must be a power of two"):
        E.ArrayShape(max_rows=1000)
    with pytest.raises(ParameterError, match=r"rows = 0 must be"):
        SHAPE.check_job(0, 0)


# ------------------------------------------------------------------ the array's twins
def array_jobs(sim: cosim.Simulation, impl: str) -> dict:
    eng = E.pe_array(sim, "array", impl, SHAPE)
    drv = EngineDriver.attach(sim, eng, "d")
    rng = np.random.default_rng(6)
    g = G.citation_graph(rng, 200)
    r, c, v = G.normalised_adjacency(g)
    feats = rng.integers(-3000, 3000, (g.nodes, SHAPE.lanes))
    x = rng.integers(-64, 64, (50, 16))
    w = rng.integers(-32, 32, (16, SHAPE.lanes))
    dslots, drows = fmt.dense_slots(x, SHAPE.pes)
    jobs = [
        (feats, fmt.encode(r, c, v, g.nodes, SHAPE.pes, f, SHAPE.acc_lat), E.out_cfg(8, True))
        for f in fmt.FORMATS
    ]
    out: dict = {"ok": [], "cycles": [], "counters": [], "promise": []}

    @sim.process
    async def run() -> None:
        for feat, img, cfg in [*jobs, (w, fmt.SlotImage(dslots, np.zeros((drows, SHAPE.pes))), 5)]:
            load = fmt.feature_beats(feat, SHAPE.pes)
            await drv.write_reg(E.LOAD, len(load))
            await drv.write_reg(E.SLOTS, len(img.beats))
            await drv.write_reg(E.ROWS, img.rows)
            await drv.write_reg(E.OUT_CFG, cfg)
            await drv.write_reg(CTRL, E.CTRL_CLEAR)
            await drv.start()
            await drv.send(np.concatenate([load, img.beat_bytes()]))
            got = (await drv.receive(img.rows * SHAPE.pes)).view("<i2").reshape(-1, SHAPE.lanes)
            acc = np.zeros((img.rows, SHAPE.pes, SHAPE.lanes), np.int64)
            b = img.beats
            for p in range(SHAPE.pes):
                ok = (b["flags"][:, p] & 1).astype(bool)
                np.add.at(acc[:, p], b["row"][ok, p], b["val"][ok, p, None] * feat[b["col"][ok, p]])
            out["ok"].append(np.array_equal(got, E.requantise(acc.reshape(-1, SHAPE.lanes), cfg)))
            await drv.wait_done()
            out["cycles"].append(await drv.read_reg(CYCLES))
            out["counters"].append({k: await drv.read_reg(a) for k, a in E.COUNTERS.items()})
            out["promise"].append(E.job_cycles(SHAPE, len(load), img.beats, img.rows))
        await drv.write_reg(E.ROWS, 0)
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    return out


def test_three_twins_match_numpy_and_tlm_cycles_equal_rtl():
    r = {i: cosim.simulate(array_jobs, i, timeout=600).value for i in ("functional", "tlm", "rtl")}
    for v in r.values():
        assert all(v["ok"]) and v["refused"]
    strip = [{k: c[k] for k in ("nnz", "beats", "loaded")} for c in r["rtl"]["counters"]]
    assert [
        {k: c[k] for k in ("nnz", "beats", "loaded")} for c in r["functional"]["counters"]
    ] == strip
    assert r["tlm"]["counters"] == r["rtl"]["counters"]
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"]
    # Fed by the driver with gaps the stalls may hide; never more than back to back.
    for (promise, stalls), cyc, c in zip(
        r["rtl"]["promise"], r["rtl"]["cycles"], r["rtl"]["counters"], strict=True
    ):
        assert cyc >= promise and c["stalls"] <= stalls
    assert r["rtl"]["counters"][0]["stalls"] == 0 < r["rtl"]["counters"][1]["stalls"]


# ------------------------------------------------------------------ a corrupted input
def layer_system(sim: cosim.Simulation, flip: int | None) -> dict:
    """Layer 1 of a small GCN on the functional array; `flip` XORs a byte of X in DRAM."""
    rng = np.random.default_rng(4)
    gcn = wl.make_gcn(rng, G.citation_graph(rng, 64), 8, 16)
    soc = cosim.build_soc(sim)
    acc = LwGcnAccelerator(sim, soc, "functional", shape=SHAPE)
    img = fmt.encode(*gcn.adj, gcn.nodes, SHAPE.pes, "pcoo", SHAPE.acc_lat)
    mem, base = soc.dram.array(), soc.DATA - soc.DRAM
    x = gcn.x.view(np.uint8).reshape(-1).copy()
    if flip is not None:
        x[flip] ^= 0x10
    at = {"x": base, "w": base + 0x2000, "a": base + 0x4000, "o": base + 0x20000}
    for k, data in (("x", x), ("w", gcn.w1.view(np.uint8).reshape(-1)), ("a", img.image())):
        mem[at[k] : at[k] + data.size] = data

    @sim.process
    async def host() -> None:
        d = soc.DRAM
        await acc.run_layer(
            d + at["x"], d + at["w"], d + at["a"], d + at["o"], gcn.nodes, 8, img, True
        )

    sim.run()
    got = mem[at["o"] : at["o"] + 2 * 16 * gcn.nodes].view("<i2").reshape(gcn.nodes, 16)
    return {"ok": bool(np.array_equal(got, gcn.golden()["h"]))}


def test_a_corrupted_input_fails_the_golden():
    assert cosim.simulate(layer_system, None).value["ok"]
    assert not cosim.simulate(layer_system, 2 * 8 * 5 + 1).value["ok"]


# ------------------------------------------------------------------ the scenario
@pytest.fixture(scope="module")
def scenario():
    return load_script(SCENARIO)


def test_scenario_twins_agree_tlm_equals_rtl_and_bounds_hold(scenario, capsys):
    runs, extras = {}, {}
    for impl in ("functional", "tlm", "rtl"):
        out = scenario.simulate(scenario.configure(SMALL, engines={"pe_array": impl}))
        runs[impl], extras[impl] = out.metrics, out.extras
    assert len({e["output_digest"] for e in extras.values()}) == 1
    t, m = runs["tlm"], runs["rtl"]
    for key in (
        "cycles",
        "baseline_cycles",
        "engine_cycles",
        "baseline_engine_cycles",
        "stall_cycles",
        "baseline_stall_cycles",
    ):
        assert t[key] == m[key], key
    for f in fmt.FORMATS:
        assert extras["tlm"]["formats"][f]["counters"] == extras["rtl"]["formats"][f]["counters"]
    with capsys.disabled():
        print(
            f"\n  lw_gcn small: TLM {t['engine_cycles']} vs RTL {m['engine_cycles']} engine "
            f"cycles; speedup {m['speedup']:.2f}x, A(XW) {m['sdmm_speedup']:.2f}x "
            f"(bound {m['sdmm_speedup_bound']:.2f}x)"
        )
    assert m["golden_ok"] and m["counters_ok"]
    assert m["stall_cycles"] == 0 < m["baseline_stall_cycles"]
    assert 0 < m["baseline_utilisation"] < m["utilisation"] <= m["utilisation_bound"] == 1.0
    assert 0 < m["baseline_pe_utilisation"] < m["pe_utilisation"] <= 1.0
    assert 1.0 < m["sdmm_speedup"] <= m["sdmm_speedup_bound"]
    assert m["speedup"] > 1.0 and m["area_mm2"] > 0 and m["energy_pj"] > 0


def test_scenario_rejects_bad_parameters(scenario, tmp_path):
    bad = tmp_path / "bad.el"
    bad.write_text("0 1\n1 2\nthree 4\n")
    with pytest.raises(ParameterError, match=rf"{bad}:3"):
        scenario.configure({"graph": str(bad)})
    with pytest.raises(ParameterError, match="pes"):
        scenario.configure({"pes": 3})
    with pytest.raises(ParameterError, match="nodes"):
        scenario.configure({"nodes": 8})


def test_scenario_reads_an_edge_list(scenario, tmp_path):
    g = G.citation_graph(np.random.default_rng(8), 96)
    p = tmp_path / "g.el"
    p.write_text("# nodes 96\n" + "\n".join(f"{a} {b}" for a, b in g.edges) + "\n")
    out = scenario.simulate(
        scenario.configure({"graph": str(p)}, engines={"pe_array": "functional"})
    )
    assert out.metrics["golden_ok"] and out.metrics["edges"] == len(g.edges)


def test_host_riscv_gives_the_same_outputs_as_python(scenario):
    out = {}
    for host in ("python", "riscv"):
        got = scenario.simulate(
            scenario.configure({"nodes": 64, "host": host}, engines={"pe_array": "tlm"})
        )
        assert got.metrics["golden_ok"] and got.extras["host"] == host
        out[host] = got.extras["output_digest"]
    assert out["python"] == out["riscv"]


def test_default_workload_tlm_cycles_equal_rtl(scenario):
    """The scenario's own workload (default size): TLM and RTL agree to the cycle."""
    out = {
        i: scenario.simulate(scenario.configure({}, engines={"pe_array": i}))
        for i in ("tlm", "rtl")
    }
    tlm, rtl = out["tlm"].metrics, out["rtl"].metrics
    assert rtl["golden_ok"] and rtl["sdmm_speedup"] <= rtl["sdmm_speedup_bound"]
    assert rtl["utilisation"] <= 1.0 and rtl["baseline_utilisation"] <= 1.0
    assert rtl["baseline_pe_utilisation"] < rtl["pe_utilisation"] <= 1.0
    for key in (
        "cycles",
        "baseline_cycles",
        "engine_cycles",
        "baseline_engine_cycles",
        "stall_cycles",
        "baseline_stall_cycles",
    ):
        assert tlm[key] == rtl[key], key
    assert out["tlm"].extras["output_digest"] == out["rtl"].extras["output_digest"]
