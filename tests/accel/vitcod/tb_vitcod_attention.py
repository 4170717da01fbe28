"""cocotb bench of rtl/vitcod/vitcod_attention.sv (ViTCoD's split PE array) against its
numpy twin: the pytest wrapper writes jobs (keys, queries, sorted pairs, GLOBAL, the PE
split) with their scores and each engine's cycles (cosim.accel.vitcod.engine) to
COSIM_TB_VECTORS; the bench sends them with and without gaps and back-pressure and
checks the scores, the counters, refusals and INFO."""

from __future__ import annotations

import os

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C
TOKENS, GLOBAL, SPARSE, DENSE_PES = 0x10, 0x14, 0x18, 0x1C
DENSE_SCORES, SPARSE_SCORES, DENSE_CYCLES, SPARSE_CYCLES = 0x40, 0x44, 0x48, 0x4C


def jobs() -> list[dict]:
    with np.load(os.environ["COSIM_TB_VECTORS"]) as f:
        return [
            {k: f[f"{k}{j}"] for k in ("q", "k", "pairs", "dense", "sparse", "cfg")}
            for j in range(int(f["count"]))
        ]


def beats(raw: np.ndarray, d: int) -> list[int]:
    raw = np.ascontiguousarray(raw).view(np.uint8).reshape(-1)
    raw = np.concatenate([raw, np.zeros(-len(raw) % d, np.uint8)])
    return [int.from_bytes(raw[i : i + d].tobytes(), "little") for i in range(0, len(raw), d)]


def words(out: list[int], d: int) -> np.ndarray:
    raw = b"".join(b.to_bytes(d, "little") for b in out)
    return np.frombuffer(raw, "<i4")


async def run_job(dut, job: dict, gen, valid_prob: float = 1.0, ready_prob: float = 1.0) -> None:
    d = params().get("D", 64)
    t, g, s, dp, dc, sc = (int(v) for v in job["cfg"])
    for reg, v in ((TOKENS, t), (GLOBAL, g), (SPARSE, s), (DENSE_PES, dp)):
        await csr(dut, True, reg, v)
    await csr(dut, True, CTRL, 3)  # start, clear counters
    stream = beats(job["k"], d) + beats(job["q"], d) + beats(job["pairs"], d)
    sender = cocotb.start_soon(send(dut, stream, gen, valid_prob))
    nd, ns = -(-t * g // (d // 4)), -(-s // (d // 4))
    out = words(await receive(dut, nd + ns, gen, ready_prob), d)
    await sender
    assert await csr(dut, False, STATUS) & 0b111 == 0b010
    w = d // 4
    np.testing.assert_array_equal(
        out[: t * g], job["dense"], err_msg=f"dense scores, cfg {job['cfg']}"
    )
    np.testing.assert_array_equal(out[nd * w : nd * w + s], job["sparse"], err_msg="sparse scores")
    got = [
        await csr(dut, False, a) for a in (DENSE_SCORES, SPARSE_SCORES, DENSE_CYCLES, SPARSE_CYCLES)
    ]
    assert got == [t * g, s, dc, sc], f"counters {got}, expected {[t * g, s, dc, sc]}"


@cocotb.test()
async def split_jobs(dut):
    await start(dut)
    gen = rng()
    for job in jobs():
        await run_job(dut, job, gen)


@cocotb.test()
async def split_jobs_with_gaps_and_back_pressure(dut):
    await start(dut)
    gen = rng()
    for job in jobs()[:3]:
        await run_job(dut, job, gen, valid_prob=0.5, ready_prob=0.3)


@cocotb.test()
async def refused_jobs_and_info(dut):
    """Out-of-range configurations are refused (STATUS error + done, not busy); INFO
    describes the build; registers read back."""
    await start(dut)
    p = params()
    d, pes, tmax, smax = p["D"], p["PES"], p["MAX_TOKENS"], p["MAX_SPARSE"]
    info = await csr(dut, False, INFO)
    assert info == (pes | tmax << 8 | (d // 16) << 20 | 1 << 24), f"INFO {info:#x}"
    for t, g, s, dp in (
        (0, 0, 1, 0),
        (tmax + 1, 1, 0, 1),
        (4, 5, 0, 1),
        (4, 0, smax + 1, 0),
        (4, 0, 0, 0),
        (4, 2, 0, 0),
        (4, 0, 3, pes),
        (4, 1, 1, pes + 1),
    ):
        for reg, v in ((TOKENS, t), (GLOBAL, g), (SPARSE, s), (DENSE_PES, dp)):
            await csr(dut, True, reg, v)
        await csr(dut, True, CTRL, 1)
        status = await csr(dut, False, STATUS)
        assert status & 0b101 == 0b100, f"cfg {(t, g, s, dp)}: STATUS {status:#b}, expected refused"
    assert [await csr(dut, False, a) for a in (TOKENS, GLOBAL, SPARSE, DENSE_PES)] == [
        4,
        1,
        1,
        pes + 1,
    ]
