"""GCoD: the three engine twins against the golden (TLM cycles = RTL cycles), the workload
(generator, edge-list reader, partition, golden), and the scenario at a reduced size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel.gcod import engine as E
from cosim.accel.gcod import workload as wl
from cosim.accel.stream_engine import CTRL, CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.errors import ParameterError
from cosim.scenario import load_script

SCRIPT = Path(__file__).resolve().parents[3] / "scenarios" / "gcod.py"
LANES, MAX_ROWS = 16, 64  # the scenario's: one RTL build serves every test


def jobs(sim: cosim.Simulation, impl: str) -> dict:
    eng = E.gcod_engine(sim, "eng", impl, lanes=LANES, max_rows=MAX_ROWS)
    drv = EngineDriver.attach(sim, eng, "d")
    gen = np.random.default_rng(5)
    cases = []
    for rows, longest in ((MAX_ROWS, 5), (1, 1), (7, 40)):
        ends = np.cumsum(gen.integers(1, longest + 1, rows))
        w = gen.integers(-(1 << 15), 1 << 15, int(ends[-1]))
        f = gen.integers(-(1 << 31), 1 << 31, (int(ends[-1]), LANES))
        cases.append((w, f, ends))
    out: dict = {"ok": [], "cycles": []}

    @sim.process
    async def run() -> None:
        await drv.write_reg(CTRL, E.CTRL_CLEAR)
        for w, f, ends in cases:
            await drv.write_reg(E.COUNT, len(w))
            await drv.write_reg(E.ROWS, len(ends))
            await drv.start()
            await drv.send(E.beats(w, f, ends).view(np.uint8))
            y = (await drv.receive(len(ends))).view("<i4").reshape(-1, LANES)
            out["ok"].append(np.array_equal(y, E.golden_rows(w, f, ends)))
            await drv.wait_done()
            out["cycles"].append(await drv.read_reg(CYCLES))
        out["counters"] = (await drv.read_reg(E.MACS), await drv.read_reg(E.BEATS))
        out["beats"] = sum(len(c[0]) for c in cases)
        await drv.write_reg(E.ROWS, MAX_ROWS + 1)
        await drv.start()
        out["refused"] = bool(await drv.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    return out


def test_three_twins_match_the_golden_and_tlm_cycles_equal_rtl():
    r = {i: cosim.simulate(jobs, i, timeout=300).value for i in ("functional", "tlm", "rtl")}
    for v in r.values():
        assert all(v["ok"]) and v["refused"]
        assert v["counters"] == (v["beats"] * LANES, v["beats"])
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"] and min(r["rtl"]["cycles"]) > 0


# ---------------------------------------------------------------------- workload
def test_synthetic_graph_has_cora_statistics_and_is_seeded():
    g = wl.synthetic_graph(np.random.default_rng(1), 2708, 5278, 7)
    assert g.nodes == 2708 and len(g.edges) == 5278
    assert np.all(g.edges[:, 0] < g.edges[:, 1]) and len(np.unique(g.edges, axis=0)) == 5278
    deg = np.bincount(g.edges.ravel(), minlength=g.nodes)
    assert deg.max() > 20 * deg.mean()  # heavy tail (Cora: max 168, mean 3.9)
    again = wl.synthetic_graph(np.random.default_rng(1), 2708, 5278, 7)
    assert np.array_equal(g.edges, again.edges)


def test_partition_keeps_most_nonzeros_in_diagonal_blocks():
    rng = np.random.default_rng(2)
    g = wl.synthetic_graph(rng, 600, 1200, 7)
    x, w = wl.features(rng, g.nodes, 8, 4, 0.3)
    order = wl.gcod_order(g, rng)
    assert sorted(order.tolist()) == list(range(g.nodes))
    lay, base = wl.layer(g, order, x, w, 8), wl.layer(g, np.arange(g.nodes), x, w, 8)
    # an independent count: edges (both directions) whose ends fall in different blocks
    pos = np.empty(g.nodes, np.int64)
    pos[order] = np.arange(g.nodes)
    size = -(-g.nodes // 8)
    cut = sum(2 for a, b in g.edges.tolist() if pos[a] // size != pos[b] // size)
    assert wl.offchip_reads(lay) == cut
    assert wl.offchip_reads(lay) < 0.5 * wl.offchip_reads(base)


def test_golden_against_a_direct_sum_and_a_corrupted_input_fails():
    rng = np.random.default_rng(3)
    g = wl.synthetic_graph(rng, 40, 60, 3)
    x, w = wl.features(rng, 40, 6, 4, 0.5)
    h = x.astype(np.int64) @ w
    direct = h.copy()
    for a, b in g.edges.tolist():
        direct[a] += h[b]
        direct[b] += h[a]
    assert np.array_equal(wl.golden(g, x, w), direct)
    bad = x.copy()
    bad[0, 0] ^= 1
    assert not np.array_equal(wl.golden(g, bad, w), direct)


def test_edge_list_reader(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("# a comment\n0 1\n1 0\n2 3  # trailing\n\n3 3\n")
    g = wl.read_edge_list(p)
    assert g.nodes == 4 and g.edges.tolist() == [[0, 1], [2, 3]]
    p.write_text("0 1\n1 x\n")
    with pytest.raises(ParameterError, match=r"g\.txt:2: expected 'src dst'"):
        wl.read_edge_list(p)
    with pytest.raises(ParameterError, match="no such edge-list file"):
        wl.read_edge_list(tmp_path / "missing.txt")


def test_scenario_refuses_a_malformed_graph_file_before_running(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("0 1\n2\n")
    s = load_script(SCRIPT)
    with pytest.raises(ParameterError, match=r"bad\.txt:2"):
        s.configure({"graph": str(p)})


def test_scenario_refuses_blocks_that_do_not_fit():
    s = load_script(SCRIPT)
    with pytest.raises(ParameterError, match=r"parameter .blocks. = 2: .* use blocks >= 3"):
        s.configure({"blocks": 2})
    with pytest.raises(ParameterError, match="parameter 'blocks' = 40: at most the graph's 30"):
        s.configure({"nodes": 30, "edges": 40, "blocks": 40})
    with pytest.raises(ParameterError, match="'nodes' = 5 is out of range"):
        s.configure({"nodes": 5})


# ---------------------------------------------------------------------- scenario
SMALL = {"nodes": 300, "edges": 600, "blocks": 4, "features_in": 16}


@pytest.fixture(scope="module")
def small_runs():
    s = load_script(SCRIPT)
    return {
        impl: s.simulate(s.configure(SMALL, engines={"gcod": impl}))
        for impl in ("functional", "tlm", "rtl")
    }


def test_scenario_twins_agree_and_tlm_cycles_equal_rtl(small_runs):
    m = {k: v.metrics for k, v in small_runs.items()}
    assert all(v["golden_ok"] for v in m.values())
    assert len({v.extras["output_digest"] for v in small_runs.values()}) == 1
    for key in ("cycles", "baseline_cycles", "dense_engine_cycles", "sparse_engine_cycles"):
        assert m["tlm"][key] == m["rtl"][key], key


def test_offchip_reads_match_numpy_and_the_traffic_bound_holds(small_runs):
    for run in small_runs.values():
        m = run.metrics
        assert m["offchip_feature_reads"] == m["offchip_feature_reads_numpy"]
        assert m["baseline_offchip_feature_reads"] == m["baseline_offchip_feature_reads_numpy"]
        assert m["offchip_feature_reads"] < m["baseline_offchip_feature_reads"]
        assert 1.0 < m["traffic_ratio"] <= m["traffic_ratio_bound"]
        assert 0.0 < m["engine_overlap"] <= 1.0
    assert small_runs["rtl"].metrics["speedup"] > 1.0


@pytest.mark.slow
def test_c_driver_on_the_riscv_host_gives_the_same_outputs(small_runs):
    s = load_script(SCRIPT)
    rv = s.simulate(s.configure({**SMALL, "host": "riscv"}, engines={"gcod": "tlm"}))
    py = small_runs["tlm"]
    assert rv.metrics["golden_ok"] and rv.extras["host"] == "riscv"
    assert rv.extras["output_digest"] == py.extras["output_digest"]
    assert "sw/drivers/accel.c" in rv.report
    assert rv.extras["energy_breakdown_pj"].get("cpu", 0) > 0


@pytest.mark.slow
def test_default_workload_tlm_cycles_equal_rtl_and_partition_cuts_offchip_reads():
    """The scenario's own workload (Cora-sized, 8 blocks): the TLM twin's cycles equal the
    RTL's in both runs, and the partition needs at least 2x fewer off-chip reads."""
    s = load_script(SCRIPT)
    runs = {i: s.simulate(s.configure({}, engines={"gcod": i})).metrics for i in ("tlm", "rtl")}
    for key in ("cycles", "baseline_cycles", "dense_engine_cycles", "sparse_engine_cycles"):
        assert runs["tlm"][key] == runs["rtl"][key], key
    m = runs["rtl"]
    assert m["golden_ok"] and m["offchip_feature_reads"] == m["offchip_feature_reads_numpy"]
    assert 2 * m["offchip_feature_reads"] <= m["baseline_offchip_feature_reads"]
    assert 1.0 < m["traffic_ratio"] <= m["traffic_ratio_bound"]
