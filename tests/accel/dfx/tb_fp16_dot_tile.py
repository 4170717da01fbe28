"""cocotb unit test of rtl/dfx/fp16_dot_tile.sv (build parameters in COSIM_TB_PARAMS) against
the bit-exact numpy model (cosim.accel.dfx.fp16_tile.tile_matmul) and float64 within the
stated tolerance: random GEMM and GEMV jobs, bias, activation reuse, signed zeros,
subnormal and overflowing results, multi-block jobs drained while later blocks go in, a
slow reader holding the pipeline, random back-pressure, a refused configuration."""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from tb_common import csr, params, receive, rng, send, start

from cosim.accel.dfx import fp16_tile as ft

CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C


def shape() -> ft.TileShape:
    p = params()
    return ft.TileShape(p["LANES"], p["WIDTH"], p["IN_MAX"], p["T_MAX"])


def word(raw: np.ndarray) -> int:
    return int.from_bytes(np.ascontiguousarray(raw, np.uint8).tobytes(), "little")


async def job(dut, x, w, bias=None, keep=False, valid_prob=1.0, ready_prob=1.0, per_block=False):
    """Y = X W^T (+ bias): one job of all row blocks, results read while later blocks go
    in (or, per_block, one job per block)."""
    sh, gen = shape(), rng()
    tokens, n = x.shape
    await csr(dut, True, ft.TOKENS, tokens)
    await csr(dut, True, ft.IN_LEN, n)
    blocks = ft.weight_beats(w, sh)
    groups = [[j] for j in range(len(blocks))] if per_block else [list(range(len(blocks)))]
    outs = []
    for gi, group in enumerate(groups):
        first = gi == 0 and not keep
        await csr(dut, True, ft.BLOCKS, len(group))
        await csr(
            dut,
            True,
            CTRL,
            1 | (0 if first else ft.CTRL_KEEP) | (ft.CTRL_BIAS if bias is not None else 0),
        )
        beats = [word(r) for r in ft.act_beats(x, sh)] if first else []
        for j in group:
            if bias is not None:
                bb = np.zeros(sh.per_beat, np.float16)
                part = bias[j * sh.lanes : (j + 1) * sh.lanes]
                bb[: len(part)] = part
                beats.append(word(bb.view(np.uint8)))
            beats += [word(r) for r in blocks[j]]
        sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
        words = await receive(dut, tokens * len(group), gen, ready_prob)
        await sender
        raw = np.array(
            [[(wd >> (16 * i)) & 0xFFFF for i in range(sh.lanes)] for wd in words], np.uint16
        )
        for k in range(len(group)):
            outs.append(raw[k * tokens : (k + 1) * tokens].view(np.float16))
    assert await csr(dut, False, STATUS) == 0b010
    return np.concatenate(outs, axis=1)[:, : w.shape[0]]


async def check(dut, x, w, bias=None, **kw):
    got = await job(dut, x, w, bias, **kw)
    want = ft.tile_matmul(x, w, bias, shape().width)
    assert np.array_equal(got.view(np.uint16), want.view(np.uint16)), (
        f"tile differs from the bit-exact model\n{got}\n{want}"
    )
    finite = np.isfinite(want)
    if finite.all():
        assert ft.within_tolerance(got, x, w, bias)


@cocotb.test()
async def gemm_gemv_and_bias(dut):
    await start(dut)
    sh, gen = shape(), rng()
    for tokens, n in ((sh.t_max, sh.in_max), (1, sh.in_max), (3, sh.width)):
        x = gen.normal(0, 1, (tokens, n)).astype(np.float16)
        w = gen.normal(0, 0.1, (2 * sh.lanes + 1, n)).astype(np.float16)
        b = gen.normal(0, 0.5, 2 * sh.lanes + 1).astype(np.float16)
        await check(dut, x, w)
        await check(dut, x, w, b)
        await check(dut, x, w, b, per_block=True)


@cocotb.test()
async def zeros_subnormals_and_overflow(dut):
    await start(dut)
    sh = shape()
    n = sh.in_max
    x = np.zeros((2, n), np.float16)
    x[1] = -0.0
    w = np.zeros((sh.lanes, n), np.float16)
    w[0] = -0.0
    await check(dut, x, w, np.full(sh.lanes, -0.0, np.float16))  # signed zeros throughout
    tiny = np.full((2, n), 2.0**-12, np.float16)
    await check(dut, tiny, np.full((sh.lanes, n), 2.0**-13, np.float16))  # fp16 subnormal sums
    big = np.full((1, n), 300.0, np.float16)
    await check(dut, big, np.full((sh.lanes, n), 250.0, np.float16))  # overflows to infinity
    gen = rng()
    x = gen.normal(0, 1, (2, n)).astype(np.float16)
    await check(dut, x, -np.flip(x, axis=1)[:1].repeat(sh.lanes, 0))  # cancellations


@cocotb.test()
async def keep_and_back_pressure(dut):
    await start(dut)
    sh, gen = shape(), rng()
    x = gen.normal(0, 1, (sh.t_max, sh.in_max)).astype(np.float16)
    w = gen.normal(0, 0.1, (sh.lanes, sh.in_max)).astype(np.float16)
    await check(dut, x, w, valid_prob=0.5, ready_prob=0.3)
    w2 = gen.normal(0, 0.1, (sh.lanes, sh.in_max)).astype(np.float16)
    got = await job(dut, x, w2, keep=True)  # the activation rows stay
    assert np.array_equal(
        got.view(np.uint16), ft.tile_matmul(x, w2, None, sh.width).view(np.uint16)
    )


@cocotb.test()
async def slow_reader_holds_the_third_block(dut):
    """With results not read, the tile computes two blocks, holds the next two blocks'
    (one-beat) weights in its FIFO and takes nothing more; reading lets it go on."""
    await start(dut)
    sh, gen = shape(), rng()
    x = gen.normal(0, 1, (1, sh.width)).astype(np.float16)
    w = gen.normal(0, 0.1, (6 * sh.lanes, sh.width)).astype(np.float16)
    await csr(dut, True, ft.TOKENS, 1)
    await csr(dut, True, ft.IN_LEN, sh.width)
    await csr(dut, True, ft.BLOCKS, 6)
    await csr(dut, True, CTRL, 1)
    beats = [word(r) for r in ft.act_beats(x, sh)] + [word(b[0]) for b in ft.weight_beats(w, sh)]
    sender = cocotb.start_soon(send(dut, beats))
    for _ in range(40):
        await FallingEdge(dut.clk)
    assert not sender.done(), "the fifth block must wait for results to be read"
    assert dut.out_valid.value == 1 and dut.in_ready.value == 0
    words = await receive(dut, 6)
    await sender
    got = np.array(
        [[(wd >> (16 * i)) & 0xFFFF for i in range(sh.lanes)] for wd in words], np.uint16
    )
    want = ft.tile_matmul(x, w, None, sh.width).view(np.uint16).reshape(6, sh.lanes)
    assert np.array_equal(got, want)


@cocotb.test()
async def refused_configuration_and_registers(dut):
    await start(dut)
    sh = shape()
    info = await csr(dut, False, INFO)
    assert info & 0xFF == sh.lanes and (info >> 8) & 0xFF == sh.width and info >> 24 == 1
    await csr(dut, True, ft.TOKENS, 1)
    await csr(dut, True, ft.IN_LEN, sh.width + 1)  # not a multiple of the width
    await csr(dut, True, CTRL, 1)
    assert await csr(dut, False, STATUS) == 0b100
    assert dut.in_ready.value == 0
    x = np.ones((1, sh.width), np.float16)
    await check(dut, x, np.ones((sh.lanes, sh.width), np.float16))
    cycles = await csr(dut, False, CYCLES)
    # one activation beat, one weight beat, the 3-stage pipeline, one result
    assert 5 <= cycles < 20, f"CYCLES = {cycles} for the smallest job"
