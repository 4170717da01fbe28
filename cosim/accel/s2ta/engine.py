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

PORTS = ("csr", "act", "wgt", "out")
REGISTERS = {
    "CTRL": 0x00,
    "STATUS": 0x04,
    "DEPTH": 0x08,
    "CONFIG": 0x0C,
    "CYCLES": 0x10,
    "INFO": 0x14,
}
#: Event counters (cumulative, cleared by CTRL bit 1), in register order from 0x20.
COUNTERS = ("macs", "gated", "issues", "blocks", "act_nonzeros", "act_issued", "result_beats")
COUNTER_BASE = 0x20
CTRL_START, CTRL_CLEAR_COUNTERS = 1, 2


class S2taFunctional:
    """The numpy twin: the register map and jobs of rtl/s2ta/s2ta.sv, untimed."""

    def __init__(self, geometry: fmt.S2taGeometry, done: Any) -> None:
        self.geo = geometry
        self.done = done
        self.depth = 0
        self.config = 8
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.done_flag = False
        self.jobs = 0
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
        g = self.geo
        value = {
            REGISTERS["STATUS"]: (2 if self.done_flag else 0) | (1 if self._job else 0),
            REGISTERS["DEPTH"]: self.depth,
            REGISTERS["CONFIG"]: self.config,
            REGISTERS["CYCLES"]: 0,
            REGISTERS["INFO"]: g.rows | g.cols << 8 | g.w_nnz << 16 | 1 << 24,
        }.get(a, 0)
        if COUNTER_BASE <= a < COUNTER_BASE + 4 * len(COUNTERS) and a % 4 == 0:
            value = self.counters[COUNTERS[(a - COUNTER_BASE) // 4]] & 0xFFFF_FFFF
        reply_word(p, value)

    def _start(self) -> None:
        self.jobs += 1
        self.done_flag = False
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
            self.done_flag = True
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
    g = geometry
    return build_engine(
        sim,
        name,
        impl,
        ports=PORTS,
        functional=lambda done: S2taFunctional(g, done),
        tlm=("s2ta_tlm", {"rows": g.rows, "cols": g.cols, "w_nnz": g.w_nnz}),
        rtl=RtlTop("s2ta", g.rtl_parameters(), stream_in=("act", "wgt"), stream_out=("out",)),
        clock=clock,
        **rtl_options,
    )
