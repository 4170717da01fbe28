"""Butterfly factorisation in constant geometry (the engine's arithmetic, in numpy).

An N-point butterfly (N = 2^L) is L stages; stage s pairs x[j] and x[j + N/2] for
j < N/2 and writes its two outputs to 2j and 2j + 1 (a perfect shuffle: the stride
permutation between stages). Each stage is a matrix with two nonzeros per row.

- linear mode: y[2j] = w0 x[j] + w1 x[j+N/2], y[2j+1] = w2 x[j] + w3 x[j+N/2] (real);
- FFT mode: y[2j] = a + b, y[2j+1] = (a - b) W with the twiddle W = exp(-2 pi i e / N),
  e = (j >> s) << s: Pease's constant-geometry radix-2 decimation in frequency, whose
  output is in bit-reversed order (the permutation buffer reads it out reversed).

Fixed point (docs/accelerators/fabnet.md): data are complex int16 (re, im), weights and
twiddles int16 with FRAC = 14 fraction bits; each output is rounded half up after a right
shift of FRAC + shift and saturated to int16.
"""

from __future__ import annotations

import numpy as np

from cosim.errors import ParameterError

FRAC = 14
ONE = 1 << FRAC
INT16 = (-(1 << 15), (1 << 15) - 1)
MODES = {"linear": 0, "fft": 1}


def log2_exact(n: int, what: str = "n") -> int:
    if n < 2 or n & (n - 1):
        raise ParameterError(f"butterfly: {what} = {n} must be a power of two >= 2")
    return n.bit_length() - 1


def bit_reverse(k: np.ndarray | int, bits: int) -> np.ndarray:
    k = np.asarray(k, np.int64)
    out = np.zeros_like(k)
    for b in range(bits):
        out |= ((k >> b) & 1) << (bits - 1 - b)
    return out


def twiddles(n: int) -> np.ndarray:
    """FFT-mode weight entries (L, N/2, 4) int16: (W_re, W_im, 0, 0) in Q2.14."""
    lg = log2_exact(n)
    j = np.arange(n // 2)
    out = np.zeros((lg, n // 2, 4), np.int16)
    for s in range(lg):
        e = (j >> s) << s
        ang = -2 * np.pi * e / n
        out[s, :, 0] = np.round(np.cos(ang) * ONE).astype(np.int16)
        out[s, :, 1] = np.round(np.sin(ang) * ONE).astype(np.int16)
    return out


def round_shift(v: np.ndarray, shift: int) -> np.ndarray:
    """Arithmetic right shift by `shift` rounding half up (int64 in, int64 out)."""
    return (v + (1 << (shift - 1))) >> shift if shift > 0 else v


def saturate16(v: np.ndarray) -> np.ndarray:
    return np.clip(v, *INT16)


def stage(
    re: np.ndarray, im: np.ndarray, w: np.ndarray, mode: str, shift: int
) -> tuple[np.ndarray, np.ndarray]:
    """One fixed-point stage on rows of vectors (..., N) int64; `w` (N/2, 4) int16."""
    n = re.shape[-1]
    h = n // 2
    ar, ai, br, bi = re[..., :h], im[..., :h], re[..., h:], im[..., h:]
    w = w.astype(np.int64)
    s = FRAC + shift
    if mode == "linear":
        y0r = w[:, 0] * ar + w[:, 1] * br
        y1r = w[:, 2] * ar + w[:, 3] * br
        y0i = y1i = np.zeros_like(ar)
    else:
        y0r, y0i = (ar + br) << FRAC, (ai + bi) << FRAC
        dr, di = ar - br, ai - bi
        y1r = dr * w[:, 0] - di * w[:, 1]
        y1i = dr * w[:, 1] + di * w[:, 0]
    out_re = np.empty_like(re)
    out_im = np.empty_like(im)
    out_re[..., 0::2] = saturate16(round_shift(y0r, s))
    out_re[..., 1::2] = saturate16(round_shift(y1r, s))
    out_im[..., 0::2] = saturate16(round_shift(y0i, s))
    out_im[..., 1::2] = saturate16(round_shift(y1i, s))
    return out_re, out_im


def run(
    re: np.ndarray, im: np.ndarray, weights: np.ndarray, mode: str, shift: int
) -> tuple[np.ndarray, np.ndarray]:
    """All L stages on rows (..., N) of int16 values; `weights` (L, N/2, 4). FFT mode
    returns natural order (the bit-reversed read-out applied)."""
    re, im = np.asarray(re, np.int64), np.asarray(im, np.int64)
    lg = log2_exact(re.shape[-1])
    for s in range(lg):
        re, im = stage(re, im, weights[s], mode, shift)
    if mode == "fft":
        order = bit_reverse(np.arange(re.shape[-1]), lg)
        re, im = re[..., order], im[..., order]
    return re.astype(np.int16), im.astype(np.int16)


def linear_matrix(weights: np.ndarray) -> np.ndarray:
    """The dense N x N matrix (float64) a linear-mode butterfly computes (y = B x), the
    product of its L two-nonzeros-per-row stage matrices."""
    lg, h, _ = weights.shape
    n = 2 * h
    b = np.eye(n)
    w = weights.astype(np.float64) / ONE
    for s in range(lg):
        m = np.zeros((n, n))
        j = np.arange(h)
        m[2 * j, j], m[2 * j, j + h] = w[s, :, 0], w[s, :, 1]
        m[2 * j + 1, j], m[2 * j + 1, j + h] = w[s, :, 2], w[s, :, 3]
        b = m @ b
    return b


def butterfly_mults(n: int, vectors: int) -> int:
    """Multiplies of `vectors` N-point butterflies: 4 per butterfly unit operation."""
    return 4 * vectors * (n // 2) * log2_exact(n)
