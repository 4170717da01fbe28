"""S2TA's density-bound blocks (Liu et al., "S2TA: Exploiting Structured Sparsity for
Energy-Efficient Mobile CNN Acceleration", HPCA 2022) and the byte images of the
engine's streams (see rtl/s2ta/s2ta.sv).

DBB: a tensor is cut into blocks of BLOCK = 8 consecutive values along the reduction
dimension K; a block holds at most `nnz` nonzeros. Weights are pruned to W-DBB offline
(`dbb_prune`: the nnz largest magnitudes of every block are kept, ties to the lower
position); activations are pruned to A-DBB at run time by the engine's pruner, which
keeps the nnz largest magnitudes of each block the same way (`dbb_prune` is its golden
model).

Streams (one beat per block of K):
- activation beat: row i's 8 int8 values at bytes [8i, 8i + 8), ROWS rows;
- weight beat: column j's W-DBB block at bytes [(1 + w_nnz) j, (1 + w_nnz)(j + 1)): a
  mask byte (bit p: position p kept), then the kept values in position order, zeros in
  the unused value bytes;
- result beat: row i of C, COLS little-endian int32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError

BLOCK = 8
MAX_BEAT_BITS = 1024


@dataclass(frozen=True)
class S2taGeometry:
    """Build-time shape of the S2TA engine (the RTL's parameters): a rows x cols array of
    tensor PEs and weight blocks of w_nnz kept values."""

    rows: int = 8
    cols: int = 8
    w_nnz: int = 4

    def __post_init__(self) -> None:
        for name, v, lo, hi in (
            ("rows", self.rows, 1, 16),
            ("cols", self.cols, 1, 16),
            ("w_nnz", self.w_nnz, 1, BLOCK),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ParameterError(f"s2ta: {name} = {v!r} is out of range; allowed {lo}..{hi}")
        if self.cols * self.weight_block_bytes * 8 > MAX_BEAT_BITS:
            raise ParameterError(
                f"s2ta: a weight beat of {self.cols} columns x {self.weight_block_bytes} bytes "
                f"exceeds {MAX_BEAT_BITS} bits; use fewer columns or a smaller w_nnz"
            )

    @property
    def weight_block_bytes(self) -> int:
        return 1 + self.w_nnz

    @property
    def act_beat_bytes(self) -> int:
        return BLOCK * self.rows

    @property
    def weight_beat_bytes(self) -> int:
        return self.cols * self.weight_block_bytes


def check_k(k: int) -> int:
    if k < BLOCK or k % BLOCK:
        raise ParameterError(f"s2ta: K = {k} must be a positive multiple of {BLOCK}")
    return k


def _block_rank(x: np.ndarray, axis: int) -> np.ndarray:
    """Rank (0 = kept first) of every value inside its block of 8 along `axis`: larger
    magnitude first, ties to the lower position."""
    moved = np.moveaxis(np.asarray(x), axis, -1)
    k = moved.shape[-1]
    check_k(k)
    blocks = moved.reshape(*moved.shape[:-1], k // BLOCK, BLOCK).astype(np.int64)
    mag = np.abs(blocks)
    # Sort key: magnitude descending, then position ascending.
    key = -mag * BLOCK + np.arange(BLOCK)
    order = np.argsort(key, axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(BLOCK), axis=-1)
    return np.moveaxis(rank.reshape(moved.shape), -1, axis)


def dbb_prune(x: np.ndarray, nnz: int, axis: int) -> np.ndarray:
    """x with only the `nnz` largest-magnitude values of every block of 8 along `axis`
    kept (ties to the lower position), the rest set to 0."""
    if not 1 <= nnz <= BLOCK:
        raise ParameterError(f"s2ta: nnz = {nnz} is out of range; allowed 1..{BLOCK}")
    x = np.asarray(x)
    return np.where(_block_rank(x, axis) < nnz, x, 0).astype(x.dtype)


def is_dbb(x: np.ndarray, nnz: int, axis: int) -> bool:
    """Every block of 8 along `axis` holds at most nnz nonzeros."""
    moved = np.moveaxis(np.asarray(x), axis, -1)
    blocks = moved.reshape(*moved.shape[:-1], -1, BLOCK)
    return bool(np.all(np.count_nonzero(blocks, axis=-1) <= nnz))


def golden(a: np.ndarray, w: np.ndarray, a_nnz: int) -> np.ndarray:
    """What the engine computes: the A-DBB-pruned activations times W, int32 (wrapping)."""
    ap = dbb_prune(np.asarray(a, np.int8), a_nnz, axis=1)
    return (ap.astype(np.int64) @ np.asarray(w, np.int64)).astype(np.int32)


def weight_beats(w_tile: np.ndarray, geometry: S2taGeometry) -> np.ndarray:
    """The weight stream of one column tile (K x cols of a W-DBB matrix): K/8 beats."""
    g = geometry
    w = np.asarray(w_tile, np.int8)
    k, cols = w.shape
    check_k(k)
    if cols != g.cols:
        raise ParameterError(f"s2ta: a weight tile has {cols} columns, the array {g.cols}")
    if not is_dbb(w, g.w_nnz, axis=0):
        raise ParameterError(
            f"s2ta: the weights are not W-DBB {g.w_nnz}/{BLOCK} (a block has more nonzeros)"
        )
    blocks = w.T.reshape(cols, k // BLOCK, BLOCK).transpose(1, 0, 2)  # (KB, cols, 8)
    nz = blocks != 0
    out = np.zeros((k // BLOCK, cols, g.weight_block_bytes), dtype=np.uint8)
    out[..., 0] = np.packbits(nz, axis=-1, bitorder="little")[..., 0]
    slot = np.cumsum(nz, axis=-1) - 1  # value slot of each kept position
    kb, c, p = np.nonzero(nz)
    out[kb, c, 1 + slot[kb, c, p]] = blocks[kb, c, p].view(np.uint8)
    return out.reshape(-1)


def act_beats(a_tile: np.ndarray, geometry: S2taGeometry) -> np.ndarray:
    """The activation stream of one row tile (rows x K, dense int8): K/8 beats."""
    a = np.asarray(a_tile, np.int8)
    rows, k = a.shape
    check_k(k)
    if rows != geometry.rows:
        raise ParameterError(f"s2ta: an activation tile has {rows} rows, the array {geometry.rows}")
    return a.reshape(rows, k // BLOCK, BLOCK).transpose(1, 0, 2).reshape(-1).view(np.uint8)


def results(raw: np.ndarray, cols: int) -> np.ndarray:
    """Result-stream bytes as an int32 matrix of `cols` columns."""
    return np.frombuffer(np.ascontiguousarray(raw).tobytes(), dtype="<i4").reshape(-1, cols)
