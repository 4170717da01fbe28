"""cocotb unit test of rtl/smartdeal/smartdeal_rebuild.sv (MAX_ROWS, MAX_BEATS per
COSIM_TB_PARAMS): random W = Ce x B filter images rebuilt against the numpy rebuild
(cosim.accel.smartdeal.format.rebuild), every shift, empty and full masks; the event
counters; the cycle count at full rate; random gaps and back-pressure; refused jobs.
"""

from __future__ import annotations

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start, unpack

from cosim.accel.smartdeal import format as fmt
from cosim.accel.smartdeal.engine import REBUILD

R = REBUILD.register_map()


def random_filters(gen, n: int, rows: int, kept: int):
    out = []
    for _ in range(n):
        mask = np.zeros(rows, bool)
        mask[gen.choice(rows, kept, replace=False)] = True
        codes = gen.integers(0, 16, (rows, 3)).astype(np.uint8)
        codes[~mask] = 0
        basis = gen.integers(-128, 128, (3, 3)).astype(np.int8)
        out.append((codes, mask, basis))
    return out


def image_beats(filters) -> list[int]:
    raw = np.concatenate([fmt.filter_image(c, m, b) for c, m, b in filters]).tobytes()
    return [int.from_bytes(raw[i : i + 6], "little") for i in range(0, len(raw), 6)]


async def job(dut, filters, rows, shift, gen=None, valid_prob=1.0, ready_prob=1.0):
    await csr(dut, True, R["CTRL"], 2)
    await csr(dut, True, R["ROWS"], rows)
    await csr(dut, True, R["FILTERS"], len(filters))
    await csr(dut, True, R["SHIFT"], shift)
    beats = image_beats(filters)
    sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
    # the receiver too runs from before the start, so the results leave when they are ready
    receiver = cocotb.start_soon(receive(dut, rows * len(filters), gen, ready_prob))
    await csr(dut, True, R["CTRL"], 1)
    out = await receiver
    await sender
    assert await csr(dut, False, R["STATUS"]) == 0b10
    got = np.array([unpack(v, 8, 3) for v in out], np.int64).reshape(len(filters), rows, 3)
    want = np.stack([fmt.rebuild(c, b, shift) for c, _, b in filters])
    assert np.array_equal(got, want), f"rebuilt rows differ:\n{got}\nexpected\n{want}"
    counters = [await csr(dut, False, R[c]) for c in REBUILD.counters]
    stored = sum(int(m.sum()) for _, m, _ in filters)
    terms = sum(int(np.count_nonzero(c[m] & 7)) for c, m, _ in filters)
    assert counters == [rows * len(filters), stored, terms, len(beats), len(filters)], counters
    return await csr(dut, False, R["CYCLES"]), len(beats)


@cocotb.test()
async def random_filters_every_shift(dut):
    await start(dut)
    gen = rng()
    rows = min(params()["MAX_ROWS"], 48)
    for shift in range(8):
        kept = int(gen.integers(0, rows + 1))
        await job(dut, random_filters(gen, 2, rows, kept), rows, shift)


@cocotb.test()
async def full_rate_cycles_and_masks(dut):
    await start(dut)
    gen = rng()
    rows = params()["MAX_ROWS"]
    for kept in (0, rows, 5):
        filters = random_filters(gen, 1, rows, kept)
        cycles, nbeats = await job(dut, filters, rows, 6)
        # the rows trail the beats: the last row leaves one edge after the later of its
        # needs, so a job at full rate takes at least max(beats, rows) + 1 cycles
        assert cycles >= max(nbeats, rows), (cycles, nbeats, rows)
    # rows past a mask beat's 48 bits and a partial last mask beat
    await job(dut, random_filters(gen, 3, 50, 20), 50, 6)


@cocotb.test()
async def gaps_back_pressure_and_refusals(dut):
    await start(dut)
    gen = rng()
    await job(dut, random_filters(gen, 3, 12, 7), 12, 6, gen, valid_prob=0.4, ready_prob=0.3)
    extremes = [(np.full((6, 3), 0xF, np.uint8), np.ones(6, bool), np.full((3, 3), -128, np.int8))]
    await job(dut, extremes, 6, 0)
    await job(dut, extremes, 6, 7)
    info = await csr(dut, False, R["INFO"])
    assert info == params()["MAX_ROWS"] | params()["MAX_BEATS"] << 12 | 1 << 24
    for rows, filters, shift in (
        (0, 1, 0),
        (params()["MAX_ROWS"] + 1, 1, 0),
        (3, 0, 0),
        (3, 1, 8),
        (params()["MAX_ROWS"], params()["MAX_BEATS"], 0),
    ):
        await csr(dut, True, R["ROWS"], rows)
        await csr(dut, True, R["FILTERS"], filters)
        await csr(dut, True, R["SHIFT"], shift)
        await csr(dut, True, R["CTRL"], 1)
        assert await csr(dut, False, R["STATUS"]) & 0b101 == 0b100, (rows, filters, shift)
