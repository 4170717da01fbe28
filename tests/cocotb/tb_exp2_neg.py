"""cocotb unit test of rtl/common/exp2_neg.sv: every table entry and shifts up to and past the
zero point, against cosim.accel.online_softmax.exp2neg (vectors from the pytest wrapper)."""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.triggers import Timer


@cocotb.test()
async def table_and_shifts(dut):
    with np.load(os.environ["COSIM_TB_VECTORS"]) as f:
        t, want = f["t"].tolist(), f["w"].tolist()
    bad = []
    for x, w in zip(t, want, strict=True):
        dut.t.value = x
        await Timer(1, unit="ns")
        if dut.w.value.to_unsigned() != w:
            bad.append((x, dut.w.value.to_unsigned(), w))
    assert not bad, f"{len(bad)} of {len(t)} differ, e.g. {bad[:5]}"


@cocotb.test()
async def largest_exponent(dut):
    dut.t.value = (1 << 40) - 1
    await Timer(1, unit="ns")
    assert dut.w.value.to_unsigned() == 0
