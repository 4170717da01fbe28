"""The nuQmm engine (rtl/nuqmm/nuqmm.sv): its declaration and numpy twin, and the
engine with its three twins.

A job: BATCH*GROUPS*MU/LANES activation beats; per group a LUT build of
BATCH*ceil(2^MU/LANES) cycles (a table per activation column) and ROWS*Q/LANES
weight-pattern beats, each looked up in every column's table by the LANES
lookup-accumulate lanes (BATCH cycles a beat); then the scale beats (uint16 alphas) and
the int32 result beats, column after column. The protocol and timing are in
the RTL's header; docs/accelerators/nuqmm.md explains them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.accel.nuqmm import bcq
from cosim.errors import ParameterError

KIND = "nuqmm"
#: Parameters and registers of the RTL and its TLM twin (checked against both).
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/nuqmm/nuqmm.sv",
    tlm="tlm/accel/nuqmm/nuqmm.cpp",
    params=(
        EngineParam("mu", 8, 2, 8, "activations per LUT group (2^mu entries)"),
        EngineParam("lanes", 16, 4, 64, "lookup-accumulate lanes = beat bytes"),
        EngineParam("max_q", 4, 1, 8, "bit-planes"),
        EngineParam("max_rows", 1024, 4, 4096, "output rows of a job"),
        EngineParam("max_groups", 512, 1, 512, "activation groups of a job (n / mu)"),
        EngineParam("max_batch", 4, 1, 4, "activation columns of a job"),
    ),
    registers={"GROUPS": 0x10, "ROWS": 0x14, "Q": 0x18, "SHIFT": 0x1C, "BATCH": 0x20},
    counters=("LUT_ENTRIES", "LOOKUPS", "SCALE_MACS"),
    counter_base=0x40,
)
REGS = DECLARATION.register_map()
GROUPS, ROWS, Q, SHIFT, BATCH = (REGS[r] for r in ("GROUPS", "ROWS", "Q", "SHIFT", "BATCH"))
#: Counter name (as the energy model and reports use it) -> register address.
COUNTERS = {c.lower(): REGS[c] for c in DECLARATION.counters}


@dataclass(frozen=True)
class EngineShape:
    """One build of the engine (the declaration's parameters)."""

    mu: int = DECLARATION.default("mu")
    lanes: int = DECLARATION.default("lanes")
    max_q: int = DECLARATION.default("max_q")
    max_rows: int = DECLARATION.default("max_rows")
    max_groups: int = DECLARATION.default("max_groups")
    max_batch: int = DECLARATION.default("max_batch")

    def __post_init__(self) -> None:
        for p in DECLARATION.params:
            p.check(KIND, getattr(self, p.name))
        if self.lanes % 4:
            raise ParameterError(f"{KIND}: lanes = {self.lanes} must be a multiple of 4")
        if self.max_rows < self.lanes:
            raise ParameterError(
                f"{KIND}: max_rows = {self.max_rows} must be at least lanes = {self.lanes}"
            )
        if self.max_groups * self.mu < self.lanes:
            raise ParameterError(f"{KIND}: max_groups x mu must be at least lanes")

    @property
    def beat_bytes(self) -> int:
        return self.lanes

    @property
    def build_cycles(self) -> int:
        return -(-(1 << self.mu) // self.lanes)

    def info(self) -> int:
        return (
            self.lanes | self.mu << 8 | self.max_q << 16 | self.max_batch << 21 | se.VERSION << 24
        )

    def tlm_params(self) -> dict[str, int]:
        return DECLARATION.tlm_params(**self.__dict__)

    def rtl_params(self) -> dict[str, int]:
        return DECLARATION.rtl_params(**self.__dict__)

    def check_job(self, groups: int, rows: int, q: int, shift: int, batch: int = 1) -> None:
        """ParameterError naming the first register out of range (the RTL refuses it)."""
        for name, v, lo, hi in (
            ("groups", groups, 1, self.max_groups),
            ("rows", rows, self.lanes, self.max_rows),
            ("q", q, 1, self.max_q),
            ("shift", shift, 0, 63),
            ("batch", batch, 1, self.max_batch),
        ):
            if not lo <= v <= hi:
                raise ParameterError(f"{KIND}: {name} = {v} must be {lo}..{hi}")
        if rows % self.lanes:
            raise ParameterError(
                f"{KIND}: rows = {rows} must be a multiple of lanes = {self.lanes}"
            )
        if groups * self.mu % self.lanes:
            raise ParameterError(
                f"{KIND}: groups x mu = {groups * self.mu} activations must be a multiple "
                f"of lanes = {self.lanes}"
            )

    def job_beats(
        self, groups: int, rows: int, q: int, batch: int = 1
    ) -> tuple[int, int, int, int]:
        """(activation, weight, scale, result) beats of a job."""
        n = self.lanes
        acts, results = batch * groups * self.mu // n, batch * 4 * rows // n
        return acts, groups * rows * q // n, 2 * rows * q // n, results


class NuqmmFunctional(se.FunctionalEngine):
    """The numpy twin: same registers, beats, numbers and counters as the RTL."""

    config_registers: ClassVar[dict[int, str]] = {
        GROUPS: "groups",
        ROWS: "rows",
        Q: "q",
        SHIFT: "shift",
        BATCH: "batch",
    }
    counter_registers: ClassVar[dict[str, int]] = COUNTERS

    def __init__(self, name: str, shape: EngineShape, done: Any) -> None:
        super().__init__(name, shape.beat_bytes, shape.beat_bytes, done)
        self.shape = shape
        self._job: dict[str, Any] = {}

    def info(self) -> int:
        return self.shape.info()

    def start(self, flags: int) -> None:
        r = self.regs
        try:
            self.shape.check_job(r["groups"], r["rows"], r["q"], r["shift"], r["batch"])
        except ParameterError:
            self.refuse()
            return
        beats = self.shape.job_beats(r["groups"], r["rows"], r["q"], r["batch"])
        self._job = {"beats": [], "need": sum(beats[:3])}

    def wanted(self) -> int:
        j = self._job
        if not j or self._results:
            return 0
        return j["need"] - len(j["beats"])

    def consume(self, beats: np.ndarray) -> None:
        j = self._job
        j["beats"].extend(np.asarray(beats, np.uint8).reshape(-1, self.shape.lanes))
        if len(j["beats"]) < j["need"]:
            return
        r, sh = self.regs, self.shape
        groups, rows, q, batch = r["groups"], r["rows"], r["q"], r["batch"]
        na, nw, _ns, _ = sh.job_beats(groups, rows, q, batch)
        raw = np.stack(j["beats"])
        x = raw[:na].reshape(batch, -1).view(np.int8)
        patterns = raw[na : na + nw].reshape(groups, q, rows) & ((1 << sh.mu) - 1)
        alphas = raw[na + nw :].reshape(-1).view("<u2").reshape(q, rows)
        y = [bcq.lut_gemv(x[c], patterns, alphas, sh.mu, r["shift"]) for c in range(batch)]
        self.counters["lut_entries"] += batch * groups * (1 << sh.mu)
        self.counters["lookups"] += batch * groups * rows * q
        self.counters["scale_macs"] += batch * rows * q
        self.emit(np.concatenate(y).astype("<i4").view(np.uint8))
        self.end_job()


def nuqmm_engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    shape: EngineShape | None = None,
    clock: int | str = "1 ns",
    **rtl_options: Any,
) -> se.StreamEngine:
    """The engine as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    shape = shape or EngineShape()
    return se.shaped_engine(
        sim,
        name,
        impl,
        kind=KIND,
        shape=shape,
        twin=NuqmmFunctional,
        in_beat_bytes=shape.beat_bytes,
        out_beat_bytes=shape.beat_bytes,
        clock=clock,
        **rtl_options,
    )
