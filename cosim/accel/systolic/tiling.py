"""A whole GEMM as one job of the systolic array: the operand beats of every fold, in
order, and C rebuilt from the result rows (the array's operand formatter and output
accumulator). The fold order and shapes are those of cosim.accel.systolic.model.Mapping.

  OS: per (row tile i, column tile j): K beats (column k of A's tile, row k of B's tile);
      rows result rows = C's tile.
  WS: per (K tile, column tile j): the B tile (stationary), then the M rows of A's K tile;
      M rows of partial sums of C's column tile, summed over the K tiles.
  IS: per (K tile, row tile i): A's tile transposed (stationary), then the N columns of
      B's K tile; N rows of partial sums of C's row tile transposed, summed likewise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.accel.systolic.engine import SystolicLayout
from cosim.accel.systolic.model import Mapping


@dataclass(frozen=True)
class GemmJob:
    """One array job: DEPTH, FOLDS, the operand beats (uint8) and the result rows."""

    mapping: Mapping
    depth: int
    folds: int
    beats: np.ndarray
    result_rows: int


def _tile(x: np.ndarray, r0: int, c0: int, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), np.int8)
    part = x[r0 : r0 + rows, c0 : c0 + cols]
    out[: part.shape[0], : part.shape[1]] = part
    return out


def gemm_job(layout: SystolicLayout, a: np.ndarray, b: np.ndarray) -> GemmJob:
    """The job computing A (M x K int8) @ B (K x N int8) on an array of `layout`."""
    a = np.asarray(a, np.int8)
    b = np.asarray(b, np.int8)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul shapes {a.shape} and {b.shape} do not chain")
    (m, k), n = a.shape, b.shape[1]
    r, c = layout.rows, layout.cols
    mp = Mapping(layout.dataflow, r, c, m, n, k)
    t = mp.temporal
    parts = []
    if layout.dataflow == "OS":
        for i in range(0, m, r):
            for j in range(0, n, c):
                parts.append(layout.beats(_tile(a, i, 0, r, k).T, _tile(b, 0, j, k, c), k))
        rows = mp.folds * r
    elif layout.dataflow == "WS":
        for kk in range(0, k, r):
            stream = _tile(a, 0, kk, m, r)
            for j in range(0, n, c):
                parts.append(layout.stationary_beats(_tile(b, kk, j, r, c)))
                parts.append(layout.beats(stream, None, m))
        rows = mp.folds * m
    else:
        bt = b.T
        for kk in range(0, k, r):
            stream = _tile(bt, 0, kk, n, r)
            for i in range(0, m, c):
                parts.append(layout.stationary_beats(_tile(a, i, kk, c, r).T))
                parts.append(layout.beats(stream, None, n))
        rows = mp.folds * n
    return GemmJob(mp, t, mp.folds, np.concatenate(parts), rows)


def gemm_result(layout: SystolicLayout, job: GemmJob, rows: np.ndarray) -> np.ndarray:
    """C (M x N int32) from the job's result rows (an int32 matrix of layout.cols columns),
    summing partial sums in int32 (wrapping like an int32 accumulator)."""
    mp = job.mapping
    r, c = layout.rows, layout.cols
    m, n = mp.m, mp.n
    rows = np.asarray(rows, np.int64).reshape(job.folds, -1, c)
    if layout.dataflow == "OS":
        grid = rows.reshape(mp.row_folds, mp.col_folds, r, c).transpose(0, 2, 1, 3)
        full = grid.reshape(mp.row_folds * r, mp.col_folds * c)
        return full[:m, :n].astype(np.int32)
    if layout.dataflow == "WS":
        part = rows.reshape(mp.row_folds, mp.col_folds, m, c).sum(axis=0)
        full = part.transpose(1, 0, 2).reshape(m, mp.col_folds * c)
        return full[:, :n].astype(np.int64).astype(np.int32)
    part = rows.reshape(mp.row_folds, mp.col_folds, n, c).sum(axis=0)  # (m tiles, N, c)
    full = part.transpose(0, 2, 1).reshape(mp.col_folds * c, n)
    return full[:m].astype(np.int32)
