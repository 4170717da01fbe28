"""cocotb bench of rtl/fabnet/butterfly_engine.sv (build parameters in COSIM_TB_PARAMS)
against the fixed-point numpy model (cosim.accel.fabnet.butterfly): FFT and linear jobs
at every length, saturation, multi-vector jobs with weights kept, random gaps and
back-pressure, the cycle count of a job, the counters and refused configurations."""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

from cosim.accel.fabnet import butterfly as bf
from cosim.accel.fabnet import engine as be

STATUS, CYCLES, INFO = 0x04, 0x08, 0x0C
R = be.REGISTERS


def shape() -> tuple[int, int]:
    p = params()
    return p["UNITS"], p["MAX_N"]


def beats_of(raw: np.ndarray, units: int) -> list[int]:
    b = be.beat_bytes(units)
    return [int.from_bytes(raw[i : i + b].tobytes(), "little") for i in range(0, len(raw), b)]


async def job(dut, weights, vectors, mode, shift, load=True, valid_prob=1.0, ready_prob=1.0):
    """Run one job; returns (re, im) per vector and the CYCLES register."""
    units, _ = shape()
    gen = rng()
    count, n = vectors.shape[0], vectors.shape[1]
    for reg, v in (
        ("LOG_N", bf.log2_exact(n)),
        ("MODE", bf.MODES[mode]),
        ("SHIFT", shift),
        ("COUNT", count),
        ("LOAD", int(load)),
    ):
        await csr(dut, True, R[reg], v)
    await csr(dut, True, 0x00, 1)
    if load:
        await send(dut, beats_of(be.weight_image(weights), units), gen, valid_prob)
    out = []
    b = be.beat_bytes(units)
    for v in vectors:
        raw = be.pack_words(v[:, 0], v[:, 1])
        sender = cocotb.start_soon(send(dut, beats_of(raw, units), gen, valid_prob))
        words = await receive(dut, len(raw) // b, gen, ready_prob)
        await sender
        img = np.frombuffer(b"".join(w.to_bytes(b, "little") for w in words), np.uint8)
        out.append(be.unpack_words(img, n))
    assert await csr(dut, False, STATUS) == 0b010
    return out, await csr(dut, False, CYCLES)


def check(out, weights, vectors, mode, shift):
    for (re, im), v in zip(out, vectors, strict=True):
        wr, wi = bf.run(v[None, :, 0], v[None, :, 1], weights, mode, shift)
        assert np.array_equal(re, wr) and np.array_equal(im, wi), f"{mode} differs from numpy"


@cocotb.test()
async def fft_every_length(dut):
    await start(dut)
    units, max_n = shape()
    gen = rng()
    assert await csr(dut, False, INFO) == units | bf.log2_exact(max_n) << 8 | 1 << 24
    n = 2 * units
    while n <= max_n:
        v = gen.integers(-20000, 20000, (2, n, 2)).astype(np.int16)
        out, _ = await job(dut, bf.twiddles(n), v, "fft", 1)
        check(out, bf.twiddles(n), v, "fft", 1)
        n *= 2


@cocotb.test()
async def linear_saturation_and_kept_weights(dut):
    await start(dut)
    _, max_n = shape()
    gen = rng()
    n = max_n
    w = gen.integers(-32768, 32768, (bf.log2_exact(n), n // 2, 4)).astype(np.int16)
    v = gen.integers(-32768, 32768, (3, n, 2)).astype(np.int16)
    v[0] = 32767  # saturates at once
    out, _ = await job(dut, w, v, "linear", 0)
    check(out, w, v, "linear", 0)
    v2 = gen.integers(-3000, 3000, (2, n, 2)).astype(np.int16)
    out, _ = await job(dut, w, v2, "linear", 3, load=False)  # the weights stay
    check(out, w, v2, "linear", 3)


@cocotb.test()
async def gaps_backpressure_cycles_and_counters(dut):
    await start(dut)
    units, max_n = shape()
    gen = rng()
    n = max_n // 2
    w = bf.twiddles(n)
    v = gen.integers(-9000, 9000, (3, n, 2)).astype(np.int16)
    before = [await csr(dut, False, be.COUNTER_BASE + 4 * i) for i in range(3)]
    out, _ = await job(dut, w, v, "fft", 2, valid_prob=0.6, ready_prob=0.5)
    check(out, w, v, "fft", 2)
    after = [await csr(dut, False, be.COUNTER_BASE + 4 * i) for i in range(3)]
    lg, g = bf.log2_exact(n), be.groups(n, units)
    assert [a - b for a, b in zip(after, before, strict=True)] == [3 * lg * n // 2, 3, lg * g]
    _, cycles = await job(dut, w, v, "fft", 2)  # no gaps: the phases' cycles, plus the
    # bench's turnaround (an edge or two after the start and between vectors)
    assert 0 < cycles - be.job_cycles(n, units, 3, True) <= 2 * (3 + 1)


@cocotb.test()
async def refused_configurations(dut):
    await start(dut)
    units, max_n = shape()
    good = {"LOG_N": bf.log2_exact(max_n), "MODE": 1, "SHIFT": 0, "COUNT": 1, "LOAD": 0}
    bad = [
        ("LOG_N", bf.log2_exact(max_n) + 1),
        ("LOG_N", bf.log2_exact(units)),
        ("MODE", 2),
        ("SHIFT", 16),
        ("COUNT", 0),
        ("COUNT", 65536),
    ]
    for reg, value in bad:
        for r, v in {**good, reg: value}.items():
            await csr(dut, True, R[r], v)
        await csr(dut, True, 0x00, 1)
        assert await csr(dut, False, STATUS) == 0b100, f"{reg} = {value} was not refused"
        assert await csr(dut, False, R[reg]) == value
