"""cocotb unit test of rtl/smartdeal/smartdeal_mac.sv (ROWS, COLS per COSIM_TB_PARAMS):
random int8 tiles against numpy (int32 sums, requantisation, saturation), the event
counters, the cycle count of a job at full rate, gaps and back-pressure, refused jobs.
"""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start, unpack

from cosim.accel.smartdeal import workload as wl
from cosim.accel.smartdeal.engine import MAC

R = MAC.register_map()


async def job(dut, a, w, oshift, gen=None, valid_prob=1.0, ready_prob=1.0):
    rows, cols = params()["ROWS"], params()["COLS"]
    k = a.shape[1]
    await csr(dut, True, R["CTRL"], 2)
    await csr(dut, True, R["DEPTH"], k)
    await csr(dut, True, R["OSHIFT"], oshift)
    raw = np.concatenate([a.T, w], axis=1).astype(np.int8)
    beats = [int.from_bytes(r.tobytes(), "little") for r in raw]
    sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
    # the receiver too runs from before the start, so the results leave when they are ready
    receiver = cocotb.start_soon(receive(dut, rows, gen, ready_prob))
    await csr(dut, True, R["CTRL"], 1)
    out = await receiver
    await sender
    assert await csr(dut, False, R["STATUS"]) == 0b10
    got = np.array([unpack(v, 8, cols) for v in out], np.int64)
    want = wl.requantise((a.astype(np.int64) @ w.astype(np.int64)).astype(np.int32), oshift)
    assert np.array_equal(got, want), f"results differ:\n{got}\nexpected\n{want}"
    pairs = int(((a != 0).astype(np.int64).T[:, :, None] * (w != 0)[:, None, :]).sum())
    counters = [await csr(dut, False, R[c]) for c in MAC.counters]
    assert counters == [pairs, k * rows * cols - pairs, k, rows], counters
    return await csr(dut, False, R["CYCLES"])


def operands(gen, k, density=0.6):
    rows, cols = params()["ROWS"], params()["COLS"]
    a = (gen.integers(-128, 128, (rows, k)) * (gen.random((rows, k)) < density)).astype(np.int8)
    w = gen.integers(-128, 128, (k, cols)).astype(np.int8)
    return a, w


@cocotb.test()
async def random_tiles_full_rate(dut):
    await start(dut)
    gen = rng()
    rows = params()["ROWS"]
    for k, oshift in ((9, 0), (36, 8), (144, 12), (1, 31)):
        a, w = operands(gen, k)
        cycles = await job(dut, a, w, oshift)
        assert cycles == k + rows, f"{cycles} cycles for depth {k}"


@cocotb.test()
async def gaps_extremes_and_refusals(dut):
    await start(dut)
    gen = rng()
    rows, cols = params()["ROWS"], params()["COLS"]
    a, w = operands(gen, 20)
    assert await job(dut, a, w, 4, gen, valid_prob=0.4, ready_prob=0.3) > 20 + rows
    await job(dut, np.full((rows, 8), -128, np.int8), np.full((8, cols), -128, np.int8), 0)
    await job(dut, np.full((rows, 8), -128, np.int8), np.full((8, cols), 127, np.int8), 3)
    assert await csr(dut, False, R["INFO"]) == rows | cols << 8 | 1 << 24
    for depth, oshift in ((0, 0), (65536, 0), (4, 32)):
        await csr(dut, True, R["DEPTH"], depth)
        await csr(dut, True, R["OSHIFT"], oshift)
        await csr(dut, True, R["CTRL"], 1)
        assert await csr(dut, False, R["STATUS"]) & 0b101 == 0b100, (depth, oshift)
