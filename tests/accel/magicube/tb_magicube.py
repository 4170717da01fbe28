"""cocotb bench of rtl/magicube/magicube.sv: B rows loaded, then vector-sparse groups
multiplied in int8 and int4 must give A_g B exactly (numpy from the dense operands), with
random input gaps and output back-pressure; at most one step per cycle; counters;
refused configurations."""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

from cosim.accel.magicube.format import BEAT, LANES, b_tile, step_beats

MODE, COUNT, VLEN, PREC, ROW0, STEPS, ROWS = 0x10, 0x14, 0x18, 0x1C, 0x20, 0x40, 0x44


def words(beats: np.ndarray) -> list[int]:
    return [int.from_bytes(bytes(b), "little") for b in beats.reshape(-1, BEAT)]


async def job(dut, regs: dict[int, int], beats: np.ndarray, n_out: int, gen=None, p=1.0):
    for addr, value in regs.items():
        await csr(dut, True, addr, value)
    await csr(dut, True, 0x00, 1)
    await send(dut, words(beats), gen, p)
    out = await receive(dut, n_out, gen, p) if n_out else []
    while await csr(dut, False, 0x04) & 1:
        pass
    cycles = await csr(dut, False, 0x08)
    rows = [np.frombuffer(w.to_bytes(BEAT, "little"), "<i4") for w in out]
    return rows, cycles


async def load(dut, b: np.ndarray) -> int:
    _, cycles = await job(dut, {MODE: 0, COUNT: len(b) // 4, ROW0: 0}, b_tile(b, 0), 0)
    return cycles


@cocotb.test()
async def multiplies_vector_sparse_groups(dut):
    await start(dut)
    gen, max_k = rng(), params()["MAX_K"]
    k = min(64, max_k)
    for bits, trial in ((8, 0), (4, 1), (8, 2)):
        lo, hi = (-8, 8) if bits == 4 else (-128, 128)
        b = gen.integers(lo, hi, (k, LANES)).astype(np.int8)
        # one beat of 4 rows per cycle; the bench offers the first two cycles after CTRL
        assert await load(dut, b) == k // 4 + 2
        for v in (2, 8):
            n_vec = int(gen.integers(0, k // 2))
            cols = np.sort(gen.choice(k, n_vec, replace=False))
            vals = gen.integers(lo, hi, (n_vec, v)).astype(np.int8)
            beats = step_beats(cols, vals, bits)
            gaps = trial == 2
            rows, cycles = await job(
                dut, {MODE: 1, COUNT: len(beats), VLEN: v, PREC: int(bits == 4)}, beats, v,
                gen if gaps else None, 0.6,
            )  # fmt: skip
            a = np.zeros((v, k), np.int64)
            a[:, cols] = vals.T
            assert np.array_equal(np.array(rows), a @ b.astype(np.int64)), (bits, v)
            assert cycles >= len(beats) + v  # a step per cycle at most, then the rows


@cocotb.test()
async def counts_and_refuses(dut):
    await start(dut)
    steps0, rows0 = await csr(dut, False, STEPS), await csr(dut, False, ROWS)
    b = np.ones((16, LANES), np.int8)
    await load(dut, b)
    beats = step_beats(np.array([1, 2, 3, 4, 5]), np.ones((5, 4), np.int8), 8)
    rows, _ = await job(dut, {MODE: 1, COUNT: len(beats), VLEN: 4, PREC: 0}, beats, 4)
    assert all((r == 5).all() for r in rows)
    assert await csr(dut, False, STEPS) - steps0 == 2
    assert await csr(dut, False, ROWS) - rows0 == 16
    max_k = params()["MAX_K"]
    for addr, bad in ((VLEN, 9), (PREC, 2), (COUNT, 0), (MODE, 2)):
        await csr(dut, True, addr, bad)
        await csr(dut, True, 0x00, 1)
        assert await csr(dut, False, 0x04) & 0b101 == 0b100, hex(addr)
        await csr(dut, True, addr, {VLEN: 4, PREC: 0, COUNT: 1, MODE: 1}[addr])
    for row0, count in ((2, 1), (0, max_k // 4 + 1)):
        await csr(dut, True, MODE, 0)
        await csr(dut, True, ROW0, row0)
        await csr(dut, True, COUNT, count)
        await csr(dut, True, 0x00, 1)
        assert await csr(dut, False, 0x04) & 0b101 == 0b100
    assert (await csr(dut, False, 0x0C)) >> 24 == 1
