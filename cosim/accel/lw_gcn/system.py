"""LW-GCN on the standard SoC: a command window (cosim.accel.device.Accelerator) over the
PE array, the scratchpad holding X W, board DDR behind the fabric. Command 1 runs one GCN
layer: the dense product X W on the PE array (W in the feature buffer, X's entries as
slots, column by column, in chunks of nodes), X W into the scratchpad, then the sparse
product A (X W) (X W in the feature buffer, the adjacency's slot image streamed from
DRAM, PCOO or CSR), the rows back to DRAM in node order by the image's row map; energy
from the array's counters. docs/accelerators/lw_gcn.md describes the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim import energy
from cosim.accel.costs import define_entries, define_sram
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer
from cosim.accel.stream_engine import CTRL, CTRL_START, CYCLES, RegisterWindow
from cosim.errors import ParameterError

from . import format as fmt
from .engine import COUNTERS, CTRL_CLEAR, LOAD, OUT_CFG, ROWS, SLOTS, ArrayShape, out_cfg, pe_array
from .workload import ADJ_FRAC, XW_SHIFT

ACCEL_BASE, RUN_LAYER = 0x5000_0000, 1
FLAG_RELU = 1
#: Nodes per dense-product job (the X chunk buffer in the scratchpad: 256 x 2 x fin bytes).
DMM_CHUNK = 256


@dataclass
class PhaseRecord:
    """One phase of a layer (dmm or sdmm): engine cycles, counters, result rows given."""

    layer: int
    phase: str
    cycles: int
    counters: dict[str, int]
    rows_out: int


class LwGcnAccelerator:
    def __init__(
        self, sim: Any, soc: Any, impl: str, *, shape: ArrayShape, clock: str = "5 ns"
    ) -> None:
        self.sim, self.soc, self.shape = sim, soc, shape
        self.device = dev = Accelerator(sim, soc, "lw_gcn", base=ACCEL_BASE, clock=clock)
        self.array = pe_array(sim, "pe_array", impl, shape, clock=clock)
        dev.attach(self.array, streams=("in", "out"))
        self.done = dev.done_line(self.array)
        self.records: list[PhaseRecord] = []
        define_entries(sim)
        self.feat_key = define_sram(
            sim,
            "lw_gcn_features",
            width_bits=16 * shape.lanes,
            capacity_bytes=2 * shape.lanes * shape.max_feat,
        )
        self.acc_key = define_sram(
            sim,
            "lw_gcn_accumulators",
            width_bits=32 * shape.lanes,
            capacity_bytes=4 * shape.lanes * shape.max_rows,
        )
        dev.command(RUN_LAYER, "layer")(self._run_layer)
        self.driver: Any = AcceleratorDriver(soc.host, dev)

    # ------------------------------------------------------------------ host side
    async def run_layer(
        self,
        feat: int,
        weights: int,
        adj: int,
        out: int,
        nodes: int,
        fin: int,
        image: fmt.SlotImage,
        relu: bool,
    ) -> list[int]:
        words = [v for a in (feat, weights, adj, out) for v in (a & 0xFFFF_FFFF, a >> 32)]
        args = (nodes, fin, len(image.beats), image.rows, FLAG_RELU if relu else 0)
        return await self.driver.run(RUN_LAYER, *words, *args, results=2)

    # ------------------------------------------------------------------ the command
    async def _run_layer(self, seq: Sequencer) -> list[int]:
        feat, weights, adj, out = (seq.arg64(2 * i) for i in range(4))
        nodes, fin, beats, rows, flags = seq.args[8:13]
        s, soc = self.shape, self.soc
        lanes, pes, beat = s.lanes, s.pes, s.in_beat_bytes
        if nodes > s.max_feat or rows > s.max_rows or fin > s.max_feat:
            raise ParameterError(
                f"lw_gcn: {nodes} nodes x {fin} features exceed the PE array's buffers"
            )
        step = self.device.chunk - self.device.chunk % beat
        x_bytes = 2 * fin * DMM_CHUNK
        xw_spad = soc.SPAD
        x_spad = [xw_spad + -(-2 * lanes * nodes // 64) * 64 + i * x_bytes for i in (0, 1)]
        stream_spad = x_spad[1] + x_bytes
        if stream_spad + 2 * step > soc.SPAD + soc.scratchpad.size:
            raise ParameterError(
                f"lw_gcn: {nodes} nodes x {fin} features need more than the scratchpad's "
                f"{soc.scratchpad.size} B"
            )
        regs = RegisterWindow(seq, self.device.address(self.array, "csr"))
        eng_in, eng_out = (
            self.device.address(self.array, "in"),
            self.device.address(self.array, "out"),
        )
        layer = len(self.records) // 2
        # Dense product X W: W's rows in the feature buffer once, X chunk by chunk.
        w = (
            np.asarray(await seq.read(weights, 2 * fin * lanes), np.uint8)
            .view("<i2")
            .reshape(fin, lanes)
        )
        w_beats = fmt.feature_beats(w, pes)
        await regs.write_reg(CTRL, CTRL_CLEAR)
        await regs.set_reg(OUT_CFG, out_cfg(XW_SHIFT, False))
        cycles = 0
        chunks = list(range(0, nodes, DMM_CHUNK))
        sizes = [2 * fin * min(DMM_CHUNK, nodes - c) for c in chunks]
        fetch = seq.background_copy(feat, x_spad[0], sizes[0])
        for i, first in enumerate(chunks):
            n = min(DMM_CHUNK, nodes - first)
            await fetch  # X's next chunk comes in while this one runs
            if i + 1 < len(chunks):
                nxt = feat + 2 * fin * chunks[i + 1]
                fetch = seq.background_copy(nxt, x_spad[(i + 1) % 2], sizes[i + 1])
            raw = await seq.read(x_spad[i % 2], sizes[i])
            x = np.asarray(raw, np.uint8).view("<i2").reshape(n, fin)
            slots, job_rows = fmt.dense_slots(x, pes)
            load = w_beats if first == 0 else w_beats[:0]
            got = await self._job(
                regs,
                seq,
                eng_in,
                eng_out,
                load,
                slots.view(np.uint8).reshape(len(slots), -1),
                job_rows,
            )
            await seq.send(xw_spad + 2 * lanes * first, got[: n * lanes].view(np.uint8))
            await seq.wait(self.done)
            cycles += await regs.read_reg(CYCLES)
        self._record(layer, "dmm", cycles, await self._counters(regs), nodes)
        # Sparse product A (X W): X W from the scratchpad, the slot image from DRAM.
        load_beats = -(-nodes * lanes // (4 * pes))
        await regs.write_reg(CTRL, CTRL_CLEAR)
        await regs.set_reg(LOAD, load_beats)
        await regs.set_reg(SLOTS, beats)
        await regs.set_reg(ROWS, rows)
        await regs.set_reg(OUT_CFG, out_cfg(ADJ_FRAC, bool(flags & FLAG_RELU)))
        await regs.write_reg(CTRL, CTRL_START)
        await seq.copy(xw_spad, eng_in, load_beats * beat, beat=beat)
        await self._stream(seq, adj, beats * beat, eng_in, stream_spad, step)
        raw_map = await seq.read(adj + beats * beat, 4 * rows * pes)
        row_map = np.asarray(raw_map, np.uint8).view("<i4").reshape(rows, pes)
        res = await self._receive(seq, eng_out, rows * pes)
        await seq.wait(self.done)
        sdmm = await regs.read_reg(CYCLES)
        result = np.zeros((nodes, lanes), np.int16)
        keep = row_map.reshape(-1) >= 0
        result[row_map.reshape(-1)[keep]] = res.reshape(-1, lanes)[keep]
        await seq.send(out, result.view(np.uint8))
        self._record(layer, "sdmm", sdmm, await self._counters(regs), rows * pes)
        return [cycles, sdmm]

    async def _job(self, regs, seq, eng_in, eng_out, load, slots, rows) -> np.ndarray:
        """One array job: the load and slot beats in, rows * pes result rows out."""
        s = self.shape
        s.check_job(len(load), rows)
        await regs.set_reg(LOAD, len(load))
        await regs.set_reg(SLOTS, len(slots))
        await regs.set_reg(ROWS, rows)
        await regs.write_reg(CTRL, CTRL_START)
        await seq.send(eng_in, np.concatenate([load, slots]), beat=s.in_beat_bytes)
        return await self._receive(seq, eng_out, rows * s.pes)

    async def _stream(self, seq, src: int, nbytes: int, dst: int, buf: int, step: int) -> None:
        """DRAM -> engine through two scratchpad buffers: the data mover fetches the next
        piece while the sequencer sends this one."""
        pieces = [(off, min(step, nbytes - off)) for off in range(0, nbytes, step)]
        if not pieces:
            return
        fetch = seq.background_copy(src, buf, pieces[0][1])
        for i, (_, n) in enumerate(pieces):
            await fetch
            if i + 1 < len(pieces):
                off, m = pieces[i + 1]
                fetch = seq.background_copy(src + off, buf + ((i + 1) % 2) * step, m)
            await seq.copy(buf + (i % 2) * step, dst, n, beat=self.shape.in_beat_bytes)

    async def _receive(self, seq, eng_out, n: int) -> np.ndarray:
        step = max(1, self.device.chunk // self.shape.out_beat_bytes)
        parts = []
        for first in range(0, n, step):
            k = min(step, n - first)
            parts.append(
                np.asarray(await seq.read(eng_out, k * self.shape.out_beat_bytes), np.uint8)
            )
        return np.concatenate(parts).view("<i2").reshape(-1)

    async def _counters(self, regs) -> dict[str, int]:
        return {name: await regs.read_reg(addr) for name, addr in COUNTERS.items()}

    # ------------------------------------------------------------------ energy
    def events(self, c: dict[str, int], rows_out: int) -> dict[str, tuple[str, float]]:
        """The phase's energy events (name -> (table key, count)) from the counters."""
        s = self.shape
        macs = c["nnz"] * s.lanes
        return {
            "mult": ("int16_mult", macs),
            "add": ("int32_add", macs),
            "pipeline": ("rf_access_32b", macs * (s.acc_lat - 1)),
            "feature_read": (self.feat_key, c["nnz"]),
            "feature_write": (self.feat_key, c["loaded"] * 4 * s.pes / s.lanes),
            "accumulator": (self.acc_key, 2 * c["nnz"] + rows_out),
        }

    def _record(
        self, layer: int, phase: str, cycles: int, c: dict[str, int], rows_out: int
    ) -> None:
        self.records.append(PhaseRecord(layer, phase, cycles, c, rows_out))
        for kind, (key, n) in self.events(c, rows_out).items():
            energy.charge(self.sim, "lw_gcn_pe_array", kind, key, n)
