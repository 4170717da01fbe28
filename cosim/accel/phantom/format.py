"""Phantom's data format: a tensor as a binary mask (one bit per element, 1 = nonzero,
packed LSB first) followed by its nonzero int8 values in order (Qureshi and Munir,
arXiv:2111.05002, Sec. 3: the sparse binary mask representation). And the core's
window beats: a layer lowered to rows of weight and activation pairs, cut into windows
of `window` positions with their two masks."""

from __future__ import annotations

import numpy as np

from cosim.errors import ParameterError


def image_bytes(count: int, nonzeros: int) -> int:
    """Bytes of the image of `count` elements with `nonzeros` nonzeros (mask + values)."""
    return -(-count // 8) + nonzeros


def encode(x: np.ndarray) -> np.ndarray:
    """The image of an int8 tensor (flattened in C order): packed mask, then nonzeros."""
    flat = np.asarray(x, np.int8).reshape(-1)
    mask = flat != 0
    return np.concatenate([np.packbits(mask, bitorder="little"), flat[mask].view(np.uint8)])


def decode(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The int8 tensor of `shape` an image holds; ParameterError if it is not one."""
    count = int(np.prod(shape))
    raw = np.asarray(image, np.uint8).reshape(-1)
    head = -(-count // 8)
    if raw.size < head:
        raise ParameterError(f"phantom image: {raw.size} bytes cannot hold a {count}-bit mask")
    mask = np.unpackbits(raw[:head], bitorder="little")[:count].astype(bool)
    nnz = int(mask.sum())
    if raw.size != head + nnz:
        raise ParameterError(
            f"phantom image: {raw.size} bytes, but its mask of {count} bits has {nnz} ones "
            f"(expected {head + nnz} bytes)"
        )
    out = np.zeros(count, np.int8)
    out[mask] = raw[head:].view(np.int8)
    return out.reshape(shape)


def window_beats(w_rows: np.ndarray, a_rows: np.ndarray, window: int) -> np.ndarray:
    """Beats of rows of pairs (outputs x K, int8 each; K a multiple of `window`):
    (outputs * K / window, 2 window + 4) uint8, row by row, each beat `window` weights,
    `window` activations, then the weight mask [15:0] and activation mask [31:16]."""
    w = np.asarray(w_rows, np.int8)
    a = np.asarray(a_rows, np.int8)
    if w.shape != a.shape or w.ndim != 2:
        raise ParameterError(f"phantom beats: weight rows {w.shape} and activation rows {a.shape}")
    if w.shape[1] % window:
        raise ParameterError(
            f"phantom beats: K = {w.shape[1]} is not a multiple of the window ({window})"
        )
    n = w.size // window
    wv, av = w.reshape(n, window), a.reshape(n, window)
    weights = 1 << np.arange(window, dtype=np.uint32)
    masks = ((wv != 0) @ weights).astype(np.uint32) | ((av != 0) @ weights).astype(
        np.uint32
    ) << np.uint32(16)
    out = np.empty((n, 2 * window + 4), np.uint8)
    out[:, :window] = wv.view(np.uint8)
    out[:, window : 2 * window] = av.view(np.uint8)
    out[:, 2 * window :] = masks.astype("<u4").view(np.uint8).reshape(n, 4)
    return out
