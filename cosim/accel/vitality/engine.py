"""The ViTALiTy attention engine: a rows x dim MAC array with the Taylor pre-processor
(column sums of K and V, mean-centring of G = K^T V) and post-processor (normalisation
by N^2 2^A through one reciprocal), which also runs softmax attention (the baseline) on
the same array. Numpy twin here; TLM twin tlm/accel/vitality/taylor_attention.cpp; RTL
rtl/vitality/taylor_attention.sv. Numerics: cosim.accel.vitality.arithmetic.

A job is one head: TOKENS pairs of beats (k_j, then v_j), then TOKENS query beats q_i;
one result beat (dim int16, Q8.8) per query. Beats carry dim int8 lanes."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.errors import ParameterError

from . import arithmetic as ar

KIND = "taylor_attention"
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/vitality/taylor_attention.sv",
    tlm="tlm/accel/vitality/taylor_attention.cpp",
    params=(
        EngineParam("dim", 64, 4, 64, "head dimension: int8 lanes per beat, array columns"),
        EngineParam("rows", 8, 1, 64, "array rows: keys or G rows a cycle (divides dim)"),
        EngineParam("max_tokens", 512, 2, 1024, "tokens per head at most (K/V/result buffers)"),
    ),
    registers={
        "TOKENS": 0x10,
        "MODE": 0x14,
        "TAYLOR_SHIFT": 0x18,
        "G_SHIFT": 0x1C,
        "MULT": 0x20,
        "SHIFT": 0x24,
    },
    counters=("MACS", "EXPS", "RECIPS", "BUFFER_BYTES"),
    counter_base=0x40,
)
REG = DECLARATION.register_map()
TOKENS, MODE, TAYLOR_SHIFT, G_SHIFT, MULT, SHIFT = (
    REG[r] for r in ("TOKENS", "MODE", "TAYLOR_SHIFT", "G_SHIFT", "MULT", "SHIFT")
)
COUNTERS = {c: REG[c] for c in DECLARATION.counters}
TAYLOR, SOFTMAX = 0, 1
#: Configuration ranges every twin checks at start (a refused start sets STATUS.error).
RANGES = {"taylor_shift": (0, 24), "g_shift": (0, 32), "mult": (1, 65535), "shift": (1, 40)}


def refused(regs: dict[str, int], max_tokens: int) -> bool:
    return (
        not 2 <= regs["tokens"] <= max_tokens
        or regs["mode"] > SOFTMAX
        or any(not lo <= regs[k] <= hi for k, (lo, hi) in RANGES.items())
    )


def query_blocks(tokens: int, rows: int) -> int:
    """Softmax mode: blocks of up to `rows` queries, each one pass over K and one over V."""
    return -(-tokens // rows)


class TaylorAttentionFunctional(se.FunctionalEngine):
    """The numpy twin: consumes beats as the RTL does and counts the same events."""

    config_registers: ClassVar[dict[int, str]] = {
        TOKENS: "tokens",
        MODE: "mode",
        TAYLOR_SHIFT: "taylor_shift",
        G_SHIFT: "g_shift",
        MULT: "mult",
        SHIFT: "shift",
    }

    def __init__(self, name: str, dim: int, rows: int, max_tokens: int, done: Any) -> None:
        super().__init__(name, dim, 2 * dim, done)
        self.dim, self.rows, self.max_tokens = dim, rows, max_tokens
        self.block: list[np.ndarray] = []
        self.counts = dict.fromkeys(DECLARATION.counters, 0)
        self.taken = self.n = 0
        self.kv: list[np.ndarray] = []

    def info(self) -> int:
        return self.dim | self.max_tokens << 8 | se.VERSION << 24

    def read_header(self, addr: int) -> int | None:
        for name, at in COUNTERS.items():
            if addr == at:
                return self.counts[name] & 0xFFFF_FFFF
        return super().read_header(addr)

    def start(self, flags: int) -> None:
        self.taken, self.n, self.kv, self.block = 0, self.regs["tokens"], [], []
        if refused(self.regs, self.max_tokens):
            self.refuse()

    def wanted(self) -> int:
        return 3 * self.n - self.taken if self.busy else 0

    def consume(self, beats: np.ndarray) -> None:
        for beat in beats.view(np.int8).astype(np.int64):
            self.taken += 1
            if self.taken <= 2 * self.n:
                self.kv.append(beat)
                if self.taken == 2 * self.n:
                    self._prepare()
            elif self.regs["mode"] == TAYLOR:
                self.emit(self._taylor(beat).astype("<i2").view(np.uint8))
            else:  # softmax: a block of up to `rows` queries shares each K and V row read
                self.block.append(beat)
                left = 3 * self.n - self.taken
                if len(self.block) == self.rows or left == 0:
                    self.counts["BUFFER_BYTES"] += 2 * self.n * self.dim
                    for q in self.block:
                        self.emit(self._softmax(q).astype("<i2").view(np.uint8))
                    self.block = []
        if self.taken == 3 * self.n:
            self.end_job()

    def _prepare(self) -> None:
        n, d, c = self.n, self.dim, self.counts
        k, v = np.array(self.kv[0::2]), np.array(self.kv[1::2])
        self.k, self.v = k, v
        if self.regs["mode"] == TAYLOR:
            g = np.zeros((d, d), dtype=np.int64)
            for kj, vj in zip(k, v, strict=True):
                g += np.outer(kj, vj)
            self.vs = v.sum(0)
            self.gq = ar.centred_g(g, k.sum(0), self.vs, n, self.regs["g_shift"])
            c["MACS"] += n * d * d + d * d  # outer products, then the centring
            c["RECIPS"] += 1
        else:
            c["BUFFER_BYTES"] += 2 * n * d  # K and V written to the key/value buffer

    def _taylor(self, q: np.ndarray) -> np.ndarray:
        n, r = self.n, self.regs
        self.counts["MACS"] += self.dim * self.dim
        return ar.taylor_out(q @ self.gq, self.vs, n, r["taylor_shift"], r["g_shift"])

    def _softmax(self, q: np.ndarray) -> np.ndarray:
        n, d, c, r = self.n, self.dim, self.counts, self.regs
        scores = self.k @ q
        w = ar.softmax_weights(scores, r["mult"], r["shift"])
        c["MACS"] += 2 * n * d
        c["EXPS"] += n
        c["RECIPS"] += 1
        c["BUFFER_BYTES"] += 2 * 4 * n  # its scores written and read
        return ar.softmax_out(w @ self.v, int(w.sum()))


def taylor_attention_engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    dim: int = 64,
    rows: int = 8,
    max_tokens: int = 512,
    clock: Any = "2 ns",
    **rtl_options: Any,
) -> se.StreamEngine:
    """The engine as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    if dim % rows:
        raise ParameterError(f"taylor_attention: rows = {rows} must divide dim = {dim}")
    values = {"dim": dim, "rows": rows, "max_tokens": max_tokens}
    return se.make_engine(
        sim,
        name,
        impl,
        kind=KIND,
        in_beat_bytes=dim,
        out_beat_bytes=2 * dim,
        functional=lambda done: TaylorAttentionFunctional(name, dim, rows, max_tokens, done),
        tlm_params=DECLARATION.tlm_params(**values),
        rtl_params=DECLARATION.rtl_params(**values),
        clock=clock,
        **rtl_options,
    )


__all__ = [
    "COUNTERS",
    "DECLARATION",
    "SOFTMAX",
    "TAYLOR",
    "TaylorAttentionFunctional",
    "query_blocks",
    "taylor_attention_engine",
]
