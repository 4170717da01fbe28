"""ViTALiTy's attention engine (rtl/vitality/taylor_attention.sv): lint at its shape
corners and a cocotb bench against the bit-exact goldens of cosim.accel.vitality.workload
(tests/rtl_table.py). The bench's build is small (DIM 8, ROWS 4, 32 tokens); the scenario's
(DIM 64, ROWS 8, 512 tokens) is linted here and run by tests/accel/vitality/test_vitality.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from rtl_table import Bench, Lint

from cosim.accel import online_softmax as osm
from cosim.accel.vitality import workload as wl

LINT = [
    Lint("taylor_attention", {"DIM": 64, "ROWS": 8, "MAX_TOKENS": 512}),
    Lint("taylor_attention", {"DIM": 4, "ROWS": 4, "MAX_TOKENS": 2}),
    Lint("taylor_attention", {"DIM": 8, "ROWS": 1, "MAX_TOKENS": 32}),
]
TAYLOR_SHIFT = 11  # one q.k unit = 2^-11: the bench's int8 data at a softmax-like spread


def jobs(gen: np.random.Generator, p: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Heads of random, extreme and tiny sizes with both modes' expected outputs."""
    dim, most = p["DIM"], p["MAX_TOKENS"]
    mult, shift = osm.softmax_scale(2.0**-TAYLOR_SHIFT)
    out: dict[str, np.ndarray] = {}
    cases = []
    for n in (2, dim - 1, dim + 3, most):
        cases.append(tuple(gen.integers(-128, 128, (n, dim), dtype=np.int8) for _ in range(3)))
    cases.append(tuple(np.full((most, dim), -128, np.int8) for _ in range(3)))
    for i, (q, k, v) in enumerate(cases):
        head = wl.Head(q, k, v, wl.calibrated_g_shift(q, k, v))
        out |= {f"q{i}": q, f"k{i}": k, f"v{i}": v, f"gs{i}": np.array(head.g_shift)}
        out[f"taylor{i}"] = wl.golden_taylor(head, TAYLOR_SHIFT)
        out[f"softmax{i}"] = wl.golden_softmax(head, mult, shift)
    out |= {"count": np.array(len(cases)), "mult": np.array(mult), "shift": np.array(shift)}
    out["taylor_shift"] = np.array(TAYLOR_SHIFT)
    return out


BENCHES = [
    Bench(
        "taylor_attention",
        {"DIM": 8, "ROWS": 4, "MAX_TOKENS": 32},
        "tb_taylor_attention.py",
        vectors=jobs,
        seed=3,
        min_tests=3,
    )
]
