"""The dense int8 systolic array engine, with three interchangeable implementations
behind one interface (DESIGN.md principle 5):

- "functional": numpy, untimed (every transaction completes in zero time);
- "tlm": tlm/systolic_array.cpp, approximately timed C++;
- "rtl": rtl/systolic_array.sv, Verilated and clocked cycle by cycle behind bridges.

Each presents the same TLM ports: `csr` (32-bit registers, see REGISTERS), `data_in`
(operand beats), `data_out` (result rows) and a `done` event, so a system is built once
and the engine swapped by name:

    sa = systolic_array(sim, "sa", impl="rtl", rows=8, cols=8, dataflow="OS")
    bus.map(sa.csr, base=0x1000, size=0x100) ...
    driver = SystolicDriver(host, sa.layout, csr=0x1000, data_in=0x2000, data_out=0x3000)
    c = await driver.matmul(a, b)       # inside a process; tiles any (M,K)x(K,N) GEMM

Operand beat (rows+cols bytes): bytes [0, cols) are a row of B (OS) or of the weights
W (WS), bytes [cols, cols+rows) a column of the A tile (OS) or a row of A (WS). A result
row is cols little-endian int32.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim import _core
from cosim.accel.engine import RtlTop, build_engine
from cosim.errors import ParameterError

REGISTERS = {"CTRL": 0x00, "STATUS": 0x04, "DEPTH": 0x08, "CYCLES": 0x0C, "INFO": 0x10}


@dataclass(frozen=True)
class SystolicLayout:
    """Shape and dataflow of an array; how operands and results are laid out in bytes."""

    rows: int
    cols: int
    dataflow: str = "OS"

    def __post_init__(self) -> None:
        if self.dataflow not in ("OS", "WS"):
            raise ParameterError(
                f"systolic array dataflow must be 'OS' or 'WS', got {self.dataflow!r}"
            )
        if not (1 <= self.rows <= 64 and 1 <= self.cols <= 64 and self.rows + self.cols <= 128):
            raise ParameterError(
                f"systolic array shape {self.rows}x{self.cols}: rows and cols must be 1..64 with "
                "rows+cols <= 128 (operand beats of at most 1024 bits)"
            )

    @property
    def beat_bytes(self) -> int:
        return self.rows + self.cols

    @property
    def row_bytes(self) -> int:
        return 4 * self.cols

    def beats(self, a_part: np.ndarray | None, b_part: np.ndarray | None, n: int) -> np.ndarray:
        """n operand beats as one uint8 array: a_part (n x rows) and b_part (n x cols),
        either may be None (zeros)."""
        out = np.zeros((n, self.beat_bytes), dtype=np.int8)
        if b_part is not None:
            out[:, : self.cols] = b_part
        if a_part is not None:
            out[:, self.cols :] = a_part
        return out.view(np.uint8).reshape(-1)

    def results(self, raw: np.ndarray) -> np.ndarray:
        """Result rows (bytes) as an int32 matrix of cols columns."""
        return np.frombuffer(np.ascontiguousarray(raw).tobytes(), dtype="<i4").reshape(
            -1, self.cols
        )


def golden_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The reference: int8 x int8 products summed in int32 (wrapping like the hardware)."""
    return (np.asarray(a, dtype=np.int64) @ np.asarray(b, dtype=np.int64)).astype(np.int32)


@dataclass
class SystolicArray:
    """The ports of one systolic array instance, whatever its implementation."""

    impl: str
    layout: SystolicLayout
    csr: Any  # cosim.Port (TLM target)
    data_in: Any
    data_out: Any
    done: Any  # cosim.Event
    model: Any = None  # the underlying model object (RtlBlock, Model, or functional state)


# ------------------------------------------------------------------- functional twin
class _FunctionalState:
    """The numpy twin's state machine (same register map and stream protocol, no time)."""

    def __init__(self, layout: SystolicLayout, done: Any) -> None:
        self.layout = layout
        self.done = done
        self.depth = 0
        self.phase = "idle"  # idle, weights, feed, done
        self.job_depth = 0
        self.taken = 0
        self.weights = np.zeros((layout.rows, layout.cols), dtype=np.int64)
        self.acc = np.zeros((layout.rows, layout.cols), dtype=np.int64)
        self.rows: list[np.ndarray] = []
        self.read = 0
        self.total = 0
        self.jobs = 0

    def csr(self, payload: Any) -> None:
        if payload.length != 4:
            payload.set_error(_core.Response.BURST_ERROR, "the register port takes 4-byte accesses")
            return
        addr = payload.address
        if payload.is_write:
            (value,) = struct.unpack("<I", payload.data.tobytes())
            if addr == REGISTERS["DEPTH"]:
                self.depth = value
            elif addr == REGISTERS["CTRL"] and value & 1 and self.phase in ("idle", "done"):
                self._start()
        else:
            busy = self.phase in ("weights", "feed")
            value = {
                REGISTERS["STATUS"]: (2 if self.phase == "done" else 0) | (1 if busy else 0),
                REGISTERS["DEPTH"]: self.depth,
                REGISTERS["INFO"]: self.layout.rows
                | self.layout.cols << 8
                | (self.layout.dataflow == "WS") << 16
                | 1 << 24,
            }.get(addr, 0)
            payload.data[:] = np.frombuffer(struct.pack("<I", value), dtype=np.uint8)
        payload.set_ok()

    def _start(self) -> None:
        lay = self.layout
        self.jobs += 1
        self.job_depth = self.depth
        self.taken = 0
        self.acc[:] = 0
        self.rows = []
        self.read = 0
        self.phase = "weights" if lay.dataflow == "WS" else "feed"
        self.total = self.job_depth if lay.dataflow == "WS" else lay.rows
        if lay.dataflow == "OS" and self.job_depth == 0:
            self.rows = list(self.acc.astype(np.int32))

    def operands(self, payload: Any) -> None:
        lay = self.layout
        if not payload.is_write or payload.length % lay.beat_bytes:
            payload.set_error(
                _core.Response.BURST_ERROR,
                f"operand writes must be whole beats of {lay.beat_bytes} bytes",
            )
            return
        beats = payload.data.view(np.int8).reshape(-1, lay.beat_bytes).astype(np.int64)
        wanted = (
            (lay.rows - self.taken + self.job_depth)
            if self.phase == "weights"
            else self.job_depth - self.taken
        )
        if self.phase not in ("weights", "feed") or len(beats) > wanted:
            payload.set_error(
                _core.Response.COMMAND_ERROR, f"no job is waiting for {len(beats)} operand beats"
            )
            return
        for beat in beats:
            b, a = beat[: lay.cols], beat[lay.cols :]
            if self.phase == "weights":
                self.weights[self.taken] = b
                self.taken += 1
                if self.taken == lay.rows:
                    self.phase, self.taken = "feed", 0
                    if self.job_depth == 0:
                        self._finish()
            elif lay.dataflow == "OS":
                self.acc += np.outer(a, b)
                self.taken += 1
                if self.taken == self.job_depth:
                    self.rows = list(self.acc.astype(np.int32))
            else:
                self.rows.append((a @ self.weights).astype(np.int32))
                self.taken += 1
        payload.set_ok()

    def results(self, payload: Any) -> None:
        lay = self.layout
        if not payload.is_read or payload.length % lay.row_bytes:
            payload.set_error(
                _core.Response.BURST_ERROR,
                f"result reads must be whole rows of {lay.row_bytes} bytes",
            )
            return
        n = payload.length // lay.row_bytes
        if self.phase != "feed" or self.read + n > len(self.rows):
            payload.set_error(
                _core.Response.COMMAND_ERROR,
                f"asked for {n} result rows but only {len(self.rows) - self.read} exist",
            )
            return
        out = np.stack(self.rows[self.read : self.read + n]).astype("<i4")
        payload.data[:] = out.view(np.uint8).reshape(-1)
        self.read += n
        if self.read == self.total:
            self._finish()
        payload.set_ok()

    def _finish(self) -> None:
        self.phase = "done"
        self.done.notify()


# ----------------------------------------------------------------------- factory
def systolic_array(
    sim: Any,
    name: str,
    *,
    impl: str = "rtl",
    rows: int = 8,
    cols: int = 8,
    dataflow: str = "OS",
    clock: int | str = "1 ns",
    **rtl_options: Any,
) -> SystolicArray:
    """Instantiate a systolic array engine in `sim` with the chosen implementation
    (through cosim.accel.engine.build_engine).

    rtl_options go to cosim.rtl.block for impl='rtl' (waves=..., quantum=...)."""
    layout = SystolicLayout(rows, cols, dataflow)
    eng = build_engine(
        sim,
        name,
        impl,
        ports={"csr": "csr", "in": "operands", "out": "results"},
        functional=lambda done: _FunctionalState(layout, done),
        tlm=("systolic_array_tlm", {"rows": rows, "cols": cols, "dataflow": dataflow}),
        rtl=RtlTop(
            "systolic_array",
            {"ROWS": rows, "COLS": cols, "DATAFLOW": dataflow},
            stream_in=("in",),
            stream_out=("out",),
            # the array simulates its idle cycles (cosim.rtl.block's default)
            options={"idle": "run"},
        ),
        clock=clock,
        label=f"systolic array '{name}'",
        **rtl_options,
    )
    return SystolicArray(
        impl, layout, eng.port("csr"), eng.port("in"), eng.port("out"), eng.done, eng.model
    )


# ------------------------------------------------------------------------- driver
class SystolicDriver:
    """Host-side use of a systolic array through one initiator socket (directly bound to
    the array's ports or through a router): programs jobs and tiles a whole GEMM.

    csr, data_in, data_out: base addresses of the three ports as the socket sees them."""

    def __init__(
        self,
        socket: Any,
        layout: SystolicLayout,
        *,
        csr: int = 0,
        data_in: int = 0,
        data_out: int = 0,
        sockets: tuple[Any, Any, Any] | None = None,
    ) -> None:
        self.layout = layout
        self.csr_addr, self.in_addr, self.out_addr = csr, data_in, data_out
        self.s_csr, self.s_in, self.s_out = (
            sockets if sockets is not None else (socket, socket, socket)
        )
        self.jobs = 0

    async def write_reg(self, reg: str, value: int) -> None:
        await self.s_csr.write(
            self.csr_addr + REGISTERS[reg], np.frombuffer(struct.pack("<I", value), np.uint8).copy()
        )

    async def read_reg(self, reg: str) -> int:
        data = await self.s_csr.read(self.csr_addr + REGISTERS[reg], 4)
        return struct.unpack("<I", data.tobytes())[0]

    async def _job(self, depth: int) -> None:
        await self.write_reg("DEPTH", depth)
        await self.write_reg("CTRL", 1)
        self.jobs += 1

    async def tile_os(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """One OS job: a (rows x K) @ b (K x cols)."""
        lay = self.layout
        k = a.shape[1]
        await self._job(k)
        if k:
            await self.s_in.write(self.in_addr, lay.beats(a.T, b, k))
        return lay.results(await self.s_out.read(self.out_addr, lay.rows * lay.row_bytes))

    async def tile_ws(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        """One WS job: a (M x rows) @ w (rows x cols). Activations go in chunks the array
        can hold without its output being read (rows+cols-1 rows), so a sequential host
        never stalls it."""
        lay = self.layout
        m = a.shape[0]
        await self._job(m)
        await self.s_in.write(self.in_addr, lay.beats(None, w, lay.rows))
        chunk = lay.rows + lay.cols - 1
        out = []
        for start in range(0, m, chunk):
            part = a[start : start + chunk]
            await self.s_in.write(self.in_addr, lay.beats(part, None, len(part)))
            out.append(lay.results(await self.s_out.read(self.out_addr, len(part) * lay.row_bytes)))
        return np.concatenate(out) if out else np.zeros((0, lay.cols), np.int32)

    async def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """C = A @ B for int8 A (M x K) and B (K x N), tiled onto the array; int32 C."""
        a = np.asarray(a, dtype=np.int8)
        b = np.asarray(b, dtype=np.int8)
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul shapes {a.shape} and {b.shape} do not chain")
        lay = self.layout
        m, k = a.shape
        n = b.shape[1]
        c = np.zeros((m, n), dtype=np.int64)
        if lay.dataflow == "OS":
            for i in range(0, m, lay.rows):
                for j in range(0, n, lay.cols):
                    at = np.zeros((lay.rows, k), np.int8)
                    bt = np.zeros((k, lay.cols), np.int8)
                    at[: min(lay.rows, m - i)] = a[i : i + lay.rows]
                    bt[:, : min(lay.cols, n - j)] = b[:, j : j + lay.cols]
                    tile = await self.tile_os(at, bt)
                    c[i : i + lay.rows, j : j + lay.cols] += tile[
                        : min(lay.rows, m - i), : min(lay.cols, n - j)
                    ]
        else:
            for kk in range(0, k, lay.rows):
                for j in range(0, n, lay.cols):
                    w = np.zeros((lay.rows, lay.cols), np.int8)
                    kr = min(lay.rows, k - kk)
                    w[:kr, : min(lay.cols, n - j)] = b[kk : kk + kr, j : j + lay.cols]
                    at = np.zeros((m, lay.rows), np.int8)
                    at[:, :kr] = a[:, kk : kk + kr]
                    tile = await self.tile_ws(at, w)
                    c[:, j : j + lay.cols] += tile[:, : min(lay.cols, n - j)]
        return c.astype(np.int32)
