"""The FP16 matrix tile of DFX's matrix processing unit (Hong et al., "DFX: A Low-latency
Multi-FPGA Appliance for Accelerating Transformer-based Text Generation", MICRO 2022):
LANES dot-product lanes of WIDTH FP16 multipliers with FP32 adder trees and FP32
accumulators. Implementations behind the cosim.accel.stream_engine ports:
`TileFunctional` (numpy), tlm/accel/dfx/fp16_dot_tile.cpp and rtl/dfx/fp16_dot_tile.sv.

Numerics (`tile_matmul`, the specification all three follow bit for bit):
    Y[t][l] = fp16( bias[l] + sum over chunks c of tree_c ), accumulated chunk by chunk,
    tree_c = the WIDTH exact FP32 products W[l][cW+v] * X[t][cW+v] summed neighbours
    first, level by level, each sum rounded to FP32 (ties to even).
Against float64 numpy the result is within one FP16 rounding of the exact value plus the
FP32 accumulation error (`within_tolerance`).

Protocol (registers after CTRL/STATUS/CYCLES/INFO):
    0x10 TOKENS  T, 1..T_MAX;  0x14 IN_LEN  multiple of WIDTH, 1..IN_MAX;
    0x18 BLOCKS  row blocks per job, 1..65535
    CTRL bit 1 KEEP (reuse activation rows), bit 2 BIAS (every block starts with a bias beat).
A job takes (KEEP ? 0 : T * ceil(IN_LEN / (LANES*WIDTH))) activation beats, then per block
the bias beat if asked and IN_LEN / WIDTH weight beats (lane l's WIDTH weights at FP16
lanes l*WIDTH..), and gives per block T result beats of LANES FP16 values. A block's
results can be read while later blocks' beats go in (the RTL holds two blocks' results;
`TileDriver.matmul` sends and receives concurrently).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

import cosim
from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.errors import ParameterError

KIND = "fp16_dot_tile"
#: Parameters and registers of rtl/dfx/fp16_dot_tile.sv and its TLM twin (checked against both).
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/dfx/fp16_dot_tile.sv",
    tlm="tlm/accel/dfx/fp16_dot_tile.cpp",
    params=(
        EngineParam("lanes", 8, 1, 64, "dot-product lanes"),
        EngineParam("width", 8, 1, 64, "multipliers per lane, a power of two"),
        EngineParam("in_max", 512, 1, 1 << 16, "longest activation row, a multiple of lanes*width"),
        EngineParam("t_max", 16, 1, 64, "tokens per job"),
    ),
    registers={"TOKENS": 0x10, "IN_LEN": 0x14, "BLOCKS": 0x18},
)
TOKENS, IN_LEN, BLOCKS = (DECLARATION.registers[r] for r in ("TOKENS", "IN_LEN", "BLOCKS"))
CTRL_KEEP, CTRL_BIAS = 2, 4


@dataclass(frozen=True)
class TileShape:
    """LANES output rows per weight beat, WIDTH-wide dot products, rows of up to IN_MAX
    elements, T_MAX tokens."""

    lanes: int = DECLARATION.default("lanes")
    width: int = DECLARATION.default("width")
    in_max: int = DECLARATION.default("in_max")
    t_max: int = DECLARATION.default("t_max")

    def __post_init__(self) -> None:
        if self.width < 1 or self.width & (self.width - 1):
            raise ParameterError(f"FP16 tile: width = {self.width} must be a power of two")
        if not 1 <= self.lanes <= 64 or 16 * self.lanes * self.width > 1024:
            raise ParameterError(
                f"FP16 tile: lanes = {self.lanes} x width = {self.width} FP16 must fit a "
                "1024-bit beat"
            )
        if self.in_max < self.per_beat or self.in_max % self.per_beat:
            raise ParameterError(
                f"FP16 tile: in_max = {self.in_max} must be a multiple of {self.per_beat}"
            )
        if not 1 <= self.t_max <= 64:
            raise ParameterError(f"FP16 tile: t_max = {self.t_max} must be 1..64")

    @property
    def per_beat(self) -> int:
        """Activation elements per beat."""
        return self.lanes * self.width

    @property
    def in_beat_bytes(self) -> int:
        return 2 * self.per_beat

    @property
    def out_beat_bytes(self) -> int:
        return 2 * self.lanes

    def act_beats(self, in_len: int) -> int:
        return math.ceil(in_len / self.per_beat)

    def info(self) -> int:
        return self.lanes | self.width << 8 | se.VERSION << 24

    def rtl_params(self) -> dict[str, int]:
        return DECLARATION.rtl_params(**self.tlm_params())

    def tlm_params(self) -> dict[str, int]:
        names = ("lanes", "width", "in_max", "t_max")
        return DECLARATION.tlm_params(**{n: getattr(self, n) for n in names})

    def check_job(self, tokens: int, in_len: int) -> None:
        if not 1 <= tokens <= self.t_max:
            raise ParameterError(f"FP16 tile: tokens = {tokens} must be 1..{self.t_max}")
        if not 1 <= in_len <= self.in_max or in_len % self.width:
            raise ParameterError(
                f"FP16 tile: in_len = {in_len} must be 1..{self.in_max} and a multiple of "
                f"width = {self.width}"
            )


def _f16(a: Any) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != np.float16:
        raise TypeError(f"FP16 tile operands are float16 arrays, got {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise ValueError("FP16 tile operands must be finite (no infinities or NaN)")
    return a


def tree_sum(p: np.ndarray) -> np.ndarray:
    """Sum the last axis (a power of two) in float32, neighbours first, level by level."""
    while p.shape[-1] > 1:
        p = p[..., 0::2] + p[..., 1::2]
    return p[..., 0]


def tile_matmul(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, width: int) -> np.ndarray:
    """The tile's Y = X W^T (+ bias), float16 (T x rows), exactly as the hardware rounds.
    x: (T, n) float16, w: (rows, n) float16, bias: (rows,) float16 or None."""
    x, w = _f16(x), _f16(w)
    n = x.shape[1]
    if w.shape[1] != n or n % width:
        raise ParameterError(f"FP16 tile: inner lengths {x.shape} x {w.shape} (width {width})")
    shape = (x.shape[0], w.shape[0])
    # the accumulators start as the bias (assigned, not added: a -0 bias stays -0) or +0
    acc = np.zeros(shape, np.float32)
    if bias is not None:
        acc = np.broadcast_to(_f16(bias).astype(np.float32), shape).copy()
    xf = x.astype(np.float32).reshape(x.shape[0], n // width, width)
    wf = w.astype(np.float32).reshape(w.shape[0], n // width, width)
    for c in range(n // width):
        acc = acc + tree_sum(xf[:, None, c, :] * wf[None, :, c, :])
    return acc.astype(np.float16)


def within_tolerance(y: np.ndarray, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> bool:
    """|y - exact| <= one fp16 rounding of |exact| (2^-11 relative, 2^-24 absolute) plus
    the FP32 accumulation bound n * 2^-24 * sum |products| (stated tolerance)."""
    xd, wd = x.astype(np.float64), w.astype(np.float64)
    exact = xd @ wd.T + (0 if bias is None else bias.astype(np.float64))
    mag = np.abs(xd) @ np.abs(wd).T + (0 if bias is None else np.abs(bias.astype(np.float64)))
    tol = 2.0**-11 * np.abs(exact) + 2.0**-24 + x.shape[1] * 2.0**-24 * mag
    return bool(np.all(np.abs(y.astype(np.float64) - exact) <= tol))


def weight_beats(w: np.ndarray, shape: TileShape) -> np.ndarray:
    """The weight beats of a matrix (rows x n float16), row block by row block:
    (blocks, n // width, in_beat_bytes) uint8; the last block is padded with zero rows."""
    rows, n = w.shape
    blocks = math.ceil(rows / shape.lanes)
    pad = np.zeros((blocks * shape.lanes, n), np.float16)
    pad[:rows] = w
    b = pad.reshape(blocks, shape.lanes, n // shape.width, shape.width).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(b).view(np.uint8).reshape(blocks, n // shape.width, -1)


def act_beats(x: np.ndarray, shape: TileShape) -> np.ndarray:
    """Activation rows (T x n float16) as beats: (T * ceil(n / per_beat), in_beat_bytes)."""
    t, n = x.shape
    k = shape.act_beats(n)
    out = np.zeros((t, k * shape.per_beat), np.float16)
    out[:, :n] = x
    return out.view(np.uint8).reshape(t * k, shape.in_beat_bytes)


# ------------------------------------------------------------------- functional twin
class TileFunctional(se.FunctionalEngine):
    """The numpy twin of rtl/dfx/fp16_dot_tile.sv."""

    config_registers: ClassVar[dict[int, str]] = {
        TOKENS: "tokens",
        IN_LEN: "in_len",
        BLOCKS: "blocks",
    }

    def __init__(self, name: str, shape: TileShape, done: Any) -> None:
        super().__init__(name, shape.in_beat_bytes, shape.out_beat_bytes, done)
        self.shape = shape
        self.regs["blocks"] = 1
        self.x = np.zeros((shape.t_max, shape.in_max), np.float16)
        self._job: dict[str, Any] = {}

    def info(self) -> int:
        return self.shape.info()

    def start(self, flags: int) -> None:
        t, n, blocks = self.regs["tokens"], self.regs["in_len"], self.regs["blocks"]
        try:
            self.shape.check_job(t, n)
            if not 1 <= blocks <= 65535:
                raise ParameterError("blocks")
        except ParameterError:
            self.refuse()
            self._job = {}
            return
        per_block = n // self.shape.width + (1 if flags & CTRL_BIAS else 0)
        self._job = {
            "t": t,
            "n": n,
            "acts": 0 if flags & CTRL_KEEP else t * self.shape.act_beats(n),
            "bias": bool(flags & CTRL_BIAS),
            "per_block": per_block,
            "items": blocks * per_block,
            "block": [],
            "blocks_left": blocks,
            "k": 0,
        }

    def wanted(self) -> int:
        j = self._job
        return j["acts"] + j["items"] if j else 0

    def consume(self, beats: np.ndarray) -> None:
        j, sh = self._job, self.shape
        for beat in beats:
            if j["acts"]:
                per = sh.act_beats(j["n"])
                t, c = divmod(j["k"], per)
                lo = c * sh.per_beat
                self.x[t, lo : lo + sh.per_beat] = beat.view(np.float16)[
                    : max(0, min(sh.per_beat, sh.in_max - lo))
                ]
                j["k"] += 1
                j["acts"] -= 1
                continue
            j["block"].append(beat)
            j["items"] -= 1
            if len(j["block"]) == j["per_block"]:
                self._block(j["block"])
                j["block"] = []

    def _block(self, items: list[np.ndarray]) -> None:
        j, sh = self._job, self.shape
        bias = items[0].view(np.float16)[: sh.lanes].copy() if j["bias"] else None
        chunks = items[1:] if j["bias"] else items
        w = np.concatenate([c.view(np.float16).reshape(sh.lanes, sh.width) for c in chunks], axis=1)
        x = self.x[: j["t"], : j["n"]]
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(x))):
            raise se.EngineProtocolError("FP16 tile operands must be finite")
        self.emit(tile_matmul(x, w, bias, sh.width).view(np.uint8))
        j["blocks_left"] -= 1
        if j["blocks_left"] == 0:
            self.end_job()


def fp16_dot_tile(
    sim: Any,
    name: str,
    *,
    impl: str = "tlm",
    shape: TileShape | None = None,
    clock: int | str = "5 ns",
    **rtl_options: Any,
) -> se.StreamEngine:
    """Instantiate the FP16 matrix tile (functional, tlm or rtl) with the same ports."""
    shape = shape or TileShape()
    return se.shaped_engine(
        sim,
        name,
        impl,
        kind=KIND,
        shape=shape,
        twin=TileFunctional,
        in_beat_bytes=shape.in_beat_bytes,
        out_beat_bytes=shape.out_beat_bytes,
        clock=clock,
        **rtl_options,
    )


class TileDriver(se.EngineDriver):
    """Runs Y = X W^T (+ bias) on a tile, a job per matrix: `matmul` sends the activation
    rows and the row blocks (fetched by an async callback, e.g. from a weight buffer) from
    one process while another reads each block's results as soon as its beats are in."""

    def __init__(self, socket: Any, shape: TileShape, **kw: Any) -> None:
        super().__init__(
            socket, in_beat_bytes=shape.in_beat_bytes, out_beat_bytes=shape.out_beat_bytes, **kw
        )
        self.shape = shape

    def bias_beat(self, bias: np.ndarray) -> np.ndarray:
        b = np.zeros(self.shape.per_beat, np.float16)
        b[: len(bias)] = bias
        return b.view(np.uint8)

    async def matmul(
        self,
        x: np.ndarray | None,
        blocks: int,
        block: Callable[[int], Awaitable[tuple[np.ndarray, np.ndarray | None]]],
        tokens: int,
        in_len: int,
        bias: bool,
    ) -> np.ndarray:
        """One job of `blocks` row blocks over the activation rows x (T x in_len float16;
        None keeps the previous rows). `await block(b)` gives block b's weight beats and
        its bias (lanes float16, or None when bias is False). Returns (T, blocks*lanes)."""
        self.shape.check_job(tokens, in_len)
        if not 1 <= blocks <= 65535:
            raise ParameterError(f"FP16 tile: blocks = {blocks} must be 1..65535")
        if x is not None and not np.all(np.isfinite(x)):
            raise ValueError("FP16 tile: activations must be finite")
        await self.set_reg(TOKENS, tokens)
        await self.set_reg(IN_LEN, in_len)
        await self.set_reg(BLOCKS, blocks)
        await self.start((0 if x is not None else CTRL_KEEP) | (CTRL_BIAS if bias else 0))
        if x is not None:
            await self.send(act_beats(np.asarray(x, np.float16), self.shape))
        sim = cosim.current_simulation()
        sent = [0]
        progress = sim.event("tile_sent")

        async def sender() -> None:
            for b in range(blocks):
                beats, bvec = await block(b)
                if bias:
                    if bvec is None:
                        raise ParameterError("FP16 tile: a bias job needs every block's bias")
                    beats = np.concatenate(
                        [
                            self.bias_beat(bvec),
                            np.ascontiguousarray(beats).view(np.uint8).reshape(-1),
                        ]
                    )
                await self.send(beats)
                sent[0] += 1
                progress.notify()

        proc = cosim.spawn(sender())
        outs = []
        for b in range(blocks):
            while sent[0] <= b:
                await progress
            raw = await self.receive(tokens)
            outs.append(raw.view(np.float16).reshape(tokens, self.shape.lanes))
        await proc
        return np.concatenate(outs, axis=1)

    async def block(
        self,
        beats: np.ndarray,
        x: np.ndarray | None,
        tokens: int,
        in_len: int,
        bias: np.ndarray | None = None,
    ) -> np.ndarray:
        """A one-block job: (T, lanes) float16."""

        async def only(_: int) -> tuple[np.ndarray, np.ndarray | None]:
            return beats, bias

        return await self.matmul(x, 1, only, tokens, in_len, bias is not None)
