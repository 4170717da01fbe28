"""The streaming softmax unit: int32 scores in, quantised probabilities out, one row at a
time, with the scores kept on chip (STA's scalable softmax; Fang, Zhou and Wang, IEEE
TVLSI 2022). Its numerics are cosim.accel.fixed_point.softmax_q16, whose core
(rtl/common/softmax_core.sv) the DFX vector unit shares.

Implementations behind the cosim.accel.stream_engine ports: `SoftmaxFunctional` (numpy),
tlm/accel/sta/softmax_unit.cpp and rtl/sta/softmax_unit.sv.

Registers (after CTRL/STATUS/CYCLES/INFO):
    0x10 LEN    scores per row, 1..MAX_LEN
    0x14 MULT   scale multiplier 0..65535; 0x18 SHIFT 0..47 (mult / 2^shift = scale*log2 e)
    0x1C OUT_Q  [4:0] output shift 0..16, [31:16] output maximum
    0x20 ROWS   rows per job (>= 1)
    STATUS bit 2: the last start was refused. INFO: LANES [7:0], MAX_LEN/LANES [23:8].
A job is ROWS rows; each row is ceil(LEN/LANES) beats in, then as many beats out (read
them before sending the next row). Beats are LANES little-endian 32-bit lanes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cosim.accel import fixed_point as fxp
from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.errors import ParameterError

KIND = "softmax_unit"
#: Parameters and registers of rtl/sta/softmax_unit.sv and its TLM twin (checked against both).
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/sta/softmax_unit.sv",
    tlm="tlm/accel/sta/softmax_unit.cpp",
    params=(
        EngineParam("lanes", 16, 1, 32, "elements per beat"),
        EngineParam("max_len", 256, 1, 4096, "longest row, a multiple of lanes"),
    ),
    registers={"LEN": 0x10, "MULT": 0x14, "SHIFT": 0x18, "OUT_Q": 0x1C, "ROWS": 0x20},
)
LEN, MULT, SHIFT, OUT_Q, ROWS = (
    DECLARATION.registers[r] for r in ("LEN", "MULT", "SHIFT", "OUT_Q", "ROWS")
)


@dataclass(frozen=True)
class SoftmaxShape:
    """LANES elements per beat, MAX_LEN elements per row at most."""

    lanes: int = DECLARATION.default("lanes")
    max_len: int = DECLARATION.default("max_len")

    def __post_init__(self) -> None:
        if not 1 <= self.lanes <= 32:
            raise ParameterError(f"softmax unit: lanes = {self.lanes} must be 1..32")
        if not self.lanes <= self.max_len <= 4096 or self.max_len % self.lanes:
            raise ParameterError(
                f"softmax unit: max_len = {self.max_len} must be a multiple of lanes "
                f"({self.lanes}) up to 4096"
            )

    @property
    def beat_bytes(self) -> int:
        return 4 * self.lanes

    def beats(self, length: int) -> int:
        return math.ceil(length / self.lanes)

    def info(self) -> int:
        return self.lanes | (self.max_len // self.lanes) << 8 | se.VERSION << 24

    def rtl_params(self) -> dict[str, int]:
        return DECLARATION.rtl_params(lanes=self.lanes, max_len=self.max_len)

    def tlm_params(self) -> dict[str, int]:
        return DECLARATION.tlm_params(lanes=self.lanes, max_len=self.max_len)


@dataclass(frozen=True)
class SoftmaxConfig:
    """A job's settings: row length, scale (mult, shift) and output quantisation."""

    length: int
    mult: int
    shift: int
    out_shift: int = 0
    out_max: int = 65535

    def check(self, shape: SoftmaxShape) -> None:
        for name, v, lo, hi in (
            ("length", self.length, 1, shape.max_len),
            ("mult", self.mult, 0, 65535),
            ("shift", self.shift, 0, 47),
            ("out_shift", self.out_shift, 0, 16),
            ("out_max", self.out_max, 0, 65535),
        ):
            if not lo <= v <= hi:
                raise ParameterError(f"softmax unit: {name} = {v} must be {lo}..{hi}")


def golden_rows(scores: np.ndarray, cfg: SoftmaxConfig) -> np.ndarray:
    """What the unit returns for rows of int32 scores (int64 array, same shape)."""
    p = fxp.softmax_q16(scores, cfg.mult, cfg.shift)
    return fxp.quantize_probs(p, cfg.out_shift, cfg.out_max)


class SoftmaxFunctional(se.FunctionalEngine):
    """The numpy twin of rtl/sta/softmax_unit.sv."""

    config_registers: ClassVar[dict[int, str]] = {
        LEN: "len",
        MULT: "mult",
        SHIFT: "shift",
        OUT_Q: "out_q",
        ROWS: "rows",
    }

    def __init__(self, name: str, shape: SoftmaxShape, done: Any) -> None:
        super().__init__(name, shape.beat_bytes, shape.beat_bytes, done)
        self.shape = shape
        self.regs.update(len=1, rows=1)
        self._rows_left = 0
        self._row: list[np.ndarray] = []
        self._cfg: SoftmaxConfig | None = None

    def info(self) -> int:
        return self.shape.info()

    def start(self, flags: int) -> None:
        r = self.regs
        cfg = SoftmaxConfig(
            r["len"], r["mult"], r["shift"], r["out_q"] & 31, r["out_q"] >> 16 & 0xFFFF
        )
        try:
            cfg.check(self.shape)
            if r["rows"] < 1:
                raise ParameterError("rows")
        except ParameterError:
            self.refuse()
            return
        self._cfg = cfg
        self._rows_left = r["rows"]
        self._row = []

    def wanted(self) -> int:
        if self._cfg is None or self._rows_left == 0 or self._pending():
            return 0
        return self.shape.beats(self._cfg.length) - len(self._row)

    def _pending(self) -> bool:
        return bool(self._results)

    def consume(self, beats: np.ndarray) -> None:
        cfg = self._cfg
        assert cfg is not None
        self._row.extend(beats)
        if len(self._row) < self.shape.beats(cfg.length):
            return
        x = np.concatenate([b.view("<i4") for b in self._row])[: cfg.length]
        q = golden_rows(x.astype(np.int64), cfg)
        out = np.zeros(self.shape.beats(cfg.length) * self.shape.lanes, "<u4")
        out[: cfg.length] = q
        self.emit(out.view(np.uint8))
        self._row = []
        self._rows_left -= 1
        if self._rows_left == 0:
            self.end_job()


def softmax_unit(
    sim: Any,
    name: str,
    *,
    impl: str = "tlm",
    shape: SoftmaxShape | None = None,
    clock: int | str = "5 ns",
    **rtl_options: Any,
) -> se.StreamEngine:
    """Instantiate the softmax unit (functional, tlm or rtl) with the same ports."""
    shape = shape or SoftmaxShape()
    return se.shaped_engine(
        sim,
        name,
        impl,
        kind=KIND,
        shape=shape,
        twin=SoftmaxFunctional,
        in_beat_bytes=shape.beat_bytes,
        out_beat_bytes=shape.beat_bytes,
        clock=clock,
        **rtl_options,
    )


class SoftmaxDriver(se.EngineDriver):
    """Runs rows of scores through a softmax unit."""

    def __init__(self, socket: Any, shape: SoftmaxShape, **kw: Any) -> None:
        super().__init__(
            socket, in_beat_bytes=shape.beat_bytes, out_beat_bytes=shape.beat_bytes, **kw
        )
        self.shape = shape

    async def rows(self, scores: np.ndarray, cfg: SoftmaxConfig) -> np.ndarray:
        """Softmax of each row of `scores` (rows x cfg.length int32) in one job."""
        cfg.check(self.shape)
        scores = np.asarray(scores, np.int32).reshape(-1, cfg.length)
        await self.set_reg(LEN, cfg.length)
        await self.set_reg(MULT, cfg.mult)
        await self.set_reg(SHIFT, cfg.shift)
        await self.set_reg(OUT_Q, cfg.out_shift | cfg.out_max << 16)
        await self.set_reg(ROWS, len(scores))
        await self.start()
        nb = self.shape.beats(cfg.length)
        out = np.zeros(scores.shape, np.int64)
        for r, row in enumerate(scores):
            beats = np.zeros(nb * self.shape.lanes, "<i4")
            beats[: cfg.length] = row
            await self.send(beats.view(np.uint8))
            raw = await self.receive(nb)
            out[r] = raw.view("<u4").reshape(-1)[: cfg.length]
        return out
