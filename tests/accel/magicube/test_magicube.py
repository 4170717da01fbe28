"""magicube: format and workload, the three twins against the golden with TLM cycles equal
to the RTL's, the scenario end to end (counters, bounds, host=riscv), bad inputs and a
corrupted input that the golden catches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cosim
from cosim.accel.magicube import format as fmt
from cosim.accel.magicube import system as msys
from cosim.accel.magicube.workload import generate, golden
from cosim.accel.phase import PhaseMeter
from cosim.scenario import load_script

SCRIPT = Path(__file__).resolve().parents[3] / "scenarios" / "magicube.py"
SMALL = {"m": 32, "k": 64, "n": 32}


@pytest.fixture(scope="module")
def script():
    return load_script(SCRIPT)


# ---------------------------------------------------------------- format and workload
def test_format_round_trips_and_steps():
    rng = np.random.default_rng(2)
    for bits in (8, 4):
        wl = generate(rng, 32, 48, 16, 0.8, 4, bits)
        assert np.array_equal(wl.sparse.dense(), wl.a)
        for cols, vals in zip(wl.sparse.cols, wl.sparse.vals, strict=True):
            beats = fmt.step_beats(cols, vals, bits)
            assert len(beats) == fmt.steps(len(cols), bits)
            slots = fmt.SLOTS[bits]
            for s, beat in enumerate(beats):
                idx, a = fmt.decode_step(beat, bits)
                got = cols[s * slots : (s + 1) * slots]
                assert np.array_equal(idx[: len(got)], got)
                assert np.array_equal(a[:4, : len(got)], vals[s * slots : (s + 1) * slots].T)
                assert not a[4:].any() and not a[:, len(got) :].any()
    assert fmt.steps(0, 8) == 1 and fmt.steps(9, 8) == 3 and fmt.steps(9, 4) == 2


def test_workload_is_seeded_and_has_the_asked_sparsity():
    a = generate(np.random.default_rng(7), 256, 256, 16, 0.9, 4)
    b = generate(np.random.default_rng(7), 256, 256, 16, 0.9, 4)
    assert np.array_equal(a.a, b.a) and np.array_equal(a.b, b.b)
    density = a.sparse.vectors / (64 * 256)
    assert abs(density - 0.1) < 0.01
    four = generate(np.random.default_rng(7), 32, 32, 16, 0.5, 2, 4)
    assert four.a.min() >= -8 and four.a.max() <= 7 and four.b.max() <= 7
    assert np.array_equal(golden(a.a, a.b), a.a.astype(np.int64) @ a.b.astype(np.int64))


@pytest.mark.parametrize(
    "kwargs,word",
    [
        ({"m": 24}, "m = 24"),
        ({"sparsity": 1.0}, "sparsity"),
        ({"bits": 2}, "bits = 2"),
        ({"v": 3}, "vector length v = 3"),
    ],
)
def test_bad_workload_parameters_are_named(kwargs, word):
    args = {"m": 32, "k": 32, "n": 16, "sparsity": 0.5, "v": 4, "bits": 8} | kwargs
    with pytest.raises(cosim.ParameterError, match=word):
        generate(np.random.default_rng(1), **args)


# ---------------------------------------------------------------- the twins on a system
def spmm_system(sim, impl: str, m: int, k: int, n: int, v: int, bits: int, corrupt: bool):
    """SpMM alone on the accelerator: C, the MMA steps and the engine's time."""
    wl = generate(np.random.default_rng(11), m, k, n, 0.75, v, bits)
    soc = cosim.build_soc(sim, memory="hbm2")
    acc = msys.MagicubeAccelerator(sim, soc, impl)
    sp = wl.sparse
    stream, counts = fmt.stream_image(sp, bits)
    if corrupt:
        stream[0, 32] ^= 0x11  # one value of the first vector
    b = np.concatenate([fmt.b_tile(wl.b, t) for t in range(n // 16)])
    mem, base = soc.dram.array(), soc.DATA - soc.DRAM
    at = {}
    for i, data in enumerate((b, stream, counts)):
        raw = data.view(np.uint8).reshape(-1)
        at[i] = base + i * (1 << 20)
        mem[at[i] : at[i] + len(raw)] = raw
    c_at = base + 3 * (1 << 20)
    out = {}

    @sim.process
    async def host():
        meter = PhaseMeter(sim)
        out["steps"] = await acc.run(
            msys.SPMM, soc.DRAM + at[0], soc.DRAM + c_at, m, k, n, v, bits,
            *split(soc.DRAM + at[1]), *split(soc.DRAM + at[2]),
        )  # fmt: skip
        out["time_ps"] = meter.stop().time_ps

    sim.run()
    raw = mem[c_at : c_at + 4 * m * n].view("<i4").reshape(n // 16, m, 16)
    c = raw.transpose(1, 0, 2).reshape(m, n).copy()
    expected_steps = int(counts.sum()) * (n // 16)
    return {"ok": bool(np.array_equal(c, golden(wl.a, wl.b))), "c": c, **out,
            "expected_steps": expected_steps}  # fmt: skip


def split(addr: int) -> tuple[int, int]:
    return addr & 0xFFFF_FFFF, addr >> 32


@pytest.mark.parametrize("v,bits", [(4, 8), (2, 4)])
def test_three_twins_match_the_golden_and_tlm_time_equals_rtl(v, bits):
    r = {
        i: cosim.simulate(spmm_system, i, 32, 64, 32, v, bits, False, timeout=600).value
        for i in ("functional", "tlm", "rtl")
    }
    for res in r.values():
        assert res["ok"] and res["steps"] == res["expected_steps"]
    assert np.array_equal(r["tlm"]["c"], r["rtl"]["c"])
    print(f"\nmagicube v={v} int{bits}: TLM {r['tlm']['time_ps']} ps, RTL {r['rtl']['time_ps']} ps")
    assert r["tlm"]["time_ps"] == r["rtl"]["time_ps"]


def test_a_corrupted_input_fails_the_golden():
    bad = cosim.simulate(spmm_system, "functional", 32, 64, 32, 4, 8, True).value
    assert not bad["ok"]


# ---------------------------------------------------------------- the scenario
def test_scenario_reduced_twins_agree_and_bounds_hold(script):
    m, digest = {}, set()
    for impl in ("functional", "tlm", "rtl"):
        cfg = script.configure({**SMALL, "sparsity": 0.8}, {"magicube": impl})
        outcome = script.simulate(cfg, timeout=600)
        m[impl] = outcome.metrics
        digest.add(outcome.extras["output_digest"])
    for mt in m.values():
        assert mt["golden_ok"]
        assert mt["speedup"] <= mt["speedup_bound"]
        assert mt["mma_ops"] < mt["dense_mma_ops"]
    assert m["tlm"]["cycles"] == m["rtl"]["cycles"]
    assert m["tlm"]["baseline_cycles"] == m["rtl"]["baseline_cycles"]
    assert len(digest) == 1
    assert m["rtl"]["mma_ops"] == m["functional"]["mma_ops"]


def test_mma_ops_track_the_nonzero_vectors(script):
    """MMA steps = sum over row groups of ceil(vectors / slots) per 16-column tile: within
    one step per group of nonzero vectors / slots."""
    cfg = script.configure({**SMALL, "v": 2, "bits": 4}, {"magicube": "functional"})
    mt = script.simulate(cfg).metrics
    groups, tiles = SMALL["m"] // 2, SMALL["n"] // 16
    lower = mt["nonzero_vectors"] / 8 * tiles
    assert lower <= mt["mma_ops"] <= lower + groups * tiles
    assert mt["dense_mma_ops"] == SMALL["m"] // 8 * SMALL["k"] // 8 * tiles
    assert mt["golden_ok"] and mt["speedup"] <= mt["speedup_bound"]


def test_sddmm_twins_agree_and_the_steps_follow_the_mask(script):
    """SDDMM: per row group, per 16 kept columns, d / slots MMA steps; TLM = RTL."""
    m = {}
    for impl in ("tlm", "rtl"):
        cfg = script.configure({**SMALL, "kernel": "sddmm", "sparsity": 0.7}, {"magicube": impl})
        m[impl] = script.simulate(cfg, timeout=600).metrics
    mt = m["rtl"]
    assert mt["golden_ok"] and m["tlm"]["golden_ok"]
    assert m["tlm"]["cycles"] == mt["cycles"]
    per_chunk = SMALL["n"] // 4  # d / slots steps for 16 kept columns (int8)
    groups = SMALL["m"] // 8
    lower = mt["nonzero_vectors"] / 16 * per_chunk
    assert lower <= mt["mma_ops"] <= lower + groups * per_chunk
    assert mt["speedup"] <= mt["speedup_bound"]


def test_host_riscv_gives_the_outputs_of_the_python_host(script):
    out = {}
    for host in ("python", "riscv"):
        cfg = script.configure({**SMALL, "host": host}, {"magicube": "functional"})
        out[host] = script.simulate(cfg, timeout=600)
    assert out["riscv"].metrics["golden_ok"] and out["python"].metrics["golden_ok"]
    assert out["riscv"].extras["output_digest"] == out["python"].extras["output_digest"]
    assert out["riscv"].metrics["mma_ops"] == out["python"].metrics["mma_ops"]


def test_bad_scenario_sizes_are_named(script):
    with pytest.raises(Exception, match="m = 40"):
        script.simulate(script.configure({**SMALL, "m": 40}))


@pytest.mark.slow
def test_scenario_default_size_end_to_end(script):
    mt = script.simulate(script.configure({}, {"magicube": "tlm"}), timeout=900).metrics
    assert mt["golden_ok"] and 1.0 < mt["speedup"] <= mt["speedup_bound"]
    assert mt["speedup_vs_scalar"] > 1.0
