"""The vector unit of DFX (Hong et al., MICRO 2022): LayerNorm, softmax, GELU and
element-wise addition on rows of FP16 values, computed in fixed point inside (the
numerics of cosim.accel.fixed_point; the softmax is the core STA's unit shares).
Implementations behind the cosim.accel.stream_engine ports: `VectorFunctional` (numpy),
tlm/accel/dfx/vector_unit.cpp and rtl/dfx/vector_unit.sv.

Registers (after CTRL/STATUS/CYCLES/INFO): 0x10 OP, 0x14 LEN, 0x18 ROWS, 0x1C MULT,
0x20 SHIFT, 0x24 EPS (fx). A job runs OP on ROWS rows of LEN elements; per row its input
beats, then its output beats (ceil(LEN/LANES) each; read them before the next row):
    ADD 0        a, b        -> sat(a + b)
    LAYERNORM 1  x, g, b     -> layernorm_fx (LEN a power of two)
    SOFTMAX 2    x           -> softmax_q16(x, MULT, SHIFT)
    GELU 3       x           -> gelu_fx from the loaded table
    LOAD_LUT 4   257 int32 table entries, LANES/2 per beat; no output
Stated tolerances against float64 (tests/test_fixed_point.py, tests/accel/dfx/test_dfx.py):
softmax 3e-4 absolute, LayerNorm 2e-3 absolute, GELU 1e-3 absolute, each plus one fp16
rounding of the result (2^-11 relative).
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

KIND = "vector_unit"
#: Parameters and registers of rtl/dfx/vector_unit.sv and its TLM twin (checked against both).
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/dfx/vector_unit.sv",
    tlm="tlm/accel/dfx/vector_unit.cpp",
    params=(
        EngineParam("lanes", 16, 2, 64, "FP16 elements per beat, even"),
        EngineParam("max_len", 512, 2, 4096, "longest row, a multiple of lanes"),
    ),
    registers={"OP": 0x10, "LEN": 0x14, "ROWS": 0x18, "MULT": 0x1C, "SHIFT": 0x20, "EPS": 0x24},
)
OP, LEN, ROWS, MULT, SHIFT, EPS = (
    DECLARATION.registers[r] for r in ("OP", "LEN", "ROWS", "MULT", "SHIFT", "EPS")
)
OP_ADD, OP_LAYERNORM, OP_SOFTMAX, OP_GELU, OP_LOAD_LUT = 0, 1, 2, 3, 4
OP_NAMES = {OP_ADD: "add", OP_LAYERNORM: "layernorm", OP_SOFTMAX: "softmax", OP_GELU: "gelu"}
INPUT_SEGMENTS = {OP_ADD: 2, OP_LAYERNORM: 3, OP_SOFTMAX: 1, OP_GELU: 1}


@dataclass(frozen=True)
class VectorShape:
    """LANES FP16 elements per beat (even), rows of up to MAX_LEN elements."""

    lanes: int = DECLARATION.default("lanes")
    max_len: int = DECLARATION.default("max_len")

    def __post_init__(self) -> None:
        if not 2 <= self.lanes <= 64 or self.lanes % 2:
            raise ParameterError(f"vector unit: lanes = {self.lanes} must be even, 2..64")
        if not self.lanes <= self.max_len <= 4096 or self.max_len % self.lanes:
            raise ParameterError(
                f"vector unit: max_len = {self.max_len} must be a multiple of lanes up to 4096"
            )

    @property
    def beat_bytes(self) -> int:
        return 2 * self.lanes

    def beats(self, length: int) -> int:
        return math.ceil(length / self.lanes)

    @property
    def lut_beats(self) -> int:
        return math.ceil(fxp.GELU_LUT_SIZE / (self.lanes // 2))

    def info(self) -> int:
        return self.lanes | (self.max_len // self.lanes) << 8 | se.VERSION << 24

    def rtl_params(self) -> dict[str, int]:
        return DECLARATION.rtl_params(lanes=self.lanes, max_len=self.max_len)

    def tlm_params(self) -> dict[str, int]:
        return DECLARATION.tlm_params(lanes=self.lanes, max_len=self.max_len)

    def check(self, op: int, length: int, mult: int = 0, shift: int = 0, eps: int = 0) -> None:
        if op not in OP_NAMES:
            raise ParameterError(f"vector unit: op = {op} must be one of {sorted(OP_NAMES)}")
        if not 1 <= length <= self.max_len:
            raise ParameterError(f"vector unit: length = {length} must be 1..{self.max_len}")
        if op == OP_LAYERNORM and length & (length - 1):
            raise ParameterError(f"vector unit: LayerNorm length = {length} must be a power of two")
        if op == OP_LAYERNORM and not 0 <= eps < 1 << 31:
            raise ParameterError(f"vector unit: eps = {eps} must be 0..2^31-1 (fx)")
        if op == OP_SOFTMAX and not (0 <= mult < 1 << 16 and 0 <= shift <= 47):
            raise ParameterError(
                f"vector unit: softmax mult = {mult} must be 0..65535 and shift = {shift} 0..47"
            )


def golden_rows(
    op: int,
    inputs: list[np.ndarray],
    *,
    mult: int = 0,
    shift: int = 0,
    eps: int = 0,
    lut: np.ndarray | None = None,
) -> np.ndarray:
    """What the unit returns for rows of fp16 inputs (rows x n each): float16 rows."""
    fx = [fxp.fp16_to_fx(np.asarray(a, np.float16)) for a in inputs]
    if op == OP_ADD:
        z = fxp.add_fx(fx[0], fx[1])
    elif op == OP_LAYERNORM:
        z = fxp.layernorm_fx(fx[0], fx[1], fx[2], eps)
    elif op == OP_SOFTMAX:
        z = fxp.softmax_q16(fx[0], mult, shift)
    elif op == OP_GELU:
        if lut is None:
            raise ParameterError("vector unit: GELU needs the table loaded first")
        z = fxp.gelu_fx(fx[0], lut)
    else:
        raise ParameterError(f"vector unit: op = {op} has no rows")
    return fxp.fx_to_fp16(z)


class VectorFunctional(se.FunctionalEngine):
    """The numpy twin of rtl/dfx/vector_unit.sv."""

    config_registers: ClassVar[dict[int, str]] = {
        OP: "op",
        LEN: "len",
        ROWS: "rows",
        MULT: "mult",
        SHIFT: "shift",
        EPS: "eps",
    }

    def __init__(self, name: str, shape: VectorShape, done: Any) -> None:
        super().__init__(name, shape.beat_bytes, shape.beat_bytes, done)
        self.shape = shape
        self.regs.update(len=1, rows=1)
        self.lut = np.zeros(fxp.GELU_LUT_SIZE, np.int64)
        self._row: list[np.ndarray] = []
        self._rows_left = 0
        self._lut_beats = 0

    def info(self) -> int:
        return self.shape.info()

    def start(self, flags: int) -> None:
        r = self.regs
        self._row, self._lut_beats = [], 0
        if r["op"] == OP_LOAD_LUT:
            self._lut = []
            return
        try:
            self.shape.check(r["op"], r["len"], r["mult"], r["shift"], r["eps"])
            if r["rows"] < 1:
                raise ParameterError("rows")
        except ParameterError:
            self.refuse()
            return
        self._rows_left = r["rows"]

    def wanted(self) -> int:
        r = self.regs
        if r["op"] == OP_LOAD_LUT:
            return self.shape.lut_beats - self._lut_beats
        if self._rows_left == 0 or self._results:
            return 0
        return INPUT_SEGMENTS[r["op"]] * self.shape.beats(r["len"]) - len(self._row)

    def consume(self, beats: np.ndarray) -> None:
        r, sh = self.regs, self.shape
        if r["op"] == OP_LOAD_LUT:
            self._lut.extend(beats)
            self._lut_beats += len(beats)
            if self._lut_beats == sh.lut_beats:
                vals = np.concatenate([b.view("<i4") for b in self._lut])[: fxp.GELU_LUT_SIZE]
                self.lut = vals.astype(np.int64)
                self.end_job()
            return
        self._row.extend(beats)
        nb = sh.beats(r["len"])
        if len(self._row) < INPUT_SEGMENTS[r["op"]] * nb:
            return
        segs = [
            np.concatenate([b.view(np.float16) for b in self._row[k * nb : (k + 1) * nb]])[
                : r["len"]
            ]
            for k in range(INPUT_SEGMENTS[r["op"]])
        ]
        y = golden_rows(r["op"], segs, mult=r["mult"], shift=r["shift"], eps=r["eps"], lut=self.lut)
        out = np.zeros(nb * sh.lanes, np.float16)
        out[: r["len"]] = y
        self.emit(out.view(np.uint8))
        self._row = []
        self._rows_left -= 1
        if self._rows_left == 0:
            self.end_job()


def vector_unit(
    sim: Any,
    name: str,
    *,
    impl: str = "tlm",
    shape: VectorShape | None = None,
    clock: int | str = "5 ns",
    **rtl_options: Any,
) -> se.StreamEngine:
    """Instantiate the vector unit (functional, tlm or rtl) with the same ports."""
    shape = shape or VectorShape()
    return se.shaped_engine(
        sim,
        name,
        impl,
        kind=KIND,
        shape=shape,
        twin=VectorFunctional,
        in_beat_bytes=shape.beat_bytes,
        out_beat_bytes=shape.beat_bytes,
        clock=clock,
        **rtl_options,
    )


class VectorDriver(se.EngineDriver):
    """Runs vector operations: load_gelu() once, then add / layernorm / softmax / gelu
    on rows of float16."""

    def __init__(self, socket: Any, shape: VectorShape, **kw: Any) -> None:
        super().__init__(
            socket, in_beat_bytes=shape.beat_bytes, out_beat_bytes=shape.beat_bytes, **kw
        )
        self.shape = shape

    async def load_gelu(self, lut: np.ndarray | None = None) -> None:
        table = fxp.gelu_lut() if lut is None else np.asarray(lut, np.int64)
        per = self.shape.lanes // 2
        raw = np.zeros(self.shape.lut_beats * per, "<i4")
        raw[: len(table)] = table
        await self.set_reg(OP, OP_LOAD_LUT)
        await self.start()
        await self.send(raw.view(np.uint8))

    def _beats(self, rows: np.ndarray) -> np.ndarray:
        nb = self.shape.beats(rows.shape[-1])
        out = np.zeros((len(rows), nb * self.shape.lanes), np.float16)
        out[:, : rows.shape[-1]] = rows
        return out

    async def run(
        self, op: int, inputs: list[np.ndarray], *, mult: int = 0, shift: int = 0, eps: int = 0
    ) -> np.ndarray:
        """One job of `op` over the rows of `inputs` (each rows x n float16)."""
        rows, n = inputs[0].shape
        self.shape.check(op, n, mult, shift, eps)
        if len(inputs) != INPUT_SEGMENTS[op] or any(a.shape != (rows, n) for a in inputs):
            raise ParameterError(
                f"vector unit: {OP_NAMES[op]} takes {INPUT_SEGMENTS[op]} arrays of one shape"
            )
        for a in inputs:
            if not np.all(np.isfinite(a)):
                raise ParameterError("vector unit: inputs must be finite")
        await self.set_reg(OP, op)
        await self.set_reg(LEN, n)
        await self.set_reg(ROWS, rows)
        if op == OP_SOFTMAX:
            await self.set_reg(MULT, mult)
            await self.set_reg(SHIFT, shift)
        if op == OP_LAYERNORM:
            await self.set_reg(EPS, eps)
        await self.start()
        padded = [self._beats(np.asarray(a, np.float16)) for a in inputs]
        nb = self.shape.beats(n)
        out = np.zeros((rows, n), np.float16)
        for r in range(rows):
            await self.send(np.concatenate([p[r] for p in padded]).view(np.uint8))
            raw = await self.receive(nb)
            out[r] = raw.view(np.float16).reshape(-1)[:n]
        return out
