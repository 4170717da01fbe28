"""The magicube engine (rtl/magicube/magicube.sv): a gather unit and an 8 x 16 x k int8/int4
MMA tile; numpy, TLM and RTL twins behind one interface (cosim.accel.stream_engine)."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam

from .format import BEAT, LANES, TILE_ROWS, decode_step

DECLARATION = EngineDeclaration(
    "magicube",
    rtl="rtl/magicube/magicube.sv",
    tlm="tlm/accel/magicube/magicube.cpp",
    params=(EngineParam("max_k", 1024, 16, 4096, "B rows of the gather buffer (a power of 2)"),),
    registers={"MODE": 0x10, "COUNT": 0x14, "VLEN": 0x18, "PREC": 0x1C, "ROW0": 0x20},
    counters=("STEPS", "ROWS"),
    counter_base=0x40,
)
MODE, COUNT, VLEN, PREC, ROW0 = DECLARATION.registers.values()
STEPS, ROWS = 0x40, 0x44  # counters: MMA steps, B rows loaded
REGISTERS = {MODE: "mode", COUNT: "count", VLEN: "vlen", PREC: "prec", ROW0: "row0"}
LOAD, MULTIPLY = 0, 1
MAX_K = DECLARATION.default("max_k")  # B rows the gather buffer holds (the RTL's MAX_K)


class MagicubeFunctional(se.FunctionalEngine):
    config_registers = REGISTERS

    def __init__(self, name: str, max_k: int, done: Any) -> None:
        super().__init__(name, BEAT, BEAT, done)
        self.max_k, self.left = max_k, 0
        self.bbuf = np.zeros((max_k, LANES), np.int64)
        self.acc = np.zeros((TILE_ROWS, LANES), np.int64)
        self.steps = self.rows = 0
        self.pending = False

    def info(self) -> int:
        return (self.max_k.bit_length() - 1) | TILE_ROWS << 8 | LANES << 16 | se.VERSION << 24

    def start(self, flags: int) -> None:
        r = self.regs
        ok = r["mode"] <= 1 and 1 <= r["count"] <= 65535 and r["prec"] <= 1
        if r["mode"] == LOAD:
            ok = ok and r["row0"] % 4 == 0 and r["row0"] + 4 * r["count"] <= self.max_k
        else:
            ok = ok and 1 <= r["vlen"] <= 8
        if not ok:
            self.refuse()
            return
        self.left, self.taken, self.pending = r["count"], 0, False
        self.acc[:] = 0

    def wanted(self) -> int:
        return 0 if self.pending else self.left

    def consume(self, beats: np.ndarray) -> None:
        if self.regs["mode"] == LOAD:
            at = self.regs["row0"] + 4 * self.taken
            self.bbuf[at : at + 4 * len(beats)] = beats.view(np.int8).reshape(-1, LANES)
            self.rows += 4 * len(beats)
            self.taken += len(beats)
            self.left -= len(beats)
        else:
            bits = 4 if self.regs["prec"] else 8
            for beat in beats:
                if self.pending:
                    raise se.EngineProtocolError(
                        "a write crossed a row group's end: read its results first"
                    )
                idx, a = decode_step(beat, bits)
                self.acc += a @ self.bbuf[idx % self.max_k]
                self.steps += 1
                self.taken += 1
                self.left -= 1
                if beat[31] & 0x80 or self.left == 0:
                    out = self.acc[: self.regs["vlen"]] & 0xFFFF_FFFF
                    self.emit(out.astype("<u4").view(np.uint8).reshape(-1, BEAT))
                    self.acc[:] = 0
                    self.pending = True
        if self.left == 0:
            self.end_job()

    def outputs(self, payload: Any) -> None:
        super().outputs(payload)
        self.pending = bool(self._results)

    def csr_access(self, payload: Any) -> None:
        if payload.is_read and payload.address in (STEPS, ROWS):
            value = self.steps if payload.address == STEPS else self.rows
            payload.data[:] = np.frombuffer(struct.pack("<I", value & 0xFFFF_FFFF), np.uint8)
            return
        super().csr_access(payload)


def magicube_engine(
    sim: Any, name: str, impl: str, *, max_k: int = MAX_K, clock: Any = "1 ns"
) -> se.StreamEngine:
    """The engine as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    return se.make_engine(
        sim,
        name,
        impl,
        kind="magicube",
        in_beat_bytes=BEAT,
        out_beat_bytes=BEAT,
        functional=lambda done: MagicubeFunctional(name, max_k, done),
        tlm_params={"max_k": max_k},
        rtl_params={"MAX_K": max_k},
        clock=clock,
    )
