"""The near-bank MAC unit: the GEMV datapath of the near-data units in HBM (tlm/ndp) as an
engine with three interchangeable implementations, in the register-port + two-stream
shape of cosim.accel.stream_engine:

- "functional": numpy (cosim.system.ndp_layout.reference_gemv, the units' twin), untimed;
- "tlm": tlm/accel/ndp_gemv/mac_unit.cpp, approximately timed, computing with the units' own
  C++ datapath (tlm/ndp/unit_ops.h);
- "rtl": rtl/ndp_gemv/ndp_mac_unit.sv, Verilated, behind bridges.

All compute the same bits: int8 GEMV with int32 (wrapping) accumulation, fp16 GEMV with
fp32 lane accumulation in column order and a pairwise tree over the lanes.

Protocol (registers in cosim.accel.stream_engine and below; details in the RTL's header):
write DTYPE and N, CTRL = 3 (start, load x), send x as bursts; write ROWS, CTRL = 1, send
each row of A
as bursts (padded to whole bursts, as the ndp layout stores it) and read one 32-bit
result per row. A row's result is ready LATENCY = 1 + log2(burst_bytes) cycles after its
last beat; the unit takes one beat per cycle.

The same design serves twice in the near-data GEMV scenario: as the near-bank units'
datapath inside the ndp model (`rtl_datapath()` builds the library the model's
`datapath` parameter takes; its pipeline depth is the model's `unit_latency`), and as
the compute units of an accelerator behind the HBM interface (cosim.accel.ndp_gemv.system).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.accel.engine import record_rtl_build
from cosim.accel.stream_engine import (
    CTRL,
    INFO,
    STATUS_ERROR,
    VERSION,
    EngineDriver,
    FunctionalEngine,
    StreamEngine,
    make_engine,
)
from cosim.errors import ParameterError
from cosim.system.ndp_layout import DTYPE_CODES, reference_gemv

KIND = "ndp_mac_unit"
#: Parameters and registers of rtl/ndp_gemv/ndp_mac_unit.sv and its TLM twin (checked
#: against both).
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/ndp_gemv/ndp_mac_unit.sv",
    tlm="tlm/accel/ndp_gemv/mac_unit.cpp",
    params=(
        EngineParam("burst_bytes", 32, 4, 128, "bytes of one input beat (a DRAM burst)"),
        EngineParam("xbytes", 2048, 8, 65536, "vector buffer for x"),
    ),
    registers={"DTYPE": 0x10, "N": 0x14, "ROWS": 0x18},
)
DTYPE, N, ROWS = (DECLARATION.registers[r] for r in ("DTYPE", "N", "ROWS"))
CTRL_LOAD_X = 2  # with CTRL bit 0: the job loads x instead of running a GEMV
STATUS_REFUSED = STATUS_ERROR
#: GEMV input types the unit takes, with the ndp model's codes.
GEMV_DTYPES = {"int8": DTYPE_CODES["int8"], "fp16": DTYPE_CODES["fp16"]}


def latency(burst_bytes: int) -> int:
    """Cycles from the edge that takes a row's last beat until its result is valid:
    a product stage, the lane accumulators, log2(burst_bytes) - 1 registered tree levels
    and the last level writing the output queue."""
    return 1 + int(math.log2(burst_bytes))


def check_shape(burst_bytes: int, xbytes: int) -> None:
    if burst_bytes < 4 or burst_bytes > 128 or burst_bytes & (burst_bytes - 1):
        raise ParameterError(
            f"MAC unit burst_bytes = {burst_bytes}: must be a power of two in 4 .. 128"
        )
    beats = xbytes // burst_bytes
    if xbytes % burst_bytes or beats < 2 or beats & (beats - 1) or xbytes > 65536:
        raise ParameterError(
            f"MAC unit xbytes = {xbytes}: must be burst_bytes ({burst_bytes}) times a power "
            "of two >= 2, at most 65536"
        )


def info_word(burst_bytes: int, xbytes: int) -> int:
    return (
        burst_bytes
        | latency(burst_bytes) << 8
        | min(255, xbytes // burst_bytes) << 16
        | (VERSION << 24)
    )


class FunctionalMacUnit(FunctionalEngine):
    """The numpy twin: the same registers and streams, untimed."""

    config_registers: ClassVar[dict[int, str]] = {DTYPE: "dtype", N: "n", ROWS: "rows"}

    def __init__(self, name: str, burst_bytes: int, xbytes: int, done: Any) -> None:
        super().__init__(name, burst_bytes, 4, done)
        self.burst, self.xbytes = burst_bytes, xbytes
        self.regs["dtype"] = GEMV_DTYPES["int8"]
        self.x = np.zeros(0, np.int8)
        self.job_dtype, self.job_n = GEMV_DTYPES["int8"], 0
        self.mode = ""
        self.taken = 0
        self.job_rows = 0
        self.pending = bytearray()

    def info(self) -> int:
        return info_word(self.burst, self.xbytes)

    def _dtype(self) -> str:
        return "fp16" if self.job_dtype == GEMV_DTYPES["fp16"] else "int8"

    def _beats_per_row(self) -> int:
        e = 2 if self._dtype() == "fp16" else 1
        return -(-self.job_n * e // self.burst)

    def start(self, ctrl: int) -> None:
        self.job_dtype, self.job_n, self.job_rows = (
            self.regs["dtype"],
            self.regs["n"],
            self.regs["rows"],
        )
        e = 2 if self.job_dtype == GEMV_DTYPES["fp16"] else 1
        ok = (
            self.job_dtype in GEMV_DTYPES.values()
            and self.job_n > 0
            and self.job_n * e <= (self.xbytes)
        )
        self.taken = 0
        self.pending = bytearray()
        if not ok:  # a refused job ends at once, with STATUS bit 2 (as the RTL does)
            self.error = True
            self.end_job()
            return
        self.mode = "load" if ctrl & CTRL_LOAD_X else "run"
        if self.mode == "run" and self.job_rows == 0:
            self.end_job()

    def wanted(self) -> int:
        total = self._beats_per_row() * (1 if self.mode == "load" else self.job_rows)
        return total - self.taken

    def consume(self, beats: np.ndarray) -> None:
        np_dtype = np.float16 if self._dtype() == "fp16" else np.int8
        nbytes = self.job_n * np.dtype(np_dtype).itemsize
        per_row = self._beats_per_row()
        for beat in beats:
            self.pending += beat.tobytes()
            self.taken += 1
            if len(self.pending) < per_row * self.burst:
                continue
            row = np.frombuffer(bytes(self.pending[:nbytes]), np_dtype)
            self.pending = bytearray()
            if self.mode == "load":
                self.x = row.copy()
                self.end_job()
                return
            lanes = self.burst // np.dtype(np_dtype).itemsize
            with np.errstate(all="ignore"):
                y = reference_gemv(row[None, :], self.x, lanes)
            self.emit(np.ascontiguousarray(y).view(np.uint8))
            if self.taken == per_row * self.job_rows:
                self.end_job()


def mac_unit(
    sim: Any,
    name: str,
    impl: str,
    *,
    burst_bytes: int = 32,
    xbytes: int = 2048,
    clock: int | str = "1 ns",
    **rtl_options: Any,
) -> StreamEngine:
    """A MAC unit engine named `name` with implementation `impl` (functional/tlm/rtl)."""
    check_shape(burst_bytes, xbytes)
    return make_engine(
        sim,
        name,
        impl,
        kind=KIND,
        in_beat_bytes=burst_bytes,
        out_beat_bytes=4,
        functional=lambda done: FunctionalMacUnit(name, burst_bytes, xbytes, done),
        tlm_params=DECLARATION.tlm_params(burst_bytes=burst_bytes, xbytes=xbytes),
        rtl_params=DECLARATION.rtl_params(burst_bytes=burst_bytes, xbytes=xbytes),
        clock=clock,
        **rtl_options,
    )


def rtl_datapath(burst_bytes: int, xbytes: int) -> dict[str, Any]:
    """Build rtl/ndp_gemv/ndp_mac_unit.sv for the ndp model's `datapath` parameter: returns the
    ndp parameters {"datapath": library path, "unit_latency": its pipeline depth}."""
    from cosim import rtl

    check_shape(burst_bytes, xbytes)
    lib = rtl.build(KIND, DECLARATION.rtl_params(burst_bytes=burst_bytes, xbytes=xbytes))
    record_rtl_build("ndp_units", lib)
    return {"datapath": str(lib.library), "unit_latency": latency(burst_bytes)}


class MacUnitDriver(EngineDriver):
    """Programs one MAC unit: load x, then stream rows and read their results."""

    @property
    def burst(self) -> int:
        return self.in_beat_bytes

    async def configure(self, dtype: str, n: int) -> None:
        if dtype not in GEMV_DTYPES:
            raise ParameterError(f"MAC unit dtype '{dtype}': use one of {', '.join(GEMV_DTYPES)}")
        await self.write_reg(DTYPE, GEMV_DTYPES[dtype])
        await self.write_reg(N, n)

    async def load_x(self, x: np.ndarray) -> None:
        """Load x (int8 or fp16 values) into the unit's vector buffer."""
        x = np.ascontiguousarray(x)
        await self.configure("fp16" if x.dtype == np.float16 else "int8", x.size)
        await self.start(CTRL_LOAD_X)
        await self.send(self.pad(x.view(np.uint8)))
        await self.wait_done(STATUS_REFUSED, f"x of {x.size} {x.dtype} elements")

    async def run(self, rows: int) -> None:
        """Start a GEMV job of `rows` rows (after load_x)."""
        await self.write_reg(ROWS, rows)
        await self.start()

    def pad(self, raw: np.ndarray) -> np.ndarray:
        """Bytes padded with zeros to whole bursts."""
        pad = -raw.size % self.burst
        return np.concatenate([raw, np.zeros(pad, np.uint8)]) if pad else raw

    async def results(self, count: int) -> np.ndarray:
        """`count` 32-bit results (uint32 bit patterns)."""
        return self.receive_u32(await self.receive(count))

    @staticmethod
    def receive_u32(beats: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(beats).view("<u4").reshape(-1)

    async def info(self) -> dict[str, int]:
        v = await self.read_reg(INFO)
        return {
            "burst_bytes": v & 0xFF,
            "latency": v >> 8 & 0xFF,
            "x_beats": v >> 16 & 0xFF,
            "version": v >> 24,
        }


__all__ = [
    "CTRL",
    "CTRL_LOAD_X",
    "GEMV_DTYPES",
    "KIND",
    "FunctionalMacUnit",
    "MacUnitDriver",
    "check_shape",
    "latency",
    "mac_unit",
    "rtl_datapath",
]
