"""Seeded SpMM workload of Magicube's statistics (sparse attention and pruned weights: a
fraction `sparsity` of the v-long column vectors of A are zero), and its numpy golden."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError

from .format import LANES, VectorSparse, encode


@dataclass
class Workload:
    a: np.ndarray  # M x K int8 (int4 values in [-8, 7] when bits = 4)
    b: np.ndarray  # K x N int8
    sparse: VectorSparse
    bits: int


def generate(
    rng: np.random.Generator, m: int, k: int, n: int, sparsity: float, v: int, bits: int = 8
) -> Workload:
    """A with each v x 1 vector zero with probability `sparsity` (nonzero vectors have
    uniform values, possibly some zero entries), B dense; int8 or int4 values."""
    for name, val in (("m", m), ("k", k), ("n", n)):
        if not 16 <= val <= 4096 or val % LANES:
            raise ParameterError(f"{name} = {val}: must be a multiple of 16 in 16..4096")
    if not 0.0 <= sparsity < 1.0:
        raise ParameterError(f"sparsity = {sparsity}: must be in [0, 1)")
    if bits not in (4, 8):
        raise ParameterError(f"bits = {bits}: must be 4 or 8")
    if v not in (1, 2, 4, 8):
        raise ParameterError(f"vector length v = {v}: must be 1, 2, 4 or 8")
    lo, hi = (-8, 8) if bits == 4 else (-128, 128)
    keep = rng.random((m // v, k)) >= sparsity
    a = rng.integers(lo, hi, (m // v, v, k)).astype(np.int8) * keep[:, None, :]
    a = a.reshape(m, k).astype(np.int8)
    b = rng.integers(lo, hi, (k, n)).astype(np.int8)
    return Workload(a, b, encode(a, v), bits)


def golden(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C = A B in int32, from the dense operands (independent of the format)."""
    return (a.astype(np.int64) @ b.astype(np.int64)).astype(np.int32)
