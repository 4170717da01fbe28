"""cocotb unit test of rtl/s2ta/s2ta_array.sv, the time-unrolled DBB tensor-PE array, driven
directly: each issue gives every row one compressed activation (value, position) and
every column a W-DBB block (mask, values). After the skewed pipeline drains, every
accumulator must equal the numpy sum of the products it was given, and the MAC/gated
counts per cycle must add up to the operands' effectual and ineffectual pairs.
Random operands with gaps between issues, pruned and zero values, and a clear.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly
from tb_common import pack, params, rng, start


def block_word(values: np.ndarray, w_nnz: int) -> int:
    """A W-DBB block (8 int8 weights with at most w_nnz nonzeros) as mask + values."""
    mask = sum(1 << p for p in range(8) if values[p] != 0)
    kept = [int(v) & 0xFF for v in values if v != 0] + [0] * w_nnz
    return mask | pack(kept[:w_nnz], 8) << 8


async def run(dut, issues, gen, gap_prob=0.0):
    """issues: list of (a_val[ROWS], a_pos[ROWS], w_blocks[COLS][8]); returns the MAC and
    gated totals counted over the run."""
    p = params()
    rows, cols, w_nnz = p["ROWS"], p["COLS"], p["W_NNZ"]
    wb = 8 + 8 * w_nnz
    macs = gated = 0
    i = 0
    for _ in range(len(issues) * 4 + rows + cols + 10):
        await FallingEdge(dut.clk)
        go = i < len(issues) and gen.random() >= gap_prob
        dut.issue.value = int(go)
        if go:
            vals, pos, blocks = issues[i]
            dut.a_val.value = pack([int(v) & 0xFF for v in vals], 8)
            dut.a_pos.value = pack(pos, 3)
            dut.w_blk.value = sum(block_word(b, w_nnz) << (wb * j) for j, b in enumerate(blocks))
            i += 1
        await ReadOnly()
        macs += int(dut.macs.value)
        gated += int(dut.gated.value)
    await FallingEdge(dut.clk)
    dut.issue.value = 0
    return macs, gated


def reference(issues, rows, cols):
    acc = np.zeros((rows, cols), dtype=np.int64)
    eff = 0
    for vals, pos, blocks in issues:
        for r in range(rows):
            for c in range(cols):
                w = int(blocks[c][pos[r]])
                acc[r, c] += int(vals[r]) * w
                eff += int(vals[r] != 0 and w != 0)
    return acc.astype(np.int32), eff


async def accumulators(dut, rows, cols):
    await ReadOnly()
    word = dut.acc.value.to_unsigned()
    out = [(word >> (32 * n)) & 0xFFFF_FFFF for n in range(rows * cols)]
    return np.array(out, dtype=np.uint32).view(np.int32).reshape(rows, cols)


def random_issues(gen, n, rows, cols, w_nnz):
    issues = []
    for _ in range(n):
        vals = gen.integers(-128, 128, rows)
        vals[gen.random(rows) < 0.3] = 0
        pos = gen.integers(0, 8, rows)
        blocks = []
        for _ in range(cols):
            b = gen.integers(-128, 128, 8)
            keep = gen.permutation(8)[: gen.integers(0, w_nnz + 1)]
            blocks.append(np.where(np.isin(np.arange(8), keep), b, 0))
        issues.append((vals, pos, blocks))
    return issues


async def clear(dut):
    await FallingEdge(dut.clk)
    dut.clear.value = 1
    await FallingEdge(dut.clk)
    dut.clear.value = 0


@cocotb.test()
async def random_issues_with_gaps(dut):
    await start(dut)
    dut.issue.value = 0
    dut.clear.value = 0
    p = params()
    rows, cols, w_nnz = p["ROWS"], p["COLS"], p["W_NNZ"]
    gen = rng()
    for gap in (0.0, 0.5):
        await clear(dut)
        issues = random_issues(gen, 20, rows, cols, w_nnz)
        macs, gated = await run(dut, issues, gen, gap)
        want, eff = reference(issues, rows, cols)
        got = await accumulators(dut, rows, cols)
        assert np.array_equal(got, want), f"accumulators differ:\n{got}\nexpected\n{want}"
        assert macs == eff and macs + gated == 20 * rows * cols


@cocotb.test()
async def extremes(dut):
    await start(dut)
    dut.issue.value = 0
    dut.clear.value = 0
    p = params()
    rows, cols = p["ROWS"], p["COLS"]
    gen = rng()
    block = np.zeros(8, np.int64)
    block[7] = -128
    issues = [(np.full(rows, -128), np.full(rows, 7), [block] * cols)] * 12
    await clear(dut)
    await run(dut, issues, gen)
    got = await accumulators(dut, rows, cols)
    assert np.all(got == 12 * 16384), "(-128) * (-128) accumulated 12 times"
    # An activation at a pruned position is gated: nothing is added.
    issues = [(np.full(rows, 100), np.full(rows, 0), [block] * cols)] * 3
    macs, gated = await run(dut, issues, gen)
    assert macs == 0 and gated == 3 * rows * cols
    assert np.all(await accumulators(dut, rows, cols) == 12 * 16384)
