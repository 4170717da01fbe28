"""Magicube's vector-sparse format and the engine's beat images (rtl/magicube/magicube.sv).

A sparse A (M x K) is cut into row groups of `v` rows (the strided rows); a group keeps the
columns where its v-row vector is nonzero (column index + v values, Magicube's 1-D
vectors of length v). The engine takes a group as MMA steps of `slots` vectors each (4 for
int8, 8 for int4): one 64-byte beat per step, 8 uint32 indices then the values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError

BEAT = 64  # bytes per input and result beat
LANES, TILE_ROWS = 16, 8  # MMA tile: 8 rows x 16 columns, k = slots
SLOTS = {8: 4, 4: 8}  # vectors per MMA step by operand bits (int4 doubles k)
GROUP_END = 0x80  # byte 31 of a step beat: bit 31 of index word 7


@dataclass
class VectorSparse:
    """A in the vector-sparse format: for group g, cols[g] (sorted indices of its nonzero
    vectors) and vals[g] (n_g x v int8)."""

    rows: int
    cols_total: int
    v: int
    cols: list[np.ndarray]
    vals: list[np.ndarray]

    @property
    def vectors(self) -> int:
        return sum(len(c) for c in self.cols)

    def dense(self) -> np.ndarray:
        a = np.zeros((self.rows, self.cols_total), np.int8)
        for g, (c, x) in enumerate(zip(self.cols, self.vals, strict=True)):
            a[g * self.v : (g + 1) * self.v, c] = x.T
        return a


def encode(a: np.ndarray, v: int) -> VectorSparse:
    """The vector-sparse form of dense A (rows a multiple of v): a vector is kept when
    any of its v values is nonzero."""
    m, k = a.shape
    if not 1 <= v <= TILE_ROWS or m % v:
        raise ParameterError(f"vector length v = {v}: must be 1..{TILE_ROWS} and divide {m} rows")
    groups = a.reshape(m // v, v, k)
    cols = [np.flatnonzero(grp.any(axis=0)) for grp in groups]
    vals = [grp[:, c].T.astype(np.int8) for grp, c in zip(groups, cols, strict=True)]
    return VectorSparse(m, k, v, cols, vals)


def steps(n_vectors: int, bits: int) -> int:
    """MMA steps of a group of n_vectors (at least one: an empty group still gives rows)."""
    return max(1, -(-n_vectors // SLOTS[bits]))


def step_beats(cols: np.ndarray, vals: np.ndarray, bits: int) -> np.ndarray:
    """The multiply job's input beats for one group: (steps, 64) uint8. Unused slots
    carry index 0 and zero values; the last step carries the group-end flag (bit 31 of
    index word 7)."""
    slots = SLOTS[bits]
    n = steps(len(cols), bits)
    idx = np.zeros((n * slots,), np.uint32)
    idx[: len(cols)] = cols
    a = np.zeros((n * slots, TILE_ROWS), np.int8)  # vector slot x row
    a[: len(cols), : vals.shape[1]] = vals
    beats = np.zeros((n, BEAT), np.uint8)
    ind = np.zeros((n, 8), np.uint32)
    ind[:, :slots] = idx.reshape(n, slots)
    beats[:, :32] = ind.astype("<u4").view(np.uint8).reshape(n, 32)
    a = a.reshape(n, slots, TILE_ROWS).transpose(0, 2, 1)  # step x row x slot
    if bits == 8:
        beats[:, 32:] = a.reshape(n, 32).view(np.uint8)
    else:
        nib = (a.reshape(n, 64).astype(np.uint8)) & 0xF
        beats[:, 32:] = nib[:, 0::2] | (nib[:, 1::2] << 4)
    beats[-1, 31] |= GROUP_END
    return beats


def decode_step(beat: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, values[row, slot]) of one step beat: the engine's view of it."""
    slots = SLOTS[bits]
    idx = beat[:32].view("<u4")[:slots].astype(np.int64) & 0x7FFF_FFFF
    if bits == 8:
        a = beat[32:].view(np.int8).reshape(TILE_ROWS, 4).astype(np.int64)
    else:
        nib = np.empty(64, np.int64)
        nib[0::2], nib[1::2] = beat[32:] & 0xF, beat[32:] >> 4
        a = np.where(nib >= 8, nib - 16, nib).reshape(TILE_ROWS, 8)
    return idx, a


def b_tile(b: np.ndarray, tile: int) -> np.ndarray:
    """Columns 16 tile .. 16 tile + 15 of B (K x N int8) as load beats: (K / 4, 64)."""
    return (
        np.ascontiguousarray(b[:, LANES * tile : LANES * (tile + 1)])
        .view(np.uint8)
        .reshape(-1, BEAT)
    )


def stream_image(sp: VectorSparse, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """A's DRAM image for the engine: every group's step beats, and the steps per group."""
    counts = np.array([steps(len(c), bits) for c in sp.cols], "<u4")
    beats = [step_beats(c, x, bits) for c, x in zip(sp.cols, sp.vals, strict=True)]
    return np.concatenate(beats), counts
