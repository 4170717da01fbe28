"""STA (cosim.accel.sta.system, scenarios/sta.py): the integer encoder layer against float64,
the scenario end to end at reduced size, and the mixed-abstraction regression (the
engine and the softmax unit as functional, tlm and rtl give the same layer; the TLM
timing error against the RTL is printed and bounded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cosim.accel.sta import nm_sparse as nm
from cosim.accel.sta import system as sta
from cosim.scenario import load_script

SCRIPT = Path(__file__).resolve().parents[3] / "scenarios" / "sta.py"
SMALL = {"d": 32, "heads": 1, "seq": 8, "ffn": 64, "compare": False}


def test_workload_and_calibration_are_deterministic():
    dims = sta.EncoderDims()
    a = sta.make_workload(np.random.default_rng(4), dims)
    b = sta.make_workload(np.random.default_rng(4), dims)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1].w1, b[1].w1)
    assert sta.calibrate(a[0], a[1], dims) == sta.calibrate(b[0], b[1], dims)


@pytest.mark.parametrize("pattern", ["dense", "2:4", "1:8"])
def test_integer_layer_is_close_to_float64(pattern):
    dims = sta.EncoderDims()
    x, w = sta.make_workload(np.random.default_rng(2), dims)
    w = w.pruned(nm.NMPattern.parse(pattern))
    q = sta.calibrate(x, w, dims)
    gold = sta.encoder_golden(x, w, q, dims)
    err = np.abs(gold["x2"] - sta.encoder_float(x, w, q, dims))
    # seven requantisations, an 8-bit softmax and two LayerNorms: a few LSB at most
    assert err.max() < 6 and err.mean() < 1.0
    assert gold["probs"].min() >= 0 and gold["probs"].max() <= sta.PROB_OUT_MAX
    assert np.all(gold["h"] >= 0)  # ReLU


def _fixed_point_pass(x, w, q, dims):
    """The accelerator's arithmetic for one pass (integer stages and the unit's
    fixed-point LayerNorm, sta.residual_norm), as the hardware path computes it."""
    gold = sta.encoder_golden(x, w, q, dims)
    y = sta.requant(gold["attn"].astype(np.int64) @ w.wo.T.astype(np.int64), q.o)
    x1 = sta.residual_norm(x, y, w.ln1)
    h = sta.requant(x1.astype(np.int64) @ w.w1.T.astype(np.int64), q.w1, relu=True)
    y2 = sta.requant(h.astype(np.int64) @ w.w2.T.astype(np.int64), q.w2)
    return {
        "qkv": gold["qkv"],
        "attn": gold["attn"],
        "x1": x1,
        "h": h,
        "x2": sta.residual_norm(x1, y2, w.ln2),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_layernorm_is_checked_against_float64_within_its_tolerance(seed):
    dims = sta.EncoderDims()
    x, w = sta.make_workload(np.random.default_rng(seed), dims)
    q = sta.calibrate(x, w, dims)
    out = _fixed_point_pass(x, w, q, dims)
    errors = sta.check_outputs(out, x, w, q, dims)
    assert sta.outputs_ok(errors), errors
    assert 0 < errors["x1"] <= sta.LN_TOLERANCE_LSB  # rounding: never exactly float64
    # a LayerNorm output two LSB off is caught, in either LayerNorm
    for key in ("x1", "x2"):
        bad = {**out, key: out[key].copy()}
        bad[key][0, 0] += 2
        assert not sta.outputs_ok(sta.check_outputs(bad, x, w, q, dims)), key
    # the golden's LayerNorm is float64, not the unit's fixed-point function
    gold = sta.encoder_golden(x, w, q, dims)
    assert gold["x1_float"].dtype == np.float64


def test_matmul_bound_scales_with_n_over_m():
    dims, shape = sta.EncoderDims(), nm.EngineShape()
    dense = sta.matmul_cycles_ideal(dims, shape, nm.NMPattern(1, 1))
    assert sta.matmul_cycles_ideal(dims, shape, nm.NMPattern(2, 4)) * 2 == dense
    assert sta.matmul_cycles_ideal(dims, shape, nm.NMPattern(1, 4)) * 4 == dense
    assert sta.matmul_cycles_ideal(dims, shape, nm.NMPattern(2, 8)) * 4 == dense


def test_bad_dimensions_are_named():
    with pytest.raises(Exception, match="d = 48 must be a power of two"):
        sta.EncoderDims(d=48, heads=3)


def _run(engines: dict[str, str], **params):
    s = load_script(SCRIPT)
    return s.simulate(s.configure({**SMALL, **params}, engines), timeout=600)


@pytest.mark.slow
def test_scenario_runs_at_reduced_size_and_shows_the_effects():
    o = _run({}, compare=True)
    m = o.metrics
    assert m["golden_ok"]
    assert m["weight_traffic_ratio"] == pytest.approx(0.625)  # 2:4: half the values + 2-bit indices
    assert 1.2 < m["matmul_speedup"] <= 2.0  # at most M/N
    assert m["speedup"] > 1.05 and m["energy_ratio"] > 1.1
    assert m["dram_bytes_saved_by_onchip_softmax"] == 2 * 8 * 8 * 5  # int32 scores + int8 probs
    assert m["speedup_1_4"] > m["speedup"] and m["speedup_2_8"] > m["speedup"]
    assert len(o.extras["passes"]) == 5 and all(p["golden_ok"] for p in o.extras["passes"])
    assert "weight traffic" in o.report


@pytest.mark.slow
def test_twins_give_the_same_layer_and_the_tlm_timing_error_is_small(capsys):
    runs = {
        impl: _run({"engine": impl, "softmax": impl, "norm": impl})
        for impl in ("functional", "tlm", "rtl")
    }
    for impl, o in runs.items():
        assert o.metrics["golden_ok"], f"{impl} twins differ from numpy"
    rtl, tlm = runs["rtl"].extras["passes"], runs["tlm"].extras["passes"]
    lines = []
    for r, t in zip(rtl, tlm, strict=True):
        for what in ("qkv", "scores", "softmax", "w2", "layernorm"):
            re, te = r["engine_cycles"][what], t["engine_cycles"][what]
            err = (te - re) / re
            lines.append(f"{r['name']:<30} {what:<8} RTL {re:>6} TLM {te:>6} cycles: {err:+.2%}")
            assert abs(err) < 0.10
        err = (t["cycles"] - r["cycles"]) / r["cycles"]
        rc, tc = r["cycles"], t["cycles"]
        lines.append(f"{r['name']:<30} {'pass':<8} RTL {rc:>6} TLM {tc:>6} cycles: {err:+.2%}")
        assert abs(err) < 0.10
    with capsys.disabled():
        print("\n  STA TLM timing error against RTL (reduced layer):\n    " + "\n    ".join(lines))
    assert runs["functional"].extras["passes"][0]["engine_cycles"]["qkv"] == 0  # untimed
