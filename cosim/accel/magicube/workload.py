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
    check(m, k, n, sparsity, v, bits)
    lo, hi = (-8, 8) if bits == 4 else (-128, 128)
    keep = rng.random((m // v, k)) >= sparsity
    a = rng.integers(lo, hi, (m // v, v, k)).astype(np.int8) * keep[:, None, :]
    a = a.reshape(m, k).astype(np.int8)
    b = rng.integers(lo, hi, (k, n)).astype(np.int8)
    return Workload(a, b, encode(a, v), bits)


def check(m: int, k: int, n: int, sparsity: float, v: int, bits: int) -> None:
    """A ParameterError naming the first parameter out of its range."""
    for name, val in (("m", m), ("k", k), ("n", n)):
        if not 16 <= val <= 4096 or val % LANES:
            raise ParameterError(f"{name} = {val}: must be a multiple of 16 in 16..4096")
    if not 0.0 <= sparsity < 1.0:
        raise ParameterError(f"sparsity = {sparsity}: must be in [0, 1)")
    if bits not in (4, 8):
        raise ParameterError(f"bits = {bits}: must be 4 or 8")
    if v not in (1, 2, 4, 8):
        raise ParameterError(f"vector length v = {v}: must be 1, 2, 4 or 8")


def golden(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C = A B in int32, from the dense operands (independent of the format)."""
    return (a.astype(np.int64) @ b.astype(np.int64)).astype(np.int32)


@dataclass
class SddmmWorkload:
    q: np.ndarray  # M x D int8 (queries)
    keys: np.ndarray  # NK x D int8
    mask: VectorSparse  # M x NK: which v-long vectors of Q K^T to compute
    bits: int


def generate_sddmm(
    rng: np.random.Generator, m: int, nk: int, d: int, sparsity: float, v: int, bits: int = 8
) -> SddmmWorkload:
    """Sparse attention scores: Q K^T sampled at a vector-sparse mask (each v x 1 vector
    kept with probability 1 - sparsity), int8 or int4 operands."""
    check(m, nk, d, sparsity, v, bits)
    lo, hi = (-8, 8) if bits == 4 else (-128, 128)
    keep = np.repeat(rng.random((m // v, nk)) >= sparsity, v, axis=0).astype(np.int8)
    q = rng.integers(lo, hi, (m, d)).astype(np.int8)
    keys = rng.integers(lo, hi, (nk, d)).astype(np.int8)
    return SddmmWorkload(q, keys, encode(keep, v), bits)


def sddmm_golden(q: np.ndarray, keys: np.ndarray, mask: VectorSparse) -> np.ndarray:
    """The kept vectors of Q K^T (int32), group by group, v values per vector."""
    full = (q.astype(np.int64) @ keys.astype(np.int64).T).astype(np.int32)
    v = mask.v
    out = [full[g * v : (g + 1) * v, c].T.reshape(-1) for g, c in enumerate(mask.cols)]
    return np.concatenate(out) if out else np.zeros(0, np.int32)
