"""ViTCoD's RTL (rtl/vitcod/): lint corners and cocotb benches of the split attention
engine and the Q/K codec against their numpy twins (cosim.accel.vitcod.engine)
(tests/rtl_table.py)."""

from __future__ import annotations

import numpy as np
from rtl_table import Bench, Lint

from cosim.accel.vitcod.engine import code_rows, dense_cycles, sparse_cycles, split_scores

LINT = [
    Lint("vitcod_attention", {}),
    Lint("vitcod_attention", {"D": 16, "PES": 2, "MAX_TOKENS": 8, "MAX_SPARSE": 16}),
    Lint("vitcod_attention", {"D": 128, "PES": 16, "MAX_TOKENS": 64, "MAX_SPARSE": 1024}),
    Lint("vitcod_codec", {}),
    Lint("vitcod_codec", {"DIN": 32, "DOUT": 64}),
    Lint("vitcod_codec", {"DIN": 4, "DOUT": 8, "MAX_ROWS": 8}),
]


def attention_jobs(gen: np.random.Generator, p: dict) -> dict[str, np.ndarray]:
    """Jobs of the attention engine with their expected scores and engine cycles:
    dense only, sparse only, both, one token, the largest job, -128 everywhere."""
    d, pes, tmax, smax = p["D"], p["PES"], p["MAX_TOKENS"], p["MAX_SPARSE"]
    bits = (tmax - 1).bit_length()
    cases = [
        (tmax // 2, 3, 10, 2),
        (tmax // 2, 0, smax // 2, 0),
        (tmax // 2, tmax // 2, 0, pes),
        (1, 1, 1, 1),
        (tmax, tmax // 4, smax, pes // 2),
        (5, 2, 7, pes - 1),
    ]
    out: dict[str, np.ndarray] = {}
    for j, (t, g, s, dp) in enumerate(cases):
        q = gen.integers(-128, 128, (t, d), dtype=np.int8)
        k = gen.integers(-128, 128, (t, d), dtype=np.int8)
        if j == 3:
            q[:], k[:] = -128, -128
        rows = np.sort(gen.integers(0, t, s))
        cols = gen.integers(0, t, s)
        pairs = np.stack([rows, cols], 1).astype(np.uint16)
        dense, sparse = split_scores(q, k, g, pairs, bits)
        cycles = (dense_cycles(t, g, dp), sparse_cycles(rows, cols, pes - dp, pes))
        for name, v in (("q", q), ("k", k), ("pairs", pairs), ("dense", dense), ("sparse", sparse)):
            out[f"{name}{j}"] = v
        out[f"cfg{j}"] = np.array([t, g, s, dp, *cycles])
    out["count"] = np.array(len(cases))
    return out


def codec_jobs(gen: np.random.Generator, p: dict) -> dict[str, np.ndarray]:
    """Weight sets and coding jobs with expected rows: random shifts, saturation both
    ways, one row, the largest job."""
    din, dout, rmax = p["DIN"], p["DOUT"], p["MAX_ROWS"]
    out: dict[str, np.ndarray] = {}
    cases = [(7, 5), (0, 1), (15, rmax), (3, 9)]
    for j, (shift, rows) in enumerate(cases):
        w = gen.integers(-128, 128, (dout, din), dtype=np.int8)
        x = gen.integers(-128, 128, (rows, din), dtype=np.int8)
        out |= {
            f"w{j}": w,
            f"x{j}": x,
            f"y{j}": code_rows(x, w, shift),
            f"shift{j}": np.array(shift),
        }
    out["count"] = np.array(len(cases))
    return out


BENCHES = [
    Bench(
        "vitcod_attention",
        {"D": 16, "PES": 4, "MAX_TOKENS": 16, "MAX_SPARSE": 64},
        "tb_vitcod_attention.py",
        vectors=attention_jobs,
        seed=3,
        name="vitcod_attention_small",
    ),
    Bench(
        "vitcod_codec",
        {"DIN": 32, "DOUT": 64, "MAX_ROWS": 256},  # the scenario's decoder build
        "tb_vitcod_codec.py",
        vectors=codec_jobs,
        seed=5,
        name="vitcod_codec_decoder",
    ),
]
