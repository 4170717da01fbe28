"""DRAM images of one head: K and V as one stream of beats (k_0, v_0, k_1, v_1, ...: the
order the engine's pre-processor takes them), Q as one beat per token, results as rows of
int16 (Q8.8). A beat is `dim` int8 lanes; a head narrower than the engine is zero-padded,
which adds nothing to any dot product or sum."""

from __future__ import annotations

import numpy as np

from cosim.errors import ParameterError


def _padded(x: np.ndarray, dim: int) -> np.ndarray:
    if x.ndim != 2 or x.shape[1] > dim:
        raise ParameterError(f"vitality format: rows of {x.shape} do not fit beats of {dim} lanes")
    out = np.zeros((x.shape[0], dim), dtype=np.int8)
    out[:, : x.shape[1]] = x
    return out


def kv_image(k: np.ndarray, v: np.ndarray, dim: int) -> np.ndarray:
    """(2 N dim,) uint8: k_j then v_j for every token j."""
    if k.shape != v.shape:
        raise ParameterError(f"vitality format: K {k.shape} and V {v.shape} differ")
    pairs = np.stack([_padded(k, dim), _padded(v, dim)], axis=1)
    return pairs.reshape(-1).view(np.uint8)


def q_image(q: np.ndarray, dim: int) -> np.ndarray:
    return _padded(q, dim).reshape(-1).view(np.uint8)


def decode_out(raw: np.ndarray, tokens: int, dim: int, head_dim: int) -> np.ndarray:
    """(tokens, head_dim) int16 from the result image."""
    rows = np.asarray(raw, dtype=np.uint8)[: 2 * tokens * dim].view("<i2").reshape(tokens, dim)
    return rows[:, :head_dim].astype(np.int16)
