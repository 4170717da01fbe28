"""The complementary sparsity accelerator on the standard SoC: the engine behind a
command window (cosim.accel.device.Accelerator), the scratchpad as its on-chip activation
and result buffer, DRAM through the fabric, and the energy charged from the engine's
counters.

Commands (host -> window):
  1 LOAD  src (ARG0-1), taps, packs, kernels, ids: weight rows (and id rows) from DRAM
          into the engine's weight buffer; RESULT0 = engine cycles.
  2 CONV  act (ARG0-1), out (ARG2-3), height, width, packs, kernels, winners, dense: the
          HWC int8 map from DRAM into the scratchpad, then for every output pixel its 3x3
          window (three runs of 3 vectors) from the scratchpad into the engine and its
          sums back, then the sums to DRAM; RESULT0 = engine cycles.

Energy per counted event (sources in cosim.accel.costs and the energy table): a MAC is
an int8 multiply plus an int32 add (Horowitz); the k-WTA rank network compares every
pair of channels once per vector (channels*(channels-1)/2 int8 comparisons, charged as
int8 adds); a weight-buffer row read or write is one SRAM access of the row's width in
a buffer sized for the weights the run keeps on chip; an accumulator update is a 32-bit
register-file access. Control logic is not charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cosim import energy
from cosim.accel import costs
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer, split64
from cosim.accel.stream_engine import CTRL_START, RegisterWindow

from .engine import (
    COUNTERS,
    CTRL_DENSE,
    CTRL_IDS,
    CTRL_LOAD,
    KERNELS,
    PACKS,
    PIXELS,
    TAPS,
    WINNERS,
    EngineShape,
    complementary_sparsity_engine,
)
from .workload import TAPS as CONV_TAPS

ACCEL_BASE = 0x5000_0000
CMD_LOAD, CMD_CONV = 1, 2


@dataclass(frozen=True)
class WeightBuffer:
    """The on-chip weight buffer a run needs: rows x (8-bit weight + id bits) per channel."""

    rows: int
    channels: int
    id_bits: int

    @property
    def label(self) -> str:
        """'packed' (weights with routing ids) or 'dense' (weights only)."""
        return "packed" if self.id_bits else "dense"

    @property
    def width_bits(self) -> int:
        return self.channels * (8 + self.id_bits)

    @property
    def capacity_bytes(self) -> int:
        return -(-self.rows * self.width_bits // 8)


@dataclass
class JobRecord:
    command: str
    counters: dict[str, int]
    engine_cycles: int


class CsEnergyModel:
    """Counter increases -> energy-table entries (component = the engine's name)."""

    def __init__(self, sim: Any, shape: EngineShape, component: str) -> None:
        self.sim, self.shape, self.component = sim, shape, component
        costs.define_entries(sim)
        self._keys: dict[WeightBuffer, str] = {}

    def weight_key(self, buf: WeightBuffer) -> str:
        if buf not in self._keys:
            self._keys[buf] = costs.define_sram(
                self.sim,
                f"{self.component}.weights_{buf.id_bits}b_ids",
                width_bits=buf.width_bits,
                capacity_bytes=max(1024, buf.capacity_bytes),
            )
        return self._keys[buf]

    def events(self, d: dict[str, int], buf: WeightBuffer) -> dict[str, tuple[str, int]]:
        c = self.shape.channels
        w = self.weight_key(buf)
        return {
            "mult": ("int8_mult", d["macs"]),
            "add": ("int32_add", d["macs"]),
            "kwta_compare": ("int8_add", d["kwta_vectors"] * c * (c - 1) // 2),
            f"{buf.label}_weight_read": (w, d["row_reads"]),
            f"{buf.label}_weight_write": (w, d["row_writes"]),
            "accumulator": ("rf_access_32b", d["acc_updates"]),
        }

    def charge(self, d: dict[str, int], buf: WeightBuffer) -> None:
        for kind, (key, n) in self.events(d, buf).items():
            energy.charge(self.sim, self.component, kind, key, n)

    def energy_pj(self, d: dict[str, int], buf: WeightBuffer) -> float:
        return sum(self.sim.energy[k] * n for k, n in self.events(d, buf).values())


def spad_bytes(height: int, width: int, channels: int, outputs: int) -> int:
    """Scratchpad a CONV command uses: the map (64-byte aligned), then the results."""
    out_beat_words = channels // 4
    per_pixel = -(-outputs // out_beat_words) * channels
    return -(-height * width * channels // 64) * 64 + (height - 2) * (width - 2) * per_pixel


class CsAccelerator:
    """The engine (functional, tlm or rtl) behind a command window on `soc`."""

    def __init__(
        self,
        sim: Any,
        soc: Any,
        *,
        impl: str,
        shape: EngineShape | None = None,
        clock: int | str = "5 ns",
        name: str = "complementary_sparsity",
        waves: str | None = None,
    ) -> None:
        self.sim, self.soc, self.impl = sim, soc, impl
        self.shape = shape or EngineShape()
        options = {"waves": waves} if waves else {}
        self.engine = complementary_sparsity_engine(
            sim, name, impl, shape=self.shape, clock=clock, **options
        )
        self.device = Accelerator(sim, soc, "accel", base=ACCEL_BASE, clock=clock)
        self.device.attach(self.engine, streams=("in", "out"))
        self.done = self.device.done_line(self.engine)
        self.energy = CsEnergyModel(sim, self.shape, name)
        self.driver: Any = AcceleratorDriver(soc.host, self.device)
        self.records: list[JobRecord] = []
        self.buffer = WeightBuffer(1, self.shape.channels, 0)
        self._last = dict.fromkeys(COUNTERS, 0)
        self.device.command(CMD_LOAD, "load")(self._cmd_load)
        self.device.command(CMD_CONV, "conv")(self._cmd_conv)

    def addr(self, port: str) -> int:
        return self.device.address(self.engine, port)

    def registers(self, seq: Sequencer) -> RegisterWindow:
        return RegisterWindow(seq, self.addr("csr"))

    async def _configure(self, seq: Sequencer, **values: int) -> None:
        regs = self.registers(seq)
        for reg, v in ((PIXELS, values["pixels"]), (TAPS, values["taps"]),
                       (PACKS, values["packs"]), (KERNELS, values["kernels"]),
                       (WINNERS, values["winners"])):  # fmt: skip
            await regs.set_reg(reg, v)

    async def _account(self, seq: Sequencer, command: str) -> int:
        """Read the counters, charge their increase, return the last job's cycles."""
        regs = self.registers(seq)
        now = {c: await regs.read_reg(a) for c, a in COUNTERS.items()}
        cycles = await regs.read_cycles()
        d = {c: (now[c] - self._last[c]) % (1 << 32) for c in COUNTERS}
        self._last = now
        self.energy.charge(d, self.buffer)
        self.records.append(JobRecord(command, d, cycles))
        return cycles

    async def _cmd_load(self, seq: Sequencer) -> list[int]:
        src, taps, packs, kernels, ids = seq.arg64(0), *seq.args[2:6]
        c = self.shape.channels
        self.buffer = WeightBuffer(packs * taps, c, (kernels - 1).bit_length() if ids else 0)
        await self._configure(seq, pixels=1, taps=taps, packs=packs, kernels=kernels, winners=1)
        await self.registers(seq).write_reg(0, CTRL_START | CTRL_LOAD | (CTRL_IDS if ids else 0))
        beats = packs * taps * (2 if ids else 1)
        await seq.copy(src, self.addr("in"), beats * c, beat=c)
        await seq.wait(self.done)
        return [await self._account(seq, "load")]

    async def _cmd_conv(self, seq: Sequencer) -> list[int]:
        act, out = seq.arg64(0), seq.arg64(2)
        height, width, packs, kernels, winners, dense = seq.args[4:10]
        c, spad = self.shape.channels, self.soc.SPAD
        oh, ow = height - 2, width - 2
        out_bytes = self.shape.out_beats(packs, kernels) * c
        act_bytes = height * width * c
        res = spad + -(-act_bytes // 64) * 64
        await seq.copy(act, spad, act_bytes)  # the map into the on-chip buffer
        await self._configure(
            seq, pixels=oh * ow, taps=CONV_TAPS, packs=packs, kernels=kernels, winners=winners
        )
        await self.registers(seq).write_reg(0, CTRL_START | (CTRL_DENSE if dense else 0))
        data_in, data_out = self.addr("in"), self.addr("out")
        for y in range(oh):
            for x in range(ow):
                for dy in range(3):
                    at = spad + ((y + dy) * width + x) * c
                    await seq.copy(at, data_in, 3 * c, beat=c)
                await seq.copy(data_out, res + (y * ow + x) * out_bytes, out_bytes, beat=c)
        await seq.wait(self.done)
        await seq.copy(res, out, oh * ow * out_bytes)
        return [await self._account(seq, "conv")]

    # ------------------------------------------------------------ host side
    async def load(self, src: int, taps: int, packs: int, kernels: int, ids: bool) -> int:
        (cycles,) = await self.driver.run(
            CMD_LOAD, *split64(src), taps, packs, kernels, int(ids), results=1
        )
        return cycles

    async def conv(
        self, act: int, out: int, height: int, width: int, packs: int, kernels: int,
        winners: int, dense: bool,
    ) -> int:  # fmt: skip
        args = (*split64(act), *split64(out), height, width, packs, kernels, winners, int(dense))
        (cycles,) = await self.driver.run(CMD_CONV, *args, results=1)
        return cycles
