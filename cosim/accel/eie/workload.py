"""Seeded EIE workloads: a fully connected layer compressed the Deep Compression way
(Han, Mao and Dally, ICLR 2016, the compression EIE runs on) and a ReLU-sparse input.

- Pruning: Gaussian weights, the largest |w| kept so that the density is exactly the
  requested one (magnitude pruning).
- Weight sharing: the kept weights clustered into 15 shared values by 1-D k-means with
  linear initialisation over [min, max] (the initialisation Deep Compression found best),
  quantised to int16 fixed point with `frac_bits` fractional bits; codebook index 0 is the
  weight 0 (pruned), 1..15 the shared values.
- Activations: a Gaussian passed through a shifted ReLU, the shift chosen so the density
  is the requested one, quantised to int16 with the same fixed point.

The golden model is the dense product in int64 wrapped to int32 (the engine's
accumulators wrap the same way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.accel.eie.format import CODEBOOK_SIZE
from cosim.errors import ParameterError

SHARED_WEIGHTS = CODEBOOK_SIZE - 1
KMEANS_ITERATIONS = 25


@dataclass(frozen=True)
class FcLayer:
    """b = W a with W given as codebook indices (rows x cols) and a codebook."""

    indices: np.ndarray  # uint8, rows x cols
    codebook: np.ndarray  # int16[16], codebook[0] == 0
    activations: np.ndarray  # int16[cols]

    @property
    def rows(self) -> int:
        return self.indices.shape[0]

    @property
    def cols(self) -> int:
        return self.indices.shape[1]

    @property
    def weight_density(self) -> float:
        return float(np.count_nonzero(self.indices)) / self.indices.size

    @property
    def activation_density(self) -> float:
        return float(np.count_nonzero(self.activations)) / self.cols

    def weights(self) -> np.ndarray:
        """The dense int16 weight matrix."""
        return self.codebook[self.indices]

    def golden(self, relu: bool = False) -> np.ndarray:
        """The reference output: int32 (wrapping) W @ a, with ReLU if asked."""
        out = (self.weights().astype(np.int64) @ self.activations.astype(np.int64)).astype(np.int32)
        return np.maximum(out, 0) if relu else out


def kmeans_1d(values: np.ndarray, k: int, iterations: int = KMEANS_ITERATIONS) -> np.ndarray:
    """Lloyd's k-means on a 1-D sample with linear initialisation; sorted centroids."""
    c = np.linspace(values.min(), values.max(), k)
    order = np.sort(values)
    for _ in range(iterations):
        edges = (c[1:] + c[:-1]) / 2
        assign = np.searchsorted(edges, order)
        sums = np.bincount(assign, weights=order, minlength=k)
        counts = np.bincount(assign, minlength=k)
        c = np.where(counts > 0, sums / np.maximum(counts, 1), c)
    return np.sort(c)


def make_fc_layer(
    rng: np.random.Generator,
    rows: int,
    cols: int,
    weight_density: float,
    activation_density: float,
    frac_bits: int = 10,
) -> FcLayer:
    """A pruned, weight-shared FC layer and a ReLU-sparse input vector."""
    if rows < 1 or cols < 1:
        raise ParameterError(f"eie layer: rows and cols must be >= 1, got {rows} x {cols}")
    for name, d in (("weight_density", weight_density), ("activation_density", activation_density)):
        if not 0.0 < d <= 1.0:
            raise ParameterError(f"eie layer: {name} = {d} is out of range; allowed (0, 1]")
    if not 0 <= frac_bits <= 14:
        raise ParameterError(f"eie layer: frac_bits = {frac_bits} is out of range 0..14")
    scale = float(1 << frac_bits)
    w = rng.standard_normal((rows, cols))
    keep_n = max(1, round(weight_density * w.size))
    mag = np.abs(w).ravel()
    thresh = np.partition(mag, mag.size - keep_n)[mag.size - keep_n]
    keep = np.abs(w) >= thresh
    centroids = kmeans_1d(w[keep], SHARED_WEIGHTS)
    q = np.clip(np.round(centroids * scale), -(1 << 15), (1 << 15) - 1).astype(np.int64)
    q[q == 0] = np.where(centroids[q == 0] < 0, -1, 1)  # a shared weight is never 0
    codebook = np.concatenate([[0], q]).astype(np.int16)
    edges = (centroids[1:] + centroids[:-1]) / 2
    indices = np.zeros((rows, cols), dtype=np.uint8)
    indices[keep] = np.searchsorted(edges, w[keep]) + 1
    x = rng.standard_normal(cols)
    keep_a = max(1, round(activation_density * cols))
    shift = np.partition(x, cols - keep_a)[cols - keep_a]
    a = np.where(x >= shift, np.maximum(1, np.round((x - shift) * scale)), 0)
    acts = np.clip(a, 0, (1 << 15) - 1).astype(np.int16)
    return FcLayer(indices, codebook, acts)
