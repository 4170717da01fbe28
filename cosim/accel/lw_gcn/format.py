"""LW-GCN's sparse format and the PE array's beats. PCOO (partitioned COO, Tao et al.,
TRETS 2022, Sec. 4): rows are grouped onto the PEs so their nonzero counts balance, and
each PE's nonzeros are interleaved across its rows (round k holds the k-th nonzero of
every row that has one, rows by decreasing degree) so two nonzeros of one row are at
least `acc_lat` slots apart: the accumulation never meets a read-after-write hazard (a
round of fewer than acc_lat rows is padded with empty slots). The baseline is plain
CSR on the same PEs: contiguous row blocks, each PE's nonzeros in row order.

A slot is 8 bytes: row (local to its PE) u16, col u16, val i16, flags u16 (bit 0
valid); a beat holds one slot per PE. An image is its beats, then its row map (per PE,
the global row of each local row, -1 where none) as int32 [rows][pes]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError

SLOT = np.dtype([("row", "<u2"), ("col", "<u2"), ("val", "<i2"), ("flags", "<u2")])
FORMATS = ("pcoo", "csr")


@dataclass(frozen=True)
class SlotImage:
    """Slot beats (beats, pes) of SLOT and the row map (rows, pes) of global rows."""

    beats: np.ndarray
    row_map: np.ndarray

    @property
    def pes(self) -> int:
        return self.beats.shape[1]

    @property
    def rows(self) -> int:
        return self.row_map.shape[0]

    @property
    def nnz(self) -> int:
        return int((self.beats["flags"] & 1).sum())

    def beat_bytes(self) -> np.ndarray:
        return self.beats.view(np.uint8).reshape(len(self.beats), -1)

    def image(self) -> np.ndarray:
        """The bytes in DRAM: beats, then the row map."""
        return np.concatenate(
            [
                self.beats.view(np.uint8).reshape(-1),
                self.row_map.astype("<i4").view(np.uint8).reshape(-1),
            ]
        )

    @staticmethod
    def from_image(raw: np.ndarray, beats: int, rows: int, pes: int) -> SlotImage:
        raw = np.asarray(raw, np.uint8)
        n = beats * pes * SLOT.itemsize
        if raw.size != n + 4 * rows * pes:
            raise ParameterError(f"lw_gcn image: {raw.size} bytes, expected {n + 4 * rows * pes}")
        return SlotImage(
            raw[:n].copy().view(SLOT).reshape(beats, pes),
            raw[n:].copy().view("<i4").reshape(rows, pes).astype(np.int64),
        )

    def to_coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(global rows, cols, vals) of the valid slots, in beat order."""
        b = self.beats
        valid = (b["flags"] & 1).astype(bool)
        pe = np.broadcast_to(np.arange(self.pes), b.shape)[valid]
        rows = self.row_map[b["row"][valid].astype(np.int64), pe]
        return rows, b["col"][valid].astype(np.int64), b["val"][valid].astype(np.int64)


def _check(rows: np.ndarray, cols: np.ndarray, n: int, pes: int) -> None:
    if not 1 <= pes <= 16:
        raise ParameterError(f"lw_gcn format: pes = {pes} must be 1..16")
    if n > 65536 or (len(cols) and int(cols.max()) >= 65536):
        raise ParameterError(f"lw_gcn format: {n} rows/columns, at most 65536")


def _pack(
    seqs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], owners: list[np.ndarray]
) -> SlotImage:
    """Lock-step beats of per-PE slot sequences (local row, col, val; row -1 = empty)."""
    pes = len(seqs)
    beats = np.zeros((max(1, max(len(s[0]) for s in seqs)), pes), SLOT)
    for p, (r, c, v) in enumerate(seqs):
        ok = r >= 0
        beats["row"][: len(r), p] = np.where(ok, r, 0)
        beats["col"][: len(r), p] = np.where(ok, c, 0)
        beats["val"][: len(r), p] = np.where(ok, v, 0)
        beats["flags"][: len(r), p] = ok
    rows = max(1, max(len(o) for o in owners))
    row_map = np.full((rows, pes), -1, np.int64)
    for p, o in enumerate(owners):
        row_map[: len(o), p] = o
    return SlotImage(beats, row_map)


def balanced_rows(counts: np.ndarray, pes: int) -> list[np.ndarray]:
    """Row groups: longest-processing-time first, each row to the PE with the fewest
    nonzeros so far (ties: lower PE); rows of a group ascending."""
    load = np.zeros(pes, np.int64)
    owner = np.empty(len(counts), np.int64)
    for r in np.argsort(-counts, kind="stable"):
        p = int(np.argmin(load))
        owner[r] = p
        load[p] += counts[r]
    return [np.flatnonzero(owner == p) for p in range(pes)]


def interleave(
    local: np.ndarray, cols: np.ndarray, vals: np.ndarray, acc_lat: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One PE's hazard-free order: rounds by rank within the row, rows by decreasing
    degree (a row's position is then the same in every round it is in), each round but
    the last padded to acc_lat slots; entries given in row order."""
    if not len(local):
        return local, cols, vals
    deg = np.bincount(local)
    first = np.concatenate([[0], np.cumsum(deg)[:-1]])
    rank = np.arange(len(local)) - first[local]
    pos = np.empty(len(deg), np.int64)
    pos[np.argsort(-deg, kind="stable")] = np.arange(len(deg))
    size = np.bincount(rank)  # rows in each round
    width = np.maximum(size, acc_lat)
    width[-1] = size[-1]
    start = np.concatenate([[0], np.cumsum(width)[:-1]])
    at = start[rank] + pos[local]
    r = np.full(int(width.sum()), -1, np.int64)
    c = np.zeros_like(r)
    v = np.zeros_like(r)
    r[at], c[at], v[at] = local, cols, vals
    return r, c, v


def encode(
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    n: int,
    pes: int,
    fmt: str = "pcoo",
    acc_lat: int = 4,
) -> SlotImage:
    """The slot image of an n-row sparse matrix (COO sorted by row then column)."""
    rows, cols, vals = (np.asarray(a, np.int64) for a in (rows, cols, vals))
    _check(rows, cols, n, pes)
    counts = np.bincount(rows, minlength=n)
    if fmt == "pcoo":
        owners = balanced_rows(counts, pes)
    elif fmt == "csr":
        owners = [np.arange(n)[p * n // pes : (p + 1) * n // pes] for p in range(pes)]
    else:
        raise ParameterError(f"lw_gcn format: format = {fmt!r} must be one of {FORMATS}")
    owner = np.empty(n, np.int64)
    local = np.empty(n, np.int64)
    for p, o in enumerate(owners):
        owner[o], local[o] = p, np.arange(len(o))
    seqs = []
    for p in range(pes):
        sel = owner[rows] == p
        lr, c, v = local[rows[sel]], cols[sel], vals[sel]
        order = np.lexsort((c, lr))
        lr, c, v = lr[order], c[order], v[order]
        seqs.append(interleave(lr, c, v, acc_lat) if fmt == "pcoo" else (lr, c, v))
    return _pack(seqs, owners)


def dense_slots(x: np.ndarray, pes: int) -> tuple[np.ndarray, np.ndarray]:
    """Slot beats of a dense matrix x (n, k) for the product x W: row i on PE i % pes as
    local row i // pes, column by column (so a row recurs every ceil(n / pes) beats);
    beat r*pes + p of the results is then row r*pes + p. Returns (beats, rows per PE)."""
    n, k = x.shape
    rows = -(-n // pes)
    beats = np.zeros((k, rows, pes), SLOT)
    flat = np.zeros((rows * pes, k), np.int64)
    flat[:n] = x
    grid = flat.reshape(rows, pes, k).transpose(2, 0, 1)
    beats["row"] = np.arange(rows)[None, :, None]
    beats["col"] = np.arange(k)[:, None, None]
    beats["val"] = grid
    beats["flags"] = (np.arange(rows * pes).reshape(rows, pes) < n)[None]
    return beats.reshape(k * rows, pes), rows


def feature_beats(features: np.ndarray, pes: int) -> np.ndarray:
    """Feature-load beats of int16 rows (row-major), zero-padded to whole beats."""
    flat = np.asarray(features, np.int16).reshape(-1)
    per = 4 * pes
    out = np.zeros(-(-flat.size // per) * per, np.int16)
    out[: flat.size] = flat
    return out.view(np.uint8).reshape(-1, 8 * pes)


def ideal_issue(image: SlotImage, acc_lat: int) -> tuple[int, int]:
    """(issue cycles, stall cycles) of the image's beats fed back to back: a beat issues
    one cycle after the previous one, or acc_lat cycles after the last issue of any of
    its rows (the RTL's rule, in numpy for the analysis and the bound)."""
    b = image.beats
    valid = (b["flags"] & 1).astype(bool)
    key = np.where(valid, b["row"].astype(np.int64) * image.pes + np.arange(image.pes), -1)
    last = np.full(image.rows * image.pes, -(1 << 40), np.int64)
    t = stalls = 0
    for beat in key:
        k = beat[beat >= 0]
        go = max(t + 1, int(last[k].max()) + acc_lat) if len(k) else t + 1
        stalls += go - t - 1
        last[k] = go
        t = go
    return t, stalls
