"""Stream images of the nuQmm engine: activations, weight patterns, scales, results.

The rows of a layer are cut into blocks of at most the engine's rows (one job each).
Block b's weight image is groups x q x rows_b pattern bytes (group-major; inside a
group plane-major, k = plane * rows_b + row: the engine's beat order); its scale image
is q x rows_b little-endian uint16 alphas (plane-major). Activations: n int8 bytes.
Results: rows little-endian int32.
"""

from __future__ import annotations

import numpy as np

from cosim.errors import ParameterError


def row_blocks(rows: int, max_rows: int) -> list[tuple[int, int]]:
    """(first row, rows) of every job: blocks of max_rows, the last one shorter."""
    return [(r, min(max_rows, rows - r)) for r in range(0, rows, max_rows)]


def weight_image(pats: np.ndarray, max_rows: int) -> np.ndarray:
    """(groups, q, rows) uint8 patterns -> uint8 bytes, block after block."""
    pats = np.asarray(pats, np.uint8)
    if pats.ndim != 3:
        raise ParameterError(f"weight image: patterns {pats.shape} must be (groups, q, rows)")
    return np.concatenate(
        [pats[:, :, r : r + n].reshape(-1) for r, n in row_blocks(pats.shape[2], max_rows)]
    )


def scale_image(alphas_fx: np.ndarray, max_rows: int) -> np.ndarray:
    """(q, rows) uint16 alphas -> uint8 bytes, block after block."""
    a = np.asarray(alphas_fx)
    if a.ndim != 2 or a.dtype != np.uint16:
        raise ParameterError(f"scale image: alphas {a.shape} {a.dtype} must be (q, rows) uint16")
    blocks = [
        a[:, r : r + n].astype("<u2").reshape(-1) for r, n in row_blocks(a.shape[1], max_rows)
    ]
    return np.concatenate(blocks).view(np.uint8)


def results(raw: np.ndarray, rows: int) -> np.ndarray:
    """(rows,) int32 from result bytes."""
    raw = np.asarray(raw, np.uint8)
    if raw.size != 4 * rows:
        raise ParameterError(f"results: {raw.size} bytes are not {rows} int32 rows")
    return raw.view("<i4").astype(np.int32)
