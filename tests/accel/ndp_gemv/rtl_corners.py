"""The near-bank MAC unit's RTL (rtl/ndp_gemv/ndp_mac_unit.sv): lint corners and cocotb
benches against the units' numpy twin (cosim.system.ndp_layout.reference_gemv, the twin
of tlm/ndp/unit_ops.h) (tests/rtl_table.py)."""

from __future__ import annotations

import numpy as np
from rtl_table import Bench, Lint

from cosim.system.ndp_layout import reference_gemv

LINT = [
    Lint("ndp_mac_unit", {}),
    Lint("ndp_mac_unit", {"BURST_BYTES": 4, "XBYTES": 8}),
    Lint("ndp_mac_unit", {"BURST_BYTES": 128, "XBYTES": 4096}),
]


def mac_jobs(gen: np.random.Generator, burst: int, xbytes: int) -> dict[str, np.ndarray]:
    """int8 and fp16 GEMV jobs with their expected results (reference_gemv)."""
    out: dict[str, np.ndarray] = {}
    jobs: list[tuple[str, np.ndarray, np.ndarray]] = []
    lanes8, lanes16 = burst, burst // 2
    for n in (1, lanes8 - 3, 3 * lanes8 + 5, xbytes):
        jobs.append(
            (
                "int8",
                gen.integers(-128, 128, (5, n), dtype=np.int8),
                gen.integers(-128, 128, n, dtype=np.int8),
            )
        )
    jobs.append(("int8", np.full((3, xbytes), -128, np.int8), np.full(xbytes, -128, np.int8)))
    for n in (1, lanes16 + 1, 4 * lanes16 + 7, xbytes // 2):
        a = (gen.standard_normal((4, n)) * 8).astype(np.float16)
        x = gen.standard_normal(n).astype(np.float16)
        jobs.append(("fp16", a, x))
    # extremes: largest values (no overflow in fp32), subnormals, signed zeros
    n = 2 * lanes16 + 3
    a = np.array([[65504.0] * n, [-65504.0] * n, [2.0**-24] * n, [-0.0] * n], np.float16)
    jobs.append(("fp16", a, np.array([65504.0, -(2.0**-24), 0.0] * n, np.float16)[:n]))
    # infinities and NaNs: NaN results compare by class
    a = gen.standard_normal((3, n)).astype(np.float16)
    a[0, 1], a[1, 2], a[2, n - 1] = np.inf, np.nan, -np.inf
    x = gen.standard_normal(n).astype(np.float16)
    x[2] = 0.0  # nan * 0 and inf * finite in one job
    jobs.append(("fp16", a, x))
    for k, (dtype, a, x) in enumerate(jobs):
        lanes = lanes8 if dtype == "int8" else lanes16
        with np.errstate(all="ignore"):
            want = reference_gemv(a, x, lanes)
        out |= {f"dtype{k}": np.array(dtype), f"n{k}": np.array(a.shape[1]), f"x{k}": x, f"a{k}": a}
        out[f"want{k}"] = np.ascontiguousarray(want).view(np.uint32)
    out["count"] = np.array(len(jobs))
    return out


BENCHES = [
    Bench(
        "ndp_mac_unit",
        {"BURST_BYTES": 32, "XBYTES": 2048},
        "tb_ndp_mac_unit.py",
        vectors=lambda g, p: mac_jobs(g, p["BURST_BYTES"], p["XBYTES"]),
        seed=7,
        name="ndp_mac_unit_32B",
    ),
    Bench(
        "ndp_mac_unit",
        {"BURST_BYTES": 8, "XBYTES": 64},
        "tb_ndp_mac_unit.py",
        vectors=lambda g, p: mac_jobs(g, p["BURST_BYTES"], p["XBYTES"]),
        seed=7,
        name="ndp_mac_unit_8B",
    ),
]
