"""The seeded attention workload of the ViTALiTy scenario (DeiT-Tiny-sized: tokens, 3
heads of dimension 64, int8 Q, K, V) and its goldens: the bit-exact integer model of both
modes written as matrix algebra (independent of the engine's streaming twins) and the
float64 Taylor and softmax attention with the tolerances the arithmetic guarantees."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.accel import online_softmax as osm
from cosim.errors import ParameterError

from . import arithmetic as ar

#: Synthetic activations: int8 with this standard deviation (clipped to +-127), the
#: spread of a calibrated int8 tensor that uses its range without saturating often.
SIGMA = 32.0


@dataclass(frozen=True)
class Head:
    q: np.ndarray  # (N, d) int8
    k: np.ndarray
    v: np.ndarray
    g_shift: int  # calibrated: the smallest shift that keeps the centred G in int16


@dataclass(frozen=True)
class Workload:
    tokens: int
    dim: int
    heads: tuple[Head, ...]
    taylor_shift: int  # A: one q.k unit is worth 2^-A (scale_q scale_k / sqrt(d))
    mult: int  # the softmax exponent's scale for the same 2^-A (online_softmax)
    shift: int

    @property
    def alpha(self) -> float:
        return 2.0**-self.taylor_shift


def calibrated_g_shift(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> int:
    """The smallest G_SHIFT with every centred G entry inside int16 after rounding."""
    n = k.shape[0]
    g = k.astype(np.int64).T @ v.astype(np.int64)
    gc = n * g - np.outer(k.sum(0, dtype=np.int64), v.sum(0, dtype=np.int64))
    peak = int(np.abs(gc).max())
    shift = 0
    while (peak + (1 << shift >> 1)) >> shift > ar.G_MAX:
        shift += 1
    return shift


def make_workload(
    rng: np.random.Generator, tokens: int, dim: int, heads: int, taylor_shift: int
) -> Workload:
    for name, v, lo, hi in (
        ("tokens", tokens, 2, 512),
        ("dim", dim, 1, 64),
        ("heads", heads, 1, 16),
        ("taylor_shift", taylor_shift, 0, 24),
    ):
        if not lo <= v <= hi:
            raise ParameterError(f"vitality workload: {name} = {v} must be {lo}..{hi}")
    out = []
    for _ in range(heads):
        q, k, v = (
            np.clip(np.rint(rng.normal(0.0, SIGMA, (tokens, dim))), -127, 127).astype(np.int8)
            for _ in range(3)
        )
        out.append(Head(q, k, v, calibrated_g_shift(q, k, v)))
    mult, shift = osm.softmax_scale(2.0**-taylor_shift)
    return Workload(tokens, dim, tuple(out), taylor_shift, mult, shift)


def golden_taylor(h: Head, taylor_shift: int) -> np.ndarray:
    """The Taylor mode's Q8.8 output, (N, d) int16, as matrix algebra."""
    n = h.k.shape[0]
    k, v, q = (x.astype(np.int64) for x in (h.k, h.v, h.q))
    gq = ar.centred_g(k.T @ v, k.sum(0), v.sum(0), n, h.g_shift)
    return ar.taylor_out(q @ gq, v.sum(0), n, taylor_shift, h.g_shift).astype(np.int16)


def golden_softmax(h: Head, mult: int, shift: int) -> np.ndarray:
    """The softmax mode's Q8.8 output, (N, d) int16."""
    k, v, q = (x.astype(np.int64) for x in (h.k, h.v, h.q))
    s = q @ k.T
    t = osm.t_of(s.max(1, keepdims=True) - s, mult, shift)
    w = osm.exp2neg(t)
    o = w @ v
    r = (1 << osm.RECIP_BITS) // w.sum(1, keepdims=True)
    out = (o * r + (1 << (osm.OUT_SHIFT - 1))) >> osm.OUT_SHIFT
    return np.clip(out, ar.OUT_MIN, ar.OUT_MAX).astype(np.int16)


def taylor_float(h: Head, alpha: float) -> np.ndarray:
    """First-order Taylor attention in float64 (ViTALiTy): weights 1 + alpha q.k_hat over
    mean-centred keys, normalised by their sum N + alpha q . sum_j k_hat_j."""
    q, k, v = (x.astype(np.float64) for x in (h.q, h.k, h.v))
    k_hat = k - k.mean(0)
    num = v.sum(0) + alpha * q @ (k_hat.T @ v)
    den = k.shape[0] + alpha * q @ k_hat.sum(0)
    return num / den[:, None]


def taylor_tolerance(h: Head, alpha: float) -> np.ndarray:
    """Per-row bound of |hardware - taylor_float| in units of v: G rounded to 2^G_SHIFT
    (half a step per entry, times alpha sum|q| / N^2), the reciprocal's floor and the
    output's rounding (half a Q8.8 step each, one more step of margin)."""
    n = h.k.shape[0]
    g_err = alpha * np.abs(h.q.astype(np.float64)).sum(1) * 2.0 ** (h.g_shift - 1) / n**2
    return g_err + 2.0 / 256


def softmax_float(h: Head, alpha: float) -> np.ndarray:
    q, k, v = (x.astype(np.float64) for x in (h.q, h.k, h.v))
    s = alpha * q @ k.T
    p = np.exp(s - s.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)) @ v


def softmax_tolerance(h: Head) -> float:
    """online_softmax's bound (weights within 0.14% and rounded sums): 0.002 max|v| + 1/256."""
    return 0.002 * float(np.abs(h.v.astype(np.float64)).max()) + 1.0 / 256
