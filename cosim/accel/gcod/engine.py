"""GCoD's aggregation engine, y_i = sum_j a_ij * h_j on int32 lanes (rtl/gcod/gcod.sv): its
numpy, TLM and RTL twins behind one interface (cosim.accel.stream_engine: CTRL, STATUS,
CYCLES, INFO, then COUNT, ROWS and the MACS and BEATS counters). One engine design serves
as GCoD's dense-block engine and as its sparse engine."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam

DECLARATION = EngineDeclaration(
    "gcod",
    rtl="rtl/gcod/gcod.sv",
    tlm="tlm/accel/gcod/gcod.cpp",
    params=(
        EngineParam("lanes", 16, 1, 64, "int32 feature lanes per beat"),
        EngineParam("max_rows", 64, 2, 4096, "result rows per job (the result buffer)"),
    ),
    registers={"COUNT": 0x10, "ROWS": 0x14},
    counters=("MACS", "BEATS"),
    counter_base=0x20,
)
COUNT, ROWS = (DECLARATION.registers[r] for r in ("COUNT", "ROWS"))  # beats, rows closed
MACS, BEATS = 0x20, 0x24  # event counters (cumulative; CTRL bit 1 clears them)
CTRL_CLEAR = 2
REGISTERS = {COUNT: "count", ROWS: "rows"}  # read back as written
LAST = 1 << 31  # header bit: this beat closes its row
MAX_COUNT = 65535


def golden_rows(weights: np.ndarray, features: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The numpy reference: row r is the int32 (wrapping) sum of weights[k] * features[k]
    over its beats, rows ending at the indices `ends` (exclusive). Independent of the twins."""
    prod = weights.astype(np.int64)[:, None] * features.astype(np.int64)
    sums = np.add.reduceat(prod, np.r_[0, ends[:-1]], axis=0) if len(ends) else prod[:0]
    return (sums & 0xFFFF_FFFF).astype(np.uint32).view(np.int32)


def beats(weights: np.ndarray, features: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The input beats of a job: header word (weight, LAST at each row's end), then lanes."""
    head = (weights.astype(np.int64) & 0xFFFF).astype(np.uint32)
    e = np.asarray(ends, np.int64)
    e = e[(e >= 1) & (e <= len(weights))]  # row ends inside these beats
    head[e - 1] |= np.uint32(LAST)
    out = np.empty((len(weights), features.shape[1] + 1), np.uint32)
    out[:, 0] = head
    out[:, 1:] = features.astype(np.int32).view(np.uint32)
    return out


class GcodFunctional(se.FunctionalEngine):
    config_registers = REGISTERS

    def __init__(self, name: str, lanes: int, max_rows: int, done: Any) -> None:
        super().__init__(name, 4 * (lanes + 1), 4 * lanes, done)
        self.lanes, self.max_rows = lanes, max_rows
        self.left = self.made = 0
        self.macs = self.beats = 0
        self.acc = np.zeros(lanes, np.int64)

    def info(self) -> int:
        return self.lanes | self.max_rows << 8 | se.VERSION << 24

    def csr_access(self, payload: Any) -> None:
        addr = payload.address
        if payload.is_write and addr == se.CTRL:
            (value,) = struct.unpack("<I", payload.data.tobytes())
            if value & CTRL_CLEAR:
                self.macs = self.beats = 0
        elif not payload.is_write and addr in (MACS, BEATS):
            value = self.macs if addr == MACS else self.beats
            payload.data[:] = np.frombuffer(struct.pack("<I", value & 0xFFFF_FFFF), np.uint8)
            return
        se.FunctionalEngine.csr_access(self, payload)

    def start(self, flags: int) -> None:
        self.left, rows, self.made = self.regs["count"], self.regs["rows"], 0
        self.acc[:] = 0
        if not (1 <= rows <= self.max_rows and rows <= self.left <= MAX_COUNT):
            self.refuse()

    def wanted(self) -> int:
        return self.left

    def consume(self, beats: np.ndarray) -> None:
        words = beats.view("<u4")
        a = (words[:, 0] & 0xFFFF).astype(np.uint16).view(np.int16).astype(np.int64)
        h = words[:, 1:].view(np.int32).astype(np.int64)
        closes = (words[:, 0] & LAST) != 0
        if len(beats) == self.left:
            closes[-1] = True
        self.macs += self.lanes * len(beats)
        self.beats += len(beats)
        self.left -= len(beats)
        prod = a[:, None] * h
        start = 0
        for end in np.flatnonzero(closes) + 1:
            row = self.acc + prod[start:end].sum(axis=0)
            self.emit(((row & 0xFFFF_FFFF).astype(np.uint32)).view(np.uint8))
            self.acc[:] = 0
            self.made += 1
            start = end
        self.acc += prod[start:].sum(axis=0)
        if self.made >= self.regs["rows"] or self.left == 0:
            self.end_job()


def gcod_engine(
    sim: Any, name: str, impl: str, *, lanes: int = 16, max_rows: int = 64, clock: Any = "2 ns"
) -> se.StreamEngine:
    """The engine as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    return se.make_engine(
        sim,
        name,
        impl,
        kind="gcod",
        in_beat_bytes=4 * (lanes + 1),
        out_beat_bytes=4 * lanes,
        functional=lambda done: GcodFunctional(name, lanes, max_rows, done),
        tlm_params=DECLARATION.tlm_params(lanes=lanes, max_rows=max_rows),
        rtl_params=DECLARATION.rtl_params(lanes=lanes, max_rows=max_rows),
        clock=clock,
    )
