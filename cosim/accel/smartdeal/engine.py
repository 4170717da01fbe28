"""SmartDeal's two engines, each with numpy, TLM and RTL twins behind one interface
(cosim.accel.stream_engine: CTRL/STATUS/CYCLES/INFO, then the registers below):

- `smartdeal_rebuild` (rtl/smartdeal/smartdeal_rebuild.sv): filter images (format.py) in,
  rebuilt int8 weight rows (3 taps) out, by shift-add;
- `smartdeal_mac` (rtl/smartdeal/smartdeal_mac.sv): a ROWS x COLS int8 MAC array, output
  stationary; beats of ROWS activations and COLS weights in, requantised rows out.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar

import numpy as np

from cosim import _core
from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.accel.engine import EngineProtocolError
from cosim.accel.smartdeal import format as fmt

REBUILD = EngineDeclaration(
    "smartdeal_rebuild",
    rtl="rtl/smartdeal/smartdeal_rebuild.sv",
    tlm="tlm/accel/smartdeal/smartdeal_rebuild.cpp",
    params=(
        EngineParam("max_rows", 192, 3, 768, "kernel rows per filter, at most"),
        EngineParam("max_beats", 512, 16, 4095, "job buffer in 48-bit beats"),
    ),
    registers={"ROWS": 0x10, "FILTERS": 0x14, "SHIFT": 0x18},
    counters=("rows", "stored", "terms", "beats", "filters"),
    counter_base=0x20,
)
MAC = EngineDeclaration(
    "smartdeal_mac",
    rtl="rtl/smartdeal/smartdeal_mac.sv",
    tlm="tlm/accel/smartdeal/smartdeal_mac.cpp",
    params=(
        EngineParam("rows", 8, 1, 16, "PE rows (output pixels of a job)"),
        EngineParam("cols", 8, 1, 16, "PE columns (output channels of a job)"),
    ),
    registers={"DEPTH": 0x10, "OSHIFT": 0x14},
    counters=("macs", "gated", "beats", "results"),
    counter_base=0x20,
)
CTRL_CLEAR_COUNTERS = 2
MAX_DEPTH = 65535


class _Counted(se.FunctionalEngine):
    """A FunctionalEngine with event counters after counter_base (CTRL bit 1 clears)."""

    decl: EngineDeclaration

    def __init__(self, name: str, in_bytes: int, out_bytes: int, done: Any) -> None:
        super().__init__(name, in_bytes, out_bytes, done)
        self.counters = dict.fromkeys(self.decl.counters, 0)

    def csr_access(self, payload: Any) -> None:
        a, base = payload.address, self.decl.counter_base
        if payload.length == 4 and payload.is_write and a == se.CTRL:
            (v,) = struct.unpack("<I", payload.data.tobytes())
            if v & CTRL_CLEAR_COUNTERS:
                self.counters = dict.fromkeys(self.decl.counters, 0)
        n = len(self.decl.counters)
        if payload.length == 4 and payload.is_read and base <= a < base + 4 * n and a % 4 == 0:
            v = self.counters[self.decl.counters[(a - base) // 4]] & 0xFFFF_FFFF
            payload.data[:] = np.frombuffer(struct.pack("<I", v), np.uint8)
            return
        super().csr_access(payload)


class RebuildFunctional(_Counted):
    """The numpy twin of the rebuild engine: whole filters are parsed and rebuilt as their
    last beat arrives (format.parse_filter, format.rebuild)."""

    decl = REBUILD
    config_registers: ClassVar[dict[int, str]] = {
        a: n.lower() for n, a in REBUILD.registers.items()
    }

    def __init__(self, name: str, max_rows: int, max_beats: int, done: Any) -> None:
        super().__init__(name, fmt.BEAT_BYTES, 3, done)
        self.max_rows, self.max_beats = max_rows, max_beats
        self.buf = bytearray()
        self.left = 0

    def info(self) -> int:
        return self.max_rows | self.max_beats << 12 | se.VERSION << 24

    def start(self, flags: int) -> None:
        rows, filters, shift = self.regs["rows"], self.regs["filters"], self.regs["shift"]
        worst = filters * (fmt.BASIS_BEATS + fmt.mask_beats(rows) + fmt.code_beats(rows))
        self.buf, self.left, self.taken = bytearray(), filters, 0
        ok = 1 <= rows <= self.max_rows and filters >= 1 and shift <= fmt.MAX_SHIFT
        if not ok or worst > self.max_beats:
            self.refuse()

    def wanted(self) -> int:
        return self.max_beats - self.taken if self.left else 0

    def consume(self, beats: np.ndarray) -> None:
        self.buf += beats.tobytes()
        self.taken += len(beats)
        self.counters["beats"] += len(beats)
        rows = self.regs["rows"]
        head = fmt.BEAT_BYTES * (fmt.BASIS_BEATS + fmt.mask_beats(rows))
        while self.left and len(self.buf) >= head:
            raw = np.frombuffer(bytes(self.buf), np.uint8)
            mask = np.unpackbits(raw[2 * fmt.BEAT_BYTES : head], bitorder="little")[:rows]
            size = head + fmt.BEAT_BYTES * fmt.code_beats(int(mask.sum()))
            if len(self.buf) < size:
                break
            codes, stored, basis, used = fmt.parse_filter(raw[:size], rows)
            w = fmt.rebuild(codes, basis, self.regs["shift"])
            self.emit(w.view(np.uint8).reshape(rows, 3))
            c = self.counters
            c["rows"] += rows
            c["stored"] += int(stored.sum())
            c["terms"] += int(np.count_nonzero(codes[stored] & 7))
            c["filters"] += 1
            del self.buf[:used]
            self.left -= 1
        if self.left == 0:
            if self.buf:
                raise EngineProtocolError(
                    f"{self.name}: {len(self.buf) // fmt.BEAT_BYTES} beats past the job's "
                    "last filter",
                    _core.Response.COMMAND_ERROR,
                )
            self.end_job()


class MacFunctional(_Counted):
    """The numpy twin of the MAC array."""

    decl = MAC
    config_registers: ClassVar[dict[int, str]] = {a: n.lower() for n, a in MAC.registers.items()}

    def __init__(self, name: str, rows: int, cols: int, done: Any) -> None:
        super().__init__(name, rows + cols, cols, done)
        self.rows, self.cols = rows, cols
        self.left = 0
        self.acc = np.zeros((rows, cols), np.int64)

    def info(self) -> int:
        return self.rows | self.cols << 8 | se.VERSION << 24

    def start(self, flags: int) -> None:
        self.left = self.regs["depth"]
        self.acc = np.zeros((self.rows, self.cols), np.int64)
        if not 1 <= self.left <= MAX_DEPTH or self.regs["oshift"] > 31:
            self.left = 0
            self.refuse()

    def wanted(self) -> int:
        return self.left

    def consume(self, beats: np.ndarray) -> None:
        b = beats.view(np.int8).astype(np.int64)
        a, w = b[:, : self.rows], b[:, self.rows :]
        self.acc += a.T @ w
        pairs = (a != 0).sum(axis=1) * (w != 0).sum(axis=1)
        c = self.counters
        c["macs"] += int(pairs.sum())
        c["gated"] += len(b) * self.rows * self.cols - int(pairs.sum())
        c["beats"] += len(b)
        self.left -= len(b)
        if self.left == 0:
            acc = self.acc.astype(np.int32).astype(np.int64)  # int32 wrap
            q = self.regs["oshift"]
            if q:
                acc = (acc + (1 << (q - 1))) >> q
            self.emit(np.clip(acc, -128, 127).astype(np.int8).view(np.uint8))
            c["results"] += self.rows
            self.end_job()


def rebuild_engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    max_rows: int = 192,
    max_beats: int = 512,
    clock: Any = "1 ns",
    **rtl_options: Any,
) -> se.StreamEngine:
    """The rebuild engine as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    shape = {"max_rows": max_rows, "max_beats": max_beats}
    return se.make_engine(
        sim,
        name,
        impl,
        kind=REBUILD.kind,
        in_beat_bytes=fmt.BEAT_BYTES,
        out_beat_bytes=3,
        functional=lambda done: RebuildFunctional(name, max_rows, max_beats, done),
        tlm_params=REBUILD.tlm_params(**shape),
        rtl_params=REBUILD.rtl_params(**shape),
        clock=clock,
        **rtl_options,
    )


def mac_engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    rows: int = 8,
    cols: int = 8,
    clock: Any = "1 ns",
    **rtl_options: Any,
) -> se.StreamEngine:
    """The MAC array as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    shape = {"rows": rows, "cols": cols}
    return se.make_engine(
        sim,
        name,
        impl,
        kind=MAC.kind,
        in_beat_bytes=rows + cols,
        out_beat_bytes=cols,
        functional=lambda done: MacFunctional(name, rows, cols, done),
        tlm_params=MAC.tlm_params(**shape),
        rtl_params=MAC.rtl_params(**shape),
        clock=clock,
        **rtl_options,
    )
