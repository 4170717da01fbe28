"""The nuQmm accelerator on the standard SoC: the LUT-GEMV engine and the FP16 MAC-lane
baseline behind one command window (cosim.accel.device.Accelerator), weights streamed
from DRAM through a double buffer in the scratchpad, the energy charged from counters.

Commands (host -> window):
  1 GEMV   act (ARG0-1), weights (ARG2-3), scales (ARG4-5), out (ARG6-7), rows, n, q,
           batch: for every block of the engine's rows, the activations of every column,
           the block's weight patterns (double-buffered through the scratchpad; each
           looked up for every column), its scales into the engine and its int32 results
           to DRAM; RESULT0 = engine cycles (sum over jobs).
  2 FP16   act (ARG0-1; fp16, batch x n), weights (ARG2-3; fp16 rows x n), out (ARG4-5;
           fp32 rows x batch), rows, n, batch: the baseline. The MAC lanes read every
           weight chunk from the scratchpad double buffer and spend ceil(weights x batch
           / mac_lanes) cycles on it (fp16 multiply, fp32 accumulate; every weight used
           for all batch columns); the sums leave to DRAM. RESULT0 = MAC cycles.

Energy per counted event (sources: the energy table, Horowitz ISSCC 2014 at 45 nm, and
cosim.accel.costs): a LUT entry is mu-1 16-bit adds (charged as int32 adds) and a
32-bit register write; a lookup is a 32-bit register-file read (the LUT) and an int32
add into the accumulator SRAM (one read and one write of a lanes-wide word per beat);
a scale MAC is a 32-bit multiply and two int32 adds (the 64-bit sum). A baseline MAC is
an fp16 multiply and an fp32 add. Control logic is not charged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cosim import energy
from cosim.accel import costs
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer, split64
from cosim.accel.stream_engine import CTRL_START, RegisterWindow

from .engine import BATCH, COUNTERS, GROUPS, ROWS, SHIFT, EngineShape, Q, nuqmm_engine
from .format import row_blocks

ACCEL_BASE = 0x5000_0000
CMD_GEMV, CMD_FP16 = 1, 2
CHUNK = 4096  # bytes a double-buffer half holds (the device's transfer size)


@dataclass
class Records:
    """What the commands measured: engine cycles and counter increases per command."""

    engine_cycles: int = 0
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    mac_cycles: int = 0
    macs: int = 0


class NuqmmEnergyModel:
    """Counter increases -> energy-table entries (component = the engine's name)."""

    def __init__(self, sim: Any, shape: EngineShape, component: str) -> None:
        self.sim, self.shape, self.component = sim, shape, component
        costs.define_entries(sim)
        self.acc_key = costs.define_sram(
            sim,
            f"{component}.acc",
            width_bits=32 * shape.lanes,
            capacity_bytes=4 * shape.max_rows * shape.max_q * shape.max_batch,
        )

    def events(self, d: dict[str, int]) -> dict[str, tuple[str, int]]:
        mu, lanes = self.shape.mu, self.shape.lanes
        return {
            "lut_build_add": ("int32_add", d["lut_entries"] * (mu - 1)),
            "lut_write": ("rf_access_32b", d["lut_entries"]),
            "lut_read": ("rf_access_32b", d["lookups"]),
            "accumulate": ("int32_add", d["lookups"]),
            "acc_sram": (self.acc_key, 2 * d["lookups"] // lanes),
            "scale_mult": ("int32_mult", d["scale_macs"]),
            "scale_add": ("int32_add", 2 * d["scale_macs"]),
        }

    def charge(self, d: dict[str, int]) -> None:
        for kind, (key, n) in self.events(d).items():
            energy.charge(self.sim, self.component, kind, key, n)

    def energy_pj(self, d: dict[str, int]) -> float:
        return sum(self.sim.energy[k] * n for k, n in self.events(d).values())


async def streamed(seq: Sequencer, src: int, nbytes: int, spad: int, consume: Any) -> None:
    """Move nbytes from DRAM through two CHUNK halves of the scratchpad at `spad`: the
    data mover fetches chunk i+1 while consume(address, size) works on chunk i."""
    bufs = (spad, spad + CHUNK)
    pending = seq.background_copy(src, bufs[0], min(CHUNK, nbytes))
    for i, off in enumerate(range(0, nbytes, CHUNK)):
        await pending
        nxt = off + CHUNK
        if nxt < nbytes:
            pending = seq.background_copy(src + nxt, bufs[(i + 1) % 2], min(CHUNK, nbytes - nxt))
        await consume(bufs[i % 2], min(CHUNK, nbytes - off))


class NuqmmAccelerator:
    """The engine (functional, tlm or rtl) and the FP16 MAC lanes on `soc`."""

    def __init__(
        self,
        sim: Any,
        soc: Any,
        *,
        impl: str,
        shape: EngineShape | None = None,
        mac_lanes: int = 16,
        clock: int | str = "1 ns",
        name: str = "nuqmm",
        waves: str | None = None,
    ) -> None:
        self.sim, self.soc, self.impl = sim, soc, impl
        self.shape = shape or EngineShape()
        self.mac_lanes = mac_lanes
        options = {"waves": waves} if waves else {}
        self.engine = nuqmm_engine(sim, name, impl, shape=self.shape, clock=clock, **options)
        self.device = Accelerator(sim, soc, "accel", base=ACCEL_BASE, clock=clock)
        self.device.attach(self.engine, streams=("in", "out"))
        self.done = self.device.done_line(self.engine)
        self.energy = NuqmmEnergyModel(sim, self.shape, name)
        self.driver: Any = AcceleratorDriver(soc.host, self.device)
        self.records: list[Records] = []
        self.baseline_outputs: dict[int, np.ndarray] = {}
        self._last = dict.fromkeys(COUNTERS, 0)
        self.device.command(CMD_GEMV, "gemv")(self._cmd_gemv)
        self.device.command(CMD_FP16, "fp16")(self._cmd_fp16)

    def addr(self, port: str) -> int:
        return self.device.address(self.engine, port)

    def registers(self, seq: Sequencer) -> RegisterWindow:
        return RegisterWindow(seq, self.addr("csr"))

    async def _account(self, seq: Sequencer, rec: Records) -> None:
        regs = self.registers(seq)
        now = {c: await regs.read_reg(a) for c, a in COUNTERS.items()}
        rec.engine_cycles += await regs.read_cycles()
        d = {c: (now[c] - self._last[c]) % (1 << 32) for c in COUNTERS}
        self._last = now
        self.energy.charge(d)
        for c in COUNTERS:
            rec.counters[c] += d[c]

    async def _cmd_gemv(self, seq: Sequencer) -> list[int]:
        act, wts, scl, out = (seq.arg64(i) for i in (0, 2, 4, 6))
        rows, n, q, batch = seq.args[8:12]
        sh, spad = self.shape, self.soc.SPAD
        groups = n // sh.mu
        rec = Records()
        regs = self.registers(seq)
        data_in, data_out = self.addr("in"), self.addr("out")

        async def push(at: int, size: int) -> None:
            await seq.copy(at, data_in, size, beat=sh.lanes)

        w_at, s_at = wts, scl
        for first, rb in row_blocks(rows, sh.max_rows):
            for reg, v in ((GROUPS, groups), (ROWS, rb), (Q, q), (SHIFT, 16), (BATCH, batch)):
                await regs.set_reg(reg, v)
            await regs.write_reg(0, CTRL_START)
            await seq.copy(act, data_in, n * batch, beat=sh.lanes)
            await streamed(seq, w_at, groups * q * rb, spad, push)
            await seq.copy(s_at, data_in, 2 * q * rb, beat=sh.lanes)
            for col in range(batch):
                await seq.copy(data_out, out + 4 * (col * rows + first), 4 * rb, beat=sh.lanes)
            await seq.wait(self.done)
            await self._account(seq, rec)
            w_at += groups * q * rb
            s_at += 2 * q * rb
        self.records.append(rec)
        return [rec.engine_cycles & 0xFFFF_FFFF]

    async def _cmd_fp16(self, seq: Sequencer) -> list[int]:
        act, wts, out = (seq.arg64(i) for i in (0, 2, 4))
        rows, n, batch = seq.args[6:9]
        rec = Records()
        raw = [await seq.read(act + o, min(CHUNK, 2 * n * batch - o))
               for o in range(0, 2 * n * batch, CHUNK)]  # fmt: skip
        x = np.concatenate(raw).view(np.float16).reshape(batch, n)
        y = np.zeros((batch, rows), np.float32)
        state = {"at": 0}

        async def mac(at: int, size: int) -> None:
            w = (await seq.read(at, size)).view(np.float16)
            first = state["at"]
            idx = np.arange(first, first + len(w))
            r, c = idx // n, idx % n
            for b in range(batch):
                prod = (w * x[b, c]).astype(np.float32)  # fp16 multiply, fp32 accumulate
                np.add.at(y[b], r, prod)
            state["at"] += len(w)
            cycles = -(-len(w) * batch // self.mac_lanes)
            rec.mac_cycles += cycles
            rec.macs += len(w) * batch
            await seq.cycles(cycles)

        await streamed(seq, wts, 2 * rows * n, self.soc.SPAD, mac)
        await seq.send(out, y.astype("<f4").view(np.uint8).reshape(-1))
        energy.charge(self.sim, "fp16_lanes", "mult", "fp16_mult", rec.macs)
        energy.charge(self.sim, "fp16_lanes", "add", "fp32_add", rec.macs)
        self.records.append(rec)
        return [rec.mac_cycles & 0xFFFF_FFFF]

    # ------------------------------------------------------------ host side
    async def gemv(self, act: int, wts: int, scl: int, out: int, rows: int, n: int, q: int,
                   batch: int) -> int:  # fmt: skip
        args = (*split64(act), *split64(wts), *split64(scl), *split64(out), rows, n, q, batch)
        (cycles,) = await self.driver.run(CMD_GEMV, *args, results=1)
        return cycles

    async def fp16(self, act: int, wts: int, out: int, rows: int, n: int, batch: int) -> int:
        args = (*split64(act), *split64(wts), *split64(out), rows, n, batch)
        (cycles,) = await self.driver.run(CMD_FP16, *args, results=1)
        return cycles
