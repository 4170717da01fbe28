"""cocotb unit test of rtl/dfx/vector_unit.sv (build parameters in COSIM_TB_PARAMS) against
the fixed-point numpy model (cosim.accel.dfx.vector_unit.golden_rows) and float64 within the
stated tolerances: every operation on random rows, partial last beats, saturation,
constant rows (zero variance), one-element softmax, GELU beyond the table, random
back-pressure and refused configurations."""

from __future__ import annotations

import math

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

from cosim.accel import fixed_point as fxp
from cosim.accel.dfx import vector_unit as vu

CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C


def shape() -> vu.VectorShape:
    p = params()
    return vu.VectorShape(p["LANES"], p["MAX_LEN"])


def word(raw: np.ndarray) -> int:
    return int.from_bytes(np.ascontiguousarray(raw).view(np.uint8).tobytes(), "little")


async def load_lut(dut) -> None:
    sh = shape()
    per = sh.lanes // 2
    raw = np.zeros(sh.lut_beats * per, "<i4")
    raw[: fxp.GELU_LUT_SIZE] = fxp.gelu_lut()
    await csr(dut, True, vu.OP, vu.OP_LOAD_LUT)
    await csr(dut, True, CTRL, 1)
    await send(dut, [word(raw[k * per : (k + 1) * per]) for k in range(sh.lut_beats)])
    assert await csr(dut, False, STATUS) == 0b010


async def run(dut, op, inputs, mult=0, shift=0, eps=0, valid_prob=1.0, ready_prob=1.0):
    sh, gen = shape(), rng()
    rows, n = inputs[0].shape
    for reg, v in (
        (vu.OP, op),
        (vu.LEN, n),
        (vu.ROWS, rows),
        (vu.MULT, mult),
        (vu.SHIFT, shift),
        (vu.EPS, eps),
    ):
        await csr(dut, True, reg, v)
    await csr(dut, True, CTRL, 1)
    nb = sh.beats(n)
    out = np.zeros((rows, n), np.float16)
    for r in range(rows):
        beats = []
        for a in inputs:
            row = np.zeros(nb * sh.lanes, np.float16)
            row[:n] = a[r]
            beats += [word(row[k * sh.lanes : (k + 1) * sh.lanes]) for k in range(nb)]
        sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
        words = await receive(dut, nb, gen, ready_prob)
        await sender
        vals = np.array(
            [(wd >> (16 * i)) & 0xFFFF for wd in words for i in range(sh.lanes)], np.uint16
        )
        assert np.all(vals[n:] == 0), "lanes past the row must be 0"
        out[r] = vals[:n].view(np.float16)
    assert await csr(dut, False, STATUS) == 0b010
    return out


async def check(dut, op, inputs, **kw):
    got = await run(dut, op, inputs, **kw)
    reg = {k: kw[k] for k in ("mult", "shift", "eps") if k in kw}
    want = vu.golden_rows(op, inputs, lut=fxp.gelu_lut(), **reg)
    assert np.array_equal(got.view(np.uint16), want.view(np.uint16)), (
        f"{vu.OP_NAMES[op]} differs from numpy\n{got}\n{want}"
    )
    return got


@cocotb.test()
async def every_operation_on_random_rows(dut):
    await start(dut)
    await load_lut(dut)
    sh, gen = shape(), rng()
    n = sh.max_len
    odd = max(1, n - sh.lanes // 2 - 1)  # a partial last beat
    x = gen.normal(0, 2, (2, n)).astype(np.float16)
    y = gen.normal(0, 2, (2, n)).astype(np.float16)
    g = gen.normal(1, 0.1, (2, n)).astype(np.float16)
    b = gen.normal(0, 0.1, (2, n)).astype(np.float16)
    got = await check(dut, vu.OP_ADD, [x[:, :odd], y[:, :odd]])
    assert np.abs(got - (x[:, :odd].astype(float) + y[:, :odd])).max() < 2e-3 + 2**-10 * 8
    got = await check(dut, vu.OP_LAYERNORM, [x, g, b], eps=1)
    xf = x.astype(np.float64)
    ref = (xf - xf.mean(-1, keepdims=True)) / np.sqrt(xf.var(-1, keepdims=True) + 1e-5) * g + b
    assert np.all(np.abs(got - ref) <= 2e-3 + 2**-10 * np.abs(ref))
    m, s = fxp.softmax_scale(1 / math.sqrt(32))
    got = await check(dut, vu.OP_SOFTMAX, [x[:, :odd] * 4], mult=m, shift=s)
    z = (x[:, :odd] * 4).astype(np.float64) / math.sqrt(32)
    ref = np.exp(z - z.max(-1, keepdims=True))
    ref /= ref.sum(-1, keepdims=True)
    assert np.abs(got - ref).max() < 3e-4 + 2**-11
    got = await check(dut, vu.OP_GELU, [x[:, :odd] * 3])
    assert (
        np.abs(got - fxp.gelu_tanh((x[:, :odd] * 3).astype(np.float64))).max() < 1e-3 + 2**-10 * 16
    )


@cocotb.test()
async def edge_cases(dut):
    await start(dut)
    await load_lut(dut)
    sh = shape()
    n = sh.lanes
    big = np.full((1, n), 30000.0, np.float16)
    await check(dut, vu.OP_ADD, [big, big])  # saturates at 32768 - 2^-16
    const = np.full((1, n), 1.5, np.float16)
    ones = np.ones((1, n), np.float16)
    await check(dut, vu.OP_LAYERNORM, [const, ones, ones * 0.25], eps=1)  # zero variance
    m, s = fxp.softmax_scale(1.0)
    got = await check(dut, vu.OP_SOFTMAX, [const[:, :1]], mult=m, shift=s)  # one element
    assert got[0, 0] == 1.0
    beyond = np.array([[-20.0, -8.5, -8.0, 7.9, 8.0, 12.0] + [0.0] * (n - 6)], np.float16)
    await check(dut, vu.OP_GELU, [beyond])


@cocotb.test()
async def back_pressure_both_ways(dut):
    await start(dut)
    sh, gen = shape(), rng()
    n = min(sh.max_len, 2 * sh.lanes)
    x = gen.normal(0, 1, (3, n)).astype(np.float16)
    g = np.ones((3, n), np.float16)
    await check(dut, vu.OP_LAYERNORM, [x, g, g * 0], eps=1, valid_prob=0.5, ready_prob=0.3)
    m, s = fxp.softmax_scale(0.5)
    await check(dut, vu.OP_SOFTMAX, [x], mult=m, shift=s, valid_prob=0.5, ready_prob=0.3)


@cocotb.test()
async def refused_configurations_and_registers(dut):
    await start(dut)
    sh = shape()
    info = await csr(dut, False, INFO)
    assert info & 0xFF == sh.lanes and (info >> 8) & 0xFFFF == sh.max_len // sh.lanes
    for op, n in ((vu.OP_LAYERNORM, 3), (vu.OP_GELU, sh.max_len + 1), (7, 4)):
        await csr(dut, True, vu.OP, op)
        await csr(dut, True, vu.LEN, n)
        await csr(dut, True, CTRL, 1)
        assert await csr(dut, False, STATUS) == 0b100, f"op {op}, len {n} must be refused"
        assert dut.in_ready.value == 0
    await check(dut, vu.OP_ADD, [np.ones((1, 2), np.float16), np.ones((1, 2), np.float16)])
    cycles = await csr(dut, False, CYCLES)
    assert 3 <= cycles < 12, f"CYCLES = {cycles} for a one-beat addition"
