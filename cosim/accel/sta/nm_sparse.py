"""N:M structured weight sparsity and the STA select-and-MAC engine.

STA (Fang, Zhou and Wang, "An Algorithm-Hardware Co-Optimized Framework for Accelerating
N:M Sparse Transformers", IEEE TVLSI 30(11), 2022) keeps N of every M consecutive weights
of a row (N values plus log2(M)-bit positions per group) and runs sparse x dense and
dense x dense products on one engine. Here:

Format (`NMPattern`, `prune`, `compress`, `weight_image`): for a weight matrix W (rows x
in) the N largest-magnitude weights of every group of M inputs are kept (ties: the lower
position). `values` (rows x in*N/M, int8) holds them group by group in ascending
position, `indices` (same shape) their positions 0..M-1 inside the group. In memory a
matrix is a sequence of tiles of `lanes` rows, each tile a sequence of beats; a beat holds
`slots` consecutive kept weights of each lane: lanes*slots value bytes (lane-major), then
their indices packed LSB-first at log2(M) bits each (no indices when dense). That is
N*8 + N*log2(M) bits per group of M weights: the traffic the paper's compression scheme
saves. The engine's weight beat is this image beat zero-padded to its stream width.

Engine (rtl/sta/nm_sparse_engine.sv; twins: `NMFunctional`, tlm/accel/sta/nm_sparse_engine.cpp):
LANES output rows in parallel, each with SLOTS multipliers, each multiplier fed by an
M:1 selector from a window of the token's activations. Weights stream, activations stay:
a job loads T activation rows (one beat each), then every weight beat is applied to all
T tokens, one token per cycle, so a job takes about T * in*N/(M*SLOTS) cycles: N/M of the
dense time, which is the paper's effect. Dense x dense products (attention) use the same
multipliers with implicit positions (the PATTERN register's dense bit).

Registers (after the common CTRL/STATUS/CYCLES/INFO of cosim.accel.stream_engine):
    0x10 PATTERN  [3:0] log2 N, [7:4] log2 M, [8] dense (positions implicit)
    0x14 TOKENS   T, 1..T_MAX
    0x18 IN_LEN   activation elements per row, 1..IN_MAX, a multiple of the window
                  (SLOTS*M/N sparse, SLOTS dense)
    0x1C OUT_CFG  [5:0] shift, [8] requantise, [9] ReLU
    CTRL bit 1 KEEP: reuse the activation rows of the previous job (no activation beats).
    STATUS bit 2: the last start was refused (configuration out of range).
    INFO: LANES [7:0], SLOTS [15:8], log2 M_MAX [19:16], version [31:24].
A job takes (KEEP ? 0 : T) activation beats (row bytes at [0, IN_LEN)), then
IN_LEN*N/(M*SLOTS) weight beats (IN_LEN/SLOTS dense), and gives T result beats of LANES
little-endian int32: the int32 (wrapping) sum, or with requantisation
sat8(relu?((acc + 2^(shift-1)) >> shift)) sign-extended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.errors import ParameterError

KIND = "nm_sparse_engine"
#: Parameters and registers of rtl/sta/nm_sparse_engine.sv and its TLM twin (checked against both).
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/sta/nm_sparse_engine.sv",
    tlm="tlm/accel/sta/nm_sparse_engine.cpp",
    params=(
        EngineParam("lanes", 16, 1, 32, "output rows in parallel"),
        EngineParam("slots", 4, 1, 16, "multipliers per lane, a power of two"),
        EngineParam("m_max", 8, 2, 16, "largest M of an N:M pattern: 2, 4, 8 or 16"),
        EngineParam("in_max", 128, 4, 128, "activation row bytes = input beat bytes"),
        EngineParam("t_max", 16, 1, 64, "tokens per job"),
    ),
    registers={"PATTERN": 0x10, "TOKENS": 0x14, "IN_LEN": 0x18, "OUT_CFG": 0x1C},
)
PATTERN, TOKENS, IN_LEN, OUT_CFG = (
    DECLARATION.registers[r] for r in ("PATTERN", "TOKENS", "IN_LEN", "OUT_CFG")
)
CTRL_KEEP = 2
OUT_REQUANT, OUT_RELU = 1 << 8, 1 << 9


def _log2(x: int) -> int:
    return x.bit_length() - 1


@dataclass(frozen=True)
class NMPattern:
    """N of every M weights kept (powers of two, 1 <= N <= M <= 16); N == M is dense."""

    n: int
    m: int

    def __post_init__(self) -> None:
        for what, v in (("N", self.n), ("M", self.m)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1 or v & (v - 1) or v > 16:
                raise ParameterError(f"N:M pattern: {what} = {v!r} must be 1, 2, 4, 8 or 16")
        if self.n > self.m:
            raise ParameterError(f"N:M pattern {self.n}:{self.m}: N must be at most M")

    @classmethod
    def parse(cls, text: str) -> NMPattern:
        """'2:4', '1:8', ... or 'dense' (stored as 1:1)."""
        t = text.strip().lower()
        if t == "dense":
            return cls(1, 1)
        try:
            n, m = (int(p) for p in t.split(":"))
        except ValueError:
            raise ParameterError(
                f"N:M pattern {text!r}: write it as N:M (e.g. 2:4) or 'dense'"
            ) from None
        return cls(n, m)

    @property
    def dense(self) -> bool:
        return self.n == self.m

    @property
    def density(self) -> float:
        return self.n / self.m

    @property
    def index_bits(self) -> int:
        return 0 if self.dense else _log2(self.m)

    def __str__(self) -> str:
        return "dense" if self.dense else f"{self.n}:{self.m}"

    def window(self, slots: int) -> int:
        """Activation elements one weight beat covers."""
        return slots if self.dense else slots * self.m // self.n

    def register(self) -> int:
        """The PATTERN register value."""
        if self.dense:
            return 1 << 8
        return _log2(self.n) | _log2(self.m) << 4


def prune(w: np.ndarray, pattern: NMPattern) -> np.ndarray:
    """Keep the N largest-magnitude weights of every group of M along the last axis
    (ties: lower position first); the others become 0."""
    w = np.asarray(w)
    if pattern.dense:
        return w.copy()
    if w.shape[-1] % pattern.m:
        raise ParameterError(
            f"N:M pruning: the input length {w.shape[-1]} is not a multiple of M = {pattern.m}"
        )
    g = w.reshape(*w.shape[:-1], -1, pattern.m)
    order = np.argsort(-np.abs(g.astype(np.int64)), axis=-1, kind="stable")
    keep = np.zeros(g.shape, dtype=bool)
    np.put_along_axis(keep, order[..., : pattern.n], True, axis=-1)
    return np.where(keep, g, 0).reshape(w.shape).astype(w.dtype)


def compress(w: np.ndarray, pattern: NMPattern) -> tuple[np.ndarray, np.ndarray]:
    """(values, indices) of a pruned matrix: the kept weights of each group in
    ascending position (the N largest magnitudes when the group has more non-zeros)."""
    w = np.asarray(w)
    rows, cols = w.shape
    if pattern.dense:
        return w.astype(np.int8), np.zeros((rows, cols), np.uint8)
    g = w.reshape(rows, -1, pattern.m).astype(np.int64)
    order = np.argsort(-np.abs(g), axis=-1, kind="stable")[..., : pattern.n]
    idx = np.sort(order, axis=-1)
    vals = np.take_along_axis(g, idx, axis=-1)
    return vals.reshape(rows, -1).astype(np.int8), idx.reshape(rows, -1).astype(np.uint8)


def decompress(
    values: np.ndarray, indices: np.ndarray, pattern: NMPattern, in_len: int
) -> np.ndarray:
    """The dense int8 matrix of (values, indices)."""
    rows = values.shape[0]
    if pattern.dense:
        return values.astype(np.int8).reshape(rows, in_len)
    groups = in_len // pattern.m
    out = np.zeros((rows, groups, pattern.m), np.int8)
    v = values.reshape(rows, groups, pattern.n)
    i = indices.reshape(rows, groups, pattern.n).astype(np.int64)
    np.put_along_axis(out, i, v, axis=-1)
    return out.reshape(rows, in_len)


def pack_bits(fields: np.ndarray, bits: int) -> np.ndarray:
    """Pack unsigned `bits`-bit fields LSB-first into bytes (last axis)."""
    f = np.asarray(fields, dtype=np.uint64)
    if bits == 0:
        return np.zeros((*f.shape[:-1], 0), np.uint8)
    b = ((f[..., :, None] >> np.arange(bits, dtype=np.uint64)) & 1).astype(np.uint8)
    flat = b.reshape(*f.shape[:-1], -1)
    pad = (-flat.shape[-1]) % 8
    if pad:
        flat = np.concatenate([flat, np.zeros((*flat.shape[:-1], pad), np.uint8)], axis=-1)
    return np.packbits(flat, axis=-1, bitorder="little")


def unpack_bits(data: np.ndarray, bits: int, count: int) -> np.ndarray:
    """Inverse of pack_bits: `count` fields of `bits` bits (last axis)."""
    if bits == 0:
        return np.zeros((*data.shape[:-1], count), np.int64)
    b = np.unpackbits(np.asarray(data, np.uint8), axis=-1, bitorder="little")
    b = b[..., : count * bits].reshape(*data.shape[:-1], count, bits).astype(np.int64)
    return (b << np.arange(bits)).sum(axis=-1)


@dataclass(frozen=True)
class EngineShape:
    """Parameters of one engine build: LANES, SLOTS, M_MAX, IN_MAX (bytes of an
    activation row = input beat bytes), T_MAX."""

    lanes: int = DECLARATION.default("lanes")
    slots: int = DECLARATION.default("slots")
    m_max: int = DECLARATION.default("m_max")
    in_max: int = DECLARATION.default("in_max")
    t_max: int = DECLARATION.default("t_max")

    def __post_init__(self) -> None:
        checks = (
            ("lanes", self.lanes, 1, 32),
            ("slots", self.slots, 1, 16),
            ("in_max", self.in_max, 4, 128),
            ("t_max", self.t_max, 1, 64),
        )
        for name, v, lo, hi in checks:
            if not lo <= v <= hi:
                raise ParameterError(f"N:M engine: {name} = {v} must be {lo}..{hi}")
        if self.m_max not in (2, 4, 8, 16):
            raise ParameterError(f"N:M engine: m_max = {self.m_max} must be 2, 4, 8 or 16")
        if self.lanes * self.slots * (8 + _log2(self.m_max)) > 8 * self.in_max:
            raise ParameterError(
                f"N:M engine: a weight beat of {self.lanes} lanes x {self.slots} slots "
                f"does not fit the {self.in_max}-byte input beat"
            )

    @property
    def in_beat_bytes(self) -> int:
        return self.in_max

    @property
    def out_beat_bytes(self) -> int:
        return 4 * self.lanes

    def image_beat_bytes(self, pattern: NMPattern) -> int:
        """Bytes of one weight beat in memory (values + packed indices)."""
        k = self.lanes * self.slots
        return k + math.ceil(k * pattern.index_bits / 8)

    def info(self) -> int:
        return self.lanes | self.slots << 8 | _log2(self.m_max) << 16 | se.VERSION << 24

    def rtl_params(self) -> dict[str, int]:
        return DECLARATION.rtl_params(**self.tlm_params())

    def tlm_params(self) -> dict[str, int]:
        names = ("lanes", "slots", "m_max", "in_max", "t_max")
        return DECLARATION.tlm_params(**{n: getattr(self, n) for n in names})

    def check_job(self, pattern: NMPattern, tokens: int, in_len: int) -> None:
        """ParameterError naming what is out of range for this engine."""
        if pattern.m > self.m_max:
            raise ParameterError(
                f"N:M engine: pattern {pattern} needs M <= m_max = {self.m_max} of this build"
            )
        if not 1 <= tokens <= self.t_max:
            raise ParameterError(f"N:M engine: tokens = {tokens} must be 1..{self.t_max}")
        w = pattern.window(self.slots)
        if not 1 <= in_len <= self.in_max or in_len % w:
            raise ParameterError(
                f"N:M engine: in_len = {in_len} must be 1..{self.in_max} and a multiple of "
                f"the {w}-element window of pattern {pattern} with {self.slots} slots"
            )

    def weight_beats(self, pattern: NMPattern, in_len: int) -> int:
        return in_len * pattern.n // (pattern.m * self.slots)


def weight_image(
    values: np.ndarray, indices: np.ndarray, pattern: NMPattern, shape: EngineShape
) -> np.ndarray:
    """The in-memory image of a compressed matrix: tiles of `lanes` rows (zero rows
    pad the last tile), each tile `beats` beats of image_beat_bytes. Returns
    (tiles, beats, image_beat_bytes) uint8."""
    rows, kept = values.shape
    p, k = shape.lanes, shape.slots
    if kept % k:
        raise ParameterError(
            f"N:M weight image: {kept} kept weights per row are not whole beats of {k} slots"
        )
    tiles = math.ceil(rows / p)
    v = np.zeros((tiles * p, kept), np.int8)
    i = np.zeros((tiles * p, kept), np.uint8)
    v[:rows], i[:rows] = values, indices
    beats = kept // k
    # (tiles, lanes, beats, slots) -> (tiles, beats, lanes, slots)
    v4 = v.reshape(tiles, p, beats, k).transpose(0, 2, 1, 3).reshape(tiles, beats, p * k)
    i4 = i.reshape(tiles, p, beats, k).transpose(0, 2, 1, 3).reshape(tiles, beats, p * k)
    parts = [v4.view(np.uint8)]
    if not pattern.dense:
        parts.append(pack_bits(i4, pattern.index_bits))
    return np.concatenate(parts, axis=-1)


def requantize(acc: np.ndarray, out_cfg: int) -> np.ndarray:
    """The engine's output stage for an OUT_CFG value (int64 in, int64 out)."""
    acc = np.asarray(acc, np.int64)
    if not out_cfg & OUT_REQUANT:
        return ((acc + (1 << 31)) % (1 << 32)) - (1 << 31)
    shift = out_cfg & 63
    y = (acc + ((1 << (shift - 1)) if shift else 0)) >> shift
    if out_cfg & OUT_RELU:
        y = np.maximum(y, 0)
    return np.clip(y, -128, 127)


def golden_matmul(x: np.ndarray, w_dense: np.ndarray, out_cfg: int = 0) -> np.ndarray:
    """numpy reference: requantize(x @ w.T) for int8 x (T x in) and w (rows x in)."""
    acc = np.asarray(x, np.int64) @ np.asarray(w_dense, np.int64).T
    return requantize(acc, out_cfg)


# ------------------------------------------------------------------- functional twin
class NMFunctional(se.FunctionalEngine):
    """The numpy twin of rtl/sta/nm_sparse_engine.sv (same registers, beats and numbers)."""

    config_registers: ClassVar[dict[int, str]] = {
        PATTERN: "pattern",
        TOKENS: "tokens",
        IN_LEN: "in_len",
        OUT_CFG: "out",
    }

    def __init__(self, name: str, shape: EngineShape, done: Any) -> None:
        super().__init__(name, shape.in_beat_bytes, shape.out_beat_bytes, done)
        self.shape = shape
        self.x = np.zeros((shape.t_max, shape.in_max), np.int64)
        self._acc = np.zeros((shape.t_max, shape.lanes), np.int64)
        self._job: dict[str, Any] = {}

    def info(self) -> int:
        return self.shape.info()

    def _config(self) -> tuple[NMPattern, int, int] | None:
        r = self.regs
        dense = bool(r["pattern"] >> 8 & 1)
        try:
            pat = (
                NMPattern(1, 1)
                if dense
                else NMPattern(1 << (r["pattern"] & 15), 1 << (r["pattern"] >> 4 & 15))
            )
            self.shape.check_job(pat, r["tokens"], r["in_len"])
        except ParameterError:
            return None
        return pat, r["tokens"], r["in_len"]

    def start(self, flags: int) -> None:
        cfg = self._config()
        if cfg is None:
            self.refuse()
            return
        pat, t, n = cfg
        self._acc[:] = 0
        self._job = {
            "pattern": pat,
            "t": t,
            "in_len": n,
            "acts": 0 if flags & CTRL_KEEP else t,
            "weights": self.shape.weight_beats(pat, n),
            "beat": 0,
        }

    def wanted(self) -> int:
        j = self._job
        return j["acts"] + j["weights"] - j["beat"] if j else 0

    def consume(self, beats: np.ndarray) -> None:
        j = self._job
        for beat in beats:
            if j["acts"]:
                row = j["t"] - j["acts"]
                self.x[row] = beat[: self.shape.in_max].view(np.int8)
                j["acts"] -= 1
                continue
            self._apply(beat, j["beat"])
            j["beat"] += 1
        if j["acts"] == 0 and j["beat"] == j["weights"]:
            out = requantize(self._acc[: j["t"]], self.regs["out"]).astype("<i4")
            self.emit(out.view(np.uint8))
            self.end_job()

    def _apply(self, beat: np.ndarray, b: int) -> None:
        sh, pat = self.shape, self._job["pattern"]
        k = sh.lanes * sh.slots
        vals = beat[:k].view(np.int8).astype(np.int64).reshape(sh.lanes, sh.slots)
        s = b * sh.slots + np.arange(sh.slots)
        if pat.dense:
            pos = np.broadcast_to(s, (sh.lanes, sh.slots))
        else:
            idx = unpack_bits(beat[k:], pat.index_bits, k).reshape(sh.lanes, sh.slots)
            pos = ((s >> _log2(pat.n)) << _log2(pat.m))[None, :] + idx
        t = self._job["t"]
        x = self.x[:t][:, pos]  # (T, lanes, slots)
        self._acc[:t] += (x * vals[None]).sum(axis=-1)


def nm_sparse_engine(
    sim: Any,
    name: str,
    *,
    impl: str = "tlm",
    shape: EngineShape | None = None,
    clock: int | str = "5 ns",
    **rtl_options: Any,
) -> se.StreamEngine:
    """Instantiate the N:M engine (functional, tlm or rtl) with the same ports."""
    shape = shape or EngineShape()
    return se.shaped_engine(
        sim,
        name,
        impl,
        kind=KIND,
        shape=shape,
        twin=NMFunctional,
        in_beat_bytes=shape.in_beat_bytes,
        out_beat_bytes=shape.out_beat_bytes,
        clock=clock,
        **rtl_options,
    )


class NMDriver(se.EngineDriver):
    """Runs matrix products on an N:M engine: `matmul` for one weight matrix over the
    activation rows already given to `load`, tile by tile."""

    def __init__(self, socket: Any, shape: EngineShape, **kw: Any) -> None:
        super().__init__(
            socket, in_beat_bytes=shape.in_beat_bytes, out_beat_bytes=shape.out_beat_bytes, **kw
        )
        self.shape = shape

    async def configure(self, pattern: NMPattern, tokens: int, in_len: int, out_cfg: int) -> None:
        self.shape.check_job(pattern, tokens, in_len)
        await self.set_reg(PATTERN, pattern.register())
        await self.set_reg(TOKENS, tokens)
        await self.set_reg(IN_LEN, in_len)
        await self.set_reg(OUT_CFG, out_cfg)

    async def tile(self, image_beats: np.ndarray, x: np.ndarray | None, tokens: int) -> np.ndarray:
        """One job: optionally new activation rows x (T x in_len int8, else KEEP), the
        tile's image beats; returns (T, lanes) int32 (requantised values sign-extended)."""
        await self.start(0 if x is not None else CTRL_KEEP)
        if x is not None:
            await self.send(se.pad_beats(np.asarray(x, np.int8), self.in_beat_bytes))
        await self.send(se.pad_beats(image_beats, self.in_beat_bytes))
        raw = await self.receive(tokens)
        return raw.view("<i4").reshape(tokens, self.shape.lanes)
