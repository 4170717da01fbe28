"""cocotb unit test of tests/rtl/mem_vadd.sv against numpy, with a Python memory that answers
after a random latency and takes requests only when it feels like it (back-pressure)."""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly
from tb_common import csr, pack, params, rng, start, unpack

CTRL, STATUS, SRC_A, SRC_B, DST, LEN, CYCLES = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18


class Memory:
    """Word-addressed memory behind the block's request/response port."""

    def __init__(self, dut, word_bytes: int, gen, latency=(1, 6), ready_prob=0.7):
        self.dut, self.wb, self.gen = dut, word_bytes, gen
        self.latency, self.ready_prob = latency, ready_prob
        self.words: dict[int, int] = {}
        self.requests = 0

    async def serve(self) -> None:
        dut = self.dut
        pending: list[tuple[int, int]] = []  # (cycles left, rdata)
        while True:
            await FallingEdge(dut.clk)
            rsp = pending and pending[0][0] <= 0
            dut.mem_rsp_valid.value = int(bool(rsp))
            dut.mem_rsp_rdata.value = pending[0][1] if rsp else 0
            ready = not pending and self.gen.random() < self.ready_prob
            dut.mem_req_ready.value = int(ready)
            await ReadOnly()
            if rsp:
                pending.pop(0)
            pending = [(c - 1, d) for c, d in pending]
            if ready and dut.mem_req_valid.value == 1:
                self.requests += 1
                addr = dut.mem_req_addr.value.to_unsigned()
                assert addr % self.wb == 0, f"unaligned request at {addr:#x}"
                if dut.mem_req_we.value == 1:
                    self.words[addr] = dut.mem_req_wdata.value.to_unsigned()
                    data = 0
                else:
                    data = self.words.get(addr, 0)
                pending.append((int(self.gen.integers(*self.latency)), data))


async def vadd(
    dut, mem: Memory, a: np.ndarray, b: np.ndarray, base=(0x1000, 0x8000, 0x20000)
) -> np.ndarray:
    lanes = mem.wb // 4
    words = len(a) // lanes
    for i in range(words):
        mem.words[base[0] + i * mem.wb] = pack(a[i * lanes : (i + 1) * lanes], 32)
        mem.words[base[1] + i * mem.wb] = pack(b[i * lanes : (i + 1) * lanes], 32)
    for reg, value in zip((SRC_A, SRC_B, DST, LEN), (*base, words), strict=True):
        await csr(dut, True, reg, value)
    await csr(dut, True, CTRL, 1)
    for _ in range(100_000):
        if dut.done.value == 1:
            break
        await FallingEdge(dut.clk)
    assert dut.done.value == 1, "done never came"
    out = []
    for i in range(words):
        out += unpack(mem.words.get(base[2] + i * mem.wb, 0), 32, lanes)
    return np.array(out, dtype=np.int64)


@cocotb.test()
async def random_vectors(dut):
    await start(dut)
    gen = rng()
    mem = Memory(dut, params()["DATA_W"] // 8, gen)
    cocotb.start_soon(mem.serve())
    n = 24 * (params()["DATA_W"] // 32)
    a = gen.integers(-(2**31), 2**31, n, dtype=np.int64)
    b = gen.integers(-(2**31), 2**31, n, dtype=np.int64)
    got = await vadd(dut, mem, a, b)
    want = (a.astype(np.int32) + b.astype(np.int32)).astype(np.int64)  # int32 wrap-around
    assert np.array_equal(got, want), f"mem_vadd result differs from numpy:\n{got}\n{want}"
    assert mem.requests == 3 * 24, f"expected 3 requests per word, saw {mem.requests}"


@cocotb.test()
async def extremes_and_zero_length(dut):
    await start(dut)
    gen = rng()
    mem = Memory(dut, params()["DATA_W"] // 8, gen, latency=(1, 2), ready_prob=1.0)
    cocotb.start_soon(mem.serve())
    lanes = params()["DATA_W"] // 32
    a = np.array([2**31 - 1, -(2**31), -1, 0] * lanes, dtype=np.int64)
    b = np.array([1, -1, 1, 0] * lanes, dtype=np.int64)
    got = await vadd(dut, mem, a, b)
    assert np.array_equal(got, (a.astype(np.int32) + b.astype(np.int32)).astype(np.int64))
    requests = mem.requests
    await csr(dut, True, LEN, 0)
    await csr(dut, True, CTRL, 1)
    await FallingEdge(dut.clk)
    assert dut.done.value == 1 and dut.busy.value == 0, "a zero-length job finishes at once"
    assert mem.requests == requests, "a zero-length job makes no memory requests"
    assert await csr(dut, False, STATUS) == 0b10
