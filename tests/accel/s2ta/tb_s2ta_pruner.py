"""cocotb unit test of rtl/s2ta/s2ta_pruner.sv, S2TA's time-unrolled activation pruner: loaded
with a block of 8 int8 values, it must present them one per advance in order of
decreasing magnitude (ties to the lower position, |-128| = 128), so the first k are the
block's A-DBB top-k that cosim.accel.s2ta.format.dbb_prune keeps.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly
from tb_common import rng, start

from cosim.accel.s2ta import format as fmt


async def order_of(dut, block) -> list[tuple[int, int]]:
    await FallingEdge(dut.clk)
    dut.load.value = 1
    dut.advance.value = 0
    dut.block.value = int.from_bytes(np.asarray(block, np.int8).tobytes(), "little")
    await FallingEdge(dut.clk)
    dut.load.value = 0
    out = []
    for _ in range(8):
        await ReadOnly()
        out.append((dut.val.value.to_signed(), int(dut.pos.value)))
        await FallingEdge(dut.clk)
        dut.advance.value = 1
        await FallingEdge(dut.clk)
        dut.advance.value = 0
    return out


def expected(block) -> list[tuple[int, int]]:
    b = np.asarray(block, np.int64)
    order = sorted(range(8), key=lambda p: (-abs(int(b[p])), p))
    return [(int(b[p]), p) for p in order]


async def check(dut, block) -> None:
    got = await order_of(dut, block)
    assert got == expected(block), f"order of {list(block)}: {got}"
    for k in range(1, 9):
        kept = {p for _, p in got[:k]}
        pruned = fmt.dbb_prune(np.asarray(block, np.int8)[None, :], k, axis=1)[0]
        assert all((pruned[p] != 0) == (p in kept and block[p] != 0) for p in range(8)), k


@cocotb.test()
async def random_blocks(dut):
    await start(dut)
    dut.load.value = 0
    dut.advance.value = 0
    gen = rng()
    for _ in range(30):
        block = gen.integers(-128, 128, 8).astype(np.int8)
        block[gen.random(8) < 0.4] = 0
        await check(dut, block)


@cocotb.test()
async def ties_zeros_and_extremes(dut):
    await start(dut)
    dut.load.value = 0
    dut.advance.value = 0
    for block in (
        [0] * 8,
        [5, -5, 5, -5, 5, -5, 5, -5],
        [-128, 127, -127, 0, 1, -1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 9],
        [127] * 8,
    ):
        await check(dut, np.array(block, np.int8))
