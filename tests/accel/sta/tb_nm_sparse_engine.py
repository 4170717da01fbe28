"""cocotb unit test of rtl/sta/nm_sparse_engine.sv (build parameters in COSIM_TB_PARAMS)
against numpy (cosim.accel.sta.nm_sparse): random N:M and dense jobs, requantisation and
ReLU, activation reuse (KEEP), one token (the 2-cycle beat path), int8 extremes, random
back-pressure on both streams, and a refused configuration."""

from __future__ import annotations

import math

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start, unpack

from cosim.accel.sta import nm_sparse as nm

CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C


def shape() -> nm.EngineShape:
    p = params()
    return nm.EngineShape(p["LANES"], p["SLOTS"], p["M_MAX"], p["IN_MAX"], p["T_MAX"])


def as_word(row: np.ndarray) -> int:
    return int.from_bytes(np.ascontiguousarray(row, np.uint8).tobytes(), "little")


async def job(
    dut, pattern, x, w, out_cfg=0, keep=False, valid_prob=1.0, ready_prob=1.0
) -> np.ndarray:
    """One job per weight tile; returns the (T, rows) results."""
    sh = shape()
    tokens, in_len = x.shape
    img = nm.weight_image(*nm.compress(w, pattern), pattern, sh)
    await csr(dut, True, nm.PATTERN, pattern.register())
    await csr(dut, True, nm.TOKENS, tokens)
    await csr(dut, True, nm.IN_LEN, in_len)
    await csr(dut, True, nm.OUT_CFG, out_cfg)
    gen = rng()
    outs = []
    for j, tile in enumerate(img):
        first = j == 0 and not keep
        await csr(dut, True, CTRL, 1 | (0 if first else nm.CTRL_KEEP))
        beats = []
        if first:
            beats += [as_word(np.frombuffer(r.astype(np.int8).tobytes(), np.uint8)) for r in x]
        beats += [as_word(b) for b in tile]
        sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
        words = await receive(dut, tokens, gen, ready_prob)
        await sender
        outs.append(np.array([unpack(wd, 32, sh.lanes) for wd in words], np.int64))
    status = await csr(dut, False, STATUS)
    assert status == 0b010, f"STATUS after a job: {status:#b}, expected done and idle"
    return np.concatenate(outs, axis=1)[:, : w.shape[0]]


async def check(dut, pattern, x, w, out_cfg=0, **kw) -> None:
    got = await job(dut, pattern, x, w, out_cfg, **kw)
    want = nm.golden_matmul(x, w, out_cfg)
    assert np.array_equal(got, want), f"{pattern}: engine differs from numpy\n{got}\n{want}"


def operands(gen, pattern, tokens, in_len, rows):
    w = nm.prune(gen.integers(-128, 128, (rows, in_len), dtype=np.int8), pattern)
    x = gen.integers(-128, 128, (tokens, in_len), dtype=np.int8)
    return x, w


def unit(pattern: nm.NMPattern) -> int:
    """The smallest row length this pattern and engine take: whole windows, whole groups."""
    return math.lcm(pattern.window(shape().slots), pattern.m)


def patterns() -> list[nm.NMPattern]:
    m_max = params()["M_MAX"]
    out = [nm.NMPattern(1, 1)]
    for text in ("2:4", "1:4", "2:8", "1:2", "4:8"):
        p = nm.NMPattern.parse(text)
        if p.m <= m_max and unit(p) <= shape().in_max:
            out.append(p)
    return out


@cocotb.test()
async def random_jobs_every_pattern(dut):
    await start(dut)
    sh, gen = shape(), rng()
    for pattern in patterns():
        in_len = (sh.in_max // unit(pattern)) * unit(pattern)
        x, w = operands(gen, pattern, sh.t_max, in_len, 2 * sh.lanes + 1)
        await check(dut, pattern, x, w)
        await check(dut, pattern, x[:1], w, nm.OUT_REQUANT | nm.OUT_RELU | 7)


@cocotb.test()
async def requantise_keep_and_extremes(dut):
    await start(dut)
    sh, gen = shape(), rng()
    pattern = patterns()[-1]
    in_len = unit(pattern)
    x = np.full((sh.t_max, in_len), -128, np.int8)
    w = nm.prune(np.full((sh.lanes, in_len), -128, np.int8), pattern)
    await check(dut, pattern, x, w)  # the largest products, all positive
    await check(dut, pattern, x, -w.clip(-127), nm.OUT_REQUANT)  # saturates at -128
    x2, w2 = operands(gen, pattern, sh.t_max, in_len, sh.lanes)
    await job(dut, pattern, x2, w2)  # loads x2 ...
    got = await job(dut, pattern, x2, w2[::-1].copy(), keep=True)  # ... reused with KEEP
    assert np.array_equal(got, nm.golden_matmul(x2, w2[::-1]))


@cocotb.test()
async def back_pressure_both_ways(dut):
    await start(dut)
    sh, gen = shape(), rng()
    for pattern in patterns()[:2]:
        in_len = unit(pattern) * (2 if 2 * unit(pattern) <= sh.in_max else 1)
        x, w = operands(gen, pattern, sh.t_max, in_len, sh.lanes)
        await check(dut, pattern, x, w, valid_prob=0.5, ready_prob=0.3)


@cocotb.test()
async def refused_configuration_and_registers(dut):
    await start(dut)
    sh = shape()
    info = await csr(dut, False, INFO)
    assert info & 0xFF == sh.lanes and (info >> 8) & 0xFF == sh.slots and info >> 24 == 1
    assert await csr(dut, False, STATUS) == 0
    await csr(dut, True, nm.TOKENS, sh.t_max + 1)  # out of range
    await csr(dut, True, nm.IN_LEN, sh.slots)
    await csr(dut, True, nm.PATTERN, nm.NMPattern(1, 1).register())
    await csr(dut, True, CTRL, 1)
    assert await csr(dut, False, STATUS) == 0b100, "a refused start sets only the error bit"
    assert dut.in_ready.value == 0, "no job: no beats taken"
    await csr(dut, True, nm.TOKENS, 1)
    assert await csr(dut, False, nm.TOKENS) == 1
    x, w = operands(rng(), nm.NMPattern(1, 1), 1, sh.slots, sh.lanes)
    await check(dut, nm.NMPattern(1, 1), x, w)
    cycles = await csr(dut, False, CYCLES)
    # one activation beat, one weight beat over 2 cycles, one result: a handful of cycles
    assert 4 <= cycles < 20, f"CYCLES = {cycles} for the smallest job"
