"""The vitcod engine, y = (x * scale) >> shift on int32 lanes: numpy, TLM and RTL twins
behind one interface (cosim.accel.stream_engine: CTRL/STATUS/CYCLES/INFO, then these)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim.accel import stream_engine as se

COUNT, SCALE, SHIFT = se.CONFIG_BASE, se.CONFIG_BASE + 4, se.CONFIG_BASE + 8
REGISTERS = {COUNT: "count", SCALE: "scale", SHIFT: "shift"}  # read back as written


def golden(x: np.ndarray, scale: int, shift: int) -> np.ndarray:
    """The numpy reference, written independently of the twins."""
    return ((x.astype(np.int64) * scale) >> shift).astype(np.int32)


class VitcodFunctional(se.FunctionalEngine):
    config_registers = REGISTERS

    def __init__(self, name: str, lanes: int, max_beats: int, done: Any) -> None:
        super().__init__(name, 4 * lanes, 4 * lanes, done)
        self.lanes, self.max_beats, self.left = lanes, max_beats, 0

    def info(self) -> int:
        return self.lanes | self.max_beats << 8 | se.VERSION << 24

    def start(self, flags: int) -> None:
        self.left = self.regs["count"]
        if not 1 <= self.left <= self.max_beats or self.regs["shift"] > 31:
            self.refuse()

    def wanted(self) -> int:
        return self.left

    def consume(self, beats: np.ndarray) -> None:
        x = beats.view("<i4").astype(np.int64)
        scale = int(np.uint32(self.regs["scale"]).view(np.int32))
        self.emit((x * scale >> self.regs["shift"]).astype("<i4").view(np.uint8))
        self.left -= len(beats)
        if self.left == 0:
            self.end_job()


def vitcod_engine(
    sim: Any, name: str, impl: str, *, lanes: int = 4, max_beats: int = 64, clock: Any = "2 ns"
) -> se.StreamEngine:
    """The engine as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    return se.make_engine(
        sim,
        name,
        impl,
        kind="vitcod",
        in_beat_bytes=4 * lanes,
        out_beat_bytes=4 * lanes,
        functional=lambda done: VitcodFunctional(name, lanes, max_beats, done),
        tlm_params={"lanes": lanes, "max_beats": max_beats},
        rtl_params={"LANES": lanes, "MAX_BEATS": max_beats},
        clock=clock,
    )
