"""LW-GCN's PE array (rtl/lw_gcn/lw_gcn_pe_array.sv): PEs in lock step multiply a slot's
value by a feature row and accumulate into a row through a pipeline whose read-after-write
hazards stall the array. Its declaration (parameters, registers, counters), the numpy twin
and the engine with its three twins behind one interface. Registers, beat formats and the
job are in the RTL's header; the slot and feature beats are built by `format`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.errors import ParameterError

KIND = "lw_gcn_pe_array"
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/lw_gcn/lw_gcn_pe_array.sv",
    tlm="tlm/accel/lw_gcn/lw_gcn_pe_array.cpp",
    params=(
        EngineParam("pes", 4, 1, 16, "PEs in lock step"),
        EngineParam("lanes", 16, 1, 32, "feature lanes (multipliers) per PE"),
        EngineParam("acc_lat", 4, 2, 16, "accumulation latency in cycles"),
        EngineParam("max_rows", 2048, 2, 65536, "accumulator rows per PE (power of two)"),
        EngineParam("max_feat", 4096, 2, 65536, "feature buffer rows"),
    ),
    registers={"LOAD": 0x10, "SLOTS": 0x14, "ROWS": 0x18, "OUT_CFG": 0x1C},
    counters=("NNZ", "BEATS", "STALLS", "LOADED"),
    counter_base=0x20,
)
LOAD, SLOTS, ROWS, OUT_CFG = (
    DECLARATION.registers[r] for r in ("LOAD", "SLOTS", "ROWS", "OUT_CFG")
)
COUNTERS = {c.lower(): DECLARATION.counter_base + 4 * i for i, c in enumerate(DECLARATION.counters)}
CTRL_CLEAR = 2  # CTRL bit 1: clear the counters
OUT_RELU = 0x100


def out_cfg(shift: int, relu: bool) -> int:
    if not 0 <= shift <= 31:
        raise ParameterError(f"lw_gcn pe array: shift = {shift} must be 0..31")
    return shift | (OUT_RELU if relu else 0)


@dataclass(frozen=True)
class ArrayShape:
    """The build parameters of the PE array."""

    pes: int = DECLARATION.default("pes")
    lanes: int = DECLARATION.default("lanes")
    acc_lat: int = DECLARATION.default("acc_lat")
    max_rows: int = DECLARATION.default("max_rows")
    max_feat: int = DECLARATION.default("max_feat")

    def __post_init__(self) -> None:
        for p in DECLARATION.params:
            p.check("lw_gcn pe array", getattr(self, p.name))
        for name, v in (
            ("max_rows", self.max_rows),
            ("max_feat x lanes", self.max_feat * self.lanes),
        ):
            if v & (v - 1):
                raise ParameterError(f"lw_gcn pe array: {name} = {v} must be a power of two")
        if self.max_feat * self.lanes % (4 * self.pes):
            raise ParameterError(
                f"lw_gcn pe array: max_feat x lanes = {self.max_feat * self.lanes} must be a "
                f"multiple of 4 x pes = {4 * self.pes}"
            )

    @property
    def in_beat_bytes(self) -> int:
        return 8 * self.pes

    @property
    def out_beat_bytes(self) -> int:
        return 2 * self.lanes

    @property
    def load_max(self) -> int:
        """Feature beats a job may load (the feature buffer's capacity)."""
        return self.max_feat * self.lanes // (4 * self.pes)

    def info(self) -> int:
        return self.pes | self.lanes << 8 | self.acc_lat << 16 | se.VERSION << 24

    def tlm_params(self) -> dict[str, int]:
        return DECLARATION.tlm_params(
            pes=self.pes,
            lanes=self.lanes,
            acc_lat=self.acc_lat,
            max_rows=self.max_rows,
            max_feat=self.max_feat,
        )

    def rtl_params(self) -> dict[str, int]:
        return DECLARATION.rtl_params(**self.tlm_params())

    def check_job(self, load: int, rows: int) -> None:
        """ParameterError naming the job parameter out of this array's range."""
        if not 0 <= load <= self.load_max:
            raise ParameterError(f"lw_gcn pe array: load = {load} beats must be 0..{self.load_max}")
        if not 1 <= rows <= self.max_rows:
            raise ParameterError(f"lw_gcn pe array: rows = {rows} must be 1..{self.max_rows}")


def job_cycles(shape: ArrayShape, load: int, slots: np.ndarray, rows: int) -> tuple[int, int]:
    """(CYCLES, STALLS) the RTL promises for a job fed and drained without gaps: feature
    beats at edges 1..load after the start, each slot beat taken at the edge the previous
    one issued and issued at max(one edge later, its rows' last issue + acc_lat), results
    one per edge from max(last issue + 1, last valid issue + acc_lat). `slots`: the
    (beats, pes) structured slots of format.SLOT."""
    last: dict[tuple[int, int], int] = {}
    take, go, lastv, stalls = load + 1, load, 0, 0
    for beat in slots:
        live = [
            (p, int(beat["row"][p]) & (shape.max_rows - 1))
            for p in range(shape.pes)
            if beat["flags"][p] & 1
        ]
        go = max([take + 1] + [last[k] + shape.acc_lat for k in live if k in last])
        stalls += go - take - 1
        for k in live:
            last[k] = go
        if live:
            lastv = go
        take = go
    ready = max(go + 1, lastv + shape.acc_lat if lastv else 0) if len(slots) else load + 1
    return ready + rows * shape.pes - 1, stalls


def requantise(acc: np.ndarray, cfg: int) -> np.ndarray:
    """The output stage: clip16(relu?(acc >> shift)) of int32 accumulators."""
    y = np.asarray(acc, np.int64).astype(np.int32).astype(np.int64) >> (cfg & 31)
    if cfg & OUT_RELU:
        y = np.maximum(y, 0)
    return np.clip(y, -32768, 32767).astype(np.int16)


class PeArrayFunctional(se.FunctionalEngine):
    """The numpy twin: same registers, numbers and counters as the RTL (CYCLES and
    STALLS 0: they depend on timing)."""

    config_registers: ClassVar[dict[int, str]] = {
        LOAD: "load",
        SLOTS: "slots",
        ROWS: "rows",
        OUT_CFG: "out_cfg",
    }
    counter_registers: ClassVar[dict[str, int]] = COUNTERS
    counter_clear_flag: ClassVar[int] = CTRL_CLEAR

    def __init__(self, name: str, shape: ArrayShape, done: Any) -> None:
        super().__init__(name, shape.in_beat_bytes, shape.out_beat_bytes, done)
        self.shape = shape
        self.feat = np.zeros(shape.max_feat * shape.lanes, np.int64)
        self.acc = np.zeros((shape.pes, shape.max_rows, shape.lanes), np.int64)
        self.loaded = self.slots_taken = 0

    def info(self) -> int:
        return self.shape.info()

    def start(self, flags: int) -> None:
        r, s = self.regs, self.shape
        if r["load"] > s.load_max or not 1 <= r["rows"] <= s.max_rows or r["out_cfg"] & ~0x11F:
            self.refuse()
            return
        self.loaded = self.slots_taken = 0
        if r["load"] + r["slots"] == 0:
            self._give()

    def wanted(self) -> int:
        return self.regs["load"] + self.regs["slots"] - self.loaded - self.slots_taken

    def consume(self, beats: np.ndarray) -> None:
        s, r = self.shape, self.regs
        n_load = min(len(beats), r["load"] - self.loaded)
        if n_load:
            vals = beats[:n_load].copy().view("<i2").reshape(-1).astype(np.int64)
            at = (self.loaded * 4 * s.pes + np.arange(vals.size)) & (self.feat.size - 1)
            self.feat[at] = vals
            self.loaded += n_load
            self.counters["loaded"] += n_load
        slots = beats[n_load:]
        if len(slots):
            words = slots.copy().view("<u2").reshape(len(slots), s.pes, 4).astype(np.int64)
            valid = (words[..., 3] & 1).astype(bool)
            pe = np.broadcast_to(np.arange(s.pes), valid.shape)[valid]
            row = words[..., 0][valid] & (s.max_rows - 1)
            col = words[..., 1][valid]
            val = words[..., 2][valid].astype(np.uint16).view(np.int16).astype(np.int64)
            lanes = np.arange(s.lanes)
            idx = (col[:, None] * s.lanes + lanes) & (self.feat.size - 1)
            np.add.at(self.acc, (pe, row), val[:, None] * self.feat[idx])
            self.slots_taken += len(slots)
            self.counters["beats"] += len(slots)
            self.counters["nnz"] += int(valid.sum())
        if self.wanted() == 0:
            self._give()

    def _give(self) -> None:
        rows = self.regs["rows"]
        acc = self.acc[:, :rows].transpose(1, 0, 2).reshape(-1, self.shape.lanes)
        self.emit(requantise(acc, self.regs["out_cfg"]).view(np.uint8))
        self.acc[:, :rows] = 0
        self.end_job()


def pe_array(
    sim: Any, name: str, impl: str, shape: ArrayShape, *, clock: Any = "5 ns", **rtl: Any
) -> se.StreamEngine:
    """The PE array as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    return se.shaped_engine(
        sim,
        name,
        impl,
        kind=KIND,
        shape=shape,
        twin=PeArrayFunctional,
        in_beat_bytes=shape.in_beat_bytes,
        out_beat_bytes=shape.out_beat_bytes,
        clock=clock,
        **rtl,
    )
