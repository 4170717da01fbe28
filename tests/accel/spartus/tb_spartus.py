"""cocotb bench of rtl/spartus/spartus.sv against the fixed-point DeltaLSTM golden
(cosim.accel.spartus.workload.delta_lstm_fixed), vectors from rtl_corners.py: a weight
load, a reset with biases, delta frames (hidden states, counters, and each gapless frame's
cycles against the documented cycle rule; later frames with random input gaps and output
back-pressure), a dense run, and refused configurations."""

from __future__ import annotations

import os

import cocotb
import numpy as np
from tb_common import csr, pack, params, receive, rng, send, start, unpack

CTRL, STATUS, CYCLES, KPL, THRESHOLD, MODE = 0x00, 0x04, 0x08, 0x10, 0x14, 0x18
MACS, WEIGHT_READS, COLUMNS, ENCODED, LUT_LOOKUPS = 0x20, 0x24, 0x28, 0x2C, 0x30


def vectors() -> dict[str, np.ndarray]:
    with np.load(os.environ["COSIM_TB_VECTORS"]) as f:
        return {k: f[k] for k in f.files}


def shape() -> tuple[int, int, int]:
    p = params()
    return p.get("LANES", 16), p.get("INPUTS", 64), p.get("HIDDEN", 128)


async def prepare(dut, v: dict, dense: bool = False) -> None:
    """Load the weights (the balanced image, or the dense int8 one), reset with the biases."""
    lanes, _, hidden = shape()
    await start(dut)
    await csr(dut, True, MODE, 1)
    if dense:
        await csr(dut, True, KPL, 4 * hidden // lanes)
        await csr(dut, True, CTRL, 3)
        await send(dut, [pack(row, 8) for row in v["dense_image"]])
    else:
        await csr(dut, True, KPL, int(v["kpl"]))
        await csr(dut, True, CTRL, 1)
        await send(dut, [pack(row, 16) for row in v["image"]])
    assert await csr(dut, False, STATUS) & 0b111 == 0b010, "weight load should be done"
    await csr(dut, True, MODE, 2)
    await csr(dut, True, CTRL, 1)
    await send(
        dut, [pack(v["bias"][i : i + lanes // 2], 32) for i in range(0, len(v["bias"]), lanes // 2)]
    )
    assert await csr(dut, False, STATUS) & 0b111 == 0b010, "reset should be done"
    await csr(dut, True, THRESHOLD, int(v["threshold"]))
    await csr(dut, True, MODE, 0)


async def frame(dut, x: np.ndarray, flags: int, gen=None, prob: float = 1.0) -> list[int]:
    lanes, _, hidden = shape()
    await csr(dut, True, CTRL, 1 | flags)
    sender = cocotb.start_soon(
        send(dut, [pack(x[i : i + lanes], 16) for i in range(0, len(x), lanes)], gen, prob)
    )
    out = await receive(dut, hidden // lanes, gen, prob)
    await sender
    assert await csr(dut, False, STATUS) & 0b111 == 0b010, "the frame should be done"
    return [h for beat in out for h in unpack(beat, 16, lanes)]


@cocotb.test()
async def delta_frames(dut):
    v, gen = vectors(), rng()
    lanes, inputs, hidden = shape()
    await prepare(dut, v)
    frames = len(v["x"])
    for t in range(frames):
        gaps = t >= 3
        h = await frame(dut, v["x"][t], 0, gen if gaps else None, 0.6 if gaps else 1.0)
        assert h == v["h"][t].tolist(), f"frame {t}: hidden state differs from the golden"
        cycles = await csr(dut, False, CYCLES)
        if not gaps:  # the bench's input starts a few cycles after the start write
            assert 0 <= cycles - int(v["cycles"][t]) <= 4, f"frame {t}: {cycles} cycles"
    columns = int(v["columns"])
    assert await csr(dut, False, COLUMNS) == columns
    assert await csr(dut, False, WEIGHT_READS) == columns * int(v["kpl"])
    assert await csr(dut, False, MACS) == columns * int(v["kpl"]) * lanes
    assert await csr(dut, False, ENCODED) == frames * (inputs + hidden)
    assert await csr(dut, False, LUT_LOOKUPS) == frames * 5 * hidden
    await csr(dut, True, CTRL, 4)  # clears the counters
    assert await csr(dut, False, MACS) == 0


@cocotb.test()
async def dense_frames_and_refusals(dut):
    v = vectors()
    await prepare(dut, v, dense=True)
    for t in range(len(v["h_dense"])):
        assert await frame(dut, v["x"][t], 2) == v["h_dense"][t].tolist(), f"dense frame {t}"
    for reg, bad in ((KPL, 0), (KPL, 10_000), (THRESHOLD, 40_000), (MODE, 3)):
        good = await csr(dut, False, reg)
        await csr(dut, True, reg, bad)
        await csr(dut, True, CTRL, 1)
        assert await csr(dut, False, STATUS) & 0b101 == 0b100, f"register {reg:#x} = {bad} accepted"
        await csr(dut, True, reg, good)
    await csr(dut, True, MODE, 1)
    await csr(dut, True, KPL, 3)
    await csr(dut, True, CTRL, 3)  # a dense image needs an even KPL
    assert await csr(dut, False, STATUS) & 0b101 == 0b100, "a dense load with KPL 3 accepted"
