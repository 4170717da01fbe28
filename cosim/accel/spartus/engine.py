"""The Spartus engine (rtl/spartus/spartus.sv): its declaration, its numpy twin and the
engine as any of its three twins behind one interface. The job protocol, registers and
cycle rules are in the RTL's header comment; `step_cycles` restates the rules."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam

from . import fixed_point as fp

DECLARATION = EngineDeclaration(
    "spartus",
    rtl="rtl/spartus/spartus.sv",
    tlm="tlm/accel/spartus/spartus.cpp",
    params=(
        EngineParam("lanes", 16, 2, 64, "balanced MAC lanes (a beat is lanes int16)"),
        EngineParam("inputs", 64, 16, 1024, "layer inputs (a multiple of lanes)"),
        EngineParam("hidden", 128, 16, 1024, "hidden units (a multiple of lanes and of 8)"),
        EngineParam("max_words", 6144, 16, 65535, "weight memory, words of lanes entries"),
    ),
    registers={"KPL": 0x10, "THRESHOLD": 0x14, "MODE": 0x18},
    counters=("MACS", "WEIGHT_READS", "COLUMNS", "ENCODED", "LUT_LOOKUPS"),
    counter_base=0x20,
)
KPL, THRESHOLD, MODE = (DECLARATION.registers[r] for r in ("KPL", "THRESHOLD", "MODE"))
COUNTERS = {n: DECLARATION.counter_base + 4 * i for i, n in enumerate(DECLARATION.counters)}
STEP, LOAD, RESET = 0, 1, 2  # MODE values
CTRL_DENSE, CTRL_CLEAR = 2, 4  # CTRL flags: every column propagated; clear the counters
ACT = 8  # hidden units the activation stage finishes per cycle


def step_cycles(inputs: int, hidden: int, lanes: int, columns: int, kpl: int) -> int:
    """Cycles of a frame with its beats and results streamed without gaps: input beats,
    kpl per needed column, one to find none left, the activation stage, the results."""
    return inputs // lanes + columns * kpl + 1 + hidden // ACT + hidden // lanes


def check_shape(lanes: int, inputs: int, hidden: int, max_words: int) -> None:
    from cosim.errors import ParameterError

    for p, v in (
        ("lanes", lanes),
        ("inputs", inputs),
        ("hidden", hidden),
        ("max_words", max_words),
    ):
        DECLARATION.param(p).check("spartus", v)
    if lanes % 2 or inputs % lanes or hidden % lanes or hidden % ACT or (4 * hidden) // lanes > 256:
        raise ParameterError(
            f"spartus: lanes = {lanes} must be even and divide inputs = {inputs} and hidden = "
            f"{hidden}; hidden a multiple of {ACT}; 4*hidden/lanes at most 256"
        )


class SpartusFunctional(se.FunctionalEngine):
    """The numpy twin: the same state, jobs and counters as the RTL, untimed."""

    config_registers: ClassVar[dict[int, str]] = {KPL: "kpl", THRESHOLD: "threshold", MODE: "mode"}
    counter_registers: ClassVar[dict[str, int]] = COUNTERS
    counter_clear_flag: ClassVar[int] = CTRL_CLEAR

    def __init__(self, name: str, lanes: int, inputs: int, hidden: int, max_words: int, done: Any):
        super().__init__(name, 2 * lanes, 2 * lanes, done)
        self.lanes, self.n_in, self.n_hid, self.max_words = lanes, inputs, hidden, max_words
        self.cols, self.rpl = inputs + hidden, 4 * hidden // lanes
        self.wmem = np.zeros((max_words, lanes), np.int64)
        self.m = np.zeros(4 * hidden, np.int64)
        self._reset_state()
        self.taken, self.dense = 0, False

    def _reset_state(self) -> None:
        self.c, self.h = np.zeros(self.n_hid, np.int64), np.zeros(self.n_hid, np.int64)
        self.xp, self.hp = np.zeros(self.n_in, np.int64), np.zeros(self.n_hid, np.int64)
        self.d, self.need = np.zeros(self.cols, np.int64), np.zeros(self.cols, bool)

    def info(self) -> int:
        return self.lanes | (self.n_hid // 8) << 8 | (self.n_in // 8) << 16 | se.VERSION << 24

    def want(self) -> int:
        mode = self.regs["mode"]
        load = self.cols * self.regs["kpl"] // (2 if self.dense else 1)
        return {STEP: self.n_in // self.lanes, LOAD: load}.get(mode, 8 * self.n_hid // self.lanes)

    def start(self, flags: int) -> None:
        r = self.regs
        kpl_ok = 1 <= r["kpl"] <= self.rpl and self.cols * r["kpl"] <= self.max_words
        dense = bool(flags & CTRL_DENSE)
        odd_dense_load = r["mode"] == LOAD and dense and r["kpl"] % 2
        if not kpl_ok or r["threshold"] > 32767 or r["mode"] > 2 or odd_dense_load:
            self.refuse()
            return
        self.taken, self.dense = 0, dense
        if r["mode"] == RESET:
            self._reset_state()
        elif r["mode"] == STEP and self.dense:
            self.need[self.n_in :] = True

    def wanted(self) -> int:
        return self.want() - self.taken

    def _fires(self, d: np.ndarray) -> np.ndarray:
        return self.dense | (np.abs(d) > self.regs["threshold"])

    def consume(self, beats: np.ndarray) -> None:
        mode, n = self.regs["mode"], len(beats)
        if mode == LOAD and self.dense:  # two words of int8 a beat, row offset = word in column
            first = 2 * self.taken
            at = first + np.arange(2 * n)
            w = beats.view(np.uint8).astype(np.int64).reshape(2 * n, self.lanes)
            self.wmem[first : first + 2 * n] = w | ((at % self.regs["kpl"]) << 8)[:, None]
        elif mode == LOAD:
            self.wmem[self.taken : self.taken + n] = beats.view("<u2").astype(np.int64)
        elif mode == RESET:
            first = self.taken * self.lanes // 2
            self.m[first : first + n * self.lanes // 2] = beats.reshape(-1).view("<i4")
        else:
            first, x = self.taken * self.lanes, beats.reshape(-1).view("<i2").astype(np.int64)
            d = x - self.xp[first : first + len(x)]
            fire = self._fires(d)
            self.d[first : first + len(x)], self.need[first : first + len(x)] = d, fire
            self.xp[first : first + len(x)] = np.where(fire, x, self.xp[first : first + len(x)])
            self.counters["ENCODED"] += len(x)
        self.taken += n
        if self.taken == self.want():
            if mode == STEP:
                self._frame()
            self.end_job()

    def _frame(self) -> None:
        """The column scheduler and lanes over every needed column, then the activation."""
        kpl, lanes, rpl, h = self.regs["kpl"], self.lanes, self.rpl, self.n_hid
        for col in np.flatnonzero(self.need):
            words = self.wmem[col * kpl : (col + 1) * kpl]  # (kpl, lanes)
            w = ((words & 0xFF) ^ 0x80) - 0x80
            rows = np.arange(lanes) * rpl + (words >> 8)
            np.add.at(self.m, rows.reshape(-1), (w * self.d[col]).reshape(-1))
        self.m = ((self.m + (1 << 31)) % (1 << 32)) - (1 << 31)
        columns = int(self.need.sum())
        self.counters["MACS"] += columns * kpl * lanes
        self.counters["WEIGHT_READS"] += columns * kpl
        self.counters["COLUMNS"] += columns
        self.need[:] = False
        m, sig = self.m, fp.SIGMOID
        i, f = sig[fp.lut_index(m[:h], fp.PRE_SHIFT)], sig[fp.lut_index(m[h : 2 * h], fp.PRE_SHIFT)]
        g = fp.TANH[fp.lut_index(m[2 * h : 3 * h], fp.PRE_SHIFT)]
        o = sig[fp.lut_index(m[3 * h :], fp.PRE_SHIFT)]
        c = (f * self.c + i * g) >> fp.ACT_FRAC
        self.c = ((c + (1 << 31)) % (1 << 32)) - (1 << 31)
        self.h = (o * fp.TANH[fp.lut_index(self.c, fp.CELL_SHIFT)]) >> fp.ACT_FRAC
        dh = self.h - self.hp
        fire = self._fires(dh)
        self.d[self.n_in :], self.need[self.n_in :] = dh, fire
        self.hp = np.where(fire, self.h, self.hp)
        self.counters["ENCODED"] += h
        self.counters["LUT_LOOKUPS"] += 5 * h
        self.emit(self.h.astype("<i2").view(np.uint8))


def spartus_engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    lanes: int = 16,
    inputs: int = 64,
    hidden: int = 128,
    max_words: int = 6144,
    clock: Any = "5 ns",
) -> se.StreamEngine:
    """The engine as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    check_shape(lanes, inputs, hidden, max_words)
    shape = {"lanes": lanes, "inputs": inputs, "hidden": hidden, "max_words": max_words}
    return se.make_engine(
        sim,
        name,
        impl,
        kind="spartus",
        in_beat_bytes=2 * lanes,
        out_beat_bytes=2 * lanes,
        functional=lambda done: SpartusFunctional(name, lanes, inputs, hidden, max_words, done),
        tlm_params=DECLARATION.tlm_params(**shape),
        rtl_params=DECLARATION.rtl_params(**shape),
        clock=clock,
    )
