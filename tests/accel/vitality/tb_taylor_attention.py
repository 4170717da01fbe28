"""cocotb unit test of rtl/vitality/taylor_attention.sv against the bit-exact goldens of
cosim.accel.vitality.workload (vectors from rtl_corners.jobs): Taylor and softmax heads of
2, DIM - 1, DIM + 3 and MAX_TOKENS tokens and an all -128 head (saturation), at full rate
with the cycle counts the RTL promises, then with random gaps and back-pressure; refused
configurations, registers read back, INFO and the event counters."""

from __future__ import annotations

import os

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start, unpack

CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C
TOKENS, MODE, TAYLOR_SHIFT, G_SHIFT, MULT, SHIFT = 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24
MACS, EXPS, RECIPS, BUFFER_BYTES = 0x40, 0x44, 0x48, 0x4C


def vectors() -> dict[str, np.ndarray]:
    with np.load(os.environ["COSIM_TB_VECTORS"]) as f:
        return {k: f[k] for k in f.files}


def beat(row: np.ndarray) -> int:
    return int.from_bytes(np.ascontiguousarray(row, dtype=np.int8).tobytes(), "little")


async def run_head(dut, v: dict, i: int, mode: int, gen, valid_prob=1.0, ready_prob=1.0) -> int:
    dim = params()["DIM"]
    q, k, val = v[f"q{i}"], v[f"k{i}"], v[f"v{i}"]
    n = q.shape[0]
    for reg, value in (
        (TOKENS, n),
        (MODE, mode),
        (TAYLOR_SHIFT, int(v["taylor_shift"])),
        (G_SHIFT, int(v[f"gs{i}"])),
        (MULT, int(v["mult"])),
        (SHIFT, int(v["shift"])),
    ):
        await csr(dut, True, reg, value)
    await csr(dut, True, CTRL, 1)
    stream = [beat(r) for j in range(n) for r in (k[j], val[j])] + [beat(r) for r in q]
    sender = cocotb.start_soon(send(dut, stream, gen, valid_prob))
    out = await receive(dut, n, gen, ready_prob)
    await sender
    status = await csr(dut, False, STATUS)
    assert status & 0b111 == 0b010, f"STATUS {status:#b} after the head, expected done"
    want = v[f"{'softmax' if mode else 'taylor'}{i}"]
    got = np.array([unpack(w, 16, dim) for w in out], dtype=np.int64)
    mismatch = np.argwhere(got != want)
    assert not mismatch.size, f"mode {mode} case {i}: first mismatch at {mismatch[0]}"
    return await csr(dut, False, CYCLES)


@cocotb.test()
async def heads_at_full_rate(dut):
    """Every case in both modes; CYCLES at least the state machine's minimum (Taylor:
    2N + N R for the loads and G, R for the centring, N (R + 1) for the queries, R = DIM /
    ROWS; softmax: 2N + 1 for the loads, 2N per block of ROWS queries, B = ceil(N / ROWS)
    blocks, and 2 per query) and the counters count the MACs each mode promises."""
    await start(dut)
    v, gen = vectors(), rng()
    dim, rows = params()["DIM"], params()["ROWS"]
    r = dim // rows
    for i in range(int(v["count"])):
        n = v[f"q{i}"].shape[0]
        b = -(-n // rows)
        macs = await csr(dut, False, MACS)
        cycles = await run_head(dut, v, i, 0, gen)
        assert cycles >= 2 * n + n * r + r + n * (r + 1), (i, cycles)
        assert await csr(dut, False, MACS) - macs == (2 * n + 1) * dim * dim
        macs, exps = await csr(dut, False, MACS), await csr(dut, False, EXPS)
        cycles = await run_head(dut, v, i, 1, gen)
        assert cycles >= 2 * n + 1 + 2 * n * b + 2 * n, (i, cycles)
        assert await csr(dut, False, MACS) - macs == 2 * n * n * dim
        assert await csr(dut, False, EXPS) - exps == n * n


@cocotb.test()
async def heads_with_gaps_and_back_pressure(dut):
    await start(dut)
    v, gen = vectors(), rng()
    for i in (1, 2):
        for mode in (0, 1):
            await run_head(dut, v, i, mode, gen, valid_prob=0.4, ready_prob=0.3)


@cocotb.test()
async def refused_configurations_and_registers(dut):
    """TOKENS 0, 1 and MAX_TOKENS + 1, MODE 2, TAYLOR_SHIFT 25, G_SHIFT 33, MULT 0 and
    SHIFT 41 are refused (STATUS bit 2, idle); registers read back; INFO is the build."""
    await start(dut)
    p = params()
    info = await csr(dut, False, INFO)
    assert info == p["DIM"] | p["MAX_TOKENS"] << 8 | 1 << 24, f"INFO {info:#x}"
    good = {TOKENS: 4, MODE: 0, TAYLOR_SHIFT: 8, G_SHIFT: 3, MULT: 100, SHIFT: 10}
    bad = [(TOKENS, 0), (TOKENS, 1), (TOKENS, p["MAX_TOKENS"] + 1), (MODE, 2)]
    bad += [(TAYLOR_SHIFT, 25), (G_SHIFT, 33), (MULT, 0), (MULT, 65536), (SHIFT, 0), (SHIFT, 41)]
    recips = await csr(dut, False, RECIPS)
    for reg, value in bad:
        for r, x in (good | {reg: value}).items():
            await csr(dut, True, r, x)
        await csr(dut, True, CTRL, 1)
        status = await csr(dut, False, STATUS)
        assert status & 0b101 == 0b100, f"reg {reg:#x} = {value}: STATUS {status:#b}"
        assert await csr(dut, False, reg) == value
    assert await csr(dut, False, RECIPS) == recips and await csr(dut, False, BUFFER_BYTES) == 0
