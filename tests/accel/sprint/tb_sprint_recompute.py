"""cocotb unit test of rtl/sprint/sprint_recompute.sv (SPRINT's recompute + online softmax)
against the numpy twin (cosim.accel.online_softmax, bit for bit).

The pytest wrapper writes the queries and their expected outputs to COSIM_TB_VECTORS:
random q, K, V with random pair counts, a query without pairs, equal scores (no
rescale), rising scores (a rescale at every pair), extremes (-128 everywhere), and one
query of the maximum 1024 pairs. The bench sends each query's beats (with random gaps on
the input and random back-pressure on the output in one test), reads its output and
checks the counters; another test sends beats out of order and a 1025th pair.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

CTRL, STATUS, CYCLES, INFO, MULT, SHIFT, NQ, PAIRS, RESCALES, EMPTY = (
    0x00,
    0x04,
    0x08,
    0x0C,
    0x10,
    0x14,
    0x18,
    0x1C,
    0x20,
    0x24,
)
QUERY, KEY, VALUE, END = 1, 2, 3, 4


def vectors() -> dict[str, np.ndarray]:
    with np.load(os.environ["COSIM_TB_VECTORS"]) as f:
        return {k: f[k] for k in f.files}


def beat(row, tag: int, d: int) -> int:
    data = np.zeros(d + 1, np.uint8)
    if row is not None:
        data[:d] = np.asarray(row, np.int8).view(np.uint8)
    data[d] = tag
    return int.from_bytes(data.tobytes(), "little")


def query_beats(q, k, v, d: int) -> list[int]:
    out = [beat(q, QUERY, d)]
    for kr, vr in zip(k, v, strict=True):
        out += [beat(kr, KEY, d), beat(vr, VALUE, d)]
    return [*out, beat(None, END, d)]


def outputs(word: int, d: int) -> np.ndarray:
    raw = word.to_bytes(2 * d, "little")
    return np.frombuffer(raw, "<i2").astype(np.int16)


async def run_queries(dut, v, gen, valid_prob=1.0, ready_prob=1.0, limit=None) -> None:
    d = params()["D"]
    count = int(v["count"]) if limit is None else limit
    await csr(dut, True, MULT, int(v["mult"]))
    await csr(dut, True, SHIFT, int(v["shift"]))
    await csr(dut, True, NQ, count)
    await csr(dut, True, CTRL, 1)
    pairs = rescales = empty = 0
    for i in range(count):
        q, k, vv = v[f"q{i}"], v[f"k{i}"], v[f"v{i}"]
        await send(dut, query_beats(q, k, vv, d), gen, valid_prob)
        (word,) = await receive(dut, 1, gen, ready_prob, limit=200_000)
        got, want = outputs(word, d), v[f"want{i}"]
        assert np.array_equal(got, want), f"query {i} ({len(k)} pairs): got {got}, expected {want}"
        pairs += len(k)
        rescales += int(v[f"rescales{i}"])
        empty += len(k) == 0
    status = await csr(dut, False, STATUS)
    assert status == 0b010, f"STATUS {status:#b} after the job"
    assert await csr(dut, False, PAIRS) == pairs
    assert await csr(dut, False, RESCALES) == rescales
    assert await csr(dut, False, EMPTY) == empty


@cocotb.test()
async def queries(dut):
    await start(dut)
    await run_queries(dut, vectors(), rng())


@cocotb.test()
async def queries_with_gaps_and_back_pressure(dut):
    await start(dut)
    await run_queries(dut, vectors(), rng(), valid_prob=0.5, ready_prob=0.3, limit=4)


@cocotb.test()
async def beats_out_of_order_are_dropped(dut):
    """VALUE without KEY, END inside a pair, QUERY inside a query and an unknown tag set
    STATUS bit 2 and are dropped: the query still computes its real pairs."""
    await start(dut)
    v = vectors()
    d = params()["D"]
    await csr(dut, True, MULT, int(v["mult"]))
    await csr(dut, True, SHIFT, int(v["shift"]))
    await csr(dut, True, NQ, 1)
    await csr(dut, True, CTRL, 1)
    q, k, vv = v["q0"], v["k0"], v["v0"]
    stray = [beat(vv[0], VALUE, d), beat(q, QUERY, d), beat(None, 9, d)]
    beats = [beat(q, QUERY, d), *stray]
    for kr, vr in zip(k, vv, strict=True):
        beats += [beat(kr, KEY, d), beat(None, END, d), beat(vr, VALUE, d)]
    beats.append(beat(None, END, d))
    await send(dut, beats)
    (word,) = await receive(dut, 1)
    assert np.array_equal(outputs(word, d), v["want0"])
    assert await csr(dut, False, STATUS) == 0b110


@cocotb.test()
async def registers(dut):
    """INFO describes the build; a job of no queries finishes; MULT/SHIFT/NQ read back."""
    await start(dut)
    p = params()
    info = await csr(dut, False, INFO)
    assert info == p["D"] | p["LANES"] << 8 | 1 << 24, f"INFO {info:#x}"
    await csr(dut, True, NQ, 0)
    await csr(dut, True, CTRL, 1)
    assert await csr(dut, False, STATUS) == 0b010
    await csr(dut, True, MULT, 0x1234)
    await csr(dut, True, SHIFT, 33)
    assert await csr(dut, False, MULT) == 0x1234 and await csr(dut, False, SHIFT) == 33
