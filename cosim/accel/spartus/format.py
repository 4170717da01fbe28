"""Column-balanced sparse weights (Spartus's CBTD format) and their stream images.

The gate weights are one matrix W of 4*hidden rows (gates i, f, g, o) by inputs+hidden
columns (x, then h). Lane l of `lanes` owns rows [l*rpl, (l+1)*rpl), rpl = 4*hidden/lanes.
Column-balanced targeted dropout keeps, in every column and every lane's block, the same
count `kpl` of the largest-magnitude weights (Spartus, TNNLS'22, Sec. III-B), so a column
costs every lane exactly kpl MACs. The image: column by column, kpl words per column, each
word one 16-bit entry per lane: the int8 weight (Q6) in [7:0], its row offset inside the
lane's block in [15:8]."""

from __future__ import annotations

import numpy as np

from cosim.errors import ParameterError


def rows_per_lane(hidden: int, lanes: int) -> int:
    if (4 * hidden) % lanes:
        raise ParameterError(f"lanes = {lanes} must divide 4*hidden = {4 * hidden}")
    return 4 * hidden // lanes


def kept_per_lane(rpl: int, sparsity: float) -> int:
    """Nonzeros each lane keeps per column for a target weight sparsity (at least 1)."""
    if not 0.0 <= sparsity < 1.0:
        raise ParameterError(f"weight_sparsity = {sparsity} must be in [0, 1)")
    return max(1, min(rpl, round(rpl * (1.0 - sparsity))))


def balanced_prune(w: np.ndarray, lanes: int, kpl: int) -> np.ndarray:
    """Keep the kpl largest |w| of every column in every lane's block (ties: lower row)."""
    rows, cols = w.shape
    if rows % lanes or not 1 <= kpl <= rows // lanes:
        raise ParameterError(f"kpl = {kpl} must be 1..{rows // lanes} (rows {rows}, lanes {lanes})")
    blocks = w.reshape(lanes, rows // lanes, cols)
    order = np.argsort(-np.abs(blocks), axis=1, kind="stable")[:, :kpl, :]
    keep = np.zeros(blocks.shape, bool)
    np.put_along_axis(keep, order, True, axis=1)
    return np.where(keep, blocks, 0).reshape(rows, cols).astype(w.dtype)


def weight_image(w: np.ndarray, lanes: int, kpl: int) -> np.ndarray:
    """The load stream of a balanced matrix: (cols*kpl, lanes) uint16 words."""
    rows, cols = w.shape
    rpl = rows // lanes
    if np.any(w < -128) or np.any(w > 127):
        raise ParameterError("weights must be int8 (Q6)")
    blocks = w.reshape(lanes, rpl, cols)
    nnz = np.count_nonzero(blocks, axis=1)
    if np.any(nnz > kpl):
        raise ParameterError(f"a column holds {int(nnz.max())} nonzeros in one lane; kpl = {kpl}")
    # the kept rows of each (lane, column), in row order, padded with zero weights
    order = np.argsort(blocks == 0, axis=1, kind="stable")[:, :kpl, :]  # nonzeros first
    vals = np.take_along_axis(blocks, order, axis=1)  # (lanes, kpl, cols)
    words = (vals.astype(np.int64) & 0xFF) | (order.astype(np.int64) << 8)
    return np.ascontiguousarray(words.transpose(2, 1, 0).reshape(cols * kpl, lanes)).astype(
        np.uint16
    )


def decode_image(image: np.ndarray, rows: int, cols: int, lanes: int, kpl: int) -> np.ndarray:
    """The matrix a load stream holds (the inverse of weight_image, for tests)."""
    words = image.reshape(cols, kpl, lanes).astype(np.int64)
    w = np.zeros((rows, cols), np.int64)
    rpl = rows // lanes
    val = ((words & 0xFF) ^ 0x80) - 0x80
    for lane in range(lanes):
        for k in range(kpl):
            np.add.at(w, (lane * rpl + (words[:, k, lane] >> 8), np.arange(cols)), val[:, k, lane])
    return w


def dense_image(w: np.ndarray, lanes: int) -> np.ndarray:
    """The load stream of a dense matrix (a load with CTRL dense): every row of every lane's
    block, int8 only (word k of a column is row k of each block), two words a beat:
    (cols*rpl/2, 2*lanes) int8."""
    rows, cols = w.shape
    rpl = rows // lanes
    if rows % lanes or rpl % 2:
        raise ParameterError(f"a dense image needs an even 4*hidden/lanes, got {rows}/{lanes}")
    if np.any(w < -128) or np.any(w > 127):
        raise ParameterError("weights must be int8 (Q6)")
    words = w.reshape(lanes, rpl, cols).transpose(2, 1, 0)  # (cols, rpl, lanes)
    return np.ascontiguousarray(words.reshape(cols * rpl // 2, 2 * lanes)).astype(np.int8)
