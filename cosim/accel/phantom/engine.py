"""One Phantom core (rtl/phantom/phantom_core.sv): mask AND, lookahead encoder, dispatch of
valid pairs to MAC threads. Its declaration (parameters, registers, counters), the numpy
twin and the engine with its three twins (numpy, TLM, RTL) behind one interface.

Registers, beat formats and the job are in the RTL's header; in short: a job takes
OUTPUTS*GROUP window beats (WINDOW int8 weights, WINDOW int8 activations, a word of two
masks) and gives OUTPUTS int32 results, each the sum of w*a over the pairs its GROUP
windows issued: the valid pairs (both mask bits set), or every pair in dense mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.errors import ParameterError

KIND = "phantom_core"
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/phantom/phantom_core.sv",
    tlm="tlm/accel/phantom/phantom_core.cpp",
    params=(
        EngineParam("window", 8, 2, 16, "lookahead window: positions per beat"),
        EngineParam("threads", 2, 1, 16, "MAC threads"),
        EngineParam("max_outs", 64, 2, 255, "results per job"),
    ),
    registers={"OUTPUTS": 0x10, "GROUP": 0x14, "MODE": 0x18},
    counters=("ISSUED", "VALID", "WINDOWS", "ISSUE_CYCLES"),
    counter_base=0x20,
)
OUTPUTS, GROUP, MODE = (DECLARATION.registers[r] for r in ("OUTPUTS", "GROUP", "MODE"))
COUNTERS = {c.lower(): DECLARATION.counter_base + 4 * i for i, c in enumerate(DECLARATION.counters)}
CTRL_CLEAR = 2  # CTRL bit 1: clear the counters
MODE_DENSE = 1
MAX_GROUP = 65535


@dataclass(frozen=True)
class CoreShape:
    """The build parameters of one core."""

    window: int = DECLARATION.default("window")
    threads: int = DECLARATION.default("threads")
    max_outs: int = DECLARATION.default("max_outs")

    def __post_init__(self) -> None:
        for p in DECLARATION.params:
            p.check("phantom core", getattr(self, p.name))

    @property
    def in_beat_bytes(self) -> int:
        return 2 * self.window + 4

    def info(self) -> int:
        return self.window | self.threads << 8 | self.max_outs << 16 | se.VERSION << 24

    def tlm_params(self) -> dict[str, int]:
        return DECLARATION.tlm_params(
            window=self.window, threads=self.threads, max_outs=self.max_outs
        )

    def rtl_params(self) -> dict[str, int]:
        return DECLARATION.rtl_params(**self.tlm_params())

    def check_job(self, outputs: int, group: int) -> None:
        """ParameterError naming the job parameter out of this core's range."""
        if not 1 <= outputs <= self.max_outs:
            raise ParameterError(f"phantom core: outputs = {outputs} must be 1..{self.max_outs}")
        if not 1 <= group <= MAX_GROUP:
            raise ParameterError(f"phantom core: group = {group} must be 1..{MAX_GROUP}")

    def hold_cycles(self, pairs: np.ndarray) -> np.ndarray:
        """Dispatcher cycles of windows issuing `pairs` pairs: max(1, ceil(pairs/threads))."""
        return np.maximum(1, -(-np.asarray(pairs, np.int64) // self.threads))


def split_beats(beats: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, activations, issue masks as bool) of window beats (n, 2 window + 4)."""
    w = beats[:, :window].view(np.int8).astype(np.int64)
    a = beats[:, window : 2 * window].view(np.int8).astype(np.int64)
    masks = beats[:, 2 * window : 2 * window + 4].copy().view("<u4").reshape(-1)
    bits = np.arange(window, dtype=np.uint32)
    valid = ((masks[:, None] >> bits) & (masks[:, None] >> (bits + 16)) & 1).astype(bool)
    return w, a, valid


class PhantomCoreFunctional(se.FunctionalEngine):
    """The numpy twin: same registers, numbers and counters as the RTL (CYCLES 0)."""

    config_registers: ClassVar[dict[int, str]] = {OUTPUTS: "outputs", GROUP: "group", MODE: "mode"}
    counter_registers: ClassVar[dict[str, int]] = COUNTERS
    counter_clear_flag: ClassVar[int] = CTRL_CLEAR

    def __init__(self, name: str, shape: CoreShape, done: Any) -> None:
        super().__init__(name, shape.in_beat_bytes, 4, done)
        self.shape = shape
        self.left = 0
        self._acc = 0
        self._pos = 0

    def info(self) -> int:
        return self.shape.info()

    def start(self, flags: int) -> None:
        outputs, group = self.regs["outputs"], self.regs["group"]
        if not (1 <= outputs <= self.shape.max_outs and 1 <= group <= MAX_GROUP):
            self.refuse()
            return
        self.left, self._acc, self._pos = outputs * group, 0, 0

    def wanted(self) -> int:
        return self.left

    def consume(self, beats: np.ndarray) -> None:
        win = self.shape.window
        w, a, valid = split_beats(beats, win)
        issue = np.ones_like(valid) if self.regs["mode"] & MODE_DENSE else valid
        pairs = issue.sum(axis=1)
        c = self.counters
        c["issued"] += int(pairs.sum())
        c["valid"] += int(valid.sum())
        c["windows"] += len(beats)
        c["issue_cycles"] += int(self.shape.hold_cycles(pairs).sum())
        sums = np.where(issue, w * a, 0).sum(axis=1)
        # Running totals since the last result; a result at every GROUP-th window.
        group, n = self.regs["group"], len(beats)
        total = self._acc + np.cumsum(sums)
        ends = np.flatnonzero((self._pos + np.arange(1, n + 1)) % group == 0)
        if len(ends):
            before = np.concatenate([[0], total[ends[:-1]]])
            out = total[ends] - before
            self.emit((((out + (1 << 31)) % (1 << 32)) - (1 << 31)).astype("<i4").view(np.uint8))
            self._acc = int(total[-1] - total[ends[-1]])
        else:
            self._acc = int(total[-1])
        self._pos = (self._pos + n) % group
        self.left -= len(beats)
        if self.left == 0:
            self.end_job()


def phantom_core(
    sim: Any, name: str, impl: str, shape: CoreShape, *, clock: Any = "2 ns", **rtl: Any
) -> se.StreamEngine:
    """One core as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    return se.shaped_engine(
        sim,
        name,
        impl,
        kind=KIND,
        shape=shape,
        twin=PhantomCoreFunctional,
        in_beat_bytes=shape.in_beat_bytes,
        out_beat_bytes=4,
        clock=clock,
        **rtl,
    )
