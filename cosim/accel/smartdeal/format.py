"""SmartDeal's weight storage format (Chen et al., "SmartDeal: Re-Modeling Deep Network
Weights for Efficient Inference and Training", IEEE TNNLS 2022): every 3x3 filter is
W = Ce x B, a 3x3 int8 basis B and coefficients Ce whose nonzeros are signed powers of
two, with whole rows of Ce zero (structured sparsity). The rebuild engine turns it back
into int8 weights by shift-add; this module holds the format, its stream image and the
integer rebuild that is the golden model of the engine.

Filter o, input channel ci, kernel row r: Ce row i = 3 ci + r (3 codes), weights
W[o, ci, r, s] = sat8((sum_j term_j,s + round) >> SHIFT), term_j,s = +-(B[j, s] << (m_j - 1))
for a code with magnitude m_j in 1..7 (0: no term). A code is 4 bits: [3] sign, [2:0] m.

Stream image of one filter, in 48-bit beats (6 bytes, little-endian):
  2 basis beats   B row-major as int8 (bytes 0..8; bytes 9..11 zero);
  ceil(rows/48)   mask beats: bit i of beat b says Ce row 48 b + i is stored;
  ceil(kept/4)    code beats: stored row t at bits [12 (t % 4), +12), code j at +4 j.
A tile's image is its filters' images back to back (docs/accelerators/smartdeal.md).
"""

from __future__ import annotations

import numpy as np

from cosim.errors import ParameterError

TAPS = 3  # a 3x3 kernel: rows of 3 taps, a 3x3 basis
BEAT_BYTES = 6
MASK_BITS = 8 * BEAT_BYTES  # mask bits per beat
ROWS_PER_CODE_BEAT = 4  # 12-bit stored rows per 48-bit beat
BASIS_BEATS = 2
MAX_MAGNITUDE = 7  # codes 1..7: 2^0 .. 2^6 before the shift
MAX_SHIFT = 7


def mask_beats(rows: int) -> int:
    return -(-rows // MASK_BITS)


def code_beats(kept: int) -> int:
    return -(-kept // ROWS_PER_CODE_BEAT)


def filter_beats(rows: int, kept: int) -> int:
    """Beats of one filter's image with `kept` of its `rows` Ce rows stored."""
    return BASIS_BEATS + mask_beats(rows) + code_beats(kept)


def filter_bytes(rows: int, kept: int) -> int:
    return BEAT_BYTES * filter_beats(rows, kept)


def code_values(codes: np.ndarray, shift: int) -> np.ndarray:
    """The real value of each 4-bit code: +-2^(m - 1 - shift), 0 for m = 0."""
    c = np.asarray(codes, np.int64)
    m = c & 7
    v = np.where(m > 0, np.ldexp(1.0, (m - 1 - shift).astype(np.int32)), 0.0)
    return np.where(c & 8, -v, v)


def rebuild(codes: np.ndarray, basis: np.ndarray, shift: int) -> np.ndarray:
    """The integer rebuild: codes (..., rows, 3) uint8 and basis (..., 3, 3) int8 ->
    weights (..., rows, 3) int8 (written from the definition above, not from the RTL)."""
    if not 0 <= shift <= MAX_SHIFT:
        raise ParameterError(f"rebuild shift = {shift} must be 0..{MAX_SHIFT}")
    c = np.asarray(codes, np.int64)
    b = np.asarray(basis, np.int64)
    m = c & 7
    sign = np.where(c & 8, -1, 1)
    # term[..., i, j, s] = sign * B[j, s] << (m - 1)
    mag = np.where(m > 0, np.left_shift(1, np.maximum(m - 1, 0)), 0)
    terms = (sign * mag)[..., :, :, None] * b[..., None, :, :]
    acc = terms.sum(axis=-2)
    if shift:
        acc = (acc + (1 << (shift - 1))) >> shift
    return np.clip(acc, -128, 127).astype(np.int8)


def filter_image(codes: np.ndarray, mask: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """One filter's stream image (uint8): codes (rows, 3), mask (rows,) bool, basis (3, 3).
    Rows not in the mask are not stored (their codes must be 0)."""
    codes = np.asarray(codes, np.uint8)
    mask = np.asarray(mask, bool)
    rows = len(mask)
    if codes.shape != (rows, TAPS) or np.any(codes[~mask]):
        raise ValueError("codes must be (rows, 3) and zero in rows the mask leaves out")
    kept = int(mask.sum())
    out = np.zeros(filter_bytes(rows, kept), np.uint8)
    out[:9] = np.asarray(basis, np.int8).reshape(-1).view(np.uint8)
    at = BASIS_BEATS * BEAT_BYTES
    bits = np.zeros(mask_beats(rows) * MASK_BITS, np.uint8)
    bits[:rows] = mask
    out[at : at + len(bits) // 8] = np.packbits(bits, bitorder="little")
    at += len(bits) // 8
    stored = codes[mask]
    words = np.zeros(code_beats(kept) * ROWS_PER_CODE_BEAT, np.uint64)
    words[:kept] = (
        stored[:, 0].astype(np.uint64)
        | stored[:, 1].astype(np.uint64) << np.uint64(4)
        | stored[:, 2].astype(np.uint64) << np.uint64(8)
    )
    for b in range(code_beats(kept)):
        w = 0
        for t in range(ROWS_PER_CODE_BEAT):
            w |= int(words[b * ROWS_PER_CODE_BEAT + t]) << (12 * t)
        out[at : at + BEAT_BYTES] = np.frombuffer(w.to_bytes(BEAT_BYTES, "little"), np.uint8)
        at += BEAT_BYTES
    return out


def parse_filter(image: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(codes (rows, 3), mask (rows,), basis (3, 3), bytes used) of the filter image at
    the start of `image`: the inverse of filter_image()."""
    raw = np.asarray(image, np.uint8)
    basis = raw[:9].view(np.int8).reshape(TAPS, TAPS).copy()
    at = BASIS_BEATS * BEAT_BYTES
    nm = mask_beats(rows)
    mask = np.unpackbits(raw[at : at + nm * BEAT_BYTES], bitorder="little")[:rows].astype(bool)
    at += nm * BEAT_BYTES
    kept = int(mask.sum())
    codes = np.zeros((rows, TAPS), np.uint8)
    stored = np.zeros((kept, TAPS), np.uint8)
    for b in range(code_beats(kept)):
        w = int.from_bytes(raw[at : at + BEAT_BYTES].tobytes(), "little")
        for t in range(ROWS_PER_CODE_BEAT):
            r = b * ROWS_PER_CODE_BEAT + t
            if r < kept:
                stored[r] = [(w >> (12 * t + 4 * j)) & 0xF for j in range(TAPS)]
        at += BEAT_BYTES
    codes[mask] = stored
    return codes, mask, basis, at


def dense_bytes(cin: int, cout: int) -> int:
    """Bytes of the layer's weights as int8 (the baseline's image)."""
    return cout * cin * TAPS * TAPS


def traffic_ratio_bound(cin: int, cout: int, kept: int) -> float:
    """Dense int8 bytes over this format's bytes, every filter storing `kept` Ce rows:
    the weight traffic ratio when the compressed image is read once and nothing else."""
    return dense_bytes(cin, cout) / (cout * filter_bytes(TAPS * cin, kept))


def check_rows(rows: int) -> int:
    if rows < 1:
        raise ParameterError(f"rows = {rows} must be >= 1")
    return rows
