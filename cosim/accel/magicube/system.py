"""magicube on the standard SoC: a command window (cosim.accel.device.Accelerator) with the
engine on its local bus. Command 1 multiplies a vector-sparse A by B, command 2 the dense
A on the same MMA tile (the first baseline), command 3 runs A in CSR on a scalar sparse
engine of equal multipliers and equal B-buffer read ports (the second baseline, a
transaction-level model: cycles counted per tile from the CSR structure)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim import energy
from cosim.accel import costs
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer
from cosim.accel.stream_engine import RegisterWindow

from .engine import (
    COUNT,
    LOAD,
    MAX_K,
    MODE,
    MULTIPLY,
    PREC,
    ROW0,
    ROWS,
    STEPS,
    VLEN,
    magicube_engine,
)
from .format import BEAT, LANES, SLOTS, TILE_ROWS, step_beats

ACCEL_BASE = 0x5000_0000
SPMM, DENSE, SCALAR = 1, 2, 3
CLOCK = "1 ns"  # 1 GHz engine clock (an assumption: the order of a GPU's tensor-core clock)
CHUNK = 4096  # bytes per DRAM transfer of the sequencer's staging reads and writes
MULTS = TILE_ROWS * LANES * 4  # int8 multipliers of the MMA tile (512)


class StreamReader:
    """Reads a byte stream from DRAM in CHUNK-byte transfers and hands out slices."""

    def __init__(self, seq: Sequencer, addr: int, total: int) -> None:
        self.seq, self.addr, self.end = seq, addr, addr + total
        self.buf = np.zeros(0, np.uint8)

    async def take(self, n: int) -> np.ndarray:
        while len(self.buf) < n:
            size = min(CHUNK, self.end - self.addr)
            if size <= 0:
                raise ValueError("stream read past its end")
            self.buf = np.concatenate([self.buf, await self.seq.read(self.addr, size)])
            self.addr += size
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class MagicubeAccelerator:
    def __init__(self, sim: Any, soc: Any, impl: str, *, max_k: int = MAX_K) -> None:
        self.sim, self.soc = sim, soc
        self.device = Accelerator(sim, soc, "magicube", base=ACCEL_BASE, clock=CLOCK)
        self.engine = eng = magicube_engine(sim, "engine", impl, max_k=max_k, clock=CLOCK)
        self.device.attach(eng, streams=("in", "out"))
        self.done = self.device.done_line(eng)
        self.csr = self.device.address(eng, "csr")
        self.data_in = self.device.address(eng, "in")
        self.data_out = self.device.address(eng, "out")
        self.regs = RegisterWindow(self.device.sequencer, self.csr)
        self.bbuf_key = costs.define_sram(
            sim, "magicube_bbuf", width_bits=128, capacity_bytes=16 * max_k
        )
        self.device.command(SPMM, "spmm")(self._spmm)
        self.device.command(DENSE, "dense")(self._dense)
        self.device.command(SCALAR, "scalar_csr")(self._scalar)
        self.driver = AcceleratorDriver(soc.host, self.device)
        self.scalar_cycles = 0

    # ------------------------------------------------------------------ engine jobs
    async def _load_b(self, seq: Sequencer, b_addr: int, k: int) -> None:
        await self.regs.set_reg(MODE, LOAD)
        await self.regs.set_reg(COUNT, k // 4)
        await self.regs.set_reg(ROW0, 0)
        await self.regs.start()
        await seq.copy(b_addr, self.data_in, 16 * k, beat=BEAT)
        await seq.wait(self.done)

    async def _group(self, seq: Sequencer, beats: np.ndarray, v: int) -> np.ndarray:
        await self.regs.set_reg(MODE, MULTIPLY)
        await self.regs.set_reg(COUNT, len(beats))
        await self.regs.set_reg(VLEN, v)
        await self.regs.start()
        await seq.send(self.data_in, beats, beat=BEAT)
        out = await seq.read(self.data_out, v * BEAT)
        await seq.wait(self.done)
        return out

    async def _counters(self) -> tuple[int, int]:
        return await self.regs.read_reg(STEPS), await self.regs.read_reg(ROWS)

    def _charge(self, steps: int, rows: int, bits: int) -> None:
        """The engine's energy from its counters: each MMA step runs the whole tile
        (padding slots and rows included), each gathers `slots` B rows; each loaded row is
        one buffer write. An int4 multiply is charged a quarter of an int8 one (the square
        law of cosim.accel.costs)."""
        slots = SLOTS[bits]
        prods = steps * TILE_ROWS * LANES * slots
        energy.charge(self.sim, "magicube", "mult", "int8_mult", prods // (4 if bits == 4 else 1))
        energy.charge(self.sim, "magicube", "add", "int32_add", prods)
        energy.charge(self.sim, "magicube", "gather_read", self.bbuf_key, steps * slots)
        energy.charge(self.sim, "magicube", "b_write", self.bbuf_key, rows)

    async def _tiles(self, seq: Sequencer, stream: Any, bits: int) -> list[int]:
        """Shared by commands 1 and 2: per 16-column tile of B, load it, then run each
        row group's steps (from `stream(tile)`) and write its rows of C (tile-major)."""
        b_addr, c_addr = seq.arg64(0), seq.arg64(2)
        m, k, n = seq.args[4:7]
        s0, r0 = await self._counters()
        await self.regs.set_reg(PREC, 1 if bits == 4 else 0)
        for tile in range(n // LANES):
            await self._load_b(seq, b_addr + tile * 16 * k, k)
            rows = [await self._group(seq, beats, v) async for beats, v in stream(tile)]
            await seq.send(c_addr + tile * m * BEAT, np.concatenate(rows), chunk=CHUNK)
        s1, r1 = await self._counters()
        self._charge(s1 - s0, r1 - r0, bits)
        return [s1 - s0]

    async def _spmm(self, seq: Sequencer) -> list[int]:
        """Args: B (0, 1), C (2, 3), m, k, n (4-6), v (7), bits (8), A's step beats (9,
        10), its per-group step counts (11, 12)."""
        m, v, bits = seq.args[4], seq.args[7], seq.args[8]
        counts = (await seq.read(seq.arg64(11), 4 * (m // v))).view("<u4")
        total = int(counts.sum()) * BEAT

        async def stream(tile: int) -> Any:
            reader = StreamReader(seq, seq.arg64(9), total)
            for c in counts:
                yield (await reader.take(int(c) * BEAT)).reshape(-1, BEAT), v

        return await self._tiles(seq, stream, bits)

    async def _dense(self, seq: Sequencer) -> list[int]:
        """Args: B (0, 1), C (2, 3), m, k, n (4-6), A dense row-major (9, 10), bits (8).
        The control unit makes the steps of each 8-row group: indices count up, no
        index bytes read from DRAM."""
        m, k, bits = seq.args[4], seq.args[5], seq.args[8]

        async def stream(tile: int) -> Any:
            reader = StreamReader(seq, seq.arg64(9), m * k)
            for _ in range(m // TILE_ROWS):
                a = (await reader.take(TILE_ROWS * k)).view(np.int8).reshape(TILE_ROWS, k)
                yield step_beats(np.arange(k), a.T, bits), TILE_ROWS

        return await self._tiles(seq, stream, bits)

    async def _scalar(self, seq: Sequencer) -> list[int]:
        """The scalar CSR engine. Args: B (0, 1), C (2, 3), m, k, n (4-6), bits (8),
        row_ptr (9, 10), col (11, 12; uint16), val (13, 14; int8). Per tile it loads B
        (k/4 cycles, as the MMA's gather buffer), streams A's CSR arrays and processes
        `slots` nonzeros per cycle (each needs its own B row: the buffer's read ports
        bound it), then gives one 16-lane result row per cycle."""
        b_addr, c_addr = seq.arg64(0), seq.arg64(2)
        m, k, n, bits = *seq.args[4:7], seq.args[8]
        slots, total = SLOTS[bits], 0
        ptr = (await seq.read(seq.arg64(9), 4 * (m + 1))).view("<u4").astype(np.int64)
        nnz = int(ptr[-1])
        for tile in range(n // LANES):
            b = np.zeros((k, LANES), np.int64)
            off = 0
            for chunk in range(0, 16 * k, CHUNK):
                raw = await seq.read(b_addr + tile * 16 * k + chunk, min(CHUNK, 16 * k - chunk))
                b.reshape(-1)[off : off + len(raw)] = raw.view(np.int8)
                off += len(raw)
            col = (await StreamReader(seq, seq.arg64(11), 2 * nnz).take(2 * nnz)).view("<u2")
            val = (await StreamReader(seq, seq.arg64(13), nnz).take(nnz)).view(np.int8)
            rows = np.repeat(np.arange(m), np.diff(ptr))
            c = np.zeros((m, LANES), np.int64)
            np.add.at(c, rows, val.astype(np.int64)[:, None] * b[col.astype(np.int64)])
            cycles = k // 4 + -(-nnz // slots) + m
            await seq.cycles(cycles)
            total += cycles
            await seq.send(c_addr + tile * m * BEAT, c.astype("<i4"), chunk=CHUNK)
            products = nnz * LANES // (4 if bits == 4 else 1)
            energy.charge(self.sim, "scalar_csr", "mult", "int8_mult", products)
            energy.charge(self.sim, "scalar_csr", "add", "int32_add", nnz * LANES)
            energy.charge(self.sim, "scalar_csr", "gather_read", self.bbuf_key, nnz)
            energy.charge(self.sim, "scalar_csr", "b_write", self.bbuf_key, k)
        self.scalar_cycles += total
        return [total]

    # ------------------------------------------------------------------ host side
    async def run(self, cmd: int, b: int, c: int, m: int, k: int, n: int, *more: int) -> int:
        """Host side: run a command and wait for its interrupt; returns RESULT[0]."""
        args = [b & 0xFFFF_FFFF, b >> 32, c & 0xFFFF_FFFF, c >> 32, m, k, n, *more]
        (result,) = await self.driver.run(cmd, *args, results=1)
        return int(result)
