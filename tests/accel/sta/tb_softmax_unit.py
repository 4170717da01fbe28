"""cocotb unit test of rtl/sta/softmax_unit.sv (build parameters in COSIM_TB_PARAMS) against
the fixed-point numpy model (cosim.accel.fixed_point / cosim.accel.sta.softmax_unit): random rows
of every length class (one beat, partial last beat, the longest row), equal scores, one
dominant score, int32 extremes, output quantisation, multi-row jobs, random back-pressure
and a refused configuration."""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start, unpack

from cosim.accel import fixed_point as fxp
from cosim.accel.sta import softmax_unit as smx

CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C


def shape() -> smx.SoftmaxShape:
    p = params()
    return smx.SoftmaxShape(p["LANES"], p["MAX_LEN"])


async def job(dut, scores: np.ndarray, cfg: smx.SoftmaxConfig, valid_prob=1.0, ready_prob=1.0):
    sh, gen = shape(), rng()
    for reg, v in (
        (smx.LEN, cfg.length),
        (smx.MULT, cfg.mult),
        (smx.SHIFT, cfg.shift),
        (smx.OUT_Q, cfg.out_shift | cfg.out_max << 16),
        (smx.ROWS, len(scores)),
    ):
        await csr(dut, True, reg, v)
    await csr(dut, True, CTRL, 1)
    nb = sh.beats(cfg.length)
    out = []
    for row in scores:
        lanes = np.zeros(nb * sh.lanes, np.int64)
        lanes[: cfg.length] = row
        beats = [
            sum(
                (int(v) & 0xFFFF_FFFF) << (32 * i)
                for i, v in enumerate(lanes[b * sh.lanes : (b + 1) * sh.lanes])
            )
            for b in range(nb)
        ]
        sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
        words = await receive(dut, nb, gen, ready_prob)
        await sender
        vals = [v for wd in words for v in unpack(wd, 32, sh.lanes, signed=False)]
        assert all(v == 0 for v in vals[cfg.length :]), "lanes past the row must be 0"
        out.append(vals[: cfg.length])
    assert await csr(dut, False, STATUS) == 0b010
    return np.array(out, np.int64)


async def check(dut, scores, cfg, **kw):
    got = await job(dut, scores, cfg, **kw)
    want = smx.golden_rows(scores, cfg)
    assert np.array_equal(got, want), f"softmax differs from numpy\n{got}\n{want}"


def cfg_for(length: int, scale: float = 1 / 256, out_shift: int = 0, out_max: int = 65535):
    mult, shift = fxp.softmax_scale(scale)
    return smx.SoftmaxConfig(length, mult, shift, out_shift, out_max)


@cocotb.test()
async def random_rows_every_length(dut):
    await start(dut)
    sh, gen = shape(), rng()
    for length in sorted({1, sh.lanes - 1 or 1, sh.lanes, sh.lanes + 1, sh.max_len}):
        if length > sh.max_len:
            continue
        scores = gen.integers(-3000, 3000, (3, length))
        await check(dut, scores, cfg_for(length))


@cocotb.test()
async def equal_dominant_and_extreme_scores(dut):
    await start(dut)
    sh = shape()
    n = min(sh.max_len, 2 * sh.lanes)
    rows = np.array(
        [
            np.full(n, 1234),
            np.r_[np.full(n - 1, -5000), 5000],
            np.r_[np.full(n // 2, -(2**31)), np.full(n - n // 2, 2**31 - 1)],
        ]
    )
    await check(dut, rows, cfg_for(n, scale=1.0))
    await check(dut, rows, cfg_for(n, scale=2.0**-20))
    # int8 probabilities in Q0.7, as STA feeds them back into its engine
    await check(dut, rows, cfg_for(n, scale=1 / 512, out_shift=9, out_max=127))


@cocotb.test()
async def back_pressure_both_ways(dut):
    await start(dut)
    sh, gen = shape(), rng()
    n = min(sh.max_len, 3 * sh.lanes - 1)
    await check(
        dut,
        gen.integers(-(2**20), 2**20, (4, n)),
        cfg_for(n, 2.0**-12),
        valid_prob=0.5,
        ready_prob=0.3,
    )


@cocotb.test()
async def refused_configuration_and_registers(dut):
    await start(dut)
    sh = shape()
    info = await csr(dut, False, INFO)
    assert info & 0xFF == sh.lanes and (info >> 8) & 0xFFFF == sh.max_len // sh.lanes
    await csr(dut, True, smx.LEN, sh.max_len + 1)
    await csr(dut, True, CTRL, 1)
    assert await csr(dut, False, STATUS) == 0b100, "a refused start sets only the error bit"
    assert dut.in_ready.value == 0
    await csr(dut, True, smx.LEN, 1)
    assert await csr(dut, False, smx.LEN) == 1
    await check(dut, np.array([[7]]), cfg_for(1))
    cycles = await csr(dut, False, CYCLES)
    # one beat in, one for the exponent, 33 division steps, one out, plus hand-overs
    assert 36 <= cycles < 50, f"CYCLES = {cycles} for a one-element row"
