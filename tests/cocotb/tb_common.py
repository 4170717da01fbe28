"""Shared pieces of the cocotb test benches of the RTL blocks (run inside the simulator).

Every bench drives inputs just after a falling clock edge and samples handshakes in the
ReadOnly phase before the next rising edge, so a transfer is seen exactly at the edge
where valid and ready are both high. Parameters of the build under test come in the
environment variable COSIM_TB_PARAMS (JSON), set by the pytest wrapper.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

CLOCK_NS = 10


def params() -> dict[str, Any]:
    return json.loads(os.environ.get("COSIM_TB_PARAMS", "{}"))


def rng() -> np.random.Generator:
    return np.random.default_rng(int(os.environ.get("COSIM_TB_SEED", "1")))


async def start(dut: Any, reset_cycles: int = 4) -> None:
    """Start the clock and hold rst_n low for `reset_cycles` rising edges."""
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.rst_n.value = 0
    for name in ("csr_req", "in_valid", "out_ready", "mem_req_ready", "mem_rsp_valid"):
        if hasattr(dut, name):
            getattr(dut, name).value = 0
    for _ in range(reset_cycles):
        await FallingEdge(dut.clk)
    dut.rst_n.value = 1


async def csr(dut: Any, write: bool, addr: int, data: int = 0) -> int:
    """One req/ack register access; returns rdata of a read."""
    await FallingEdge(dut.clk)
    dut.csr_req.value = 1
    dut.csr_we.value = int(write)
    dut.csr_addr.value = addr
    dut.csr_wdata.value = data
    for _ in range(1000):
        await ReadOnly()
        if dut.csr_ack.value == 1:
            rdata = dut.csr_rdata.value.to_unsigned()
            break
        await FallingEdge(dut.clk)
    else:
        raise AssertionError(f"csr_ack never came for {'write' if write else 'read'} at {addr:#x}")
    await FallingEdge(dut.clk)
    dut.csr_req.value = 0
    return rdata


async def send(
    dut: Any,
    beats: Sequence[int],
    gen: np.random.Generator | None = None,
    valid_prob: float = 1.0,
    prefix: str = "in",
) -> int:
    """Offer `beats` on <prefix>_valid/_ready/_data (with random gaps when valid_prob < 1).
    Returns the number of cycles valid was high but ready low (back-pressure seen)."""
    valid, ready, data = (getattr(dut, f"{prefix}_{s}") for s in ("valid", "ready", "data"))
    i = stalls = 0
    while i < len(beats):
        await FallingEdge(dut.clk)
        offer = gen is None or gen.random() < valid_prob
        valid.value = int(offer)
        data.value = beats[i]
        await ReadOnly()
        if offer and ready.value == 1:
            i += 1
        elif offer:
            stalls += 1
    await FallingEdge(dut.clk)
    valid.value = 0
    return stalls


async def receive(
    dut: Any,
    n: int,
    gen: np.random.Generator | None = None,
    ready_prob: float = 1.0,
    prefix: str = "out",
    limit: int = 100_000,
) -> list[int]:
    """Take `n` beats from <prefix>_valid/_ready/_data, dropping ready at random."""
    valid, ready, data = (getattr(dut, f"{prefix}_{s}") for s in ("valid", "ready", "data"))
    out: list[int] = []
    for _ in range(limit):
        if len(out) == n:
            break
        await FallingEdge(dut.clk)
        take = gen is None or gen.random() < ready_prob
        ready.value = int(take)
        await ReadOnly()
        if take and valid.value == 1:
            out.append(data.value.to_unsigned())
    else:
        raise AssertionError(f"only {len(out)} of {n} beats came out in {limit} cycles")
    await FallingEdge(dut.clk)
    ready.value = 0
    return out


def pack(values: Sequence[int], bits: int) -> int:
    """Little-endian packing of unsigned `bits`-bit fields into one int."""
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (bits * i)
    return word


def unpack(word: int, bits: int, count: int, signed: bool = True) -> list[int]:
    out = []
    for i in range(count):
        v = (word >> (bits * i)) & ((1 << bits) - 1)
        if signed and v >= 1 << (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out
