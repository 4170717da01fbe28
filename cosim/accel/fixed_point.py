"""Fixed-point numerics shared by the accelerator engines (the specification their numpy,
C++ and SystemVerilog twins implement bit for bit).

Formats
  fx      signed 32-bit integer with FX_FRAC = 16 fractional bits (Q15.16), saturating
          symmetrically at +-FX_MAX; the internal format of the vector unit.
  fp16    IEEE 754 binary16 as its 16-bit pattern (uint16) or numpy float16.

Operations (all integer arithmetic; ">>" is an arithmetic shift, i.e. floor division
by a power of two, also for negative numbers):

  fp16_to_fx(h)     value * 2^16, magnitude rounded half up, sign applied, saturated;
                    infinities and NaN saturate to +-FX_MAX.
  fx_to_fp16(x)     x / 2^16 to the nearest binary16, ties to even (every fx value is in
                    range; values below 2^-14 are exact subnormals).
  softmax_q16(x, mult, shift)
                    the streaming softmax core (rtl/common/softmax_core.sv):
                      u = sat32((x * mult) >> shift)          scaled scores, log2 domain, Q.16
                      m = max(u);  d = m - u                  d >= 0
                      e = exp2neg(d) = poly(d & 0xffff) >> (d >> 16)   (0 if d >> 16 >= 17)
                      R = floor(2^48 / sum(e))
                      p = (e * R + 2^31) >> 32                probabilities, Q0.16
                    poly(f) = 2^16 + ((C1 + ((C2 + ((C3 f) >> 16)) f >> 16)) f >> 16): a cubic
                    for 2^16 * 2^(-f/2^16) with 2^0 exact (the row maximum gets 1.0) and
                    a relative error below 1.5e-4 (EXP2_POLY).
  layernorm_fx(x, gamma, beta, eps)   power-of-two length n = 2^L:
                      mean = sum(x) >> L;  c = sat(x - mean)
                      var  = (sum((c*c) >> 16) >> L) + eps, clamped to [1, 2^43 - 1]
                      s    = isqrt(var << 20);  rstd = floor(2^34 / s)      (1/std, Q.16)
                      y    = sat((c * rstd) >> 16);  z = sat(((y * gamma) >> 16) + beta)
  gelu_fx(x, lut)   piecewise-linear GELU on [-8, 8) from a 257-entry table at steps of
                    1/16 (gelu_lut()); x >= 8 passes through, x < -8 gives 0:
                      t = x + 8*2^16;  j = t >> 12;  r = t & 4095
                      y = lut[j] + (((lut[j+1] - lut[j]) * r) >> 12)
  add_fx(a, b)      sat(a + b).

Accuracy against float64 numpy (stated tolerances, checked by tests/test_fixed_point.py):
softmax probabilities within 3e-4 absolute of exact for scores of any scale; LayerNorm
within 2e-3 absolute (inputs with standard deviation >= 0.05); GELU within 1e-3
absolute; each then rounded once more to fp16 where the output is fp16.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FX_FRAC = 16
FX_ONE = 1 << FX_FRAC
FX_MAX = (1 << 31) - 1
#: Coefficients C1, C2, C3 of the exp2neg cubic (Q.16): a least-maximum-error fit of
#: 2^-x on [0, 1] with 2^0 = 1 and 2^-1 = 1/2 exact (fitted in this project).
EXP2_POLY = (-45330, 15158, -2597)
#: poly(d) >> k for k >= EXP2_ZERO_SHIFT is 0 (poly <= 2^16).
EXP2_ZERO_SHIFT = 17
#: Softmax reciprocal: R = floor(2^SOFTMAX_RECIP_BITS / sum).
SOFTMAX_RECIP_BITS = 48
#: LayerNorm: s = isqrt(var << LN_SQRT_SHIFT), rstd = floor(2^LN_RSTD_BITS / s).
LN_SQRT_SHIFT = 20
LN_RSTD_BITS = 34
LN_VAR_MAX = (1 << 43) - 1
#: GELU table: GELU_LUT_SIZE entries from GELU_LO at steps of 2^-GELU_STEP_BITS.
GELU_LO = -8
GELU_STEP_BITS = 4
GELU_LUT_SIZE = 257
_GELU_FRAC_BITS = FX_FRAC - GELU_STEP_BITS  # 12: bits of the position inside a step


def _i64(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def sat(x: Any) -> np.ndarray:
    """Saturate to the symmetric fx range [-FX_MAX, FX_MAX]."""
    return np.clip(_i64(x), -FX_MAX, FX_MAX)


def sat32(x: Any) -> np.ndarray:
    """Saturate to the two's-complement int32 range."""
    return np.clip(_i64(x), -(1 << 31), (1 << 31) - 1)


# ------------------------------------------------------------------- fp16 <-> fx
def fp16_bits(h: Any) -> np.ndarray:
    """The 16-bit patterns of float16 values (or pass uint16 patterns through)."""
    a = np.asarray(h)
    if a.dtype == np.float16:
        return a.view(np.uint16)
    if a.dtype == np.uint16:
        return a
    raise TypeError(f"expected float16 values or uint16 bit patterns, got dtype {a.dtype}")


def fp16_to_fx(h: Any) -> np.ndarray:
    """fp16 (values or bit patterns) to fx, rounding the magnitude half up."""
    b = fp16_bits(h).astype(np.int64)
    sign = b >> 15
    exp = (b >> 10) & 31
    man = b & 1023
    sig = np.where(exp == 0, man, man | 1024)
    e = np.where(exp == 0, 1, exp)
    # value = sig * 2^(e - 25); fx = value * 2^16 = sig * 2^(e - 9)
    up = np.clip(e - 9, 0, 31)
    down = np.clip(9 - e, 0, 31)
    big = np.minimum(sig << np.minimum(up, 22), FX_MAX)  # < 2^33 before the clip
    small = (sig + np.where(down > 0, 1 << np.maximum(down - 1, 0), 0)) >> down
    mag = np.where(e >= 9, big, small)
    mag = np.where(exp == 31, FX_MAX, mag)
    return np.where(sign == 1, -mag, mag)


def _msb(x: np.ndarray) -> np.ndarray:
    """Index of the most significant set bit of positive int64 values (x >= 1)."""
    out = np.zeros(x.shape, dtype=np.int64)
    v = x.copy()
    for shift in (32, 16, 8, 4, 2, 1):
        big = v >= (1 << shift)
        out = np.where(big, out + shift, out)
        v = np.where(big, v >> shift, v)
    return out


def fx_to_fp16_bits(x: Any) -> np.ndarray:
    """fx to binary16 bit patterns (uint16), round to nearest, ties to even."""
    x = sat(x)
    sign = (x < 0).astype(np.int64)
    mag = np.abs(x)
    p = _msb(np.maximum(mag, 1))
    # normal: biased exponent p - 1 (value 2^(p-16)); keep 11 significant bits
    sh = np.maximum(p - 10, 0)
    keep = np.where(p >= 10, mag >> sh, mag << np.maximum(10 - p, 0))
    rem = mag & ((1 << sh) - 1)
    half = np.where(sh > 0, 1 << np.maximum(sh - 1, 0), 1 << 62)
    up = (rem > half) | ((rem == half) & ((keep & 1) == 1))
    keep = keep + up.astype(np.int64)
    expb = p - 1 + (keep >> 11)
    keep = np.where(keep >> 11 == 1, keep >> 1, keep)
    normal = (expb << 10) | (keep & 1023)
    sub = mag << 8  # mag < 4: exact subnormal (LSB 2^-24 = 2^-16 / 2^8)
    bits = np.where(p >= 2, normal, sub)
    bits = np.where(mag == 0, 0, bits | (sign << 15))
    return bits.astype(np.uint16)


def fx_to_fp16(x: Any) -> np.ndarray:
    """fx to float16 values (round to nearest even)."""
    return fx_to_fp16_bits(x).view(np.float16)


# ------------------------------------------------------------------------- softmax
def exp2neg_q16(d: Any) -> np.ndarray:
    """2^16 * 2^(-d / 2^16) for d >= 0 (Q.16 in, Q.16 out), by the EXP2_POLY cubic."""
    d = _i64(d)
    if np.any(d < 0):
        raise ValueError("exp2neg_q16 takes d >= 0 (distances below the row maximum)")
    c1, c2, c3 = EXP2_POLY
    f = d & 0xFFFF
    t = (c3 * f) >> 16
    t = ((c2 + t) * f) >> 16
    t = ((c1 + t) * f) >> 16
    poly = FX_ONE + t
    k = d >> 16
    return np.where(k >= EXP2_ZERO_SHIFT, 0, poly >> np.minimum(k, EXP2_ZERO_SHIFT))


def softmax_scale(factor: float) -> tuple[int, int]:
    """(mult, shift) with mult / 2^shift ~ factor * log2(e), mult < 2^16 holding as many
    significant bits as fit. The core computes u = (x * mult) >> shift as Q.16 values in
    the log2 domain: for fx scores (Q.16) pass the real scale as `factor`; for integer
    scores whose real value is x * s pass factor = s * 2^16."""
    c = factor * math.log2(math.e)
    if not 2.0**-31 <= c <= 65535.0:
        raise ValueError(
            f"softmax scale factor {factor!r} is out of range: factor * log2(e) must be in "
            "[2^-31, 65535]"
        )
    shift = 0
    while round(c * 2 ** (shift + 1)) < 65536 and shift < 47:
        shift += 1
    return round(c * 2**shift), shift


def softmax_q16(x: Any, mult: int, shift: int) -> np.ndarray:
    """The softmax core on the last axis: int32 scores -> Q0.16 probabilities (int64)."""
    if not 0 <= mult < 1 << 16:
        raise ValueError(f"softmax mult must be 0..65535, got {mult}")
    if not 0 <= shift <= 47:
        raise ValueError(f"softmax shift must be 0..47, got {shift}")
    x = _i64(x)
    if x.shape[-1] == 0:
        raise ValueError("softmax of an empty row")
    u = sat32((x * mult) >> shift)
    m = u.max(axis=-1, keepdims=True)
    e = exp2neg_q16(m - u)
    total = e.sum(axis=-1, keepdims=True)
    r = (1 << SOFTMAX_RECIP_BITS) // total
    return (e * r + (1 << 31)) >> 32


def quantize_probs(p: Any, shift: int, out_max: int) -> np.ndarray:
    """Output quantisation of the softmax unit: min(round_half_up(p / 2^shift), out_max)."""
    p = _i64(p)
    q = (p + (1 << (shift - 1))) >> shift if shift > 0 else p
    return np.minimum(q, out_max)


# ----------------------------------------------------------------------- layernorm
def isqrt(v: Any) -> np.ndarray:
    """floor(sqrt(v)) of non-negative integers below 2^63, exactly."""
    a = _i64(v)
    if np.any(a < 0):
        raise ValueError("isqrt of a negative number")
    return np.vectorize(math.isqrt, otypes=[np.int64])(a) if a.size else a


def layernorm_fx(x: Any, gamma: Any, beta: Any, eps: int) -> np.ndarray:
    """LayerNorm over the last axis of fx values (power-of-two length); fx out."""
    x = _i64(x)
    n = x.shape[-1]
    if n < 1 or n & (n - 1):
        raise ValueError(f"layernorm_fx needs a power-of-two length, got {n}")
    log2n = n.bit_length() - 1
    mean = x.sum(axis=-1, keepdims=True) >> log2n
    c = sat(x - mean)
    var = (((c * c) >> 16).sum(axis=-1, keepdims=True) >> log2n) + eps
    var = np.clip(var, 1, LN_VAR_MAX)
    s = isqrt(var << LN_SQRT_SHIFT)
    rstd = (1 << LN_RSTD_BITS) // s
    y = sat((c * rstd) >> 16)
    return sat(((y * _i64(gamma)) >> 16) + _i64(beta))


# ---------------------------------------------------------------------------- GELU
def gelu_tanh(x: Any) -> np.ndarray:
    """GELU with the tanh approximation GPT-2 uses (Hendrycks & Gimpel 2016), float64."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def gelu_lut() -> np.ndarray:
    """The 257-entry fx table of gelu_tanh at -8, -8 + 1/16, ..., 8 (loaded into the
    vector unit by its driver)."""
    pts = GELU_LO + np.arange(GELU_LUT_SIZE) / (1 << GELU_STEP_BITS)
    return np.round(gelu_tanh(pts) * FX_ONE).astype(np.int64)


def gelu_fx(x: Any, lut: Any) -> np.ndarray:
    """Piecewise-linear GELU of fx values from the table."""
    x = _i64(x)
    lut = _i64(lut)
    if lut.shape != (GELU_LUT_SIZE,):
        raise ValueError(f"the GELU table has {GELU_LUT_SIZE} entries, got {lut.shape}")
    lo = GELU_LO * FX_ONE
    hi = -lo
    t = np.clip(x - lo, 0, hi - lo - 1)
    j = t >> _GELU_FRAC_BITS
    r = t & ((1 << _GELU_FRAC_BITS) - 1)
    y = lut[j] + (((lut[j + 1] - lut[j]) * r) >> _GELU_FRAC_BITS)
    return np.where(x >= hi, x, np.where(x < lo, 0, y))


def add_fx(a: Any, b: Any) -> np.ndarray:
    return sat(_i64(a) + _i64(b))
