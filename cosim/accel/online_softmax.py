"""Fixed-point online softmax and attention-weighted sum: the arithmetic specification the
numpy, C++ and SystemVerilog twins implement bit for bit (rtl/common/exp2_neg.sv,
rtl/sprint/sprint_recompute.sv, tlm/accel/sprint/recompute.cpp).

One pass over (score, value row) pairs, as in Milakov & Gimelshein, "Online normalizer
calculation for softmax" (2018): a running maximum m, a running sum of weights and
running weighted sums o[i] of the value rows; when a larger score arrives the state is
rescaled, so the scores never need to be stored or revisited and a key's K and V rows
are used once. All in integers (">>" is an arithmetic shift, i.e. floor):

  scores      s: integers (e.g. int8 q . int8 k in int32), real value s * c.
  exponent    t(delta) = (delta * MULT + 2^(SHIFT-1)) >> SHIFT, delta >= 0 an integer
              score difference: t ~ delta * c * log2(e) * 2^EXP_FRAC (Q.8, log2 units);
              softmax_scale(c) gives MULT (< 2^16) and SHIFT.
  exp2neg     w(t) = 0 if (t >> 8) >= 16, else LUT[t & 255] >> (t >> 8), where
              LUT[f] = round(2^15 * 2^(-f / 256)): 2^15 * 2^(-t / 256) (Q.15 weights).
  update      first pair:          m = s, alpha = 0, w = ONE
              s > m:               alpha = w(t(s - m)), w = ONE, m = s
              otherwise:           alpha = ONE, w = w(t(m - s))
              o[i] = ((o[i] * alpha + 2^14) >> 15) + w * v[i]
              sum  = ((sum  * alpha + 2^14) >> 15) + w             (ONE = 2^15)
  finish      R = floor(2^44 / sum); out[i] = sat16((o[i] * R + 2^35) >> 36)
              = round(256 * o[i] / sum): Q8.8 in units of v. No pair: out = 0.

Bounds: |v| <= 128, at most MAX_PAIRS = 1024 pairs per query: |o| < 2^33, sum < 2^26,
o * alpha < 2^48, o * R < 2^63 (int64 holds every intermediate).

Accuracy against exact softmax (float64) over the same pairs: each weight is off by
the rounding of t (half a step of 2^(1/256), 0.14%) and of the table entry (2^-16
relative), the rescaled state by at most 1/2 LSB per rescale, the output by 1/2 LSB of
Q8.8: the output is within 0.002 * max|v| + 1/256 of exact (checked by the tests).
"""

from __future__ import annotations

import math

import numpy as np

from cosim.errors import ParameterError

EXP_FRAC = 8
ONE_BITS = 15
ONE = 1 << ONE_BITS
RECIP_BITS = 44
OUT_FRAC = 8
OUT_SHIFT = RECIP_BITS - OUT_FRAC  # 36
MAX_PAIRS = 1024
MULT_BITS = 16
SHIFT_RANGE = (1, 40)
#: n = t >> EXP_FRAC at or above this gives a weight of 0 (LUT values are below 2^16).
ZERO_EXP = 16
#: Maximum |output| of the Q8.8 int16 result.
OUT_MIN, OUT_MAX = -(1 << 15), (1 << 15) - 1


def exp2_lut() -> np.ndarray:
    """LUT[f] = round(2^15 * 2^(-f/256)), f = 0..255 (LUT[0] = 2^15): 16-bit entries."""
    f = np.arange(1 << EXP_FRAC, dtype=np.float64)
    return np.rint(ONE * np.exp2(-f / (1 << EXP_FRAC))).astype(np.int64)


LUT = exp2_lut()


def lut_sv() -> str:
    """The table as the SystemVerilog case body rtl/common/exp2_neg.sv holds (the test suite
    checks the file against this function, so the two cannot drift)."""
    lines = [f"      8'd{f}: entry = 16'd{int(v)};" for f, v in enumerate(LUT)]
    return "\n".join(lines)


def lut_cpp() -> str:
    """The table as tlm/accel/exp2_lut.h holds it (checked against exp2_lut() by the tests)."""
    rows = [", ".join(str(int(v)) for v in LUT[i : i + 16]) for i in range(0, LUT.size, 16)]
    return ",\n    ".join(rows)


def softmax_scale(c: float) -> tuple[int, int]:
    """(MULT, SHIFT) with MULT / 2^SHIFT ~ c * log2(e) * 2^EXP_FRAC, MULT < 2^16 holding as
    many significant bits as fit, SHIFT in SHIFT_RANGE. c is the real value of one score
    unit (for int8 q.k: scale_q * scale_k / sqrt(d))."""
    k = c * math.log2(math.e) * (1 << EXP_FRAC)
    if not math.isfinite(k) or k <= 0:
        raise ParameterError(f"softmax scale {c!r}: must be a positive finite number")
    shift = SHIFT_RANGE[0]
    while shift < SHIFT_RANGE[1] and round(k * 2.0 ** (shift + 1)) < 1 << MULT_BITS:
        shift += 1
    mult = round(k * 2.0**shift)
    if not 1 <= mult < 1 << MULT_BITS:
        raise ParameterError(
            f"softmax scale {c!r} gives MULT = {mult} at SHIFT = {shift}; the engine needs "
            f"1 <= MULT < 2^16 with SHIFT in {SHIFT_RANGE[0]} .. {SHIFT_RANGE[1]}"
        )
    return mult, shift


def t_of(delta: np.ndarray | int, mult: int, shift: int) -> np.ndarray:
    d = np.asarray(delta, dtype=np.int64)
    return (d * mult + (1 << (shift - 1))) >> shift


def exp2neg(t: np.ndarray | int) -> np.ndarray:
    """w(t): Q.15 weights 2^15 * 2^(-t/256) from the table (0 from t >> 8 >= 16)."""
    t = np.asarray(t, dtype=np.int64)
    n = t >> EXP_FRAC
    w = LUT[t & ((1 << EXP_FRAC) - 1)] >> np.minimum(n, ZERO_EXP)
    return np.where(n >= ZERO_EXP, 0, w)


class OnlineSoftmax:
    """The state of one query: feed (score, value row) pairs, then finish().

    Counts what the hardware does: pairs, rescales (a larger score arrived after the
    first pair: the o and sum multipliers work; otherwise alpha = ONE and they idle)."""

    def __init__(self, mult: int, shift: int, width: int) -> None:
        if not 1 <= mult < 1 << MULT_BITS or not SHIFT_RANGE[0] <= shift <= SHIFT_RANGE[1]:
            raise ParameterError(
                f"online softmax: MULT = {mult} must be 1 .. 65535 and SHIFT = {shift} in "
                f"{SHIFT_RANGE[0]} .. {SHIFT_RANGE[1]}"
            )
        self.mult, self.shift = mult, shift
        self.o = np.zeros(width, dtype=np.int64)
        self.sum = 0
        self.m = 0
        self.pairs = 0
        self.rescales = 0

    def add(self, score: int, v: np.ndarray) -> None:
        if self.pairs >= MAX_PAIRS:
            raise ParameterError(f"online softmax: more than {MAX_PAIRS} pairs in one query")
        s = int(score)
        if self.pairs == 0:
            alpha, w, self.m = 0, ONE, s
        elif s > self.m:
            alpha, w = int(exp2neg(t_of(s - self.m, self.mult, self.shift))), ONE
            self.m = s
            self.rescales += 1
        else:
            alpha, w = ONE, int(exp2neg(t_of(self.m - s, self.mult, self.shift)))
        half = 1 << (ONE_BITS - 1)
        self.o = ((self.o * alpha + half) >> ONE_BITS) + w * np.asarray(v, dtype=np.int64)
        self.sum = ((self.sum * alpha + half) >> ONE_BITS) + w
        self.pairs += 1

    def finish(self) -> np.ndarray:
        """Q8.8 int16 outputs (zeros when no pair came)."""
        if self.pairs == 0:
            return np.zeros(self.o.size, dtype=np.int16)
        r = (1 << RECIP_BITS) // self.sum
        out = (self.o * r + (1 << (OUT_SHIFT - 1))) >> OUT_SHIFT
        return np.clip(out, OUT_MIN, OUT_MAX).astype(np.int16)


def attend(
    scores: np.ndarray, values: np.ndarray, mult: int, shift: int
) -> tuple[np.ndarray, OnlineSoftmax]:
    """One query over pairs in the given order: (Q8.8 output, final state)."""
    state = OnlineSoftmax(mult, shift, values.shape[1] if values.ndim == 2 else 0)
    for s, v in zip(np.asarray(scores).tolist(), values, strict=True):
        state.add(s, v)
    return state.finish(), state
