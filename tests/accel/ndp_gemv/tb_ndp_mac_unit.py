"""cocotb unit test of rtl/ndp_gemv/ndp_mac_unit.sv, the near-bank MAC unit, against the numpy
twin of the near-data units' datapath (cosim.system.ndp_layout.reference_gemv, which follows
tlm/ndp/unit_ops.h bit for bit).

The pytest wrapper writes the jobs (dtype, N, x, the rows of A) and their expected
results to COSIM_TB_VECTORS: random int8 and fp16 matrices, N that is not a multiple of
the lanes, a single column, the largest N, extreme values (-128, fp16 max, subnormals,
signed zeros) and rows holding infinities and NaNs (compared by class). The bench sends
x, then the rows (each padded to whole bursts with garbage in the padding lanes, which
the unit must ignore), and reads one result per row, with random gaps on the input and
random back-pressure on the output in one test.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from tb_common import csr, params, receive, rng, send, start

CTRL, STATUS, CYCLES, INFO, DTYPE, N, ROWS = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18
CODES = {"int8": 1, "fp16": 3}


def jobs() -> list[dict]:
    with np.load(os.environ["COSIM_TB_VECTORS"]) as f:
        count = int(f["count"])
        return [
            {
                "dtype": str(f[f"dtype{k}"]),
                "n": int(f[f"n{k}"]),
                "x": f[f"x{k}"],
                "a": f[f"a{k}"],
                "want": f[f"want{k}"],
            }
            for k in range(count)
        ]


def beats(values: np.ndarray, burst: int, gen: np.random.Generator) -> list[int]:
    """A row (or x) as bursts: little-endian bytes, the last burst padded with random
    garbage (the unit must not use padding lanes)."""
    raw = np.ascontiguousarray(values).view(np.uint8)
    pad = -len(raw) % burst
    raw = np.concatenate([raw, gen.integers(0, 256, pad, dtype=np.uint8)])
    return [
        int.from_bytes(raw[i : i + burst].tobytes(), "little") for i in range(0, len(raw), burst)
    ]


def is_nan32(w: int) -> bool:
    return (w >> 23) & 0xFF == 0xFF and w & 0x7FFFFF != 0


async def run_job(dut, job: dict, gen, valid_prob: float = 1.0, ready_prob: float = 1.0) -> None:
    burst = params().get("BURST_BYTES", 32)
    await csr(dut, True, DTYPE, CODES[job["dtype"]])
    await csr(dut, True, N, job["n"])
    await csr(dut, True, CTRL, 3)  # load x
    await send(dut, beats(job["x"], burst, gen), gen, valid_prob)
    assert await csr(dut, False, STATUS) & 0b111 == 0b010, "x load should be done"
    rows = job["a"].shape[0]
    await csr(dut, True, ROWS, rows)
    await csr(dut, True, CTRL, 1)
    stream = [b for row in job["a"] for b in beats(row, burst, gen)]
    sender = cocotb.start_soon(send(dut, stream, gen, valid_prob))
    out = await receive(dut, rows, gen, ready_prob)
    await sender
    status = await csr(dut, False, STATUS)
    assert status & 0b111 == 0b010, f"STATUS after the job: {status:#b}, expected done"
    want = job["want"].view(np.uint32).tolist()
    for i, (g, w) in enumerate(zip(out, want, strict=True)):
        same = g == w or (job["dtype"] == "fp16" and is_nan32(g) and is_nan32(w))
        value = np.uint32(w).view(np.float32 if job["dtype"] == "fp16" else np.int32)
        assert same, (
            f"{job['dtype']} N={job['n']} row {i}: got {g:#010x}, expected {w:#010x} ({value})"
        )


@cocotb.test()
async def gemv_jobs(dut):
    await start(dut)
    gen = rng()
    for job in jobs():
        await run_job(dut, job, gen)


@cocotb.test()
async def gemv_with_gaps_and_back_pressure(dut):
    await start(dut)
    gen = rng()
    for job in jobs()[:4]:
        await run_job(dut, job, gen, valid_prob=0.5, ready_prob=0.3)


@cocotb.test()
async def refused_jobs_and_registers(dut):
    """A bad DTYPE, N = 0 and an x larger than the buffer are refused at once (STATUS
    bit 2, done); a zero-row job finishes at once; INFO describes the build."""
    await start(dut)
    p = params()
    burst, xbytes = p.get("BURST_BYTES", 32), p.get("XBYTES", 2048)
    info = await csr(dut, False, INFO)
    levels = burst.bit_length() - 1
    assert info & 0xFF == burst and (info >> 8) & 0xFF == 1 + levels, f"INFO {info:#x}"
    assert (info >> 16) & 0xFF == min(255, xbytes // burst) and info >> 24 == 1
    for dtype, n in ((2, 8), (1, 0), (1, xbytes + 1), (3, xbytes // 2 + 1)):
        await csr(dut, True, DTYPE, dtype)
        await csr(dut, True, N, n)
        await csr(dut, True, CTRL, 1)
        status = await csr(dut, False, STATUS)
        assert status == 0b110, f"DTYPE {dtype} N {n}: STATUS {status:#b}, expected refused+done"
    await csr(dut, True, DTYPE, 1)
    await csr(dut, True, N, 5)
    await csr(dut, True, ROWS, 0)
    await csr(dut, True, CTRL, 1)
    assert await csr(dut, False, STATUS) == 0b010
    assert await csr(dut, False, N) == 5 and await csr(dut, False, ROWS) == 0


@cocotb.test()
async def latency_matches_info(dut):
    """A one-beat row's result is valid INFO.LATENCY cycles after the edge that took the
    beat, and back-to-back rows come out one per cycle (initiation interval 1)."""
    from cocotb.triggers import FallingEdge, ReadOnly

    await start(dut)
    burst = params().get("BURST_BYTES", 32)
    latency = (await csr(dut, False, INFO) >> 8) & 0xFF
    await csr(dut, True, DTYPE, 1)
    await csr(dut, True, N, 4)
    await csr(dut, True, CTRL, 3)  # load x
    await send(dut, [0x01010101])  # x = 1, 1, 1, 1
    rows = 6
    await csr(dut, True, ROWS, rows)
    await csr(dut, True, CTRL, 1)
    dut.out_ready.value = 1
    taken: list[int] = []
    seen: list[int] = []
    for cycle in range(200):
        await FallingEdge(dut.clk)
        dut.in_valid.value = int(len(taken) < rows)
        dut.in_data.value = (len(taken) + 1) * 0x01010101 & ((1 << (8 * burst)) - 1)
        await ReadOnly()
        if dut.in_valid.value == 1 and dut.in_ready.value == 1:
            taken.append(cycle)
        if dut.out_valid.value == 1:
            seen.append(cycle)
        if len(seen) == rows:
            break
    await FallingEdge(dut.clk)
    dut.in_valid.value = 0
    dut.out_ready.value = 0
    assert taken == list(range(taken[0], taken[0] + rows)), f"beats taken at {taken}"
    # a beat seen ready in cycle c is taken at the rising edge that ends cycle c; values
    # seen in cycle c' are those after the edge that ends cycle c' - 1
    assert seen[0] == taken[0] + latency + 1, f"first result at {seen[0]}, beat at {taken[0]}"
    assert seen == list(range(seen[0], seen[0] + rows)), f"results at {seen}"
