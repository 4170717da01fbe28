"""vitcod on the standard SoC: a command window (cosim.accel.device.Accelerator) with the
engine on its local bus; command 1 scales a vector in DRAM in jobs of max_beats beats."""

from __future__ import annotations

from typing import Any

from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer
from cosim.accel.stream_engine import CTRL, CTRL_START

from .engine import COUNT, SCALE, SHIFT, vitcod_engine

ACCEL_BASE, SCALE_VECTOR = 0x5000_0000, 1  # the command window on the fabric, command 1


class VitcodAccelerator:
    def __init__(self, sim: Any, soc: Any, impl: str, *, lanes: int, max_beats: int) -> None:
        self.device = Accelerator(sim, soc, "vitcod", base=ACCEL_BASE, clock="2 ns")
        self.engine = eng = vitcod_engine(sim, "engine", impl, lanes=lanes, max_beats=max_beats)
        self.device.attach(eng, streams=("in", "out"))
        self.done = self.device.done_line(self.engine)
        self.beat, self.max_beats = eng.in_beat_bytes, max_beats
        self.device.command(SCALE_VECTOR, "scale")(self._scale)
        self.driver = AcceleratorDriver(soc.host, self.device)

    async def _scale(self, seq: Sequencer) -> list[int]:
        src, dst, beats, scale, shift = seq.arg64(0), seq.arg64(2), *seq.args[4:7]
        csr = self.device.address(self.engine, "csr")
        data_in = self.device.address(self.engine, "in")
        data_out = self.device.address(self.engine, "out")
        for first in range(0, beats, self.max_beats):
            n = min(self.max_beats, beats - first)
            for reg, value in ((COUNT, n), (SCALE, scale), (SHIFT, shift)):
                await seq.write32(csr + reg, value)
            await seq.write32(csr + CTRL, CTRL_START)
            at = first * self.beat
            await seq.copy(src + at, data_in, n * self.beat, beat=self.beat)
            await seq.copy(data_out, dst + at, n * self.beat, beat=self.beat)
            await seq.wait(self.done)
        return [beats]

    async def scale(self, src: int, dst: int, beats: int, scale: int, shift: int) -> None:
        """Host side: run command 1 and wait for its interrupt."""
        args = (src & 0xFFFF_FFFF, src >> 32, dst & 0xFFFF_FFFF, dst >> 32, beats)
        await self.driver.run(SCALE_VECTOR, *args, scale & 0xFFFF_FFFF, shift, results=1)
