"""Binary-coding quantisation (BCQ) and the LUT arithmetic of nuQmm.

BCQ (Xu et al., "Alternating multi-bit quantization for recurrent neural networks",
ICLR 2018; the format nuQmm multiplies): a weight row w (n values) is approximated by
sum_i alpha_i * b_i with q bit-planes b_i in {-1, +1}^n and scales alpha_i > 0. `fit`
is the greedy fit (b_i = sign of the residual, alpha_i = mean |residual|) followed by
alternating refinement (least-squares alphas for the fixed planes, then every weight's
planes re-chosen as the best of the 2^q codes), seeded only through its input.

The LUT arithmetic (`lut_gemv`, the engine's): per group of mu activations, all 2^mu
signed sums LUT[p] = sum_j (p_j ? +x_j : -x_j); a plane-row's group pattern p (bit j
= weight j of the group is +1) looks up LUT[p]; the q sums of row r are scaled by their
16-bit alphas and added in int64, the result is (y >> shift) wrapped to int32.
"""

from __future__ import annotations

import itertools

import numpy as np

from cosim.errors import ParameterError


def fit(w: np.ndarray, q: int, iterations: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(alphas (rows, q) float64 > 0, planes (rows, q, n) int8 of +-1) approximating w
    (rows are independent: fitted 256 at a time to bound the memory)."""
    w = np.asarray(w, np.float64)
    if w.ndim != 2:
        raise ParameterError(f"bcq fit: weights {w.shape} must be a (rows, n) matrix")
    if not 1 <= q <= 8:
        raise ParameterError(f"bcq fit: q = {q} must be 1..8")
    parts = [_fit(w[r : r + 256], q, iterations) for r in range(0, w.shape[0], 256)]
    return np.concatenate([a for a, _ in parts]), np.concatenate([p for _, p in parts])


def _fit(w: np.ndarray, q: int, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    rows, n = w.shape
    planes = np.empty((rows, q, n), np.int8)
    alphas = np.empty((rows, q))
    res = w.copy()
    for i in range(q):  # greedy
        planes[:, i] = np.where(res >= 0, 1, -1)
        alphas[:, i] = np.abs(res).mean(axis=1)
        res -= alphas[:, i, None] * planes[:, i]
    codes = np.array(list(itertools.product((-1, 1), repeat=q)), np.float64)  # (2^q, q)
    for _ in range(iterations):  # alternating refinement
        b = planes.astype(np.float64)
        gram = np.einsum("rin,rjn->rij", b, b) + 1e-9 * np.eye(q)
        alphas = np.linalg.solve(gram, np.einsum("rin,rn->ri", b, w)[..., None])[..., 0]
        alphas = np.abs(alphas)  # a negative scale is the same code with its plane negated
        values = np.einsum("ci,ri->rc", codes, alphas)  # (rows, 2^q) representable values
        best = np.abs(w[:, :, None] - values[:, None, :]).argmin(axis=2)  # (rows, n)
        planes = codes[best].transpose(0, 2, 1).astype(np.int8)
    return alphas, planes


def dequantise(alphas: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """(rows, n) float64 weights sum_i alpha_i * b_i."""
    return np.einsum("ri,rin->rn", alphas, planes.astype(np.float64))


def patterns(planes: np.ndarray, mu: int) -> np.ndarray:
    """(rows, q, n) +-1 planes -> (groups, q, rows) uint8 patterns: bit j of group g's
    pattern = 1 where weight g*mu + j is +1."""
    rows, q, n = planes.shape
    if n % mu:
        raise ParameterError(f"patterns: n = {n} must be a multiple of mu = {mu}")
    bits = (planes > 0).reshape(rows, q, n // mu, mu).astype(np.uint16)
    p = (bits << np.arange(mu, dtype=np.uint16)).sum(axis=3).astype(np.uint8)
    return p.transpose(2, 1, 0).copy()


def lut(x_group: np.ndarray, mu: int) -> np.ndarray:
    """(..., mu) int activations -> (..., 2^mu) int64 tables of every signed sum."""
    p = np.arange(1 << mu)
    signs = np.where((p[:, None] >> np.arange(mu)) & 1, 1, -1)  # (2^mu, mu)
    return np.asarray(x_group, np.int64) @ signs.T


def wrap32(v: np.ndarray) -> np.ndarray:
    return (((np.asarray(v, np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)).astype(np.int32)


def lut_gemv(
    x: np.ndarray, pats: np.ndarray, alphas_fx: np.ndarray, mu: int, shift: int
) -> np.ndarray:
    """The engine's arithmetic: x (n,) int8, pats (groups, q, rows) uint8, alphas_fx
    (q, rows) uint16 -> (rows,) int32 results (y >> shift)."""
    x = np.asarray(x, np.int64)
    groups = pats.shape[0]
    tables = lut(x.reshape(groups, mu), mu)  # (groups, 2^mu)
    sums = np.take_along_axis(tables[:, None, :], pats.reshape(groups, 1, -1).astype(np.int64), 2)
    acc = sums.reshape(pats.shape).sum(axis=0)  # (q, rows)
    acc = wrap32(acc).astype(np.int64)
    y = (np.asarray(alphas_fx, np.int64) * acc).sum(axis=0)
    return wrap32(y >> shift)
