"""The near-bank MAC unit's RTL (rtl/ndp_mac_unit.sv) and its floating-point helpers:
lint at parameter corners and cocotb benches against numpy (cosim.ndp_layout's twin of
tlm/ndp/unit_ops.h, and numpy float32 arithmetic for the helpers)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from cosim import rtl
from cosim.ndp_layout import reference_gemv
from cosim.rtl import verilator as vl

REPO = Path(__file__).resolve().parents[1]
BENCHES = Path(__file__).with_name("cocotb")


@pytest.mark.parametrize(
    ("top", "params"),
    [
        ("ndp_mac_unit", {}),
        ("ndp_mac_unit", {"BURST_BYTES": 4, "XBYTES": 8}),
        ("ndp_mac_unit", {"BURST_BYTES": 128, "XBYTES": 4096}),
        ("fp32_add", {}),
        ("fp16_mul_fp32", {}),
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


# ------------------------------------------------------------------ vectors
F32_SPECIAL = [
    *(0x0000_0000, 0x8000_0000),  # +-0
    *(0x0000_0001, 0x8000_0001, 0x007F_FFFF, 0x807F_FFFF),  # smallest, largest subnormals
    *(0x0080_0000, 0x8080_0000, 0x0080_0001),  # smallest normals
    *(0x3F80_0000, 0xBF80_0000, 0x3F80_0001, 0x3380_0000, 0x3400_0000, 0xB380_0000),  # 1, ulps
    *(0x7F7F_FFFF, 0xFF7F_FFFF, 0x7F00_0000),  # largest finite: overflow to infinity
    *(0x7F80_0000, 0xFF80_0000),  # infinities
    *(0x7FC0_0000, 0x7FA0_0001, 0xFFC0_0123),  # quiet and signalling NaNs
    *(0x4B80_0000, 0x4B7F_FFFF, 0x3F00_0000),  # 2^24, 2^24 - 1, 0.5
]
F16_SPECIAL = [
    *(0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400),  # zeros, subnormals, smallest normal
    *(0x3C00, 0xBC00, 0x3C01, 0x1400, 0x0200),  # 1, an ulp, small values
    *(0x7BFF, 0xFBFF, 0x7C00, 0xFC00),  # largest finite, infinities
    *(0x7E00, 0x7D01, 0xFE55),  # NaNs
]


def _pairs(values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.meshgrid(np.array(values, np.uint64), np.array(values, np.uint64))
    return a.ravel(), b.ravel()


def fp32_add_vectors(gen: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    sa, sb = _pairs(F32_SPECIAL)
    parts = [gen.integers(0, 1 << 32, (2, n), dtype=np.uint64)]  # any bit pattern
    close = gen.standard_normal(n).astype(np.float32)  # cancellations
    other = (-close * (1 + gen.integers(-40, 41, n) * 2.0**-23)).astype(np.float32)
    parts.append(np.stack([close.view(np.uint32), other.view(np.uint32)]).astype(np.uint64))
    tiny = gen.integers(0, 1 << 24, (2, n), dtype=np.uint64)  # subnormals and small normals
    tiny |= gen.integers(0, 2, (2, n), dtype=np.uint64) << 31
    parts.append(tiny)
    base = gen.integers(0x3F80_0000, 0x4080_0000, n, dtype=np.uint64)  # ties: half an ulp
    half = (base & 0x7F80_0000) - (24 << 23)
    parts.append(np.stack([base, half | (gen.integers(0, 2, n, dtype=np.uint64) << 31)]))
    ra, rb = np.concatenate(parts, axis=1)

    def add(a, b):
        with np.errstate(all="ignore"):
            fa = a.astype(np.uint32).view(np.float32)
            fb = b.astype(np.uint32).view(np.float32)
            return (fa + fb).view(np.uint32).astype(np.uint64)

    return {
        "out": np.array("y"),
        "special_a": sa,
        "special_b": sb,
        "special_want": add(sa, sb),
        "random_a": ra,
        "random_b": rb,
        "random_want": add(ra, rb),
    }


def fp16_mul_vectors(gen: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    sa, sb = _pairs(F16_SPECIAL)
    ra, rb = gen.integers(0, 1 << 16, (2, n), dtype=np.uint64)

    def mul(a, b):
        with np.errstate(all="ignore"):
            fa = a.astype(np.uint16).view(np.float16).astype(np.float32)
            fb = b.astype(np.uint16).view(np.float16).astype(np.float32)
            return (fa * fb).view(np.uint32).astype(np.uint64)

    return {
        "out": np.array("y"),
        "special_a": sa,
        "special_b": sb,
        "special_want": mul(sa, sb),
        "random_a": ra,
        "random_b": rb,
        "random_want": mul(ra, rb),
    }


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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("top", "params", "bench", "make"),
    [
        ("fp32_add", {}, "tb_fp_ops.py", lambda g, p: fp32_add_vectors(g, 3000)),
        ("fp16_mul_fp32", {}, "tb_fp_ops.py", lambda g, p: fp16_mul_vectors(g, 3000)),
        (
            "ndp_mac_unit",
            {"BURST_BYTES": 32, "XBYTES": 2048},
            "tb_ndp_mac_unit.py",
            lambda g, p: mac_jobs(g, p["BURST_BYTES"], p["XBYTES"]),
        ),
        (
            "ndp_mac_unit",
            {"BURST_BYTES": 8, "XBYTES": 64},
            "tb_ndp_mac_unit.py",
            lambda g, p: mac_jobs(g, p["BURST_BYTES"], p["XBYTES"]),
        ),
    ],
    ids=["fp32_add", "fp16_mul_fp32", "ndp_mac_unit_32B", "ndp_mac_unit_8B"],
)
def test_cocotb_bench(tmp_path, top, params, bench, make):
    vectors = tmp_path / "vectors.npz"
    np.savez(vectors, **make(np.random.default_rng(7), params))
    build = rtl.cocotb_build(top, params)
    result = rtl.run_cocotb(
        build,
        BENCHES / bench,
        test_dir=tmp_path,
        env={"COSIM_TB_PARAMS": params, "COSIM_TB_VECTORS": str(vectors)},
        log_file=tmp_path / "cocotb.log",
    )
    assert result.tests >= 2 and not result.failures
