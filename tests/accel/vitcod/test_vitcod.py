"""ViTCoD: workload and polarisation, the engines' three twins against the golden (TLM
cycles = RTL cycles), the scenario at a reduced size with every twin, its bounds, the
RISC-V host, bad input and a corrupted input that fails the golden."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel.stream_engine import CYCLES, STATUS, STATUS_ERROR, EngineDriver
from cosim.accel.vitcod import engine as E
from cosim.accel.vitcod import workload as wl
from cosim.scenario import load_script

SCRIPT = Path(__file__).resolve().parents[3] / "scenarios" / "vitcod.py"
SMALL = {"tokens": 48, "heads": 2}  # the reduced scenario (the engines' default build)


def small_workload(sparsity: float = 0.9, seed: int = 4) -> wl.Workload:
    return wl.make_workload(
        np.random.default_rng(seed),
        tokens=40,
        heads=2,
        head_dim=64,
        sparsity=sparsity,
        pes=8,
        code_dim=32,
    )


# ---------------------------------------------------------------- workload


def test_mask_pruning_and_polarisation() -> None:
    w = small_workload()
    for h in w.heads:
        n = len(h.order)
        assert h.kept == round(0.1 * n * n)
        assert sorted(h.order.tolist()) == list(range(n))
        # the polarised mask covers every kept entry; its first columns are whole
        assert h.mask[:, : h.global_cols].all()
        rows, cols = h.pairs[:, 0].astype(int), h.pairs[:, 1].astype(int)
        assert (cols >= h.global_cols).all() and np.all(np.diff(rows) >= 0)
        assert h.mask.sum() == n * h.global_cols + len(h.pairs)
        runs = wl.key_runs(h.order)
        assert np.concatenate([np.arange(f, f + c) for f, c in runs]).tolist() == h.order.tolist()
        # the chosen split is the engines' cycles, and no worse than all-sparse
        assert h.cycles == (
            E.dense_cycles(n, h.global_cols, h.dense_pes),
            E.sparse_cycles(rows, cols, 8 - h.dense_pes, 8),
        )


def test_polarisation_beats_sparse_only_and_is_deterministic() -> None:
    w1, w2 = small_workload(0.9, 7), small_workload(0.9, 7)
    assert all(np.array_equal(a.pairs, b.pairs) for a, b in zip(w1.heads, w2.heads, strict=True))
    assert np.array_equal(w1.q, w2.q)
    for i in range(2):
        mask = np.zeros((40, 40), bool)
        h = w1.heads[i]
        mask[:, h.order] = h.mask  # back to the original key numbering (kept + whole columns)
        r, c = np.nonzero(mask)
        sparse_only = E.sparse_cycles(r, c, 8, 8)
        assert max(h.cycles) <= sparse_only


def test_codec_golden_equals_the_engine_arithmetic() -> None:
    """The golden's codec layer (float, from the spec) equals the twins' integer one."""
    gen = np.random.default_rng(2)
    x = gen.integers(-128, 128, (50, 64), dtype=np.int8)
    w = gen.integers(-128, 128, (32, 64), dtype=np.int8)
    for shift in (0, 1, 7, 15):
        codec = wl.Codec(w, shift, np.ascontiguousarray(w.T), 0)
        want = E.code_rows(E.code_rows(x, w, shift), w.T, 0)
        assert np.array_equal(wl.reconstruct(x, codec), want)


def test_bad_workload_input_is_refused() -> None:
    with pytest.raises(cosim.ParameterError, match="sparsity"):
        wl.make_workload(
            np.random.default_rng(1),
            tokens=16,
            heads=1,
            head_dim=64,
            sparsity=1.0,
            pes=8,
            code_dim=32,
        )
    with pytest.raises(cosim.ParameterError, match="max_tokens"):
        E.attention_engine(None, "a", "functional", max_tokens=100)


# ---------------------------------------------------------------- engines


def engine_jobs(sim: cosim.Simulation, impl: str, corrupt: bool = False) -> dict:
    """Two heads of a small workload (polarised and dense) and a codec round trip on one
    twin; returns scores, counters and CYCLES."""
    w = small_workload()
    attn = E.attention_engine(sim, "attn", impl)
    enc = E.codec_engine(sim, "enc", impl, din=64, dout=32)
    da, de = EngineDriver.attach(sim, attn, "da"), EngineDriver.attach(sim, enc, "de")
    out: dict = {"scores": [], "cycles": [], "counters": []}

    @sim.process
    async def run() -> None:
        for h in (w.heads[0], wl.dense_head(40, 8), w.heads[1]):
            for reg, v in (
                (E.TOKENS, 40),
                (E.GLOBAL, h.global_cols),
                (E.SPARSE, len(h.pairs)),
                (E.DENSE_PES, h.dense_pes),
            ):
                await da.write_reg(reg, v)
            await da.start(1 | E.CTRL_CLEAR)
            k = w.k[0][h.order].copy()
            if corrupt:
                k[3, 5] ^= 0x10
            pairs = h.pairs.reshape(-1)
            pairs = np.concatenate([pairs, np.zeros(-len(pairs) % 32, np.uint16)])
            await da.send(
                np.concatenate(
                    [
                        k.view(np.uint8).reshape(-1),
                        w.q[0].view(np.uint8).reshape(-1),
                        pairs.view(np.uint8),
                    ]
                )
            )
            nd, ns = -(-40 * h.global_cols // 16), -(-len(h.pairs) // 16)
            got = (await da.receive(nd + ns)).reshape(-1).view("<i4")
            out["scores"].append((got[: 40 * h.global_cols], got[16 * nd : 16 * nd + len(h.pairs)]))
            await da.wait_done()
            out["cycles"].append(await da.read_reg(CYCLES))
            out["counters"].append([await da.read_reg(0x40 + 4 * i) for i in range(4)])
        codec = w.codecs[0]
        await de.start(1 | E.CTRL_LOAD)
        await de.send(codec.encoder.view(np.uint8).reshape(-1))
        await de.wait_done()
        for reg, v in ((E.COUNT, 40), (E.SHIFT, codec.encoder_shift)):
            await de.write_reg(reg, v)
        await de.start(1 | E.CTRL_CLEAR)
        await de.send(w.q[0].view(np.uint8).reshape(-1))
        out["code"] = (await de.receive(40)).reshape(-1).view(np.int8).reshape(40, 32)
        await de.wait_done()
        out["cycles"].append(await de.read_reg(CYCLES))
        out["counters"].append([await de.read_reg(E.ROWS)])
        await da.write_reg(E.DENSE_PES, 9)  # more PEs than the build has: refused
        await da.start()
        out["refused"] = bool(await da.read_reg(STATUS) & STATUS_ERROR)

    sim.run()
    return out


def check_engine_run(r: dict, w: wl.Workload) -> bool:
    heads = (w.heads[0], wl.dense_head(40, 8), w.heads[1])
    ok = all(
        np.array_equal(d, gd) and np.array_equal(s, gs)
        for (d, s), (gd, gs) in zip(
            r["scores"], (wl.golden_scores(w.q[0], w.k[0], h) for h in heads), strict=True
        )
    )
    code = wl._layer(w.q[0], w.codecs[0].encoder, w.codecs[0].encoder_shift)
    return ok and np.array_equal(r["code"], code)


def test_three_twins_match_the_golden_and_tlm_cycles_equal_rtl() -> None:
    w = small_workload()
    r = {i: cosim.simulate(engine_jobs, i, timeout=600).value for i in ("functional", "tlm", "rtl")}
    for impl, run in r.items():
        assert check_engine_run(run, w), impl
        assert run["refused"], impl
    assert r["tlm"]["counters"] == r["rtl"]["counters"] == r["functional"]["counters"]
    assert r["tlm"]["cycles"] == r["rtl"]["cycles"] and min(r["rtl"]["cycles"]) > 0
    print("engine job cycles (tlm = rtl):", r["rtl"]["cycles"])


def test_a_corrupted_input_fails_the_golden() -> None:
    w = small_workload()
    bad = cosim.simulate(engine_jobs, "functional", True).value
    assert not check_engine_run(bad, w)


# ---------------------------------------------------------------- the scenario


@pytest.fixture(scope="module")
def script():
    return load_script(SCRIPT)


@pytest.fixture(scope="module")
def small_runs(script) -> dict:
    """The reduced scenario with every engine as each twin (RTL: the default build)."""
    out = {}
    for impl in ("functional", "tlm", "rtl"):
        cfg = script.configure(SMALL, engines={"attention": impl, "codec": impl})
        res = script.simulate(cfg, timeout=900)
        out[impl] = {**res.metrics, "output_digest": res.extras["output_digest"]}
    return out


def test_scenario_mixed_abstraction(small_runs) -> None:
    f, t, r = (small_runs[i] for i in ("functional", "tlm", "rtl"))
    for m in (f, t, r):
        assert m["golden_ok"]
    digests = {m["output_digest"] for m in (f, t, r)}
    assert len(digests) == 1
    assert t["cycles"] == r["cycles"] and t["baseline_cycles"] == r["baseline_cycles"]
    assert t["compute_cycles"] == r["compute_cycles"] == f["compute_cycles"]
    print(f"reduced scenario cycles: tlm {t['cycles']} rtl {r['cycles']} (0.0%)")


def test_scenario_bounds_and_traffic(small_runs) -> None:
    m = small_runs["tlm"]
    assert 1.0 < m["compute_speedup"] <= m["compute_speedup_bound"]
    assert m["qk_traffic_cut"] == m["qk_traffic_cut_bound"] == 2.0
    heads, n = SMALL["heads"], SMALL["tokens"]
    assert m["qk_dram_bytes_no_encoder"] == heads * 2 * 2 * n * 64  # written once, read once
    assert m["compute_cycles"] < m["cycles"] and m["baseline_compute_cycles"] < m["baseline_cycles"]
    assert m["attention_error"] <= m["attention_tolerance"]
    assert m["utilisation"] <= 1.0 and m["baseline_utilisation"] <= 1.0
    assert m["energy_ratio"] > 1.0  # (end-to-end speed needs the full size: the slow test)
    assert m["dram_bytes"] < m["no_encoder_dram_bytes"]


def test_host_riscv_gives_the_same_outputs(script, small_runs) -> None:
    cfg = script.configure({**SMALL, "host": "riscv"}, engines={"attention": "tlm", "codec": "tlm"})
    res = script.simulate(cfg, timeout=900)
    assert res.metrics["golden_ok"]
    assert res.extras["output_digest"] == small_runs["tlm"]["output_digest"]


def test_scenario_bad_parameters(script) -> None:
    with pytest.raises(cosim.ParameterError, match="code_dim"):
        script.simulate(
            script.configure(
                {**SMALL, "code_dim": 64},
                engines={"attention": "functional", "codec": "functional"},
            )
        )
    with pytest.raises(cosim.ParameterError, match="tokens"):
        script.configure({"tokens": 300})


@pytest.mark.slow
def test_scenario_default_size_tlm_equals_rtl(script) -> None:
    """DeiT-Tiny at 90% (the scenario's workload): TLM and RTL twins give the same
    cycles for every engine job and every run; the run is memory bound."""
    res = {}
    for impl in ("tlm", "rtl"):
        cfg = script.configure({}, engines={"attention": impl, "codec": impl})
        res[impl] = script.simulate(cfg, timeout=900)
    t, r = res["tlm"], res["rtl"]
    assert t.extras["engine_job_cycles"] == r.extras["engine_job_cycles"]
    for key in ("cycles", "no_encoder_cycles", "baseline_cycles", "compute_cycles"):
        assert t.metrics[key] == r.metrics[key], key
    m = r.metrics
    assert m["golden_ok"] and m["compute_speedup"] <= m["compute_speedup_bound"]
    assert m["speedup"] > 1.3 and m["compute_fraction"] < 0.5  # memory bound
    print(f"default size: tlm {t.metrics['cycles']} rtl {m['cycles']} cycles (0.0%)")
