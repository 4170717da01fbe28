"""Data formats of the complementary sparsity accelerator: weight and id rows as the
engine loads them, activation maps (HWC int8) and result words.

A pack of N kernels is one dense kernel (taps x channels int8) plus a routing id per
position; in memory each row (pack p, tap t) is one beat of `channels` weight bytes
followed by one beat of `channels` id bytes (`packed_image`). The dense baseline's
kernels are rows of weights only (`dense_image`, row o * taps + t). Results: per output
pixel `out_beats` beats of channels/4 little-endian int32, outputs in order.
"""

from __future__ import annotations

import numpy as np

from cosim.errors import ParameterError


def packed_image(packed: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(packs, taps, channels) int8 weights and uint8 ids -> (packs*taps*2, channels)
    uint8 beats: weight row, id row, weight row, ..."""
    packed, ids = np.asarray(packed), np.asarray(ids)
    if packed.shape != ids.shape or packed.ndim != 3:
        raise ParameterError(
            f"packed image: weights {packed.shape} and ids {ids.shape} must be equal "
            "(packs, taps, channels) arrays"
        )
    p, t, c = packed.shape
    out = np.empty((p * t, 2, c), np.uint8)
    out[:, 0] = packed.reshape(p * t, c).astype(np.int8).view(np.uint8)
    out[:, 1] = ids.reshape(p * t, c).astype(np.uint8)
    return out.reshape(2 * p * t, c)


def unpack_image(image: np.ndarray, taps: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of packed_image: (weights int8, ids uint8), each (packs, taps, channels)."""
    img = np.asarray(image, np.uint8)
    rows, c = img.shape
    if rows % (2 * taps):
        raise ParameterError(f"packed image: {rows} beats are not whole packs of {taps} taps")
    pairs = img.reshape(-1, 2, c)
    w = pairs[:, 0].view(np.int8).reshape(-1, taps, c)
    return w.copy(), pairs[:, 1].reshape(-1, taps, c).copy()


def dense_image(dense: np.ndarray) -> np.ndarray:
    """(outputs, taps, channels) int8 kernels -> (outputs*taps, channels) uint8 beats."""
    d = np.asarray(dense)
    if d.ndim != 3:
        raise ParameterError(f"dense image: kernels {d.shape} must be (outputs, taps, channels)")
    return d.reshape(-1, d.shape[2]).astype(np.int8).view(np.uint8)


def results(raw: np.ndarray, pixels: int, outputs: int, channels: int) -> np.ndarray:
    """(pixels, outputs) int32 from the result bytes of `pixels` output pixels."""
    words = np.asarray(raw, np.uint8).view("<i4")
    per = -(-outputs // (channels // 4)) * (channels // 4)
    if len(words) != pixels * per:
        raise ParameterError(f"results: {len(words)} words are not {pixels} pixels of {per} words")
    return words.reshape(pixels, per)[:, :outputs].astype(np.int32)
