"""cocotb unit test of rtl/s2ta/s2ta.sv (ROWS, COLS, W_NNZ per COSIM_TB_PARAMS): GEMM tiles
with W-DBB weights and activations pruned to A-DBB by the engine, compared with numpy
(top-k per block of 8, int32 products); the event counters against counts taken from
the operands; the cycle count of a job at full rate; random gaps on both input streams
and back-pressure on the results.
"""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start, unpack

from cosim.accel.s2ta import format as fmt
from cosim.accel.s2ta.engine import DECLARATION

R = DECLARATION.register_map()
CTRL, STATUS, DEPTH, CONFIG, CYCLES, INFO = (
    R[n] for n in ("CTRL", "STATUS", "DEPTH", "CONFIG", "CYCLES", "INFO")
)
C_MACS, C_GATED, C_ISSUE, C_BLOCKS, C_ACT_NZ, C_SEL_NZ, C_OUT = (R[n] for n in DECLARATION.counters)


def geometry() -> fmt.S2taGeometry:
    p = params()
    return fmt.S2taGeometry(p["ROWS"], p["COLS"], p["W_NNZ"])


def beats(raw: np.ndarray, width: int) -> list[int]:
    b = np.ascontiguousarray(raw).tobytes()
    return [int.from_bytes(b[i : i + width], "little") for i in range(0, len(b), width)]


def operands(gen, k, a_density=0.6):
    g = geometry()
    a = ((gen.random((g.rows, k)) < a_density) * gen.integers(-128, 128, (g.rows, k))).astype(
        np.int8
    )
    w = fmt.dbb_prune(gen.integers(-128, 128, (k, g.cols)).astype(np.int8), g.w_nnz, axis=0)
    return a, w


async def job(dut, a, w, a_nnz, gen=None, valid_prob=1.0, ready_prob=1.0):
    """Run one tile; returns (C, counters, cycles)."""
    g = geometry()
    k = a.shape[1]
    await csr(dut, True, CTRL, 2)  # clear counters
    await csr(dut, True, DEPTH, k // fmt.BLOCK)
    await csr(dut, True, CONFIG, a_nnz)
    # Offer the operands before starting: the streams are ready only while a job runs.
    acts = cocotb.start_soon(
        send(dut, beats(fmt.act_beats(a, g), g.act_beat_bytes), gen, valid_prob, prefix="act")
    )
    wgts = cocotb.start_soon(
        send(dut, beats(fmt.weight_beats(w, g), g.weight_beat_bytes), gen, valid_prob, prefix="wgt")
    )
    await csr(dut, True, CTRL, 1)
    out = await receive(dut, g.rows, gen, ready_prob, prefix="out")
    await acts
    await wgts
    for _ in range(50):
        status = await csr(dut, False, STATUS)
        if status == 0b10:
            break
    assert status == 0b10, f"STATUS should be done, got {status:#b}"
    c = np.array([unpack(v, 32, g.cols) for v in out], dtype=np.int64)
    names = ("macs", "gated", "issue", "blocks", "act_nz", "sel_nz", "out")
    counters = {
        n: await csr(dut, False, DECLARATION.counter_base + 4 * i) for i, n in enumerate(names)
    }
    return c, counters, await csr(dut, False, CYCLES)


def expected_counters(a, w, a_nnz):
    g = geometry()
    kb = a.shape[1] // fmt.BLOCK
    ap = fmt.dbb_prune(a, a_nnz, axis=1)
    macs = int(((ap != 0).astype(np.int64) @ (w != 0).astype(np.int64)).sum())
    issues = kb * a_nnz
    return {
        "macs": macs,
        "gated": issues * g.rows * g.cols - macs,
        "issue": issues,
        "blocks": kb,
        "act_nz": int(np.count_nonzero(a)),
        "sel_nz": int(np.count_nonzero(ap)),
        "out": g.rows,
    }


async def check(dut, a, w, a_nnz, **kw):
    c, counters, cycles = await job(dut, a, w, a_nnz, **kw)
    want = fmt.golden(a, w, a_nnz)
    assert np.array_equal(c, want), f"results differ from numpy:\n{c}\nexpected\n{want}"
    assert counters == expected_counters(a, w, a_nnz), counters
    return cycles


def ideal_cycles(k: int, a_nnz: int) -> int:
    """A job at full rate: 2 cycles to take the first block, one issue per kept activation,
    the array's ROWS+COLS-1 stages and one more, then ROWS result beats."""
    g = geometry()
    return (k // fmt.BLOCK) * a_nnz + 2 * g.rows + g.cols + 2


@cocotb.test()
async def random_tiles_every_activation_density(dut):
    await start(dut)
    gen = rng()
    for a_nnz in (8, 4, 2, 1, 3):
        a, w = operands(gen, 72)
        cycles = await check(dut, a, w, a_nnz)
        assert cycles == ideal_cycles(72, a_nnz), f"{cycles} cycles at A-DBB {a_nnz}/8"


@cocotb.test()
async def back_pressure_and_gaps(dut):
    await start(dut)
    gen = rng()
    a, w = operands(gen, 48)
    cycles = await check(dut, a, w, 4, gen=gen, valid_prob=0.4, ready_prob=0.3)
    assert cycles > ideal_cycles(48, 4)


@cocotb.test()
async def extremes_zeros_and_single_block(dut):
    await start(dut)
    g = geometry()
    gen = rng()
    a = np.full((g.rows, 16), -128, np.int8)
    w = fmt.dbb_prune(np.full((16, g.cols), -128, np.int8), g.w_nnz, axis=0)
    await check(dut, a, w, 8)
    await check(dut, np.zeros((g.rows, 24), np.int8), operands(gen, 24)[1], 4)
    a, w = operands(gen, 8, a_density=0.3)
    await check(dut, a, w, 2)
    # Ties: equal magnitudes keep the lower positions.
    a = np.tile(np.array([3, -3, 3, -3, 3, -3, 3, -3], np.int8), (g.rows, 2))
    await check(dut, a, operands(gen, 16)[1], 3)


@cocotb.test()
async def zero_depth_and_registers(dut):
    await start(dut)
    g = geometry()
    info = await csr(dut, False, INFO)
    assert info == g.rows | g.cols << 8 | g.w_nnz << 16 | 1 << 24
    assert await csr(dut, False, STATUS) == 0
    await csr(dut, True, CONFIG, 0x15)
    assert await csr(dut, False, CONFIG) == 5, "CONFIG keeps A_NNZ (4 bits)"
    await csr(dut, True, DEPTH, 0)
    await csr(dut, True, CTRL, 1)
    out = await receive(dut, g.rows, prefix="out")
    assert all(v == 0 for v in out), "a job of no blocks gives zeros"
    assert (await csr(dut, False, STATUS)) & 2
