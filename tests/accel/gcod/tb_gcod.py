"""cocotb unit test of rtl/gcod/gcod.sv (build parameters in COSIM_TB_PARAMS) against the
numpy golden (cosim.accel.gcod.engine.golden_rows): random rows, single-beat rows, int16
and int32 extremes (wrapping sums), random gaps and back-pressure, the cycle
count the RTL promises (one beat per cycle, the last row one edge later), the counters
and a refused configuration."""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start, unpack

from cosim.accel.gcod import engine as E

CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C


def words(img: np.ndarray) -> list[int]:
    return [int.from_bytes(r.tobytes(), "little") for r in img.astype("<u4")]


async def job(dut, w, f, ends, valid_prob=1.0, ready_prob=1.0) -> np.ndarray:
    lanes = params()["LANES"]
    await csr(dut, True, E.COUNT, len(w))
    await csr(dut, True, E.ROWS, len(ends))
    await csr(dut, True, CTRL, 1)
    gen = rng()
    sender = cocotb.start_soon(send(dut, words(E.beats(w, f, ends)), gen, valid_prob))
    out = await receive(dut, len(ends), gen, ready_prob)
    await sender
    return np.array([unpack(x, 32, lanes) for x in out], np.int64)


def case(gen, rows, max_len, lanes, big=False):
    lens = gen.integers(1, max_len + 1, rows)
    n = int(lens.sum())
    lim = (1 << 31) if big else 1 << 12
    w = gen.integers(-(1 << 15) if big else -4, (1 << 15) if big else 5, n)
    f = gen.integers(-lim, lim, (n, lanes))
    return w, f, np.cumsum(lens)


async def check(dut, w, f, ends, **kw) -> None:
    got = await job(dut, w, f, ends, **kw)
    want = E.golden_rows(w, f, ends).astype(np.int64)
    assert np.array_equal(got, want), f"engine differs from numpy\n{got}\n{want}"
    assert await csr(dut, False, STATUS) == 0b010


@cocotb.test()
async def random_rows_and_cycles(dut):
    await start(dut)
    p = params()
    assert await csr(dut, False, INFO) == p["LANES"] | p["MAX_ROWS"] << 8 | 1 << 24
    await csr(dut, True, CTRL, 2)
    gen = np.random.default_rng(1)
    w, f, ends = case(gen, p["MAX_ROWS"], 6, p["LANES"])
    await check(dut, w, f, ends)
    # the bench offers the first beat two edges after the start (its register access
    # ends one edge after the ack), then one beat per cycle; the last row leaves one
    # edge after its beat, and done is that edge: COUNT + 3 cycles.
    assert await csr(dut, False, CYCLES) == len(w) + 3
    assert await csr(dut, False, E.MACS) == len(w) * p["LANES"]
    assert await csr(dut, False, E.BEATS) == len(w)


@cocotb.test()
async def extremes_wrap(dut):
    await start(dut)
    gen = np.random.default_rng(2)
    w, f, ends = case(gen, 8, 4, params()["LANES"], big=True)
    w[:2] = [-(1 << 15), (1 << 15) - 1]
    f[0], f[1] = -(1 << 31), (1 << 31) - 1
    await check(dut, w, f, ends)
    one = np.ones(5, np.int64)
    await check(dut, one, gen.integers(-9, 9, (5, params()["LANES"])), np.arange(1, 6))


@cocotb.test()
async def gaps_and_backpressure(dut):
    await start(dut)
    gen = np.random.default_rng(3)
    for _ in range(3):
        w, f, ends = case(gen, 10, 5, params()["LANES"])
        await check(dut, w, f, ends, valid_prob=0.6, ready_prob=0.4)


@cocotb.test()
async def refused_configuration(dut):
    await start(dut)
    p = params()
    for count, rows in ((3, 0), (3, p["MAX_ROWS"] + 1), (2, 3), (70000, 1)):
        await csr(dut, True, E.COUNT, count)
        await csr(dut, True, E.ROWS, rows)
        await csr(dut, True, CTRL, 1)
        assert await csr(dut, False, STATUS) == 0b100, (count, rows)
    gen = np.random.default_rng(4)
    w, f, ends = case(gen, 3, 3, p["LANES"])
    await check(dut, w, f, ends)  # a good start clears the error
