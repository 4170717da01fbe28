"""cocotb bench of rtl/vitcod/vitcod_codec.sv (ViTCoD's Q/K encoder/decoder layer)
against its numpy twin (cosim.accel.vitcod.engine.code_rows): weight loads, coding jobs
with random shifts and saturation, gaps and back-pressure, the ROWS counter, refusals."""

from __future__ import annotations

import os

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

CTRL, STATUS, CYCLES, INFO, COUNT, SHIFT, ROWS = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x40


def jobs() -> list[dict]:
    with np.load(os.environ["COSIM_TB_VECTORS"]) as f:
        return [{k: f[f"{k}{j}"] for k in ("w", "x", "y", "shift")} for j in range(int(f["count"]))]


def rows(a: np.ndarray) -> list[int]:
    return [int.from_bytes(r.tobytes(), "little") for r in np.ascontiguousarray(a).view(np.uint8)]


async def run_job(dut, job: dict, gen, valid_prob: float = 1.0, ready_prob: float = 1.0) -> None:
    dout = params().get("DOUT", 32)
    await csr(dut, True, CTRL, 5)  # load weights
    await send(dut, rows(job["w"]), gen, valid_prob)
    assert await csr(dut, False, STATUS) & 0b111 == 0b010, "load should be done"
    n = len(job["x"])
    await csr(dut, True, COUNT, n)
    await csr(dut, True, SHIFT, int(job["shift"]))
    await csr(dut, True, CTRL, 3)  # start, clear ROWS
    sender = cocotb.start_soon(send(dut, rows(job["x"]), gen, valid_prob))
    out = await receive(dut, n, gen, ready_prob)
    await sender
    got = np.frombuffer(b"".join(v.to_bytes(dout, "little") for v in out), np.int8).reshape(n, dout)
    np.testing.assert_array_equal(got, job["y"], err_msg=f"shift {int(job['shift'])}")
    assert await csr(dut, False, ROWS) == n
    assert await csr(dut, False, STATUS) & 0b111 == 0b010


@cocotb.test()
async def coding_jobs(dut):
    await start(dut)
    gen = rng()
    for job in jobs():
        await run_job(dut, job, gen)


@cocotb.test()
async def coding_with_gaps_and_back_pressure(dut):
    await start(dut)
    gen = rng()
    for job in jobs()[:2]:
        await run_job(dut, job, gen, valid_prob=0.5, ready_prob=0.3)


@cocotb.test()
async def refused_jobs_and_info(dut):
    await start(dut)
    p = params()
    din, dout, rmax = p["DIN"], p["DOUT"], p["MAX_ROWS"]
    assert await csr(dut, False, INFO) == din | dout << 8 | (rmax // 8) << 16 | 1 << 24
    for count, shift in ((0, 0), (rmax + 1, 0), (1, 16)):
        await csr(dut, True, COUNT, count)
        await csr(dut, True, SHIFT, shift)
        await csr(dut, True, CTRL, 1)
        assert await csr(dut, False, STATUS) & 0b101 == 0b100, f"COUNT {count} SHIFT {shift}"
    assert await csr(dut, False, COUNT) == 1 and await csr(dut, False, SHIFT) == 16
