"""The dense int8 systolic array engine, three interchangeable twins behind one interface
(docs/design.md, principle 5): "functional" (numpy, untimed; its CYCLES register gives the
analytical cycles of cosim.accel.systolic.model), "tlm" (tlm/accel/systolic/, exact to the
RTL's schedule) and "rtl" (rtl/systolic/systolic_array.sv, Verilated behind bridges).

Each has the ports `csr` (REGISTERS), `data_in` (operand beats), `data_out` (result rows)
and a `done` event. Operand beat (rows+cols bytes): bytes [0, cols) a row of B (OS) or of
the stationary tile (WS, IS), bytes [cols, cols+rows) a column of A (OS) or a row of the
streamed operand (WS, IS). A result row is cols little-endian int32. The job protocol and
the schedule are in rtl/systolic/systolic_array.sv and docs/accelerators/systolic.md.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim import _core
from cosim.accel.engine import RtlTop, build_engine
from cosim.accel.systolic.model import DATAFLOWS, check_dataflow, job_cycles
from cosim.errors import ParameterError

REGISTERS = {
    "CTRL": 0x00,
    "STATUS": 0x04,
    "DEPTH": 0x08,
    "CYCLES": 0x0C,
    "INFO": 0x10,
    "FOLDS": 0x14,
}
VERSION = 2


@dataclass(frozen=True)
class SystolicLayout:
    """Shape and dataflow of an array; how operands and results are laid out in bytes."""

    rows: int
    cols: int
    dataflow: str = "OS"

    def __post_init__(self) -> None:
        check_dataflow(self.dataflow)
        if not (1 <= self.rows <= 64 and 1 <= self.cols <= 64 and self.rows + self.cols <= 128):
            raise ParameterError(
                f"systolic array shape {self.rows}x{self.cols}: rows and cols must be 1..64 with "
                "rows+cols <= 128 (operand beats of at most 1024 bits)"
            )

    @property
    def stationary(self) -> bool:
        """WS and IS keep a tile in the PEs; OS keeps the sums."""
        return self.dataflow != "OS"

    @property
    def beat_bytes(self) -> int:
        return self.rows + self.cols

    @property
    def row_bytes(self) -> int:
        return 4 * self.cols

    @property
    def info(self) -> int:
        """The INFO register of this shape."""
        return self.rows | self.cols << 8 | DATAFLOWS.index(self.dataflow) << 16 | VERSION << 24

    def beats(self, a_part: np.ndarray | None, b_part: np.ndarray | None, n: int) -> np.ndarray:
        """n operand beats as one uint8 array: a_part (n x rows) and b_part (n x cols),
        either may be None (zeros)."""
        out = np.zeros((n, self.beat_bytes), dtype=np.int8)
        if b_part is not None:
            out[:, : self.cols] = b_part
        if a_part is not None:
            out[:, self.cols :] = a_part
        return out.view(np.uint8).reshape(-1)

    def stationary_beats(self, tile: np.ndarray) -> np.ndarray:
        """The rows beats that load a stationary tile (rows x cols): bottom row first,
        as the tile shifts down the columns."""
        return self.beats(None, np.asarray(tile, np.int8)[::-1], self.rows)

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
    """The numpy twin: the RTL's register map and stream protocol, no time; CYCLES reads
    the analytical cycles of the last job (cosim.accel.systolic.model.job_cycles)."""

    def __init__(self, layout: SystolicLayout, done: Any) -> None:
        self.layout = layout
        self.done = done
        self.depth = 0
        self.folds = 1
        self.phase = "idle"  # idle, run, done
        self.job_depth = 0
        self.job_folds = 1
        self.taken = 0  # beats of the current fold
        self.fold = 0  # folds fed
        self.weights = np.zeros((layout.rows, layout.cols), dtype=np.int64)
        self.acc = np.zeros((layout.rows, layout.cols), dtype=np.int64)
        self.rows: list[np.ndarray] = []
        self.read = 0
        self.total = 0
        self.cycles = 0
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
            elif addr == REGISTERS["FOLDS"]:
                self.folds = value
            elif addr == REGISTERS["CTRL"] and value & 1 and self.phase != "run":
                self._start()
        else:
            value = {
                REGISTERS["STATUS"]: (2 if self.phase == "done" else 0)
                | (1 if self.phase == "run" else 0),
                REGISTERS["DEPTH"]: self.depth,
                REGISTERS["FOLDS"]: self.folds,
                REGISTERS["CYCLES"]: self.cycles,
                REGISTERS["INFO"]: self.layout.info,
            }.get(addr, 0)
            payload.data[:] = np.frombuffer(struct.pack("<I", value), dtype=np.uint8)
        payload.set_ok()

    def _per_fold(self) -> int:
        lay = self.layout
        return lay.rows + self.job_depth if lay.stationary else self.job_depth

    def _start(self) -> None:
        lay = self.layout
        self.jobs += 1
        self.job_depth = self.depth
        self.job_folds = max(self.folds, 1)
        self.taken = self.fold = 0
        self.acc[:] = 0
        self.rows = []
        self.read = 0
        self.cycles = 0
        self.phase = "run"
        self.total = self.job_folds * (self.job_depth if lay.stationary else lay.rows)
        if not lay.stationary and self.job_depth == 0:
            self.rows = [np.zeros(lay.cols, np.int32)] * self.total
            self.fold = self.job_folds
        if self.total == 0 and self._per_fold() == 0:
            self._finish()

    def operands(self, payload: Any) -> None:
        lay = self.layout
        if not payload.is_write or payload.length % lay.beat_bytes:
            payload.set_error(
                _core.Response.BURST_ERROR,
                f"operand writes must be whole beats of {lay.beat_bytes} bytes",
            )
            return
        beats = payload.data.view(np.int8).reshape(-1, lay.beat_bytes).astype(np.int64)
        per_fold = self._per_fold()
        wanted = (self.job_folds - self.fold) * per_fold - self.taken
        if self.phase != "run" or len(beats) > wanted:
            payload.set_error(
                _core.Response.COMMAND_ERROR, f"no job is waiting for {len(beats)} operand beats"
            )
            return
        for beat in beats:
            b, a = beat[: lay.cols], beat[lay.cols :]
            if lay.stationary and self.taken < lay.rows:
                self.weights[lay.rows - 1 - self.taken] = b  # bottom row first
            elif lay.stationary:
                self.rows.append((a @ self.weights).astype(np.int32))
            else:
                self.acc += np.outer(a, b)
            self.taken += 1
            if self.taken == per_fold:
                self.taken = 0
                self.fold += 1
                if not lay.stationary:
                    self.rows.extend(self.acc.astype(np.int32))
                    self.acc[:] = 0
        if self.fold == self.job_folds and self.total == 0:
            self._finish()
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
        if self.phase != "run" or self.read + n > len(self.rows):
            payload.set_error(
                _core.Response.COMMAND_ERROR,
                f"asked for {n} result rows but only {len(self.rows) - self.read} exist",
            )
            return
        out = np.stack(self.rows[self.read : self.read + n]).astype("<i4")
        payload.data[:] = out.view(np.uint8).reshape(-1)
        self.read += n
        if self.read == self.total and self.fold == self.job_folds:
            self._finish()
        payload.set_ok()

    def _finish(self) -> None:
        lay = self.layout
        self.phase = "done"
        self.cycles = job_cycles(lay.dataflow, lay.rows, lay.cols, self.job_depth, self.job_folds)
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
