"""cocotb unit test of the combinational floating-point helpers of the near-bank MAC unit:
rtl/common/fp32_add.sv (binary32 a + b, round to nearest even) and rtl/common/fp16_mul_fp32.sv (the
exact binary32 product of two binary16 values).

The vectors and the expected results come from the pytest wrapper (numpy float32
arithmetic, which is what tlm/ndp/unit_ops.cpp computes): random bit patterns,
near-cancellations, subnormals, signed zeros, infinities and NaNs. NaN results are
compared by class (their payload is not defined when a C++ compiler may swap operands).
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.triggers import Timer


def vectors() -> dict[str, np.ndarray]:
    with np.load(os.environ["COSIM_TB_VECTORS"]) as f:
        return {k: f[k] for k in f.files}


def is_nan(bits: int, exp_bits: int, man_bits: int) -> bool:
    exp = (bits >> man_bits) & ((1 << exp_bits) - 1)
    return exp == (1 << exp_bits) - 1 and bits & ((1 << man_bits) - 1) != 0


async def check(dut, a: np.ndarray, b: np.ndarray, want: np.ndarray, out: str) -> None:
    bad = []
    for x, y, w in zip(a.tolist(), b.tolist(), want.tolist(), strict=True):
        dut.a.value = x
        dut.b.value = y
        await Timer(1, unit="ns")
        got = getattr(dut, out).value.to_unsigned()
        same = got == w or (is_nan(got, 8, 23) and is_nan(w, 8, 23))
        if not same:
            bad.append(f"{x:#x} op {y:#x}: got {got:#010x}, expected {w:#010x}")
    assert not bad, f"{len(bad)} of {len(a)} results differ, e.g.\n" + "\n".join(bad[:10])


@cocotb.test()
async def special_values(dut):
    v = vectors()
    await check(dut, v["special_a"], v["special_b"], v["special_want"], v["out"].item())


@cocotb.test()
async def random_values(dut):
    v = vectors()
    await check(dut, v["random_a"], v["random_b"], v["random_want"], v["out"].item())
