"""GCoD on the standard SoC: a command window (cosim.accel.device.Accelerator) with two
aggregation engines on its local bus, the dense-block engine (driven by the sequencer)
and the sparse engine (driven by the data mover, concurrently). Command 1 aggregates one
GCN layer: the combination H = X W (half the nodes on each engine, H to DRAM), then the
aggregation Y = (A + I) H block by block:

- GCoD (partitioned): the sparse engine sums block b's off-diagonal nonzeros, fetching
  each feature row from DRAM, into partial rows in the scratchpad; the dense-block engine
  loads block b's features into the scratchpad once and sums its diagonal nonzeros plus
  the partial row, while the sparse engine already works on block b + 1.
- Baseline (unpartitioned): the same engines take alternate blocks of the graph in its own
  order; each keeps its block's features in the scratchpad (the same caching) and fetches
  every other feature row from DRAM.

The graph's structure (per block: rows, columns, as int32 arrays) is read from DRAM.
Feature fetches are 64-byte reads, `outstanding` of them in flight (both runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel.control import ControllerPort, Fifo
from cosim.accel.device import Accelerator, AcceleratorDriver
from cosim.accel.stream_engine import CTRL, CTRL_START

from .engine import BEATS, COUNT, MACS, MAX_COUNT, ROWS, beats, gcod_engine

ACCEL_BASE, AGGREGATE = 0x5000_0000, 1  # the command window on the fabric, command 1
CLOCK = "2 ns"  # 500 MHz engines (assumption, as the FPGA/ASIC GCN accelerators' range)


@dataclass
class Plan:
    """What command 1 runs: per block, the nonzeros each engine takes. Positions are the
    layer's order; features H (nodes, lanes) int32 at `h_addr`, Y written to `y_addr`."""

    nodes: int
    block: np.ndarray  # block of each position
    rows: np.ndarray
    cols: np.ndarray
    partitioned: bool  # GCoD: diagonal on the dense engine, off-diagonal on the sparse one
    struct_addr: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)


@dataclass
class EngineLog:
    """What one engine did in a command: busy intervals (ps), feature rows it fetched from
    DRAM, counter increases."""

    busy: list[tuple[int, int]] = field(default_factory=list)
    dram_rows: int = 0
    macs: int = 0
    beats: int = 0


class GcodAccelerator:
    def __init__(
        self,
        sim: Any,
        soc: Any,
        impl: str,
        *,
        lanes: int = 16,
        max_rows: int = 64,
        outstanding: int = 1,
    ):
        self.sim, self.soc, self.lanes, self.max_rows = sim, soc, lanes, max_rows
        self.outstanding = outstanding
        self.device = Accelerator(sim, soc, "gcod", base=ACCEL_BASE, clock=CLOCK)
        self.engines = {
            role: gcod_engine(sim, role, impl, lanes=lanes, max_rows=max_rows, clock=CLOCK)
            for role in ("dense", "sparse")
        }
        self.done = {}
        for role, eng in self.engines.items():
            self.device.attach(eng, streams=("in", "out"))
            self.done[role] = self.device.done_line(eng)
        self.ports = {"dense": self.device.sequencer, "sparse": ControllerPort(self.device.mover)}
        self.device.command(AGGREGATE, "aggregate")(self._aggregate)
        self.driver = AcceleratorDriver(soc.host, self.device)
        self.plan: Plan | None = None
        self.logs: dict[str, EngineLog] = {}
        self.h_addr = self.y_addr = 0

    # ------------------------------------------------------------------ placement
    def place(self, plan: Plan, at: int) -> int:
        """Write the plan's structure per block into DRAM from `at` (what the host's loader
        would have put there); returns the first free address."""
        mem = self.soc.dram.array()
        for b in range(int(plan.block.max()) + 1):
            mine = plan.block[plan.rows] == b
            for part, sel in (
                ("diag", mine & (plan.block[plan.cols] == b)),
                ("off", mine & (plan.block[plan.cols] != b)),
            ):
                arr = np.concatenate([plan.rows[sel], plan.cols[sel]]).astype(np.int32)
                off = at - self.soc.DRAM
                mem[off : off + arr.nbytes] = arr.view(np.uint8)
                plan.struct_addr[(b, part)] = (at, int(sel.sum()))
                at += -(-arr.nbytes // 64) * 64
        self.plan = plan
        return at

    # ------------------------------------------------------------------ the program
    async def _run_rows(self, role: str, weights, feats, ends, remote=None) -> np.ndarray:
        """Rows through one engine in jobs of at most max_rows rows; returns the sums.
        Beats whose `remote` entry is a node (>= 0) get that node's feature row from
        DRAM while the job runs, fetched chunk by chunk just before the chunk is sent."""
        eng, port, log = self.engines[role], self.ports[role], self.logs[role]
        csr = self.device.address(eng, "csr")
        din, dout = self.device.address(eng, "in"), self.device.address(eng, "out")
        out = []
        beat = 4 * (self.lanes + 1)
        step = 4096 - 4096 % beat
        lo = 0
        for first in range(0, len(ends), self.max_rows):
            last = min(first + self.max_rows, len(ends))
            hi = int(ends[last - 1])
            if hi - lo > MAX_COUNT:
                raise ValueError(f"gcod: a job of {hi - lo} beats exceeds COUNT's {MAX_COUNT}")
            t0 = cosim.now()
            await port.write32(csr + COUNT, hi - lo)
            await port.write32(csr + ROWS, last - first)
            await port.write32(csr + CTRL, CTRL_START)
            per = step // beat
            for at in range(lo, hi, per):
                end = min(at + per, hi)
                if remote is not None and np.any(remote[at:end] >= 0):
                    far = np.flatnonzero(remote[at:end] >= 0) + at
                    feats[far] = await self._fetch_dram(role, remote[far])
                img = beats(weights[at:end], feats[at:end], ends[first:last] - at)
                await port.write(din, img.view(np.uint8).reshape(-1))
            res = await port.read(dout, 4 * self.lanes * (last - first))
            await self.done[role].wait()
            log.busy.append((t0, cosim.now()))
            out.append(np.asarray(res).view("<i4").reshape(-1, self.lanes))
            lo = hi
        return np.concatenate(out) if out else np.zeros((0, self.lanes), np.int32)

    async def _fetch_dram(self, role: str, cols: np.ndarray) -> np.ndarray:
        """Feature rows from DRAM, one 64-byte read per nonzero (no reuse), with up to
        `outstanding` reads in flight (one process each, dealt round robin)."""
        port, row = self.ports[role], 4 * self.lanes
        self.logs[role].dram_rows += len(cols)
        got = np.zeros((len(cols), row), np.uint8)

        async def lane(k: int) -> None:
            for i in range(k, len(cols), self.outstanding):
                got[i] = np.asarray(await port.read(self.h_addr + row * int(cols[i]), row))

        procs = [cosim.spawn(lane(k)) for k in range(min(self.outstanding, len(cols)))]
        for proc in procs:
            await proc
        return got.view("<i4").reshape(-1, self.lanes)

    async def _load_block(self, role: str, b: int, slot: int) -> tuple[int, np.ndarray]:
        """Block b's feature rows DRAM -> scratchpad slot (once), then into the engine's
        operand path; returns (first position, rows)."""
        p, port, row = self.plan, self.ports[role], 4 * self.lanes
        pos = np.flatnonzero(p.block == b)
        b0, n = int(pos[0]), len(pos)
        spad = self.soc.SPAD + slot * self.slot_bytes
        self.logs[role].dram_rows += n
        for off in range(0, n * row, 4096):
            size = min(4096, n * row - off)
            data = await port.read(self.h_addr + b0 * row + off, size)
            await port.write(spad + off, data)
        feats = np.asarray(await port.read(spad, n * row)).view("<i4").reshape(n, self.lanes)
        return b0, feats

    async def _structure(self, role: str, b: int, part: str) -> tuple[np.ndarray, np.ndarray]:
        """Block b's diagonal ("diag") or off-diagonal ("off") nonzeros from DRAM."""
        addr, nnz = self.plan.struct_addr[(b, part)]
        if not nnz:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        arr = np.asarray(await self.ports[role].read(addr, 8 * nnz)).view("<i4")
        return arr[:nnz].astype(np.int64), arr[nnz:].astype(np.int64)

    async def _gcod_sparse(self, blocks: int, handoff: Fifo) -> None:
        for b in range(blocks):
            r, c = await self._structure("sparse", b, "off")
            part = np.zeros((0, self.lanes), np.int32)
            if len(r):
                feats = np.zeros((len(c), self.lanes), np.int32)
                ends = np.flatnonzero(np.r_[r[1:] != r[:-1], True]) + 1
                ones = np.ones(len(r), np.int64)
                part = await self._run_rows("sparse", ones, feats, ends, remote=c)
                spad = self.soc.SPAD + (2 + b % 2) * self.slot_bytes
                await self.ports["sparse"].write(spad, part.view(np.uint8).reshape(-1))
            await handoff.put((b, np.unique(r), len(part)))

    async def _gcod_dense(self, blocks: int, handoff: Fifo) -> None:
        port = self.ports["dense"]
        for b in range(blocks):
            b0, feats = await self._load_block("dense", b, 0)
            r, c = await self._structure("dense", b, "diag")
            _, prow, m = await handoff.get()
            part = np.zeros((0, self.lanes), np.int32)
            if m:
                spad = self.soc.SPAD + (2 + b % 2) * self.slot_bytes
                raw = await port.read(spad, 4 * self.lanes * m)
                part = np.asarray(raw).view("<i4").reshape(m, self.lanes)
            await self._dense_rows(b0, r, c, feats, prow, part)

    async def _dense_rows(self, b0, r, c, feats, prow, part) -> None:
        """Block rows b0..b0+n: its on-chip nonzeros (+ one partial beat per row that has
        one) through the dense engine, Y rows written to DRAM."""
        w = np.ones(len(r), np.int64)
        f = feats[c - b0]
        if len(prow):
            r = np.r_[r, prow]
            w = np.r_[w, np.ones(len(prow), np.int64)]
            f = np.concatenate([f, part])
            o = np.argsort(r, kind="stable")
            r, w, f = r[o], w[o], f[o]
        ends = np.flatnonzero(np.r_[r[1:] != r[:-1], True]) + 1
        y = await self._run_rows("dense", w, f, ends)
        await self.ports["dense"].write(
            self.y_addr + 4 * self.lanes * b0, y.astype("<i4").view(np.uint8).reshape(-1)
        )

    async def _baseline(self, role: str, blocks: range) -> None:
        """Whole blocks of the unpartitioned graph: on-chip features of the block, every
        other row fetched from DRAM."""
        slot = 0 if role == "dense" else 1
        for b in blocks:
            b0, feats = await self._load_block(role, b, slot)
            rd, cd = await self._structure(role, b, "diag")
            ro, co = await self._structure(role, b, "off")
            o = np.lexsort((np.r_[cd, co], np.r_[rd, ro]))
            r, c = np.r_[rd, ro][o], np.r_[cd, co][o]
            inside = self.plan.block[c] == b
            f = np.zeros((len(c), self.lanes), np.int32)
            f[inside] = feats[c[inside] - b0]
            ends = np.flatnonzero(np.r_[r[1:] != r[:-1], True]) + 1
            far = np.where(inside, -1, c)
            y = await self._run_rows(role, np.ones(len(r), np.int64), f, ends, remote=far)
            await self.ports[role].write(
                self.y_addr + 4 * self.lanes * b0, y.astype("<i4").view(np.uint8).reshape(-1)
            )

    async def _combine(self, role: str, n0: int, n1: int, x_addr: int, w_addr: int, f_in: int):
        """H rows n0..n1 = X W: X's nonzero columns (binary X, CSR at x_addr: row
        pointers, then columns, int32) select rows of W (f_in x lanes int32, read once
        into the engine's operand path); a row without nonzeros is one zero-weight beat."""
        port = self.ports[role]
        if n1 <= n0:
            return
        w = np.asarray(await port.read(w_addr, 4 * self.lanes * f_in)).view("<i4")
        w = w.reshape(f_in, self.lanes)
        ptr = np.asarray(await port.read(x_addr + 4 * n0, 4 * (n1 - n0 + 1))).view("<i4")
        ptr = ptr.astype(np.int64)
        cols_at = x_addr + 4 * (self.plan.nodes + 1)
        nnz = int(ptr[-1] - ptr[0])
        cols = np.zeros(0, np.int64)
        if nnz:
            raw = await port.read(cols_at + 4 * int(ptr[0]), 4 * nnz)
            cols = np.asarray(raw).view("<i4").astype(np.int64)
        counts = np.diff(ptr)
        per = np.maximum(counts, 1)
        ends = np.cumsum(per)
        weights = np.zeros(int(ends[-1]), np.int64)
        feats = np.zeros((int(ends[-1]), self.lanes), np.int32)
        starts = ends - per
        idx = np.repeat(starts, counts) + (np.arange(nnz) - np.repeat(ptr[:-1] - ptr[0], counts))
        weights[idx] = 1
        feats[idx] = w[cols]
        h = await self._run_rows(role, weights, feats, ends)
        row = 4 * self.lanes
        await port.write(self.h_addr + row * n0, h.astype("<i4").view(np.uint8).reshape(-1))

    async def _aggregate(self, seq: Any) -> list[int]:
        self.h_addr, self.y_addr = seq.arg64(0), seq.arg64(2)
        x_addr, w_addr, f_in = seq.arg64(4), seq.arg64(6), seq.args[8]
        blocks = int(self.plan.block.max()) + 1
        self.logs = {role: EngineLog() for role in self.engines}
        before = {role: await self._counters(role) for role in self.engines}
        half = self.plan.nodes // 2  # the combination: half the nodes on each engine
        other = cosim.spawn(self._combine("sparse", half, self.plan.nodes, x_addr, w_addr, f_in))
        await self._combine("dense", 0, half, x_addr, w_addr, f_in)
        await other
        if self.plan.partitioned:
            handoff = Fifo(self.sim, "gcod_handoff", 1)
            sparse = cosim.spawn(self._gcod_sparse(blocks, handoff))
            await self._gcod_dense(blocks, handoff)
        else:
            sparse = cosim.spawn(self._baseline("sparse", range(1, blocks, 2)))
            await self._baseline("dense", range(0, blocks, 2))
        await sparse
        for role in self.engines:
            macs, nbeats = await self._counters(role)
            log = self.logs[role]
            log.macs, log.beats = macs - before[role][0], nbeats - before[role][1]
            energy.charge(self.sim, f"gcod_{role}", "mult", "int32_mult", log.macs)
            energy.charge(self.sim, f"gcod_{role}", "add", "int32_add", log.macs)
        return [sum(g.dram_rows for g in self.logs.values())]

    async def _counters(self, role: str) -> tuple[int, int]:
        eng, port = self.engines[role], self.ports[role]
        csr = self.device.address(eng, "csr")
        return await port.read32(csr + MACS), await port.read32(csr + BEATS)

    @property
    def slot_bytes(self) -> int:
        size = -(-self.plan.nodes // (int(self.plan.block.max()) + 1))
        return -(-size * 4 * self.lanes // 64) * 64

    async def layer(self, h_addr: int, y_addr: int, x_addr: int, w_addr: int, f_in: int) -> int:
        """Host side: run command 1 (H = X W into h_addr, then Y = (A + I) H into y_addr)
        and wait for its interrupt; returns the feature rows read from DRAM."""
        args = [v for a in (h_addr, y_addr, x_addr, w_addr) for v in (a & 0xFFFF_FFFF, a >> 32)]
        (rows,) = await self.driver.run(AGGREGATE, *args, f_in, results=1)
        return rows


def overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    """Time (ps) in which both interval lists are busy (each list sorted, disjoint)."""
    i = j = total = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        total += max(0, hi - lo)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total
