"""Seeded workload of the nuQmm scenario and its goldens.

A (rows, n) layer of Gaussian weights (the synthetic stand-in for a language model's
weights: zero-mean, sigma = 1/sqrt(n), as a trained layer's are at initialisation),
fitted by BCQ with q bit-planes (`bcq.fit`); `batch` activation vectors, Gaussian,
quantised symmetrically to int8 (scale max|x| / 127). Alphas are 16-bit unsigned fixed
point: alpha_fx = round(alpha / alpha_step), alpha_step = max alpha / 65535.

Goldens, written from the algorithm and not from the engine's LUTs:
- `golden(col)`: bit-exact, the direct product sum_i alpha_fx[r,i] * (b_i @ x) in
  int64, shifted right by `shift` and wrapped to int32;
- `reference(col)`: float64, the BCQ weights (float alphas) times the dequantised
  activations; the engine's result times 2^shift * alpha_step * x_scale is within
  `tolerance(col)` of it (alpha rounding: half a step per alpha times |b_i @ x|,
  plus one 2^shift step of the final shift, in the same units).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.accel.nuqmm import bcq
from cosim.errors import ParameterError

SHIFT = 16  # result = y >> 16: keeps the int32 results of a 4096-wide row in range


@dataclass(frozen=True)
class Layer:
    w: np.ndarray  # (rows, n) float64, the original weights
    alphas: np.ndarray  # (rows, q) float64
    planes: np.ndarray  # (rows, q, n) int8 +-1
    x: np.ndarray  # (batch, n) int8 activations
    x_scale: float
    alpha_step: float
    mu: int
    shift: int = SHIFT

    @property
    def rows(self) -> int:
        return self.w.shape[0]

    @property
    def n(self) -> int:
        return self.w.shape[1]

    @property
    def q(self) -> int:
        return self.alphas.shape[1]

    @property
    def batch(self) -> int:
        return self.x.shape[0]

    @property
    def groups(self) -> int:
        return self.n // self.mu

    @property
    def alphas_fx(self) -> np.ndarray:
        """(q, rows) uint16."""
        return np.round(self.alphas.T / self.alpha_step).astype(np.uint16)

    def patterns(self) -> np.ndarray:
        return bcq.patterns(self.planes, self.mu)

    def plane_sums(self, col: int) -> np.ndarray:
        """(q, rows) int64: b_i @ x for every plane-row."""
        return np.einsum("rin,n->ir", self.planes.astype(np.int64), self.x[col].astype(np.int64))

    def golden(self, col: int) -> np.ndarray:
        """(rows,) int32, bit-exact."""
        y = (self.alphas_fx.astype(np.int64) * self.plane_sums(col)).sum(axis=0)
        return bcq.wrap32(y >> self.shift)

    def to_real(self, out: np.ndarray) -> np.ndarray:
        return np.asarray(out, np.float64) * (2.0**self.shift) * self.alpha_step * self.x_scale

    def reference(self, col: int) -> np.ndarray:
        """(rows,) float64: BCQ weights (float alphas) times the dequantised activations."""
        return bcq.dequantise(self.alphas, self.planes) @ (self.x[col] * self.x_scale)

    def tolerance(self, col: int) -> np.ndarray:
        """(rows,) float64 bound on |to_real(golden) - reference|."""
        s = np.abs(self.plane_sums(col)).sum(axis=0)
        return (0.5 * s * self.alpha_step + 2.0**self.shift * self.alpha_step) * self.x_scale

    def fp16_weights(self) -> np.ndarray:
        """The baseline's weights: the BCQ weights dequantised to fp16."""
        return bcq.dequantise(self.alphas, self.planes).astype(np.float16)

    def fp16_result(self, col: int) -> np.ndarray:
        """The baseline's arithmetic: fp16 products, fp32 accumulation."""
        x = (self.x[col] * self.x_scale).astype(np.float16)
        prod = (self.fp16_weights() * x).astype(np.float32)
        return prod.sum(axis=1, dtype=np.float32)


def make_layer(
    rng: np.random.Generator, *, rows: int, n: int, q: int, mu: int, batch: int = 1
) -> Layer:
    """The seeded layer; ParameterError naming the parameter out of range."""
    for name, v, lo, hi in (
        ("rows", rows, 1, 1 << 14),
        ("n", n, mu, 1 << 14),
        ("q", q, 1, 8),
        ("mu", mu, 2, 8),
        ("batch", batch, 1, 16),
    ):
        if not lo <= v <= hi:
            raise ParameterError(f"nuqmm layer: {name} = {v} must be {lo}..{hi}")
    if n % mu:
        raise ParameterError(f"nuqmm layer: n = {n} must be a multiple of mu = {mu}")
    w = rng.standard_normal((rows, n)) / np.sqrt(n)
    alphas, planes = bcq.fit(w, q)
    xf = rng.standard_normal((batch, n))
    x_scale = float(np.abs(xf).max() / 127)
    x = np.clip(np.round(xf / x_scale), -127, 127).astype(np.int8)
    step = float(alphas.max() / 65535)
    return Layer(w, alphas, planes, x, x_scale, step, mu)
