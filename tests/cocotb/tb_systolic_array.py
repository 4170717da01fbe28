"""cocotb unit test of rtl/systolic_array.sv (OS or WS, per COSIM_TB_PARAMS) against numpy.

Operands are random int8 matrices and edge cases (all zeros, all -128, mixed -128/127
extremes, depth 0); results are compared with a numpy int32 matmul. Result streams are
read with random back-pressure, operand streams sent with random gaps.
"""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, pack, params, receive, rng, send, start, unpack

CTRL, STATUS, DEPTH, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C, 0x10


def operand_beats(a: np.ndarray, b_rows: np.ndarray, rows: int, cols: int) -> list[int]:
    """Beats of the operand stream: bytes [0, COLS) from b_rows[k], then ROWS bytes of a[k]."""
    return [pack(list(b_rows[k]) + list(a[k]), 8) for k in range(len(a))]


async def run_job(
    dut, a: np.ndarray, b: np.ndarray, gen, valid_prob=1.0, ready_prob=1.0
) -> np.ndarray:
    """C = A @ B through the array: OS takes A (ROWS x K), B (K x COLS); WS takes
    A (M x ROWS), W = B (ROWS x COLS)."""
    p = params()
    rows, cols, ws = p["ROWS"], p["COLS"], p["DATAFLOW"] == "WS"
    if ws:
        depth = a.shape[0]
        beats = operand_beats(np.zeros((rows, rows), np.int8), b, rows, cols)  # weights
        beats += operand_beats(a, np.zeros((depth, cols), np.int8), rows, cols)
        n_out = depth
    else:
        depth = a.shape[1]
        beats = operand_beats(a.T, b, rows, cols)
        n_out = rows
    await csr(dut, True, DEPTH, depth)
    await csr(dut, True, CTRL, 1)
    sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
    out = await receive(dut, n_out, gen, ready_prob)
    await sender
    for _ in range(50):
        status = await csr(dut, False, STATUS)
        if status == 0b10:
            break
    assert status == 0b10, f"STATUS should be done and not busy after the results, got {status:#b}"
    return np.array([unpack(w, 32, cols) for w in out], dtype=np.int64).reshape(n_out, cols)


def shapes(rows: int, cols: int, ws: bool, depth: int) -> tuple[tuple[int, int], tuple[int, int]]:
    return ((depth, rows), (rows, cols)) if ws else ((rows, depth), (depth, cols))


async def check(dut, a: np.ndarray, b: np.ndarray, **kw) -> None:
    got = await run_job(dut, a, b, rng(), **kw)
    want = a.astype(np.int32) @ b.astype(np.int32)
    assert got.shape == want.shape, f"result shape {got.shape}, expected {want.shape}"
    assert np.array_equal(got, want), (
        f"systolic array result differs from numpy:\n{got}\nexpected\n{want}"
    )


@cocotb.test()
async def random_matrices(dut):
    await start(dut)
    p = params()
    gen = rng()
    for depth in (1, 7, 16):
        sa, sb = shapes(p["ROWS"], p["COLS"], p["DATAFLOW"] == "WS", depth)
        await check(
            dut,
            gen.integers(-128, 128, sa, dtype=np.int8),
            gen.integers(-128, 128, sb, dtype=np.int8),
        )


@cocotb.test()
async def back_pressure_both_ways(dut):
    await start(dut)
    p = params()
    gen = rng()
    sa, sb = shapes(p["ROWS"], p["COLS"], p["DATAFLOW"] == "WS", 12)
    await check(
        dut,
        gen.integers(-128, 128, sa, dtype=np.int8),
        gen.integers(-128, 128, sb, dtype=np.int8),
        valid_prob=0.6,
        ready_prob=0.4,
    )


@cocotb.test()
async def zeros_and_extremes(dut):
    await start(dut)
    p = params()
    sa, sb = shapes(p["ROWS"], p["COLS"], p["DATAFLOW"] == "WS", 20)
    await check(dut, np.zeros(sa, np.int8), np.zeros(sb, np.int8))
    # -128 * -128 summed 20 times: the largest products, all of one sign.
    await check(dut, np.full(sa, -128, np.int8), np.full(sb, -128, np.int8))
    gen = rng()
    a = np.where(gen.random(sa) < 0.5, -128, 127).astype(np.int8)
    b = np.where(gen.random(sb) < 0.5, -128, 127).astype(np.int8)
    await check(dut, a, b)


@cocotb.test()
async def depth_zero(dut):
    """K = 0 (OS) gives a zero matrix; M = 0 (WS) loads weights and gives no rows."""
    await start(dut)
    p = params()
    sa, sb = shapes(p["ROWS"], p["COLS"], p["DATAFLOW"] == "WS", 0)
    await check(dut, np.zeros(sa, np.int8), np.ones(sb, np.int8))


@cocotb.test()
async def registers(dut):
    """INFO describes the build; DEPTH reads back; CYCLES counts the last job."""
    await start(dut)
    p = params()
    info = await csr(dut, False, INFO)
    assert info & 0xFF == p["ROWS"] and (info >> 8) & 0xFF == p["COLS"]
    assert (info >> 16) & 1 == (p["DATAFLOW"] == "WS") and info >> 24 == 1
    assert await csr(dut, False, STATUS) == 0, "STATUS must be idle and not done after reset"
    await csr(dut, True, DEPTH, 0x1234_5678)
    assert await csr(dut, False, DEPTH) == 0x1234_5678
    assert await csr(dut, False, 0x40) == 0, "unmapped registers read 0"
    gen = rng()
    sa, sb = shapes(p["ROWS"], p["COLS"], p["DATAFLOW"] == "WS", 5)
    await check(
        dut, gen.integers(-128, 128, sa, dtype=np.int8), gen.integers(-128, 128, sb, dtype=np.int8)
    )
    cycles = await csr(dut, False, CYCLES)
    # At full rate a job takes at least its beats plus the pipeline fill.
    minimum = 5 + p["ROWS"] + (p["ROWS"] if p["DATAFLOW"] == "WS" else p["COLS"])
    assert minimum <= cycles < 10 * minimum, f"CYCLES = {cycles} for a depth-5 job"
