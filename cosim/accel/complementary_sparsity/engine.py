"""The complementary sparsity engine (rtl/complementary_sparsity/complementary_sparsity.sv):
its declaration, k-WTA rule, numpy twin and the engine with its three twins.

Per output pixel the engine takes TAPS activation vectors, keeps the WINNERS largest of
each (k-WTA: larger value wins, ties to the lower channel), multiplies the selected
channels with each pack's weights at those channels, LANES products a cycle, and adds
each product to the accumulator of the kernel its routing id names. The protocol and
timing are in the RTL's header; docs/accelerators/complementary_sparsity.md explains them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.errors import ParameterError

KIND = "complementary_sparsity"
#: Parameters and registers of the RTL and its TLM twin (checked against both).
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/complementary_sparsity/complementary_sparsity.sv",
    tlm="tlm/accel/complementary_sparsity/complementary_sparsity.cpp",
    params=(
        EngineParam("channels", 64, 8, 128, "activation vector length = beat bytes"),
        EngineParam("lanes", 16, 1, 128, "multipliers (products per cycle)"),
        EngineParam("max_kernels", 16, 2, 32, "kernels per pack (routing ids)"),
        EngineParam("max_outputs", 64, 2, 256, "accumulators (packs x kernels)"),
        EngineParam("max_taps", 9, 1, 64, "vectors per output pixel"),
        EngineParam("weight_rows", 576, 2, 16384, "weight-buffer rows (packs x taps)"),
    ),
    registers={"PIXELS": 0x10, "TAPS": 0x14, "PACKS": 0x18, "KERNELS": 0x1C, "WINNERS": 0x20},
    counters=("KWTA_VECTORS", "MACS", "ROW_READS", "ACC_UPDATES", "ROW_WRITES"),
    counter_base=0x40,
)
REGS = DECLARATION.register_map()
PIXELS, TAPS, PACKS, KERNELS, WINNERS = (
    REGS[r] for r in ("PIXELS", "TAPS", "PACKS", "KERNELS", "WINNERS")
)
#: Counter name (as the energy model and reports use it) -> register address.
COUNTERS = {c.lower(): REGS[c] for c in DECLARATION.counters}
CTRL_LOAD, CTRL_IDS, CTRL_DENSE = 1 << 1, 1 << 2, 1 << 3


def kwta_mask(x: np.ndarray, k: int) -> np.ndarray:
    """k-winners-take-all along the last axis: True for the k largest values; among
    equal values the lower index wins (the RTL's rule)."""
    x = np.asarray(x, np.int64)
    order = np.argsort(-x, axis=-1, kind="stable")  # descending, stable: lower index first
    mask = np.zeros(x.shape, bool)
    np.put_along_axis(mask, order[..., :k], True, axis=-1)
    return mask


@dataclass(frozen=True)
class EngineShape:
    """One build of the engine (the declaration's parameters)."""

    channels: int = DECLARATION.default("channels")
    lanes: int = DECLARATION.default("lanes")
    max_kernels: int = DECLARATION.default("max_kernels")
    max_outputs: int = DECLARATION.default("max_outputs")
    max_taps: int = DECLARATION.default("max_taps")
    weight_rows: int = DECLARATION.default("weight_rows")

    def __post_init__(self) -> None:
        for p in DECLARATION.params:
            p.check(KIND, getattr(self, p.name))
        if self.channels % 4:
            raise ParameterError(f"{KIND}: channels = {self.channels} must be a multiple of 4")
        if self.lanes > self.channels:
            raise ParameterError(
                f"{KIND}: lanes = {self.lanes} must be at most channels = {self.channels}"
            )

    @property
    def beat_bytes(self) -> int:
        return self.channels

    @property
    def out_words(self) -> int:
        return self.channels // 4

    def info(self) -> int:
        return self.channels | self.lanes << 8 | self.max_kernels << 16 | se.VERSION << 24

    def tlm_params(self) -> dict[str, int]:
        return DECLARATION.tlm_params(**self.__dict__)

    def rtl_params(self) -> dict[str, int]:
        return DECLARATION.rtl_params(**self.__dict__)

    def out_beats(self, packs: int, kernels: int) -> int:
        return -(-packs * kernels // self.out_words)

    def check_job(self, pixels: int, taps: int, packs: int, kernels: int, winners: int) -> None:
        """ParameterError naming the first register out of range (the RTL refuses it)."""
        checks = (
            ("pixels", pixels, 1, 1 << 32),
            ("taps", taps, 1, self.max_taps),
            ("kernels", kernels, 1, self.max_kernels),
            ("winners (k)", winners, 1, self.channels),
            ("packs", packs, 1, min(self.weight_rows // max(taps, 1), self.max_outputs)),
        )
        for name, v, lo, hi in checks:
            if not lo <= v <= hi:
                raise ParameterError(f"{KIND}: {name} = {v} must be {lo}..{hi}")
        if packs * kernels > self.max_outputs:
            raise ParameterError(
                f"{KIND}: packs x kernels = {packs * kernels} outputs exceed the "
                f"{self.max_outputs} accumulators (max_outputs)"
            )


class CsFunctional(se.FunctionalEngine):
    """The numpy twin: same registers, beats, numbers and counters as the RTL."""

    config_registers: ClassVar[dict[int, str]] = {
        PIXELS: "pixels",
        TAPS: "taps",
        PACKS: "packs",
        KERNELS: "kernels",
        WINNERS: "winners",
    }
    counter_registers: ClassVar[dict[str, int]] = COUNTERS

    def __init__(self, name: str, shape: EngineShape, done: Any) -> None:
        super().__init__(name, shape.beat_bytes, shape.beat_bytes, done)
        self.shape = shape
        self.w = np.zeros((shape.weight_rows, shape.channels), np.int64)
        self.ids = np.zeros((shape.weight_rows, shape.channels), np.int64)
        self._job: dict[str, Any] = {}

    def info(self) -> int:
        return self.shape.info()

    def start(self, flags: int) -> None:
        r = self.regs
        try:
            self.shape.check_job(r["pixels"], r["taps"], r["packs"], r["kernels"], r["winners"])
        except ParameterError:
            self.refuse()
            return
        self._job = {
            "load": bool(flags & CTRL_LOAD),
            "ids": bool(flags & CTRL_IDS),
            "dense": bool(flags & CTRL_DENSE),
            "beat": 0,
            "pixel": 0,
            "taps": [],
        }

    def wanted(self) -> int:
        j, r = self._job, self.regs
        if not j:
            return 0
        if j["load"]:
            return r["packs"] * r["taps"] * (2 if j["ids"] else 1) - j["beat"]
        if self._results or j["pixel"] == r["pixels"]:
            return 0
        return r["taps"] - len(j["taps"])

    def consume(self, beats: np.ndarray) -> None:
        j = self._job
        for beat in beats:
            if j["load"]:
                self._load(beat)
            else:
                j["taps"].append(beat.view(np.int8).astype(np.int64))
                if len(j["taps"]) == self.regs["taps"]:
                    self._pixel(np.stack(j["taps"]))
                    j["taps"] = []
                    j["pixel"] += 1
        finished = self.wanted() == 0 if j["load"] else j["pixel"] == self.regs["pixels"]
        if finished:
            self.end_job()

    def _load(self, beat: np.ndarray) -> None:
        j = self._job
        b = j["beat"]
        row = b // 2 if j["ids"] else b
        if j["ids"] and b % 2:
            self.ids[row] = beat.astype(np.int64) & (
                (1 << (self.shape.max_kernels - 1).bit_length()) - 1
            )
            self.counters["row_writes"] += 1
        else:
            self.w[row] = beat.view(np.int8)
            if not j["ids"]:
                self.ids[row] = 0
                self.counters["row_writes"] += 1
        j["beat"] += 1

    def _pixel(self, vectors: np.ndarray) -> None:
        r, sh, j = self.regs, self.shape, self._job
        taps, packs, n, k = r["taps"], r["packs"], r["kernels"], r["winners"]
        win = kwta_mask(vectors, k)
        acts = np.where(win, vectors, 0)
        sel = np.ones_like(win) if j["dense"] else win
        acc = np.zeros(sh.max_outputs, np.int64)
        for t in range(taps):
            chans = np.flatnonzero(sel[t])
            for p in range(packs):
                row = p * taps + t
                prod = acts[t, chans] * self.w[row, chans]
                ids = self.ids[row, chans]
                np.add.at(acc, p * n + ids[ids < n], prod[ids < n])
            chunks = -(-len(chans) // sh.lanes)
            self.counters["macs"] += packs * len(chans)
            self.counters["row_reads"] += packs
            self.counters["acc_updates"] += packs * chunks * n
        self.counters["kwta_vectors"] += taps
        acc = ((acc + (1 << 31)) % (1 << 32)) - (1 << 31)
        words = np.zeros(sh.out_beats(packs, n) * sh.out_words, "<i4")
        words[: packs * n] = acc[: packs * n]
        self.emit(words.view(np.uint8))


def complementary_sparsity_engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    shape: EngineShape | None = None,
    clock: int | str = "5 ns",
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
        twin=CsFunctional,
        in_beat_bytes=shape.beat_bytes,
        out_beat_bytes=shape.beat_bytes,
        clock=clock,
        **rtl_options,
    )
