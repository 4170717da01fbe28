"""cocotb unit test of rtl/eie/eie_pe.sv, one EIE processing element: pointers, matrix words
and codebook written through its memory ports, activations pushed into its queue as the
broadcaster would (only while `room`), accumulators read back and compared with numpy.
Its work must be max(1, entries) per activation, and with a full queue it must take
exactly that many cycles; matrix words are read once per word crossed.

Cases: random CSC columns with padding, empty columns, an all-zero column set, dense mode
with a nonzero base and column start, accumulate without clear, queue limits, random
push gaps.
"""

from __future__ import annotations

import itertools

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly
from tb_common import params, rng, start

from cosim.accel.eie import format as fmt


async def write_slice(dut, s: fmt.PeSlice, codebook: np.ndarray) -> None:
    ptr = np.zeros(2 * (-(-len(s.pointers) // 2)), dtype=np.int64)
    ptr[: len(s.pointers)] = s.pointers
    for a in range(0, len(ptr), 2):
        await FallingEdge(dut.clk)
        dut.ptr_we.value = 1
        dut.ptr_addr.value = a
        dut.ptr_lo.value = int(ptr[a])
        dut.ptr_hi.value = int(ptr[a + 1])
        dut.ptr_hi_en.value = int(a + 1 < len(s.pointers))
    await FallingEdge(dut.clk)
    dut.ptr_we.value = 0
    await write_words(dut, fmt.pack_entries(s.entries, fmt.SPARSE_ENTRIES_PER_WORD), 0)
    await write_codebook(dut, codebook)


async def write_words(dut, words, base) -> None:
    for i, w in enumerate(words):
        await FallingEdge(dut.clk)
        dut.mat_we.value = 1
        dut.mat_addr.value = base + i
        dut.mat_data.value = int(w)
    await FallingEdge(dut.clk)
    dut.mat_we.value = 0


async def write_codebook(dut, codebook) -> None:
    cb = np.asarray(codebook, np.int16).view(np.uint16).astype(np.uint64)
    for q in range(4):
        await FallingEdge(dut.clk)
        dut.cb_we.value = 1
        dut.cb_addr.value = q
        dut.cb_data.value = int(
            cb[4 * q] | cb[4 * q + 1] << 16 | cb[4 * q + 2] << 32 | cb[4 * q + 3] << 48
        )
    await FallingEdge(dut.clk)
    dut.cb_we.value = 0


async def job(
    dut,
    acts,
    *,
    clear=True,
    dense=False,
    col_start=0,
    rows=0,
    base=0,
    limit=None,
    gen=None,
    push_prob=1.0,
):
    """Push (column, value) pairs while the queue has room; returns the work pulses, the
    matrix word reads and the cycles from the first pop until the PE is idle again."""
    await FallingEdge(dut.clk)
    dut.dense.value = int(dense)
    dut.col_start.value = col_start
    dut.rows.value = rows
    dut.dense_base.value = base
    dut.fifo_limit.value = limit or params()["FIFO_DEPTH"]
    dut.job_start.value = 1
    dut.acc_clear.value = int(clear)
    await FallingEdge(dut.clk)
    dut.job_start.value = 0
    dut.acc_clear.value = 0
    work = words = cycles = 0
    started = False
    i = 0
    for _ in range(200_000):
        await FallingEdge(dut.clk)
        offer = i < len(acts) and (gen is None or gen.random() < push_prob)
        push = offer and dut.room.value == 1
        dut.bc_valid.value = int(push)
        if push:
            dut.bc_col.value, dut.bc_val.value = int(acts[i][0]), int(acts[i][1])
        await ReadOnly()
        started = started or dut.ev_pop.value == 1
        idle = dut.idle.value == 1
        if i == len(acts) and not push and idle:
            break
        cycles += int(started and not idle)
        work += int(dut.ev_issue.value) + int(dut.ev_empty.value)
        words += int(dut.ev_word.value)
        i += int(push)
    else:
        raise AssertionError("the PE never went idle")
    await FallingEdge(dut.clk)
    dut.bc_valid.value = 0
    return work, words, cycles


async def accumulators(dut, n):
    out = []
    for r in range(n):
        dut.rd_row.value = r
        await ReadOnly()
        out.append(dut.rd_data.value.to_signed())
        await FallingEdge(dut.clk)
    return np.array(out, dtype=np.int64)


def reference(local_idx, codebook, acts, rows):
    acc = np.zeros(rows, dtype=np.int64)
    for col, val in acts:
        acc[: local_idx.shape[0]] += codebook[local_idx[:, col]].astype(np.int64) * val
    return acc.astype(np.int32)


async def reset_inputs(dut):
    await start(dut)
    for name in ("bc_valid", "ptr_we", "mat_we", "cb_we", "job_start", "acc_clear", "dense"):
        getattr(dut, name).value = 0


@cocotb.test()
async def sparse_columns(dut):
    await reset_inputs(dut)
    gen = rng()
    rows, cols = 60, 40
    idx = ((gen.random((rows, cols)) < 0.12) * gen.integers(1, 16, (rows, cols))).astype(np.uint8)
    idx[:, 3] = 0  # an empty column
    idx[50, 7] = 9  # a long gap: padding
    cb = np.concatenate([[0], gen.integers(-32768, 32768, 15)]).astype(np.int16)
    s = fmt.encode(idx, cb, 1).slices[0]
    await write_slice(dut, s, cb)
    acts = [(3, 77)]  # the empty column first
    acts += [(j, int(gen.integers(-32768, 32768))) for j in range(cols) if gen.random() < 0.5]
    acts.append((7, 1))  # ends with a nonempty column
    work, words, cycles = await job(dut, acts)
    got = await accumulators(dut, rows)
    assert np.array_equal(got, reference(idx, cb, acts, rows)), "accumulators differ"
    counts = np.diff(s.pointers)
    want_work = sum(max(1, int(counts[j])) for j, _ in acts)
    assert work == want_work, f"work {work}, expected {want_work}"
    # Pushed one per cycle, the queue never runs dry: the PE works every cycle from its
    # first pop, then its last entry is decoded and accumulated (2 more cycles).
    assert cycles == want_work + 2, f"{cycles} cycles for {want_work} cycles of work"
    seq = [int(e) // 8 for j, _ in acts for e in range(s.pointers[j], s.pointers[j + 1])]
    want_words = 1 + sum(a != b for a, b in itertools.pairwise(seq)) if seq else 0
    assert words == want_words, f"{words} word reads, expected {want_words}"
    # Accumulate a second set without clearing.
    more = [(j, 3) for j in range(0, cols, 5)]
    await job(dut, more, clear=False, gen=gen, push_prob=0.3, limit=1)
    got = await accumulators(dut, rows)
    assert np.array_equal(got, reference(idx, cb, acts + more, rows)), "accumulation differs"


@cocotb.test()
async def dense_mode(dut):
    await reset_inputs(dut)
    gen = rng()
    rows, cols, col_start = 20, 9, 4
    idx = gen.integers(0, 16, (rows, cols)).astype(np.uint8)
    cb = np.concatenate([[0], gen.integers(-1000, 1000, 15)]).astype(np.int16)
    base_word = 5
    nibbles = idx.T.ravel()
    await write_words(dut, fmt.pack_entries(nibbles, fmt.DENSE_ENTRIES_PER_WORD), base_word)
    await write_codebook(dut, cb)
    acts = [(col_start + c, int(v)) for c, v in enumerate(gen.integers(-500, 500, cols))]
    acts[2] = (acts[2][0], 0)  # a zero activation is processed in dense mode too
    work, words, _ = await job(
        dut, acts, dense=True, col_start=col_start, rows=rows, base=16 * base_word
    )
    local = [(c - col_start, v) for c, v in acts]
    got = await accumulators(dut, rows)
    assert np.array_equal(got, reference(idx, cb, local, rows)), "dense accumulators differ"
    assert work == rows * cols
    assert words == -(-(rows * cols) // 16), "each word of a dense block is read once"


@cocotb.test()
async def all_zero_and_empty(dut):
    await reset_inputs(dut)
    gen = rng()
    idx = np.zeros((16, 8), np.uint8)
    cb = np.concatenate([[0], gen.integers(-9, 9, 15)]).astype(np.int16)
    s = fmt.encode(idx, cb, 1).slices[0]
    await write_slice(dut, s, cb)
    acts = [(j, 5) for j in range(8)]
    work, words, _ = await job(dut, acts, gen=gen, push_prob=0.5, limit=2)
    assert work == 8 and words == 0, "an empty column costs one cycle and reads no word"
    assert not (await accumulators(dut, 16)).any()
