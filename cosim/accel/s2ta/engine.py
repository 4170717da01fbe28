"""The S2TA engine (time-unrolled DBB tensor-PE array + activation pruners) with three
interchangeable implementations behind the same ports (docs/accelerators.md):

- "functional": S2taFunctional below, numpy, untimed;
- "tlm": tlm/accel/s2ta/s2ta.cpp (model 's2ta_tlm'), approximately timed;
- "rtl": rtl/s2ta/s2ta.sv (s2ta_array.sv, s2ta_pruner.sv), Verilated behind bridges.

Ports: `csr` (32-bit registers, REGISTERS), `act` (one beat of rows x 8 int8 per block
of K), `wgt` (one beat of cols W-DBB blocks per block), `out` (result rows of cols int32)
and the `done` event. The register map and the job are documented in rtl/s2ta/s2ta.sv; the
three twins follow it, counters included.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim import _core
from cosim.accel.declared import HEADER, EngineDeclaration, EngineParam
from cosim.accel.engine import (
    EnginePorts,
    RtlTop,
    build_engine,
    reg_access_ok,
    reg_word,
    reply_word,
    whole_beats,
)
from cosim.accel.s2ta import format as fmt
from cosim.accel.stream_engine import EngineHeader

PORTS = ("csr", "act", "wgt", "out")
#: Parameters and registers of rtl/s2ta/s2ta.sv and its TLM twin (checked against both):
#: the standard header, S2TA's registers from 0x10 and event counters (cumulative,
#: cleared by CTRL bit 1) from 0x20.
DECLARATION = EngineDeclaration(
    "s2ta",
    rtl="rtl/s2ta/s2ta.sv",
    tlm="tlm/accel/s2ta/s2ta.cpp",
    params=(
        EngineParam("rows", 8, 1, 16, "tensor-PE rows"),
        EngineParam("cols", 8, 1, 16, "tensor-PE columns"),
        EngineParam("w_nnz", 4, 1, 8, "weights kept per block of 8 (W-DBB)"),
    ),
    registers={"DEPTH": 0x10, "CONFIG": 0x14},
    counters=("macs", "gated", "issues", "blocks", "act_nonzeros", "act_issued", "result_beats"),
    counter_base=0x20,
)
REGISTERS = HEADER | DECLARATION.registers
COUNTERS = DECLARATION.counters
COUNTER_BASE = DECLARATION.counter_base
CTRL_START, CTRL_CLEAR_COUNTERS = 1, 2


class S2taFunctional(EngineHeader):
    """The numpy twin: the register map and jobs of rtl/s2ta/s2ta.sv, untimed."""

    def __init__(self, geometry: fmt.S2taGeometry, done: Any) -> None:
        super().__init__()
        self.geo = geometry
        self.done = done
        self.depth = 0
        self.config = 8
        self.counters = dict.fromkeys(COUNTERS, 0)
        self._job: dict[str, Any] | None = None

    def csr(self, p: Any) -> None:
        if not reg_access_ok(p, "s2ta"):
            return
        a = p.address
        if p.is_write:
            v = reg_word(p)
            if a == REGISTERS["CTRL"]:
                if v & CTRL_CLEAR_COUNTERS:
                    self.counters = dict.fromkeys(COUNTERS, 0)
                if v & CTRL_START and self._job is None:
                    self._start()
            elif a == REGISTERS["DEPTH"]:
                self.depth = v
            elif a == REGISTERS["CONFIG"]:
                self.config = v & 0xF
            p.set_ok()
            return
        header = self.read_header(a)
        value = {REGISTERS["DEPTH"]: self.depth, REGISTERS["CONFIG"]: self.config}.get(a, 0)
        if header is not None:
            value = header
        if COUNTER_BASE <= a < COUNTER_BASE + 4 * len(COUNTERS) and a % 4 == 0:
            value = self.counters[COUNTERS[(a - COUNTER_BASE) // 4]] & 0xFFFF_FFFF
        reply_word(p, value)

    def info(self) -> int:
        g = self.geo
        return g.rows | g.cols << 8 | g.w_nnz << 16 | 1 << 24

    def _start(self) -> None:
        self.jobs += 1
        self.busy, self.finished, self.error = True, False, False
        k = self.config if 1 <= self.config <= 8 else 8
        self._job = {
            "kb": self.depth,
            "k": k,
            "act": [],
            "wgt": [],
            "done": 0,
            "acc": np.zeros((self.geo.rows, self.geo.cols), np.int64),
            "read": 0,
        }

    def _stream(self, p: Any, beat_bytes: int, key: str, what: str) -> None:
        if not whole_beats(p, beat_bytes, True, "s2ta", what):
            return
        job = self._job
        beats = p.length // beat_bytes
        if job is None or job["read"] or len(job[key]) + beats > job["kb"]:
            p.set_error(
                _core.Response.COMMAND_ERROR,
                f"s2ta: no job is waiting for {beats} {what} beats (write DEPTH and CONFIG, "
                "then 1 to CTRL, and send DEPTH beats on each stream)",
            )
            return
        raw = p.data.reshape(beats, beat_bytes).copy()
        job[key].extend(raw)
        while job["done"] < min(len(job["act"]), len(job["wgt"])):
            self._block(job, job["done"])
            job["done"] += 1
        p.set_ok()

    def act(self, p: Any) -> None:
        self._stream(p, self.geo.act_beat_bytes, "act", "activation")

    def wgt(self, p: Any) -> None:
        self._stream(p, self.geo.weight_beat_bytes, "wgt", "weight")

    def _block(self, job: dict[str, Any], b: int) -> None:
        g, k = self.geo, job["k"]
        a = job["act"][b].view(np.int8).reshape(g.rows, fmt.BLOCK).astype(np.int64)
        blk = job["wgt"][b].reshape(g.cols, g.weight_block_bytes)
        mask = blk[:, 0]
        vals = blk[:, 1:].view(np.int8).astype(np.int64)
        # Dense weights of the block: the values in position order at the mask's bits.
        present = (mask[:, None] >> np.arange(fmt.BLOCK)) & 1
        slot = np.cumsum(present, axis=1) - 1
        w = np.zeros((g.cols, fmt.BLOCK), np.int64)
        ok = (present == 1) & (slot < g.w_nnz)
        cols, pos = np.nonzero(ok)
        w[cols, pos] = vals[cols, slot[cols, pos]]
        kept = fmt.dbb_prune(a, k, axis=1)  # the pruner's top-k of every row
        c = self.counters
        c["blocks"] += 1
        c["issues"] += k
        c["act_nonzeros"] += int(np.count_nonzero(a))
        c["act_issued"] += int(np.count_nonzero(kept))
        job["acc"] += kept @ w.T
        macs = int(((kept != 0).astype(np.int64) @ (w != 0).astype(np.int64).T).sum())
        c["macs"] += macs
        c["gated"] += k * g.rows * g.cols - macs

    def out(self, p: Any) -> None:
        g = self.geo
        if not whole_beats(p, 4 * g.cols, False, "s2ta", "result"):
            return
        job = self._job
        n = p.length // (4 * g.cols)
        if job is None or job["done"] < job["kb"] or job["read"] + n > g.rows:
            left = 0 if job is None else g.rows - job["read"]
            p.set_error(
                _core.Response.COMMAND_ERROR,
                f"s2ta: asked for {n} result rows but {left} are ready (send every block first)",
            )
            return
        acc = job["acc"].astype(np.int32)  # int32 wrap
        p.data[:] = acc[job["read"] : job["read"] + n].astype("<i4").view(np.uint8).reshape(-1)
        job["read"] += n
        self.counters["result_beats"] += n
        if job["read"] == g.rows:
            self._job = None
            self.busy, self.finished = False, True
            self.done.notify()
        p.set_ok()


def s2ta_engine(
    sim: Any,
    name: str,
    *,
    impl: str,
    geometry: fmt.S2taGeometry,
    clock: int | str = "1 ns",
    **rtl_options: Any,
) -> EnginePorts:
    """An S2TA engine with implementation `impl` ('functional', 'tlm' or 'rtl')."""
    shape = {p.name: getattr(geometry, p.name) for p in DECLARATION.params}
    g = geometry
    return build_engine(
        sim,
        name,
        impl,
        ports=PORTS,
        functional=lambda done: S2taFunctional(g, done),
        tlm=(DECLARATION.tlm_model, DECLARATION.tlm_params(**shape)),
        rtl=RtlTop(
            DECLARATION.kind,
            DECLARATION.rtl_params(**shape),
            stream_in=("act", "wgt"),
            stream_out=("out",),
        ),
        clock=clock,
        **rtl_options,
    )
