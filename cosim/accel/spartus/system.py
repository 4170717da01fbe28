"""Spartus on the standard SoC: a command window (cosim.accel.device.Accelerator) with the
DeltaLSTM engine on its local bus, and the energy charged from the engine's counters.

Command 1 loads a weight image (format.weight_image, or format.dense_image for the dense
baseline: int8 only, half the bytes) from DRAM into the engine's weight memory. Command 2
runs a sequence: the biases from DRAM reset the state, the frames are fetched into the
scratchpad by the data mover meanwhile, then one engine job per frame (the frame from the
scratchpad in, h out to the scratchpad), and the hidden states go to DRAM in one
transfer. The dense baseline is both commands with their dense flag on the same engine
(every column of every frame)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cosim import energy
from cosim.accel import costs
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer
from cosim.accel.stream_engine import CYCLES, RegisterWindow

from .engine import COUNTERS, CTRL_DENSE, KPL, LOAD, MODE, RESET, STEP, THRESHOLD, spartus_engine

ACCEL_BASE, CMD_LOAD, CMD_RUN = 0x5000_0000, 1, 2


@dataclass
class SpartusEnergy:
    """Counter increases -> energy-table entries (Horowitz ISSCC 2014 via cosim.accel.costs):
    a weight word is one SRAM access of lanes x 16 bits; a MAC one int16 multiply, one
    int32 add and an accumulator read and write; an encoded element a subtract and a read
    of its last propagated value; a table lookup a register-file read; the cell update
    three multiplies per hidden unit (one per five lookups)."""

    sim: Any
    lanes: int
    max_words: int
    component: str = "spartus"
    keys: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        costs.define_entries(self.sim)
        cap = self.max_words * 2 * self.lanes
        self.keys["weights"] = costs.define_sram(
            self.sim, "spartus.weights", width_bits=16 * self.lanes, capacity_bytes=cap
        )

    def events(self, d: dict[str, int], load_words: int) -> dict[str, tuple[str, int]]:
        w = self.keys["weights"]
        return {
            "weight_read": (w, d["WEIGHT_READS"]),
            "weight_write": (w, load_words),
            "mult": ("int16_mult", d["MACS"] + 3 * d["LUT_LOOKUPS"] // 5),
            "add": ("int32_add", d["MACS"] + d["ENCODED"]),
            "accumulator": ("rf_access_32b", 2 * d["MACS"]),
            "delta_memory": ("rf_access_32b", d["ENCODED"] + d["COLUMNS"]),
            "lut": ("rf_access_32b", d["LUT_LOOKUPS"]),
        }

    def charge(self, d: dict[str, int], load_words: int = 0) -> None:
        for kind, (key, n) in self.events(d, load_words).items():
            energy.charge(self.sim, self.component, kind, key, n)


class SpartusAccelerator:
    def __init__(
        self,
        sim: Any,
        soc: Any,
        impl: str,
        *,
        lanes: int = 16,
        inputs: int = 64,
        hidden: int = 128,
        max_words: int = 6144,
        clock: Any = "5 ns",
    ) -> None:
        self.soc, self.lanes, self.inputs, self.hidden = soc, lanes, inputs, hidden
        self.device = Accelerator(sim, soc, "spartus", base=ACCEL_BASE, clock=clock)
        self.engine = eng = spartus_engine(
            sim,
            "engine",
            impl,
            lanes=lanes,
            inputs=inputs,
            hidden=hidden,
            max_words=max_words,
            clock=clock,
        )
        self.device.attach(eng, streams=("in", "out"))
        self.done = self.device.done_line(eng)
        self.beat = eng.in_beat_bytes
        self.energy = SpartusEnergy(sim, lanes, max_words)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.engine_cycles = 0  # summed CYCLES of the frames of the last run
        self.device.command(CMD_LOAD, "load")(self._load)
        self.device.command(CMD_RUN, "run")(self._run)
        self.driver: Any = AcceleratorDriver(soc.host, self.device)

    def _csr(self, seq: Sequencer) -> RegisterWindow:
        return RegisterWindow(seq, self.device.address(self.engine, "csr"))

    async def _account(self, regs: RegisterWindow, load_words: int = 0) -> None:
        now = {n: await regs.read_reg(a) for n, a in COUNTERS.items()}
        self.energy.charge({n: (now[n] - self.counters[n]) % (1 << 32) for n in now}, load_words)
        self.counters = now

    async def _load(self, seq: Sequencer) -> list[int]:
        src, kpl, dense = seq.arg64(0), seq.args[2], seq.args[3]
        regs, words = self._csr(seq), (self.inputs + self.hidden) * kpl
        for reg, value in ((MODE, LOAD), (KPL, kpl)):
            await regs.write_reg(reg, value)
        await regs.start(CTRL_DENSE if dense else 0)
        nbytes = words * self.lanes * (1 if dense else 2)  # int8, or int8 and row offset
        await seq.copy(src, self.device.address(self.engine, "in"), nbytes, beat=self.beat)
        await seq.wait(self.done)
        await self._account(regs, words)
        return [words]

    async def _run(self, seq: Sequencer) -> list[int]:
        bias, x, h = seq.arg64(0), seq.arg64(2), seq.arg64(4)
        frames, threshold, dense = seq.args[6], seq.args[7], seq.args[8]
        regs, data_in = self._csr(seq), self.device.address(self.engine, "in")
        data_out, spad = self.device.address(self.engine, "out"), self.soc.SPAD
        xb, hb = 2 * self.inputs, 2 * self.hidden
        spad_h = spad + frames * xb
        fetch = seq.background_copy(x, spad, frames * xb)  # all frames into the scratchpad
        for reg, value in ((MODE, RESET), (THRESHOLD, threshold)):
            await regs.write_reg(reg, value)
        await regs.start()
        await seq.copy(bias, data_in, 16 * self.hidden, beat=self.beat)
        await seq.wait(self.done)
        await regs.write_reg(MODE, STEP)
        await fetch
        self.engine_cycles = 0
        for t in range(frames):
            await regs.start(CTRL_DENSE if dense else 0)
            await seq.copy(spad + t * xb, data_in, xb, beat=self.beat)
            await seq.copy(data_out, spad_h + t * hb, hb, beat=self.beat)
            await seq.wait(self.done)
            self.engine_cycles += await regs.read_reg(CYCLES)
        await seq.copy(spad_h, h, frames * hb)
        await self._account(regs)
        return [frames]

    async def load(self, src: int, kpl: int, dense: bool = False) -> None:
        """Host side: command 1 (the weight image at src, kpl words per column; dense: a
        format.dense_image)."""
        await self.driver.run(CMD_LOAD, src & 0xFFFF_FFFF, src >> 32, kpl, int(dense), results=1)

    async def run(
        self, bias: int, x: int, h: int, frames: int, threshold: int, dense: bool
    ) -> None:
        """Host side: command 2 (biases, frames and hidden states in DRAM)."""
        args = [a for v in (bias, x, h) for a in (v & 0xFFFF_FFFF, v >> 32)]
        await self.driver.run(CMD_RUN, *args, frames, threshold, int(dense), results=1)
