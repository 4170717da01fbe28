"""The fixed-point arithmetic of the ViTALiTy attention engine, as one specification the
numpy, C++ and SystemVerilog twins implement bit for bit (docs/accelerators/vitality.md
derives it from the first-order Taylor attention of ViTALiTy, HPCA 2023).

Taylor mode (one head; int8 q, k, v; alpha = 2^-A the real value of one q.k unit):
  ks = sum_j k_j, vs = sum_j v_j, G = sum_j k_j v_j^T          (int32, column sums, G)
  Gc = N G - ks vs^T = N * (K - mean K)^T V                   (exact, int64)
  Gq = sat16((Gc + 2^(GS-1)) >> GS)                           (GS = G_SHIFT; no rounding at 0)
  acc_i = q_i Gq                                              (int32)
  num_i = (N vs << A) + (acc_i << GS)                         (int64)
  R = floor(2^48 / N^2); out_i = sat16((num_i R + 2^(S-1)) >> S), S = 40 + A
        = round(256 * num_i / (N^2 2^A)): Q8.8 in units of v.
Softmax mode (the baseline, two passes over the stored keys per query):
  s_j = q_i . k_j; m = max_j s_j; w_j = exp2neg(t(m - s_j)) (cosim.accel.online_softmax);
  o = sum_j w_j v_j; sum = sum_j w_j; out = sat16((o floor(2^44 / sum) + 2^35) >> 36).
">>" is an arithmetic shift (floor).
"""

from __future__ import annotations

import numpy as np

from cosim.accel import online_softmax as osm

RECIP_BITS = 48  # R = floor(2^48 / N^2)
OUT_FRAC = 8  # Q8.8 outputs
OUT_MIN, OUT_MAX = -(1 << 15), (1 << 15) - 1
G_MIN, G_MAX = -(1 << 15), (1 << 15) - 1


def sat16(x: np.ndarray) -> np.ndarray:
    return np.clip(x, OUT_MIN, OUT_MAX)


def round_shift(x: np.ndarray, shift: int) -> np.ndarray:
    """(x + 2^(shift-1)) >> shift, and x itself for shift 0 (int64 or Python ints)."""
    return x if shift == 0 else (x + (1 << (shift - 1))) >> shift


def centred_g(g: np.ndarray, ks: np.ndarray, vs: np.ndarray, n: int, g_shift: int) -> np.ndarray:
    """Gq from the accumulated G (d x d), ks and vs: the pre-processor's last step."""
    gc = n * g.astype(np.int64) - np.outer(ks.astype(np.int64), vs.astype(np.int64))
    return np.clip(round_shift(gc, g_shift), G_MIN, G_MAX)


def taylor_recip(n: int) -> int:
    return (1 << RECIP_BITS) // (n * n)


def taylor_out(
    acc: np.ndarray, vs: np.ndarray, n: int, taylor_shift: int, g_shift: int
) -> np.ndarray:
    """The post-processor: Q8.8 outputs from acc = q Gq (any leading shape)."""
    num = ((n * vs.astype(np.int64)) << taylor_shift) + (acc.astype(np.int64) << g_shift)
    shift = RECIP_BITS - OUT_FRAC + taylor_shift
    wide = num.astype(object) * taylor_recip(n) + (1 << (shift - 1))
    return sat16(np.vectorize(lambda x: x >> shift, otypes=[np.int64])(wide))


def softmax_out(o: np.ndarray, total: int) -> np.ndarray:
    r = (1 << osm.RECIP_BITS) // int(total)
    return sat16((o.astype(np.int64) * r + (1 << (osm.OUT_SHIFT - 1))) >> osm.OUT_SHIFT)


def softmax_weights(scores: np.ndarray, mult: int, shift: int) -> np.ndarray:
    """w_j of one query's scores (int64), against their maximum."""
    return osm.exp2neg(osm.t_of(scores.max() - scores, mult, shift))
