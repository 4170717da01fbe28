"""cocotb unit test of tests/rtl/stream_add.sv against a numpy/int golden model."""

from __future__ import annotations

import cocotb
from tb_common import params, receive, rng, send, start


def golden(beats: list[int], width: int, inc: int) -> list[int]:
    return [(b + inc) % (1 << width) for b in beats]


async def _run(
    dut, beats: list[int], valid_prob: float, ready_prob: float
) -> tuple[list[int], int]:
    p = params()
    gen = rng()
    sender = cocotb.start_soon(send(dut, beats, gen, valid_prob))
    out = await receive(dut, len(beats), gen, ready_prob)
    stalls = await sender
    assert out == golden(beats, p["WIDTH"], p["INC"]), (
        "stream_add output differs from (in + INC) mod 2**WIDTH"
    )
    return out, stalls


@cocotb.test()
async def random_beats_with_back_pressure(dut):
    """Random beats of any width, random gaps on both sides; the LFSR stalls in_ready."""
    await start(dut)
    p = params()
    gen = rng()
    beats = [
        int.from_bytes(gen.bytes((p["WIDTH"] + 7) // 8), "little") % (1 << p["WIDTH"])
        for _ in range(200)
    ]
    _, stalls = await _run(dut, beats, 0.8, 0.6)
    if p["STALL_MASK"]:
        assert stalls > 0, "STALL_MASK is set but in_ready never dropped while a beat was offered"


@cocotb.test()
async def edge_values(dut):
    """Zero and all-ones beats (all-ones wraps to INC-1), back to back at full rate."""
    await start(dut)
    p = params()
    ones = (1 << p["WIDTH"]) - 1
    await _run(dut, [0, ones, 0, ones, ones, 0], 1.0, 1.0)


@cocotb.test()
async def full_rate_without_stalls(dut):
    """With ready always high downstream, one beat per cycle apart from input stalls."""
    await start(dut)
    beats = list(range(64))
    await _run(dut, beats, 1.0, 1.0)
