"""magicube on the standard SoC: a command window (cosim.accel.device.Accelerator) with the
engine on its local bus. Command 1 multiplies a vector-sparse A by B, command 2 the dense
A on the same MMA tile (the first baseline), command 3 runs A in CSR on a scalar sparse
engine of equal multipliers and equal B-buffer read ports (the second baseline, a
transaction-level model: cycles counted per tile from the CSR structure); commands 4 and
5 are SDDMM on the engine and on the scalar engine."""

from __future__ import annotations

from typing import Any

import numpy as np

import cosim
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
SPMM, DENSE, SCALAR, SDDMM, SCALAR_SDDMM = 1, 2, 3, 4, 5
CLOCK = "1 ns"  # 1 GHz engine clock (an assumption: the order of a GPU's tensor-core clock)
CHUNK = 4096  # bytes per DRAM transfer of the sequencer's staging reads and writes
PREFETCH = 4  # DRAM reads in flight per operand stream (a 16 KiB staging buffer)
MULTS = TILE_ROWS * LANES * 4  # int8 multipliers of the MMA tile (512)
MAX_STEPS = 65535  # COUNT's range


class StreamReader:
    """Reads a byte stream from DRAM in CHUNK-byte transfers and hands out slices; the
    device's data mover keeps the next PREFETCH chunks in flight while the sequencer
    feeds the engine (a staging buffer of PREFETCH x CHUNK bytes)."""

    def __init__(self, seq: Sequencer, addr: int, total: int) -> None:
        self.seq, self.addr, self.end = seq, addr, addr + total
        self.buf = np.zeros(0, np.uint8)
        self.pending: list[tuple[Any, dict[str, np.ndarray]]] = []
        for _ in range(PREFETCH):
            self._prefetch()

    def _prefetch(self) -> None:
        size = min(CHUNK, self.end - self.addr)
        if size <= 0:
            return
        addr, self.addr, box = self.addr, self.addr + size, {}

        async def fetch() -> None:
            box["data"] = await self.seq.mover.read(addr, size)

        self.pending.append((cosim.spawn(fetch()), box))

    async def take(self, n: int) -> np.ndarray:
        while len(self.buf) < n:
            if not self.pending:
                raise ValueError("stream read past its end")
            proc, box = self.pending.pop(0)
            await proc
            self.buf = np.concatenate([self.buf, box["data"]])
            self._prefetch()
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
        self.device.command(SDDMM, "sddmm")(self._sddmm)
        self.device.command(SCALAR_SDDMM, "scalar_sddmm")(self._scalar_sddmm)
        self.driver = AcceleratorDriver(soc.host, self.device)
        self.scalar_cycles = 0

    # ------------------------------------------------------------------ engine jobs
    async def _load_b(self, seq: Sequencer, b: StreamReader, k: int) -> None:
        await self.regs.set_reg(MODE, LOAD)
        await self.regs.set_reg(COUNT, k // 4)
        await self.regs.set_reg(ROW0, 0)
        await self.regs.start()
        await seq.send(self.data_in, await b.take(16 * k), beat=BEAT)
        await seq.wait(self.done)

    async def _group(self, seq: Sequencer, beats: np.ndarray, v: int) -> np.ndarray:
        """One row group's steps in, its v result rows out (a write never crosses a
        group's end: the engine takes no step while a group's rows wait)."""
        await seq.send(self.data_in, beats, beat=BEAT)
        return await seq.read(self.data_out, v * BEAT)

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

    async def _tiles(
        self, seq: Sequencer, stream: Any, group_steps: list[int], v: int, bits: int
    ) -> list[int]:
        """Shared by commands 1 and 2: per 16-column tile of B, load it, then multiply
        jobs of whole row groups (at most MAX_STEPS steps each): each group's steps (from
        `stream()`) in, its rows out; C written tile-major."""
        b_addr, c_addr = seq.arg64(0), seq.arg64(2)
        m, k, n = seq.args[4:7]
        s0, r0 = await self._counters()
        await self.regs.set_reg(PREC, 1 if bits == 4 else 0)
        await self.regs.set_reg(VLEN, v)
        b, writes = StreamReader(seq, b_addr, 16 * k * n // LANES), []
        for tile in range(n // LANES):
            await self._load_b(seq, b, k)
            await self.regs.set_reg(MODE, MULTIPLY)
            rows, left, jobs = [], 0, iter(pack_jobs(group_steps))
            async for beats in stream():
                if left == 0:  # a new job: as many whole groups as COUNT takes
                    left = next(jobs)
                    await self.regs.set_reg(COUNT, left)
                    await self.regs.start()
                rows.append(await self._group(seq, beats, v))
                left -= len(beats)
                if left == 0:
                    await seq.wait(self.done)
            writes.append(write_back(seq, c_addr + tile * m * BEAT, np.concatenate(rows)))
        for w in writes:
            await w
        s1, r1 = await self._counters()
        self._charge(s1 - s0, r1 - r0, bits)
        return [s1 - s0]

    async def _spmm(self, seq: Sequencer) -> list[int]:
        """Args: B (0, 1), C (2, 3), m, k, n (4-6), v (7), bits (8), A's step beats (9,
        10), its per-group step counts (11, 12)."""
        m, v, bits = seq.args[4], seq.args[7], seq.args[8]
        counts = (await seq.read(seq.arg64(11), 4 * (m // v))).view("<u4")
        total = int(counts.sum()) * BEAT

        async def stream() -> Any:
            reader = StreamReader(seq, seq.arg64(9), total)
            for c in counts:
                yield (await reader.take(int(c) * BEAT)).reshape(-1, BEAT)

        return await self._tiles(seq, stream, [int(c) for c in counts], v, bits)

    async def _dense(self, seq: Sequencer) -> list[int]:
        """Args: B (0, 1), C (2, 3), m, k, n (4-6), A dense row-major (9, 10), bits (8).
        The control unit makes the steps of each 8-row group: indices count up, no
        index bytes read from DRAM."""
        m, k, bits = seq.args[4], seq.args[5], seq.args[8]

        async def stream() -> Any:
            reader = StreamReader(seq, seq.arg64(9), m * k)
            for _ in range(m // TILE_ROWS):
                a = (await reader.take(TILE_ROWS * k)).view(np.int8).reshape(TILE_ROWS, k)
                yield step_beats(np.arange(k), a.T, bits)

        steps = [k // SLOTS[bits]] * (m // TILE_ROWS)
        return await self._tiles(seq, stream, steps, TILE_ROWS, bits)

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
        nnz, writes = int(ptr[-1]), []
        b_stream = StreamReader(seq, b_addr, 16 * k * n // LANES)
        for tile in range(n // LANES):
            b = (await b_stream.take(16 * k)).view(np.int8).reshape(k, LANES).astype(np.int64)
            cols, vals = (
                StreamReader(seq, seq.arg64(11), 2 * nnz),
                StreamReader(seq, seq.arg64(13), nnz),
            )
            col = (await cols.take(2 * nnz)).view("<u2")
            val = (await vals.take(nnz)).view(np.int8)
            rows = np.repeat(np.arange(m), np.diff(ptr))
            c = np.zeros((m, LANES), np.int64)
            np.add.at(c, rows, val.astype(np.int64)[:, None] * b[col.astype(np.int64)])
            cycles = k // 4 + -(-nnz // slots) + m
            await seq.cycles(cycles)
            total += cycles
            writes.append(write_back(seq, c_addr + tile * m * BEAT, c.astype("<i4")))
            products = nnz * LANES // (4 if bits == 4 else 1)
            energy.charge(self.sim, "scalar_csr", "mult", "int8_mult", products)
            energy.charge(self.sim, "scalar_csr", "add", "int32_add", nnz * LANES)
            energy.charge(self.sim, "scalar_csr", "gather_read", self.bbuf_key, nnz)
            energy.charge(self.sim, "scalar_csr", "b_write", self.bbuf_key, k)
        for w in writes:
            await w
        self.scalar_cycles += total
        return [total]

    async def _sddmm(self, seq: Sequencer) -> list[int]:
        """Sampled Q K^T. Args: keys (0, 1; NK x D int8), out (2, 3), m, d, nk (4-6), v (7),
        bits (8), Q (9, 10; M x D), the mask's column indices (11, 12; uint32 per kept
        vector, group by group), vectors per group (13, 14). Per row group, per 16 of its
        kept columns: the gather unit's buffer is loaded with those keys' rows as columns
        (B = K^T of 16 keys), then the group's Q rows stream through as dense steps and
        its v x 16 scores come out; the kept ones are written, v per vector."""
        out_addr, (m, d, _), v, bits = seq.arg64(2), seq.args[4:7], seq.args[7], seq.args[8]
        counts = (await seq.read(seq.arg64(13), 4 * (m // v))).view("<u4").astype(int)
        cols = StreamReader(seq, seq.arg64(11), 4 * int(counts.sum()))
        q = StreamReader(seq, seq.arg64(9), m * d)
        s0, r0 = await self._counters()
        await self.regs.set_reg(PREC, 1 if bits == 4 else 0)
        await self.regs.set_reg(VLEN, v)
        await self.regs.set_reg(ROW0, 0)
        results, keys_addr = [], seq.arg64(0)
        for g in range(m // v):
            rows = (await q.take(v * d)).view(np.int8).reshape(v, d)
            steps = step_beats(np.arange(d), rows.T, bits)
            kept = (await cols.take(4 * counts[g])).view("<u4") if counts[g] else []
            for first in range(0, len(kept), LANES):
                chunk = [int(c) for c in kept[first : first + LANES]]
                keys = np.zeros((LANES, d), np.int8)
                fetched = await gather_rows(seq, keys_addr, chunk, d)
                keys[: len(chunk)] = fetched
                await self.regs.set_reg(MODE, LOAD)
                await self.regs.set_reg(COUNT, d // 4)
                await self.regs.start()
                await seq.send(self.data_in, np.ascontiguousarray(keys.T), beat=BEAT)
                await seq.wait(self.done)
                await self.regs.set_reg(MODE, MULTIPLY)
                await self.regs.set_reg(COUNT, len(steps))
                await self.regs.start()
                scores = (await self._group(seq, steps, v)).view("<i4").reshape(v, LANES)
                await seq.wait(self.done)
                results.append(scores[:, : len(chunk)].T.reshape(-1))
        if results:
            await write_back(seq, out_addr, np.concatenate(results).astype("<i4"))
        s1, r1 = await self._counters()
        self._charge(s1 - s0, r1 - r0, bits)
        return [s1 - s0]

    async def _scalar_sddmm(self, seq: Sequencer) -> list[int]:
        """The scalar engine on SDDMM, same arguments as command 4: each kept score is a
        D-long dot product of a Q row and a K row; the engine reads `slots` 16-byte
        operand rows per cycle (the buffer's ports, as in SpMM) and its 512 multipliers
        are never the bound, so a score costs D / (16 slots) cycles of key reads (the Q
        rows of a group are held), plus one cycle per 16 scores written."""
        out_addr, (m, d, nk), v, bits = seq.arg64(2), seq.args[4:7], seq.args[7], seq.args[8]
        slots = SLOTS[bits]
        counts = (await seq.read(seq.arg64(13), 4 * (m // v))).view("<u4").astype(int)
        total_vec = int(counts.sum())
        cols = (await StreamReader(seq, seq.arg64(11), 4 * total_vec).take(4 * total_vec)).view(
            "<u4"
        )
        q = (await StreamReader(seq, seq.arg64(9), m * d).take(m * d)).view(np.int8)
        keys = (await StreamReader(seq, seq.arg64(0), nk * d).take(nk * d)).view(np.int8)
        q, keys = q.reshape(m, d).astype(np.int64), keys.reshape(nk, d).astype(np.int64)
        group = np.repeat(np.arange(m // v), counts)
        rows = group[:, None] * v + np.arange(v)[None, :]  # (vectors, v)
        scores = np.einsum("svd,sd->sv", q[rows], keys[cols.astype(np.int64)])
        nnz = total_vec * v
        cycles = -(-nnz * d // (16 * slots)) + -(-nnz // LANES)
        await seq.cycles(cycles)
        if nnz:
            await write_back(seq, out_addr, scores.reshape(-1).astype("<i4"))
        products = nnz * d // (4 if bits == 4 else 1)
        energy.charge(self.sim, "scalar_csr", "mult", "int8_mult", products)
        energy.charge(self.sim, "scalar_csr", "add", "int32_add", nnz * d)
        energy.charge(self.sim, "scalar_csr", "gather_read", self.bbuf_key, nnz * d // 16)
        self.scalar_cycles += cycles
        return [cycles]

    # ------------------------------------------------------------------ host side
    async def run(self, cmd: int, b: int, c: int, m: int, k: int, n: int, *more: int) -> int:
        """Host side: run a command and wait for its interrupt; returns RESULT[0]."""
        args = [b & 0xFFFF_FFFF, b >> 32, c & 0xFFFF_FFFF, c >> 32, m, k, n, *more]
        (result,) = await self.driver.run(cmd, *args, results=1)
        return int(result)


def pack_jobs(group_steps: list[int], limit: int = MAX_STEPS) -> list[int]:
    """Steps per multiply job: whole row groups, in order, at most `limit` per job."""
    jobs = [0]
    for s in group_steps:
        if jobs[-1] + s > limit:
            jobs.append(0)
        jobs[-1] += s
    return jobs


def write_back(seq: Sequencer, addr: int, data: np.ndarray) -> Any:
    """Write a result tile to DRAM in CHUNK-byte transfers on the data mover, while the
    sequencer goes on (await the returned process before the command ends)."""
    raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)

    async def write() -> None:
        for off in range(0, len(raw), CHUNK):
            await seq.mover.write(addr + off, raw[off : off + CHUNK])

    return cosim.spawn(write())


async def gather_rows(seq: Sequencer, base: int, rows: list[int], width: int) -> np.ndarray:
    """Rows `rows` of a row-major int8 matrix at `base` (`width` bytes each), read by
    the data mover with every read in flight at once (the gather unit's DRAM side)."""
    got: dict[int, np.ndarray] = {}

    async def one(i: int, row: int) -> None:
        got[i] = await seq.mover.read(base + row * width, width)

    procs = [cosim.spawn(one(i, r)) for i, r in enumerate(rows)]
    for p in procs:
        await p
    return np.stack([got[i] for i in range(len(rows))]).view(np.int8)
