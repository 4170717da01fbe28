"""SPRINT's RTL blocks (rtl/sprint_recompute.sv, rtl/sprint_fetch_filter.sv and the shared
rtl/exp2_neg.sv): lint at parameter corners, the exp2 table copies in RTL and C++ equal to
the specification, and cocotb benches against the numpy twins."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cosim import rtl
from cosim.accel.online_softmax import (
    LUT,
    attend,
    exp2_lut,
    exp2neg,
    lut_cpp,
    lut_sv,
    softmax_scale,
)
from cosim.accel.sprint_engines import FetchFilterModel, mask_beats
from cosim.rtl import verilator as vl

REPO = Path(__file__).resolve().parents[1]
BENCHES = Path(__file__).with_name("cocotb")


@pytest.mark.parametrize(
    ("top", "params"),
    [
        ("exp2_neg", {}),
        ("exp2_neg", {"T_BITS": 13}),
        ("sprint_recompute", {}),
        ("sprint_recompute", {"D": 8, "LANES": 8}),
        ("sprint_recompute", {"D": 64, "LANES": 1}),
        ("sprint_fetch_filter", {}),
        ("sprint_fetch_filter", {"MAX_KEYS": 64, "SLOTS": 4}),
        ("sprint_fetch_filter", {"MAX_KEYS": 4096, "SLOTS": 256}),
    ],
)
def test_rtl_is_lint_clean(top, params):
    args = [f"-G{k}={v}" for k, v in params.items()]
    cmd = [str(vl.executable()), "--lint-only", "-Wall", "-y", str(REPO / "rtl"), *args]
    r = subprocess.run(
        [*cmd, str(REPO / "rtl" / f"{top}.sv")],
        env=vl.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr


def test_exp2_table_copies_match_the_specification():
    assert LUT[0] == 1 << 15 and np.all(np.diff(LUT) < 0) and LUT[-1] > 1 << 14
    assert np.array_equal(LUT, exp2_lut())
    assert lut_sv() in (REPO / "rtl" / "exp2_neg.sv").read_text()
    assert lut_cpp() in (REPO / "tlm" / "accel" / "exp2_lut.h").read_text()
    # the C++ copy holds 256 entries, no more
    body = (REPO / "tlm" / "accel" / "exp2_lut.h").read_text()
    assert len(re.findall(r"\d+", body.split("{", 2)[2])) >= 256


# ------------------------------------------------------------------- vectors
def recompute_vectors(gen: np.random.Generator, d: int) -> dict[str, np.ndarray]:
    mult, shift = softmax_scale(0.5 / np.sqrt(d) / 127 * 8)
    queries = []
    for n in (5, 0, 37, 1, 64):
        queries.append(
            (
                gen.integers(-128, 128, d),
                gen.integers(-128, 128, (n, d)),
                gen.integers(-128, 128, (n, d)),
            )
        )
    # equal scores: no rescale; rising scores: a rescale at every pair
    q = np.ones(d, np.int64)
    queries.append((q, np.ones((9, d), np.int64), gen.integers(-128, 128, (9, d))))
    rising = np.repeat(np.arange(12)[:, None] * 10 - 60, d, axis=1)
    queries.append((q, rising, gen.integers(-128, 128, (12, d))))
    queries.append((np.full(d, -128), np.full((7, d), -128), np.full((7, d), -128)))
    queries.append(
        (
            gen.integers(-128, 128, d),
            gen.integers(-128, 128, (1024, d)),
            gen.integers(-128, 128, (1024, d)),
        )
    )
    out: dict[str, np.ndarray] = {"mult": np.array(mult), "shift": np.array(shift)}
    for i, (q, k, v) in enumerate(queries):
        y, state = attend(k @ q if len(k) else np.zeros(0, np.int64), v, mult, shift)
        out |= {
            f"q{i}": q,
            f"k{i}": k,
            f"v{i}": v,
            f"want{i}": y,
            f"rescales{i}": np.array(state.rescales),
        }
    out["count"] = np.array(len(queries))
    return out


def filter_vectors(gen: np.random.Generator, max_keys: int, slots: int) -> dict[str, np.ndarray]:
    model = FetchFilterModel(slots)
    out: dict[str, np.ndarray] = {"max_keys": np.array(max_keys), "slots": np.array(slots)}
    cases = []
    base = gen.random(max_keys) < 0.2
    for _ in range(8):  # drifting masks: consecutive queries share many survivors
        flip = gen.random(max_keys) < 0.05
        base = base ^ flip
        cases.append((max_keys, base.copy(), False))
    odd = max_keys - 37
    stray = gen.random(max_keys) < 0.3  # bits above KEYS must be ignored
    cases.append((odd, stray, False))
    cases.append((max_keys, np.zeros(max_keys, bool), False))
    cases.append((max_keys, np.ones(max_keys, bool), False))  # longer than the buffer
    cases.append((max_keys, base.copy(), True))  # after a reset: all misses
    cases.append((max_keys, base.copy(), False))  # then all hits
    for i, (keys, mask, reset) in enumerate(cases):
        if reset:
            model.reset()
        entries = model.query(np.flatnonzero(mask[:keys]))
        words = mask_beats(mask).view("<u8")
        words = words[: -(-keys // 64)]
        out |= {
            f"keys{i}": np.array(keys),
            f"mask{i}": words.astype(np.uint64),
            f"entries{i}": np.array([e.encode() for e in entries], np.uint64),
            f"reset{i}": np.array(reset),
            f"counters{i}": np.array([model.hits, model.misses, model.search]),
        }
    out["count"] = np.array(len(cases))
    return out


def exp2_vectors(gen: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.concatenate([np.arange(0, 18 * 256), gen.integers(0, 1 << 40, 500, dtype=np.int64)])
    return {"t": t, "w": exp2neg(t)}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("top", "params", "bench", "make"),
    [
        ("exp2_neg", {}, "tb_exp2_neg.py", lambda g, p: exp2_vectors(g)),
        (
            "sprint_recompute",
            {"D": 64, "LANES": 16},
            "tb_sprint_recompute.py",
            lambda g, p: recompute_vectors(g, p["D"]),
        ),
        (
            "sprint_recompute",
            {"D": 16, "LANES": 4},
            "tb_sprint_recompute.py",
            lambda g, p: recompute_vectors(g, p["D"]),
        ),
        (
            "sprint_fetch_filter",
            {"MAX_KEYS": 256, "SLOTS": 32},
            "tb_sprint_fetch_filter.py",
            lambda g, p: filter_vectors(g, p["MAX_KEYS"], p["SLOTS"]),
        ),
    ],
    ids=["exp2_neg", "sprint_recompute_d64", "sprint_recompute_d16", "sprint_fetch_filter"],
)
def test_cocotb_bench(tmp_path, top, params, bench, make):
    vectors = tmp_path / "vectors.npz"
    np.savez(vectors, **make(np.random.default_rng(3), params))
    build = rtl.cocotb_build(top, params)
    result = rtl.run_cocotb(
        build,
        BENCHES / bench,
        test_dir=tmp_path,
        env={"COSIM_TB_PARAMS": params, "COSIM_TB_VECTORS": str(vectors)},
        log_file=tmp_path / "cocotb.log",
    )
    assert result.tests >= 2 and not result.failures
