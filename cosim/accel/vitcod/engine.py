"""ViTCoD's two engines, declared once, with their numpy twins: the split attention
engine (denser + sparser PEs on a polarised mask, rtl/vitcod/vitcod_attention.sv) and the
Q/K auto-encoder layer (rtl/vitcod/vitcod_codec.sv, built as encoder and as decoder)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.errors import ParameterError

ATTENTION = "vitcod_attention"
CODEC = "vitcod_codec"

#: Parameters and registers of rtl/vitcod/vitcod_attention.sv and its TLM twin.
ATTENTION_DECLARATION = EngineDeclaration(
    ATTENTION,
    rtl="rtl/vitcod/vitcod_attention.sv",
    tlm="tlm/accel/vitcod/vitcod_attention.cpp",
    params=(
        EngineParam("d", 64, 16, 128, "head dimension = int8 lanes of a beat, a multiple of 16"),
        EngineParam("pes", 8, 2, 64, "dot-product PEs (d MACs each), split between the engines"),
        EngineParam("max_tokens", 256, 8, 1024, "tokens a job holds (key and query buffers)"),
        EngineParam("max_sparse", 8192, 16, 65536, "sparse (row, col) pairs a job holds"),
    ),
    registers={"TOKENS": 0x10, "GLOBAL": 0x14, "SPARSE": 0x18, "DENSE_PES": 0x1C},
    counters=("DENSE_SCORES", "SPARSE_SCORES", "DENSE_CYCLES", "SPARSE_CYCLES"),
    counter_base=0x40,
)
#: Parameters and registers of rtl/vitcod/vitcod_codec.sv and its TLM twin.
CODEC_DECLARATION = EngineDeclaration(
    CODEC,
    rtl="rtl/vitcod/vitcod_codec.sv",
    tlm="tlm/accel/vitcod/vitcod_codec.cpp",
    params=(
        EngineParam("din", 64, 4, 128, "int8 values of an input row (input beat bytes)"),
        EngineParam("dout", 32, 4, 128, "int8 values of a result row (result beat bytes)"),
        EngineParam("max_rows", 256, 8, 1024, "rows a coding job holds, a multiple of 8"),
    ),
    registers={"COUNT": 0x10, "SHIFT": 0x14},
    counters=("ROWS",),
    counter_base=0x40,
)
TOKENS, GLOBAL, SPARSE, DENSE_PES = (
    ATTENTION_DECLARATION.registers[r] for r in ("TOKENS", "GLOBAL", "SPARSE", "DENSE_PES")
)
ATTENTION_COUNTERS = ATTENTION_DECLARATION.register_map()
COUNT, SHIFT = CODEC_DECLARATION.registers["COUNT"], CODEC_DECLARATION.registers["SHIFT"]
ROWS = CODEC_DECLARATION.register_map()["ROWS"]
CTRL_CLEAR, CTRL_LOAD = 2, 4  # CTRL bit 1 clears the counters; bit 2 makes a load job
VERSION = 1


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def attention_config_ok(
    tokens: int,
    global_cols: int,
    sparse: int,
    dense_pes: int,
    pes: int,
    max_tokens: int,
    max_sparse: int,
) -> bool:
    """The configuration rule of the attention engine (the RTL's cfg_ok)."""
    return (
        1 <= tokens <= max_tokens
        and global_cols <= tokens
        and sparse <= max_sparse
        and dense_pes <= pes
        and global_cols + sparse > 0
        and (global_cols == 0 or dense_pes >= 1)
        and (sparse == 0 or dense_pes < pes)
    )


def dense_cycles(tokens: int, global_cols: int, dense_pes: int) -> int:
    """Cycles of the denser engine: one query row a cycle, DENSE_PES columns of it."""
    return tokens * ceil_div(global_cols, dense_pes) if global_cols else 0


def sparse_cycles(rows: np.ndarray, cols: np.ndarray, sparse_pes: int, banks: int) -> int:
    """Cycles of the sparser engine on pairs (rows, cols) in order: each cycle takes up to
    sparse_pes consecutive pairs of one row whose columns lie in rising key-buffer banks
    (column mod banks)."""
    if len(rows) == 0:
        return 0
    bank = cols.astype(np.int64) % banks
    cut = np.r_[True, (rows[1:] != rows[:-1]) | (bank[1:] <= bank[:-1])]
    runs = np.diff(np.r_[np.flatnonzero(cut), len(rows)])
    return int(np.sum(-(-runs // sparse_pes)))


def split_scores(
    q: np.ndarray, k: np.ndarray, global_cols: int, pairs: np.ndarray, token_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """What the two engines compute: the dense block q k[:global]^T (row-major) and the
    scores of the (row, col) pairs, int32 with wrap-around as the RTL's adders."""
    qi, ki = q.astype(np.int64), k.astype(np.int64)
    dense = (qi @ ki[:global_cols].T).reshape(-1)
    mask = (1 << token_bits) - 1
    rows, cols = pairs[:, 0].astype(np.int64) & mask, pairs[:, 1].astype(np.int64) & mask
    sparse = np.einsum("nd,nd->n", qi[rows], ki[cols]) if len(pairs) else np.zeros(0, np.int64)
    return dense.astype(np.uint32).view(np.int32), sparse.astype(np.uint32).view(np.int32)


def code_rows(x: np.ndarray, w: np.ndarray, shift: int) -> np.ndarray:
    """The codec's arithmetic: sat8((x w^T + round) >> shift) per row (x: rows x din,
    w: dout x din)."""
    acc = x.astype(np.int64) @ w.astype(np.int64).T + (1 << shift >> 1)
    return np.clip(acc >> shift, -128, 127).astype(np.int8)


class AttentionFunctional(se.FunctionalEngine):
    """Numpy twin of vitcod_attention: same registers, refusals and counters."""

    config_registers: ClassVar[dict[int, str]] = {
        TOKENS: "tokens",
        GLOBAL: "global",
        SPARSE: "sparse",
        DENSE_PES: "dense_pes",
    }
    counter_registers: ClassVar[dict[str, int]] = {
        c.lower(): ATTENTION_COUNTERS[c]
        for c in ("DENSE_SCORES", "SPARSE_SCORES", "DENSE_CYCLES", "SPARSE_CYCLES")
    }
    counter_clear_flag: ClassVar[int] = CTRL_CLEAR

    def __init__(self, name: str, p: dict[str, int], done: Any) -> None:
        super().__init__(name, p["d"], p["d"], done)
        self.p, self.beats = p, np.zeros((0, p["d"]), np.uint8)
        self.total = 0

    def info(self) -> int:
        p = self.p
        return p["pes"] | p["max_tokens"] << 8 | (p["d"] // 16) << 20 | VERSION << 24

    def start(self, flags: int) -> None:
        r, p = self.regs, self.p
        if not attention_config_ok(
            r["tokens"],
            r["global"],
            r["sparse"],
            r["dense_pes"],
            p["pes"],
            p["max_tokens"],
            p["max_sparse"],
        ):
            self.refuse()
            return
        self.total = 2 * r["tokens"] + ceil_div(r["sparse"], p["d"] // 4)
        self.beats = np.zeros((0, p["d"]), np.uint8)

    def wanted(self) -> int:
        return self.total - len(self.beats)

    def consume(self, beats: np.ndarray) -> None:
        self.beats = np.concatenate([self.beats, beats])
        if len(self.beats) < self.total:
            return
        r, p, t = self.regs, self.p, self.regs["tokens"]
        x = self.beats.view(np.int8)
        pairs = self.beats[2 * t :].reshape(-1).view("<u2").reshape(-1, 2)[: r["sparse"]]
        dense, sparse = split_scores(
            x[t : 2 * t], x[:t], r["global"], pairs, (p["max_tokens"] - 1).bit_length()
        )
        for scores in (dense, sparse):
            if len(scores):
                raw = scores.view(np.uint8)
                self.emit(np.concatenate([raw, np.zeros(-len(raw) % p["d"], np.uint8)]))
        low = (1 << (p["max_tokens"] - 1).bit_length()) - 1
        rows, cols = pairs[:, 0].astype(np.int64) & low, pairs[:, 1].astype(np.int64) & low
        dc = dense_cycles(t, r["global"], r["dense_pes"])
        sc = sparse_cycles(rows, cols, p["pes"] - r["dense_pes"], p["pes"])
        for key, v in zip(self.counters, (len(dense), len(sparse), dc, sc), strict=True):
            self.counters[key] += v
        self.end_job()


class CodecFunctional(se.FunctionalEngine):
    """Numpy twin of vitcod_codec: weight loads, coding jobs, the ROWS counter."""

    config_registers: ClassVar[dict[int, str]] = {COUNT: "count", SHIFT: "shift"}
    counter_registers: ClassVar[dict[str, int]] = {"rows": ROWS}
    counter_clear_flag: ClassVar[int] = CTRL_CLEAR

    def __init__(self, name: str, p: dict[str, int], done: Any) -> None:
        super().__init__(name, p["din"], p["dout"], done)
        self.p = p
        self.weights = np.zeros((p["dout"], p["din"]), np.int8)
        self.loading, self.left, self.loaded = False, 0, 0

    def info(self) -> int:
        p = self.p
        return p["din"] | p["dout"] << 8 | (p["max_rows"] // 8) << 16 | VERSION << 24

    def start(self, flags: int) -> None:
        self.loading = bool(flags & CTRL_LOAD)
        count, shift = self.regs["count"], self.regs["shift"]
        if shift > 15 or not (self.loading or 1 <= count <= self.p["max_rows"]):
            self.refuse()
            return
        self.left = self.p["dout"] if self.loading else count
        self.loaded = 0

    def wanted(self) -> int:
        return self.left

    def consume(self, beats: np.ndarray) -> None:
        self.left -= len(beats)
        if self.loading:
            self.weights[self.loaded : self.loaded + len(beats)] = beats.view(np.int8)
            self.loaded += len(beats)
        else:
            self.emit(
                code_rows(beats.view(np.int8), self.weights, self.regs["shift"]).view(np.uint8)
            )
            self.counters["rows"] += len(beats)
        if self.left == 0:
            self.end_job()


def attention_engine(
    sim: Any, name: str, impl: str, *, clock: Any = "1 ns", **params: int
) -> se.StreamEngine:
    """The split attention engine as `impl` ('functional', 'tlm' or 'rtl')."""
    decl = ATTENTION_DECLARATION
    p = {q.name: params.get(q.name, q.default) for q in decl.params}
    decl.tlm_params(**p)
    if p["max_tokens"] & (p["max_tokens"] - 1):
        raise ParameterError(f"{ATTENTION}: max_tokens = {p['max_tokens']} must be a power of two")
    if p["d"] % 16:
        raise ParameterError(f"{ATTENTION}: d = {p['d']} must be a multiple of 16")
    return se.make_engine(
        sim,
        name,
        impl,
        kind=ATTENTION,
        in_beat_bytes=p["d"],
        out_beat_bytes=p["d"],
        functional=lambda done: AttentionFunctional(name, p, done),
        tlm_params=decl.tlm_params(**p),
        rtl_params=decl.rtl_params(**p),
        clock=clock,
    )


def codec_engine(
    sim: Any, name: str, impl: str, *, clock: Any = "1 ns", **params: int
) -> se.StreamEngine:
    """The encoder (din > dout) or decoder (din < dout) layer as `impl`."""
    decl = CODEC_DECLARATION
    p = {q.name: params.get(q.name, q.default) for q in decl.params}
    decl.tlm_params(**p)
    if p["max_rows"] % 8:
        raise ParameterError(f"{CODEC}: max_rows = {p['max_rows']} must be a multiple of 8")
    return se.make_engine(
        sim,
        name,
        impl,
        kind=CODEC,
        in_beat_bytes=p["din"],
        out_beat_bytes=p["dout"],
        functional=lambda done: CodecFunctional(name, p, done),
        tlm_params=decl.tlm_params(**p),
        rtl_params=decl.rtl_params(**p),
        clock=clock,
    )
