"""cocotb unit test of rtl/eie/eie_lnzd.sv, EIE's activation buffer and leading-nonzero
detector: the (column, value) pairs it broadcasts for a range must be exactly the
nonzero activations of the range in column order (every activation with skip off), one
per cycle while the queues have room; a group with nothing to send costs one cycle;
every group of the range is read from the buffer once, however long it stalls.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly
from tb_common import params, rng, start


async def fill(dut, acts: np.ndarray) -> None:
    """Write the activation vector (int16, whole groups of 16) into the buffer."""
    raw = np.asarray(acts, dtype="<i2").tobytes()
    for g in range(len(raw) // 32):
        await FallingEdge(dut.clk)
        dut.wr_en.value = 1
        dut.wr_group.value = g
        dut.wr_data.value = int.from_bytes(raw[32 * g : 32 * g + 32], "little")
    await FallingEdge(dut.clk)
    dut.wr_en.value = 0


async def scan(dut, col_start, col_count, skip, gen=None, room_prob=1.0):
    """Run one scan; returns the broadcasts, the cycles until busy fell, the buffer reads
    and the stall cycles."""
    await FallingEdge(dut.clk)
    dut.start.value = 1
    dut.col_start.value = col_start
    dut.col_count.value = col_count
    dut.skip.value = int(skip)
    dut.room.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    sent, cycles, reads, stalls = [], 0, 0, 0
    for _ in range(100_000):
        dut.room.value = int(gen is None or gen.random() < room_prob)
        await ReadOnly()
        if not dut.busy.value:
            break
        cycles += 1
        reads += int(dut.ev_read.value)
        stalls += int(dut.ev_stall.value)
        if dut.bc_valid.value:
            assert dut.room.value, "broadcast without room"
            sent.append((int(dut.bc_col.value), dut.bc_val.value.to_signed()))
        await FallingEdge(dut.clk)
    else:
        raise AssertionError("the scan never finished")
    return sent, cycles, reads, stalls


def expected(acts, col_start, col_count, skip):
    cols = range(col_start, col_start + col_count)
    return [(j, int(acts[j])) for j in cols if acts[j] != 0 or not skip]


def ideal_cycles(acts, col_start, col_count, skip):
    """Cycles with room all the time: per group of the range, max(1, activations sent)."""
    groups = range(col_start // 16, (col_start + col_count - 1) // 16 + 1) if col_count else []
    total = 0
    for g in groups:
        lanes = [j for j in range(16 * g, 16 * g + 16) if col_start <= j < col_start + col_count]
        total += max(1, sum(1 for j in lanes if acts[j] != 0 or not skip))
    return total, len(groups)


async def check(dut, acts, col_start, col_count, skip, gen=None, room_prob=1.0):
    sent, cycles, reads, stalls = await scan(dut, col_start, col_count, skip, gen, room_prob)
    want = expected(acts, col_start, col_count, skip)
    assert sent == want, f"broadcasts differ:\n{sent}\nexpected\n{want}"
    ideal, groups = ideal_cycles(acts, col_start, col_count, skip)
    assert reads == groups, f"{reads} buffer reads for {groups} groups"
    if room_prob == 1.0:
        assert cycles == ideal, f"{cycles} cycles, expected {ideal}"
        assert stalls == 0
    else:
        assert cycles == ideal + stalls, f"{cycles} cycles = {ideal} + {stalls} stalls expected"


@cocotb.test()
async def ranges_and_densities(dut):
    await start(dut)
    depth = params()["ACT_DEPTH"]
    gen = rng()
    for density in (0.35, 0.05, 1.0):
        acts = ((gen.random(depth) < density) * gen.integers(-32768, 32768, depth)).astype(np.int16)
        await fill(dut, acts)
        await check(dut, acts, 0, depth, True)
        await check(dut, acts, 3, depth - 10, True)  # unaligned at both ends
        await check(dut, acts, 5, 7, True)  # inside one group
        await check(dut, acts, 17, 40, False)  # skip off: every activation


@cocotb.test()
async def stalls_and_edges(dut):
    await start(dut)
    depth = params()["ACT_DEPTH"]
    gen = rng()
    acts = ((gen.random(depth) < 0.5) * gen.integers(-5, 6, depth)).astype(np.int16)
    acts[0], acts[-1] = -32768, 32767
    await fill(dut, acts)
    await check(dut, acts, 0, depth, True, gen, room_prob=0.3)
    await check(dut, acts, 1, depth - 1, False, gen, room_prob=0.5)
    await check(dut, acts, depth - 1, 1, True)
    await check(dut, acts, 0, 0, True)  # empty range: done at once
    await fill(dut, np.zeros(depth, np.int16))
    await check(dut, np.zeros(depth, np.int16), 0, depth, True)  # one cycle per group
