"""FABNet's butterfly engine: UNITS configurable butterfly units and a permutation buffer,
running N-point butterflies in FFT or butterfly-linear mode (cosim.accel.fabnet.butterfly);
numpy, TLM (tlm/accel/fabnet/butterfly_engine.cpp) and RTL (rtl/fabnet/butterfly_engine.sv)
twins behind one interface.

A job: LOG_N, MODE, SHIFT, COUNT, LOAD, then CTRL start. With LOAD bit 0 the job first
takes the weight beats (L * N / (2 UNITS) of them: UNITS weight entries of four int16 per
beat, in stage-major order); then, COUNT times, one vector in (N / (2 UNITS) beats of
2 UNITS complex int16 words), L stages of N / (2 UNITS) cycles, the vector out (as many
beats; FFT mode in natural order). A vector's result is read before the next is sent.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from cosim.accel import stream_engine as se
from cosim.accel.declared import EngineDeclaration, EngineParam
from cosim.accel.fabnet import butterfly as bf
from cosim.errors import ParameterError

KIND = "butterfly_engine"
DECLARATION = EngineDeclaration(
    KIND,
    rtl="rtl/fabnet/butterfly_engine.sv",
    tlm="tlm/accel/fabnet/butterfly_engine.cpp",
    params=(
        EngineParam("units", 16, 1, 64, "butterfly units (4 multipliers each), a power of two"),
        EngineParam("max_n", 256, 4, 1024, "longest butterfly (points), a power of two"),
    ),
    registers={"LOG_N": 0x10, "MODE": 0x14, "SHIFT": 0x18, "COUNT": 0x1C, "LOAD": 0x20},
    counters=("BUTTERFLIES", "VECTORS", "WEIGHT_BEATS"),
    counter_base=0x40,
)
REGISTERS = DECLARATION.registers
COUNTERS = DECLARATION.counters
COUNTER_BASE = DECLARATION.counter_base
MAX_SHIFT = 15
MAX_COUNT = 65535


def beat_bytes(units: int) -> int:
    """Bytes of one beat: 2 UNITS complex int16 words, or UNITS weight entries."""
    return 8 * units


def groups(n: int, units: int) -> int:
    """Cycles of one stage: N/2 butterflies on `units` units."""
    return n // (2 * units)


def job_cycles(n: int, units: int, count: int, load: bool) -> int:
    """CYCLES of a job (start edge to the last result beat) when every beat is offered as
    soon as the engine takes it, from the RTL's phases: the weight beats, then per vector
    N/(2U) beats in, L stages of N/(2U) cycles, N/(2U) beats out. A driver's gaps add."""
    g, lg = groups(n, units), bf.log2_exact(n)
    return (lg * g if load else 0) + count * (lg + 2) * g


def config_error(units: int, max_n: int, log_n: int, mode: int, shift: int, count: int) -> str:
    """Why an engine of this shape refuses a configuration ('' when it takes it)."""
    lo, hi = bf.log2_exact(2 * units), bf.log2_exact(max_n)
    if not lo <= log_n <= hi:
        return f"log_n = {log_n} must be {lo}..{hi} (2 units <= N <= max_n)"
    if mode not in bf.MODES.values():
        return f"mode = {mode} must be 0 (linear) or 1 (fft)"
    if not 0 <= shift <= MAX_SHIFT:
        return f"shift = {shift} must be 0..{MAX_SHIFT}"
    if not 1 <= count <= MAX_COUNT:
        return f"count = {count} must be 1..{MAX_COUNT}"
    return ""


def pack_words(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    """Complex int16 vectors (..., N) as words: re in bits 15:0, im in 31:16 (uint8 bytes)."""
    w = np.empty((*np.shape(re), 2), "<i2")
    w[..., 0], w[..., 1] = re, im
    return w.reshape(-1).view(np.uint8)


def unpack_words(raw: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    w = np.ascontiguousarray(raw).view("<i2").reshape(-1, n, 2)
    return w[..., 0], w[..., 1]


def weight_image(weights: np.ndarray) -> np.ndarray:
    """Weight beats of (L, N/2, 4) int16 entries, stage-major (uint8 bytes)."""
    return np.ascontiguousarray(np.asarray(weights, "<i2")).reshape(-1).view(np.uint8)


class ButterflyFunctional(se.FunctionalEngine):
    """The numpy twin: the same registers, refusals and counters as the RTL."""

    config_registers: ClassVar[dict[int, str]] = {a: n.lower() for n, a in REGISTERS.items()}

    def __init__(self, name: str, units: int, max_n: int, done: Any) -> None:
        super().__init__(name, beat_bytes(units), beat_bytes(units), done)
        self.units, self.max_n = units, max_n
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.weights = np.zeros((bf.log2_exact(max_n), max_n // 2, 4), np.int16)
        self.w_left = self.v_left = self.vectors = 0
        self.pending: list[np.ndarray] = []

    def info(self) -> int:
        return self.units | bf.log2_exact(self.max_n) << 8 | se.VERSION << 24

    def read_header(self, addr: int) -> int | None:
        i = (addr - COUNTER_BASE) // 4
        if addr >= COUNTER_BASE and addr % 4 == 0 and i < len(COUNTERS):
            return self.counts[COUNTERS[i]] & 0xFFFF_FFFF
        return super().read_header(addr)

    def start(self, flags: int) -> None:
        r = self.regs
        if config_error(self.units, self.max_n, r["log_n"], r["mode"], r["shift"], r["count"]):
            self.refuse()
            return
        self.n = 1 << r["log_n"]
        self.g = groups(self.n, self.units)
        self.w_left = r["log_n"] * self.g if r["load"] & 1 else 0
        self.w_taken = 0
        self.vectors = r["count"]
        self.v_left = self.g
        self.pending = []

    def wanted(self) -> int:
        return self.w_left + (self.v_left if self.vectors else 0)

    def consume(self, beats: np.ndarray) -> None:
        nw = min(self.w_left, len(beats))
        if nw:
            lg = self.regs["log_n"]
            flat = self.weights[:lg, : self.n // 2].reshape(-1, 4).copy()
            entries = beats[:nw].reshape(-1).view("<i2").reshape(-1, 4)
            flat[self.w_taken : self.w_taken + len(entries)] = entries
            self.weights[:lg, : self.n // 2] = flat.reshape(lg, self.n // 2, 4)
            self.w_taken += len(entries)
            self.w_left -= nw
            self.counts["WEIGHT_BEATS"] += nw
        for beat in beats[nw:]:
            self.pending.append(beat)
            self.v_left -= 1
            if self.v_left == 0:
                self._vector()

    def _vector(self) -> None:
        r = self.regs
        re, im = unpack_words(np.concatenate(self.pending), self.n)
        mode = "fft" if r["mode"] else "linear"
        w = self.weights[: r["log_n"], : self.n // 2]
        yr, yi = bf.run(re[0], im[0], w, mode, r["shift"])
        self.emit(pack_words(yr, yi).reshape(-1, self.out_beat_bytes))
        self.counts["BUTTERFLIES"] += r["log_n"] * self.n // 2
        self.counts["VECTORS"] += 1
        self.pending, self.v_left = [], self.g
        self.vectors -= 1
        if self.vectors == 0:
            self.end_job()


def butterfly_engine(
    sim: Any, name: str, impl: str, *, units: int = 16, max_n: int = 256, clock: Any = "1 ns", **rtl
) -> se.StreamEngine:
    """The engine as `impl` ('functional', 'tlm' or 'rtl'), the same ports for each."""
    for what, v in (("units", units), ("max_n", max_n)):
        DECLARATION.param(what).check(KIND, v)
        bf.log2_exact(v if v > 1 else 2, what)
    if 2 * units > max_n:
        raise ParameterError(f"{KIND}: max_n = {max_n} must be at least 2 units = {2 * units}")
    return se.make_engine(
        sim,
        name,
        impl,
        kind=KIND,
        in_beat_bytes=beat_bytes(units),
        out_beat_bytes=beat_bytes(units),
        functional=lambda done: ButterflyFunctional(name, units, max_n, done),
        tlm_params=DECLARATION.tlm_params(units=units, max_n=max_n),
        rtl_params=DECLARATION.rtl_params(units=units, max_n=max_n),
        clock=clock,
        **rtl,
    )
