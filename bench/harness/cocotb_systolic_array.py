"""The cocotb leg of bench/rtl_bridge.py: the same systolic-array stimulus driven by a
cocotb test bench (a coroutine per protocol, Python at every clock edge).

Environment: COSIM_BENCH_STIMULUS (the .npy of operand beats, tiles x depth x beat
bytes, int8), COSIM_BENCH_RESULTS (where to write the result tiles, .npy),
COSIM_TB_PARAMS (JSON with ROWS and COLS of the build)."""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly


async def csr_write(dut, addr: int, data: int) -> None:
    await FallingEdge(dut.clk)
    dut.csr_req.value = 1
    dut.csr_we.value = 1
    dut.csr_addr.value = addr
    dut.csr_wdata.value = data
    while True:
        await ReadOnly()
        if dut.csr_ack.value == 1:
            break
        await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.csr_req.value = 0


async def send(dut, beats: list[int]) -> None:
    i = 0
    while i < len(beats):
        await FallingEdge(dut.clk)
        dut.in_valid.value = 1
        dut.in_data.value = beats[i]
        await ReadOnly()
        if dut.in_ready.value == 1:
            i += 1
    await FallingEdge(dut.clk)
    dut.in_valid.value = 0


async def receive(dut, n: int, cols: int) -> np.ndarray:
    rows = []
    await FallingEdge(dut.clk)
    dut.out_ready.value = 1
    while len(rows) < n:
        await ReadOnly()
        if dut.out_valid.value == 1:
            rows.append(dut.out_data.value.to_unsigned().to_bytes(4 * cols, "little"))
        await FallingEdge(dut.clk)
    dut.out_ready.value = 0
    return np.frombuffer(b"".join(rows), dtype="<i4").reshape(n, cols)


@cocotb.test()
async def stimulus(dut):
    stim = np.load(os.environ["COSIM_BENCH_STIMULUS"])
    tiles, depth, beat_bytes = stim.shape
    params = json.loads(os.environ["COSIM_TB_PARAMS"])
    rows, cols = params["ROWS"], params["COLS"]
    assert beat_bytes == rows + cols
    Clock(dut.clk, 1, unit="ns").start()
    dut.rst_n.value = 0
    for name in ("csr_req", "in_valid", "out_ready"):
        getattr(dut, name).value = 0
    for _ in range(4):
        await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    results = []
    for t in range(tiles):
        beats = [int.from_bytes(stim[t, k].tobytes(), "little") for k in range(depth)]
        await csr_write(dut, 0x08, depth)
        await csr_write(dut, 0x00, 1)
        await send(dut, beats)
        results.append(await receive(dut, rows, cols))
    np.save(os.environ["COSIM_BENCH_RESULTS"], np.stack(results))
