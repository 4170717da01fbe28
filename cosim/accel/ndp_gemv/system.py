"""A GEMV accelerator behind the HBM interface: the third path of the near-data GEMV
comparison, next to the near-bank units (cosim.system.ndp) and the host
(cosim.system.ndp_system.host_gemv), in the same system.

The accelerator sits on the SoC side of the memory interface: its read engine streams A
from the HBM over the interface and the fabric (every byte pays the interface energy,
as for the host), and `units` MAC units of the same design as the near-bank units
(cosim.accel.ndp_gemv.mac_unit: the same datapath, any of its functional/tlm/rtl twins) compute.
So the near-data and accelerator paths differ only in where the MAC units sit, which is
the survey's question (Mutlu et al., "A Modern Primer on Processing in Memory", 2022):
internal bank bandwidth against the interface's.

    accel = GemvAccelerator(system, impl="tlm", units=8)
    y = await accel.driver.gemv(a_layout, x)     # host side: registers, poll, read y

The host programs it through its command window (GEMV with DTYPE, M, N, A, Y as
arguments; x into the window's buffer), polls STATUS like the ndp driver, and reads y
from the HBM where the accelerator wrote it (contiguous int32 / fp32). A is laid out for
the near-bank units (cosim.system.ndp_layout), so the read engine fetches 1 KiB address-
contiguous blocks grouped by the A rows they hold (a block holds one burst of each of
several rows): each group of blocks completes a set of rows in a small staging buffer,
whose peak occupancy is reported. Rows go to the units round-robin as they complete;
every unit streams its rows in and its results out concurrently, one burst per cycle.

Defaults (assumptions, stated here and in the notes of each run): 8 units of one
32-byte burst per cycle at 1 GHz = 256 B/cycle, the HBM2 stack's peak; 32 requests of
1 KiB in flight (twice the host's memory-level parallelism, as an accelerator's DMA
engine keeps more requests outstanding than a core).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.accel.control import BUFFER, CommandWindow, Fifo
from cosim.accel.device import AcceleratorDriver
from cosim.accel.ndp_gemv.mac_unit import MacUnitDriver, mac_unit
from cosim.errors import ParameterError, SimulationError
from cosim.system.ndp_layout import DTYPE_CODES, DTYPES, GEMV_OUT, Layout, check_dtype
from cosim.system.ndp_system import NdpSystem

ACCEL_BASE = 0x7000_0000
#: The command, and its arguments (command window ARG[i]; A and Y are 64-bit, two each).
GEMV = 1
DTYPE, M, N, A, Y = 0, 1, 2, 3, 5
#: Bytes of the window's buffer, which holds x.
XBUF_BYTES = 0x1000
COMPONENT = "gemv_accel"

ACCEL_SOURCE = (
    "assumption: 8 MAC units of one 32-byte burst per cycle at 1 GHz (256 B/cycle, the "
    "HBM2 stack's 256 GB/s peak), the near-bank units' datapath (rtl/ndp_gemv/ndp_mac_unit.sv); "
    "32 x 1 KiB reads in flight; 2-cycle register latency as the ndp model's 2 ns"
)


@dataclass
class _Job:
    """What the driver describes out of band: the layout of A, where y goes."""

    layout: Layout
    y_addr: int


@dataclass
class AccelFigures:
    """What the last GEMV did: rows, read blocks, the staging buffer's peak, rows per
    unit, and its phases (ps): A streaming from the first read to the last block's
    arrival, and the end of compute (all results out of the units)."""

    rows: int = 0
    blocks: int = 0
    staging_peak_bytes: int = 0
    unit_rows: list[int] = field(default_factory=list)
    stream_start_ps: int = 0
    stream_end_ps: int = 0
    compute_end_ps: int = 0
    bytes_streamed: int = 0


class GemvAccelerator:
    """The accelerator, attached to an NdpSystem's fabric at ACCEL_BASE."""

    def __init__(
        self,
        system: NdpSystem,
        impl: str = "tlm",
        *,
        units: int = 8,
        streams: int = 32,
        request_bytes: int = 1024,
        clock: int | str = "1 ns",
        waves: str | None = None,
    ) -> None:
        if units < 1 or streams < 1:
            raise ParameterError(
                f"gemv_accel: units = {units} and streams = {streams} must be >= 1"
            )
        sim = system.sim
        self.system, self.sim = system, sim
        g = system.driver.geometry
        self.burst = g.burst_bytes
        self.xbytes = int(system.ndp.buffer_bytes)
        self.request_bytes = request_bytes
        self.engines = [
            mac_unit(
                sim,
                f"accel_mac{u}",
                impl,
                burst_bytes=self.burst,
                xbytes=self.xbytes,
                clock=clock,
                **({"waves": waves} if waves and u == 0 else {}),
            )
            for u in range(units)
        ]
        self.units = [
            MacUnitDriver.attach(sim, e, f"accel_ctl{u}") for u, e in enumerate(self.engines)
        ]
        self.streams = []
        for i in range(streams):
            s = sim.initiator(f"accel_stream{i}")
            sim.bind(s, system.soc.fabric.port("target"))
            self.streams.append(s)
        self.window = CommandWindow(sim, "gemv_accel", clock=clock, buffer_bytes=XBUF_BYTES)
        self.window.map(system.soc.fabric, ACCEL_BASE)
        self.window.command(GEMV, "gemv")(self._gemv)
        system.soc.address_map["gemv_accel"] = (ACCEL_BASE, self.window.size)
        self.figures = AccelFigures()
        self.job: _Job | None = None
        self.driver = AccelDriver(self)
        self._energy: dict[str, Any] = {}
        self.notes = {"gemv_accel": ACCEL_SOURCE, "impl": impl}

    # ----------------------------------------------------------------- energy
    def _charge(self, kind: str, key: str, count: int) -> None:
        energy.charge(self.sim, COMPONENT, kind, key, max(0, count), kind)

    # -------------------------------------------------------------- controller
    def _index(self, a: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every burst of A's streams in address order: (address, matrix row, burst
        index within the row)."""
        g = self.system.driver.geometry
        bb = g.burst_bytes
        flat = a.burst_addresses().ravel()
        order = np.argsort(flat, kind="stable")
        unit, burst = np.divmod(order, a.stream_bytes // bb)
        local, col = np.divmod(burst * bb, a.row_stride)
        return flat[order], local * g.units + unit, col // bb

    def _blocks(self, a: Layout) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
        """The read blocks (address, length, and of each burst its row and index in the
        row), ordered so that consecutive blocks complete the same rows."""
        addrs, rows, cols = self._index(a)
        bb = self.burst
        blocks = []
        for start, length in a.ranges(self.request_bytes):
            i = int(np.searchsorted(addrs, start))
            r, c = rows[i : i + length // bb], cols[i : i + length // bb]
            live = r < a.m
            if np.any(live):
                blocks.append((start, length, r, c))
        # Blocks holding the same rows form a group; groups in row order, so a group's
        # rows complete together and the staging buffer holds about one group.
        groups: dict[tuple[int, ...], list[tuple[int, int, np.ndarray, np.ndarray]]] = {}
        for b in blocks:
            groups.setdefault(tuple(np.unique(b[2][b[2] < a.m]).tolist()), []).append(b)
        ordered = sorted(groups.values(), key=lambda g: (g[0][2][g[0][2] < a.m].min(), g[0][0]))
        return [b for g in ordered for b in g]

    async def _gemv(self, window: CommandWindow) -> None:
        """GEMV: y = A x, x from the window's buffer, the layout of A as the driver
        described it (and the arguments repeat)."""
        job = self.job
        if job is None:
            raise SimulationError("gemv_accel: CMD written without a job (use the driver)")
        a = job.layout
        dtype, m, n = a.dtype, a.m, a.n
        args = window.args
        x = window.buffer[: n * a.itemsize].view(DTYPES[dtype]).copy()
        if (args[DTYPE], args[M], args[N], window.arg64(A), window.arg64(Y)) != (
            DTYPE_CODES[dtype],
            m,
            n,
            a.address,
            job.y_addr,
        ):
            raise SimulationError(
                "gemv_accel: the DTYPE, M, N, A and Y registers disagree with the matrix "
                "layout the driver described"
            )
        g = self.system.driver.geometry
        bb, e = g.burst_bytes, a.itemsize
        lanes = bb // e
        per_row = a.row_stride // bb
        units = len(self.units)
        soc = self.system.soc
        # x into every unit's buffer (on-chip)
        await cosim.all_of(*[cosim.spawn(u.load_x(x)) for u in self.units])
        xwords = len(self.units) * (-(-n * e // bb) * bb) // 4
        self._charge("buffer", "sram_read_32b_8kb", xwords)
        counts = [len(range(u, m, units)) for u in range(units)]
        for u, drv in zip(self.units, counts, strict=True):
            await u.run(drv)
        # completed rows per unit, and the rows each unit has been sent (for its results)
        rows_in = [Fifo(self.sim, f"gemv_accel.rows{u}", max(1, counts[u])) for u in range(units)]
        sent = [Fifo(self.sim, f"gemv_accel.sent{u}", max(1, counts[u])) for u in range(units)]
        y = np.zeros(m, dtype=np.uint32)
        blocks = self._blocks(a)
        parts: dict[int, np.ndarray] = {}
        got: dict[int, int] = {}
        done_rows = 0
        peak = 0
        work = iter(range(len(blocks)))
        arrived = Fifo(self.sim, "gemv_accel.blocks", max(1, len(blocks)))
        base = soc.DRAM

        async def fetch(sock: Any) -> None:
            for k in work:
                addr, length, _, _ = blocks[k]
                await arrived.put((k, await sock.read(base + addr, length)))

        async def feed(u: int) -> None:
            for _ in range(counts[u]):
                i, raw = await rows_in[u].get()
                await self.units[u].send(raw)
                await sent[u].put(i)

        async def drain(u: int) -> None:
            # a result is read once its row is in (the abstract twins cannot block)
            for _ in range(counts[u]):
                i = await sent[u].get()
                v = await self.units[u].results(1)
                y[i] = v[0]

        t_stream = cosim.now()
        fetchers = [cosim.spawn(fetch(s)) for s in self.streams]
        workers = [cosim.spawn(feed(u)) for u in range(units)] + [
            cosim.spawn(drain(u)) for u in range(units)
        ]
        for _ in range(len(blocks)):
            k, data = await arrived.get()
            _, _, rows, cols = blocks[k]
            chunks = np.asarray(data, np.uint8).reshape(-1, bb)
            for row, col, chunk in zip(rows.tolist(), cols.tolist(), chunks, strict=True):
                if row >= m:
                    continue
                buf = parts.setdefault(row, np.zeros(a.row_stride, np.uint8))
                buf[col * bb : (col + 1) * bb] = chunk
                got[row] = got.get(row, 0) + 1
                if got[row] == per_row:
                    del got[row]
                    u = done_rows % units
                    await rows_in[u].put((row, parts.pop(row)))
                    done_rows += 1
            peak = max(peak, len(parts) * a.row_stride)
        t_streamed = cosim.now()
        for f in fetchers:
            await f
        for w in workers:
            await w
        for u in self.units:
            await u.wait_done()
        t_computed = cosim.now()
        # MAC datapath energy, as the near-bank units charge it (tlm/ndp/ndp.cpp)
        slots = m * (a.row_stride // e)
        mult = "int8_mult" if dtype == "int8" else "fp16_mult"
        add = "int32_add" if dtype == "int8" else "fp32_add"
        self._charge(mult, mult, slots)
        self._charge(add, add, slots + m * (lanes - 1))
        self._charge("buffer", "sram_read_32b_8kb", m * (a.row_stride // 4))
        # y back to the HBM, contiguous, over the fabric (1 KiB writes, in parallel)
        out = np.ascontiguousarray(y).view(np.uint8)
        pieces = iter(range(0, out.size, 1024))

        async def write_back(sock: Any) -> None:
            for o in pieces:
                await sock.write(base + job.y_addr + o, out[o : o + 1024])

        for w in [cosim.spawn(write_back(s)) for s in self.streams]:
            await w
        self.figures = AccelFigures(
            rows=m,
            blocks=len(blocks),
            staging_peak_bytes=peak,
            unit_rows=counts,
            stream_start_ps=t_stream,
            stream_end_ps=t_streamed,
            compute_end_ps=t_computed,
            bytes_streamed=sum(b[1] for b in blocks),
        )


class AccelDriver:
    """The host's driver: x into the window's buffer, the arguments, GEMV, poll STATUS
    (an uncached read and `poll_ops` driver operations per poll, as NdpDriver), then y
    read from the HBM."""

    def __init__(self, accel: GemvAccelerator, poll_ops: int = 10, max_access: int = 4096) -> None:
        self.accel = accel
        self.host = accel.system.host
        self.window = AcceleratorDriver(self.host, accel.window, poll_ops=poll_ops)
        self.max_access = max_access
        self.y_addr = accel.system.soc.DATA - accel.system.soc.DRAM

    async def gemv(self, a: Layout, x: Any) -> np.ndarray:
        """y = A x on the accelerator (A: a matrix laid out for the near-bank units, as
        NdpDriver.store leaves it); returns y as the host reads it back."""
        check_dtype(a.dtype, tuple(GEMV_OUT))
        xv = np.ascontiguousarray(np.asarray(x))
        if xv.shape != (a.n,) or xv.dtype != np.dtype(DTYPES[a.dtype]):
            raise ParameterError(f"x must be {a.n} {a.dtype} values for the {a.describe()}")
        if xv.nbytes > XBUF_BYTES:
            raise ParameterError(f"x of {xv.nbytes} B does not fit the accelerator's buffer")
        acc = self.accel
        acc.job = _Job(a, self.y_addr)
        await self.host.write(ACCEL_BASE + BUFFER, xv.view(np.uint8))
        await self.window.run(
            GEMV,
            DTYPE_CODES[a.dtype],
            a.m,
            a.n,
            a.address & 0xFFFF_FFFF,
            a.address >> 32,
            self.y_addr & 0xFFFF_FFFF,
            self.y_addr >> 32,
        )
        out_dtype = np.int32 if a.dtype == "int8" else np.float32
        nbytes = a.m * 4
        base = acc.system.soc.DRAM + self.y_addr
        chunks = [
            await self.host.read(base + o, min(self.max_access, nbytes - o))
            for o in range(0, nbytes, self.max_access)
        ]
        return np.concatenate(chunks).view(out_dtype)
