"""cocotb unit test of rtl/systolic/systolic_array.sv (OS, WS or IS, per COSIM_TB_PARAMS)
against numpy.

Jobs of one or several folds with random int8 operands and edge cases (all zeros, all
-128, mixed -128/127 extremes, depth 0), results compared with a numpy int32 matmul per
fold; operand streams sent with random gaps, results read with random back-pressure (the
array must stall, never drop). At full rate the job's CYCLES grow by exactly the fold
period of the schedule (docs/accelerators/systolic.md) per fold and per beat.
"""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, pack, params, receive, rng, send, start, unpack

CTRL, STATUS, DEPTH, CYCLES, INFO, FOLDS = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14


def shape() -> tuple[int, int, bool]:
    p = params()
    return p["ROWS"], p["COLS"], p["DATAFLOW"] != "OS"


def fold_beats(x: np.ndarray, s: np.ndarray) -> list[int]:
    """The beats of one fold. OS: x = A (ROWS x K), s = B (K x COLS): beat k carries row k
    of B then column k of A. WS/IS: x (T x ROWS) streamed past the stationary s (ROWS x
    COLS), which is loaded bottom row first."""
    rows, cols, stationary = shape()
    if not stationary:
        return [pack(list(s[k]) + list(x[:, k]), 8) for k in range(x.shape[1])]
    load = [pack(list(s[rows - 1 - r]) + [0] * rows, 8) for r in range(rows)]
    return load + [pack([0] * cols + list(x[t]), 8) for t in range(x.shape[0])]


def operands(gen, depth: int, kind: str = "random") -> tuple[np.ndarray, np.ndarray]:
    rows, cols, stationary = shape()
    sx, ss = ((depth, rows), (rows, cols)) if stationary else ((rows, depth), (depth, cols))
    if kind == "zeros":
        return np.zeros(sx, np.int8), np.zeros(ss, np.int8)
    if kind == "min":
        return np.full(sx, -128, np.int8), np.full(ss, -128, np.int8)
    if kind == "extremes":
        return (
            np.where(gen.random(sx) < 0.5, -128, 127).astype(np.int8),
            np.where(gen.random(ss) < 0.5, -128, 127).astype(np.int8),
        )
    return gen.integers(-128, 128, sx, dtype=np.int8), gen.integers(-128, 128, ss, dtype=np.int8)


async def run_job(
    dut,
    folds: list[tuple[np.ndarray, np.ndarray]],
    depth: int,
    gen=None,
    valid_prob=1.0,
    ready_prob=1.0,
) -> int:
    """Run one job of the given folds, check every result row; returns CYCLES."""
    rows, cols, stationary = shape()
    beats = [b for x, s in folds for b in fold_beats(x, s)]
    want = [x.astype(np.int64) @ s.astype(np.int64) for x, s in folds]
    n_out = len(folds) * (depth if stationary else rows)
    await csr(dut, True, DEPTH, depth)
    await csr(dut, True, FOLDS, len(folds))
    await csr(dut, True, CTRL, 1)
    receiver = cocotb.start_soon(receive(dut, n_out, gen, ready_prob))
    await send(dut, beats, gen, valid_prob)
    out = await receiver
    for _ in range(50):
        status = await csr(dut, False, STATUS)
        if status == 0b10:
            break
    assert status == 0b10, f"STATUS should be done and not busy after the results, got {status:#b}"
    got = np.array([unpack(w, 32, cols) for w in out], dtype=np.int64).reshape(len(folds), -1, cols)
    for f, w in enumerate(want):
        assert np.array_equal(got[f], w.astype(np.int32)), (
            f"fold {f} of {len(folds)} differs from numpy:\n{got[f]}\nexpected\n{w}"
        )
    return await csr(dut, False, CYCLES)


def job_cycles(depth: int, folds: int) -> int:
    """The schedule at full rate (docs/accelerators/systolic.md): folds x period plus the
    drain of the last fold (OS: its output buffer, rows + 2; WS/IS: 2)."""
    rows, cols, stationary = shape()
    if not stationary:
        return folds * (max(depth, 1) + rows + cols - 2) + rows + 2
    if depth == 0:
        return folds * rows + 1
    return folds * (2 * rows + cols + depth - 2) + 2


@cocotb.test()
async def random_matrices(dut):
    await start(dut)
    gen = rng()
    for depth in (1, 7, 16):
        await run_job(dut, [operands(gen, depth)], depth)


@cocotb.test()
async def several_folds_with_back_pressure(dut):
    """Folds back to back while the reader drops ready and the writer leaves gaps."""
    await start(dut)
    gen = rng()
    await run_job(dut, [operands(gen, 12) for _ in range(3)], 12, gen, 0.6, 0.4)
    await run_job(dut, [operands(gen, 2) for _ in range(4)], 2, gen, 1.0, 0.2)


@cocotb.test()
async def zeros_and_extremes(dut):
    await start(dut)
    gen = rng()
    for kind in ("zeros", "min", "extremes"):  # -128 * -128 summed 20 times: all one sign
        await run_job(dut, [operands(gen, 20, kind), operands(gen, 20, kind)], 20)


@cocotb.test()
async def depth_zero(dut):
    """K = 0 (OS) gives zero rows; T = 0 (WS, IS) loads the tile and gives no rows."""
    await start(dut)
    gen = rng()
    for folds in (1, 3):
        await run_job(dut, [operands(gen, 0) for _ in range(folds)], 0)


@cocotb.test()
async def cycles_follow_the_schedule(dut):
    """At full rate CYCLES minus the schedule's cycles is one constant (the bench's own
    start latency) over jobs of different depths and folds."""
    await start(dut)
    gen = rng()
    offsets = set()
    for depth, folds in ((5, 1), (5, 3), (9, 2), (1, 4)):
        cycles = await run_job(dut, [operands(gen, depth) for _ in range(folds)], depth)
        offsets.add(cycles - job_cycles(depth, folds))
    assert len(offsets) == 1 and 0 <= min(offsets) <= 3, f"CYCLES - schedule: {offsets}"


@cocotb.test()
async def registers(dut):
    """INFO describes the build; DEPTH and FOLDS read back; unmapped registers read 0."""
    await start(dut)
    p = params()
    info = await csr(dut, False, INFO)
    assert info & 0xFF == p["ROWS"] and (info >> 8) & 0xFF == p["COLS"]
    assert (info >> 16) & 3 == ("OS", "WS", "IS").index(p["DATAFLOW"]) and info >> 24 == 2
    assert await csr(dut, False, STATUS) == 0, "STATUS must be idle and not done after reset"
    assert await csr(dut, False, FOLDS) == 1, "FOLDS resets to 1"
    await csr(dut, True, DEPTH, 0x1234_5678)
    assert await csr(dut, False, DEPTH) == 0x1234_5678
    await csr(dut, True, FOLDS, 7)
    assert await csr(dut, False, FOLDS) == 7
    assert await csr(dut, False, 0x40) == 0, "unmapped registers read 0"
