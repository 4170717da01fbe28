"""The shared RTL primitives (rtl/common/): lint corners and cocotb benches; floating
point against numpy float32/float16 arithmetic, the exp2 table against
cosim.accel.online_softmax (tests/rtl_table.py)."""

from __future__ import annotations

import numpy as np
from rtl_table import Bench, Lint

from cosim.accel.online_softmax import exp2neg

LINT = [
    Lint("exp2_neg", {}),
    Lint("exp2_neg", {"T_BITS": 13}),
    Lint("seq_divider", {"NW": 35, "DW": 32, "QW": 25}),
    Lint("seq_isqrt", {"RW": 16}),
]


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


def exp2_vectors(gen: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.concatenate([np.arange(0, 18 * 256), gen.integers(0, 1 << 40, 500, dtype=np.int64)])
    return {"t": t, "w": exp2neg(t)}


BENCHES = [
    Bench("fp32_add", {}, "tb_fp_ops.py", vectors=lambda g, p: fp32_add_vectors(g, 3000), seed=7),
    Bench(
        "fp16_mul_fp32", {}, "tb_fp_ops.py", vectors=lambda g, p: fp16_mul_vectors(g, 3000), seed=7
    ),
    Bench("exp2_neg", {}, "tb_exp2_neg.py", vectors=lambda g, p: exp2_vectors(g), seed=3),
]
