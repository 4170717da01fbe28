"""cocotb unit test of rtl/sprint/sprint_fetch_filter.sv (SPRINT's fetch filter) against its
model (cosim.accel.sprint.engines.FetchFilterModel, step for step).

The pytest wrapper writes a sequence of masks and the expected entries to
COSIM_TB_VECTORS: overlapping random masks (hits), KEYS that is not a multiple of 64
with stray bits above it, an empty mask, an all-ones mask longer than the buffer
(batches, evictions, pins), and a reset in the middle. The bench reads the entries
(with random back-pressure in one test) and checks the counters.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from tb_common import csr, receive, rng, send, start

CTRL, STATUS, CYCLES, INFO, KEYS, HITS, MISSES, ENTRIES, SEARCH = (
    0x00,
    0x04,
    0x08,
    0x0C,
    0x10,
    0x14,
    0x18,
    0x1C,
    0x20,
)


def vectors() -> dict[str, np.ndarray]:
    with np.load(os.environ["COSIM_TB_VECTORS"]) as f:
        return {k: f[k] for k in f.files}


async def run(dut, gen, ready_prob: float = 1.0) -> None:
    v = vectors()
    await csr(dut, True, CTRL, 3)  # reset
    assert await csr(dut, False, STATUS) == 0b010
    for i in range(int(v["count"])):
        if bool(v[f"reset{i}"]):
            await csr(dut, True, CTRL, 3)  # reset
            assert await csr(dut, False, STATUS) == 0b010
        keys = int(v[f"keys{i}"])
        words = v[f"mask{i}"].tolist()
        want = v[f"entries{i}"].tolist()
        await csr(dut, True, KEYS, keys)
        await csr(dut, True, CTRL, 1)
        await send(dut, words)
        got = await receive(dut, len(want), gen, ready_prob) if want else []
        for _ in range(200):
            status = await csr(dut, False, STATUS)
            if status == 0b010:
                break
        assert status == 0b010, f"query {i}: STATUS {status:#b}"
        if got != want:
            first = next(
                (j for j, (g, w) in enumerate(zip(got, want, strict=False)) if g != w),
                min(len(got), len(want)),
            )
            raise AssertionError(f"query {i}: entries differ from entry {first} on")
        assert await csr(dut, False, ENTRIES) == len(want)
        counters = [await csr(dut, False, a) for a in (HITS, MISSES, SEARCH)]
        assert counters == v[f"counters{i}"].tolist(), f"query {i}: counters {counters}"


@cocotb.test()
async def mask_sequence(dut):
    await start(dut)
    await run(dut, rng())


@cocotb.test()
async def mask_sequence_with_back_pressure(dut):
    await start(dut)
    await run(dut, rng(), ready_prob=0.4)


@cocotb.test()
async def registers(dut):
    await start(dut)
    v = vectors()
    info = await csr(dut, False, INFO)
    assert info == (int(v["slots"]) - 1) | (int(v["max_keys"]) // 64) << 8 | 1 << 24, hex(info)
    await csr(dut, True, KEYS, 0)
    await csr(dut, True, CTRL, 1)
    assert await csr(dut, False, STATUS) == 0b010
