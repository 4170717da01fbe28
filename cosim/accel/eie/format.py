"""EIE's data formats (Han et al., "EIE: Efficient Inference Engine on Compressed Deep
Neural Network", ISCA 2016, Sections III and IV) and the byte images the engine's
streams carry.

Compressed layer. W (rows x cols) is given as 4-bit codebook indices into 16 shared int16
weights (weight sharing, Deep Compression); index 0 is the weight 0 (pruned). Row i
belongs to PE i % pes (rows interleaved over the PEs); PE k's local row r is global row
r * pes + k. Each PE stores its slice column by column (CSC):

- an entry is one byte, (z << 4) | index: the codebook index and the relative row index
  z = number of zero rows since the previous entry of the column (since local row 0 for
  the first), so local row = z for the first entry and previous + z + 1 after it;
- a gap of more than 15 zeros is bridged by padding entries (index 0, z = 15: a stored
  zero 16 rows on), the "padding zero" of the paper;
- pointers[j] is the entry address where column j starts; pointers[cols] the end.

Matrix memory words are 64 bits: entry e is byte e % 8 of word e // 8 (8 entries per
read, as the paper's 64-bit sparse-matrix SRAM). In the dense baseline mode every local
row of a column is stored as a bare 4-bit index (16 per word, nibble e % 16 of word
e // 16), column after column.

Load stream packets (64-bit little-endian beats, see rtl/eie/eie.sv): a header beat
[1:0] target, [15:8] PE (255 = every PE), [39:16] start address, [63:40] data beats,
then the data beats: pointer pairs (two 32-bit pointers), matrix words, or four int16
codebook entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError

CODEBOOK_SIZE = 16
MAX_RELATIVE = 15
PADDING_ENTRY = MAX_RELATIVE << 4  # index 0 (weight 0), z = 15
SPARSE_ENTRIES_PER_WORD = 8
DENSE_ENTRIES_PER_WORD = 16
ACT_GROUP = 16  # activations per broadcast-buffer group (one 256-bit beat)
BEAT_BYTES = 8  # load-stream beat
ACT_BEAT_BYTES = 2 * ACT_GROUP

TARGET_POINTERS, TARGET_MATRIX, TARGET_CODEBOOK = 0, 1, 2
ALL_PES = 255
MAX_COUNT = (1 << 24) - 1


def _check_int(name: str, value: object, lo: int, hi: int, where: str = "eie") -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParameterError(f"{where}: {name} must be an integer in {lo}..{hi}, got {value!r}")
    if not lo <= int(value) <= hi:
        raise ParameterError(f"{where}: {name} = {value} is out of range; allowed {lo}..{hi}")
    return int(value)


def _power_of_two(name: str, value: int, lo: int, hi: int) -> int:
    _check_int(name, value, lo, hi)
    if value & (value - 1):
        raise ParameterError(f"eie: {name} = {value} must be a power of two in {lo}..{hi}")
    return value


@dataclass(frozen=True)
class EieGeometry:
    """Build-time shape of an EIE engine (the RTL's parameters).

    pes: processing elements (1..32; the paper's chip has 64, result beats here carry one
    32-bit lane per PE in at most 1024 bits); fifo_depth: activation queue entries per PE
    (1..64; the paper chose 8); act_depth: activations the broadcast buffer holds (the
    most columns a layer may have; power of two); mat_words: 64-bit words of each PE's
    sparse-matrix memory; rows_max: accumulators per PE (power of two)."""

    pes: int = 8
    fifo_depth: int = 8
    act_depth: int = 2048
    mat_words: int = 8192
    rows_max: int = 1024

    def __post_init__(self) -> None:
        _check_int("pes", self.pes, 1, 32)
        _check_int("fifo_depth", self.fifo_depth, 1, 64)
        _power_of_two("act_depth", self.act_depth, 16, 1 << 16)
        _check_int("mat_words", self.mat_words, 2, 1 << 20)
        _power_of_two("rows_max", self.rows_max, 16, 1 << 16)

    def local_rows(self, rows: int) -> int:
        """Accumulators each PE needs for a layer of `rows` outputs."""
        return -(-rows // self.pes)

    @property
    def mat_bytes(self) -> int:
        """Capacity of one PE's sparse-matrix memory in bytes."""
        return 8 * self.mat_words


@dataclass(frozen=True)
class PeSlice:
    """One PE's share of a compressed layer: CSC pointers (cols + 1) and entry bytes."""

    pointers: np.ndarray  # int64
    entries: np.ndarray  # uint8

    @property
    def words(self) -> int:
        return -(-len(self.entries) // SPARSE_ENTRIES_PER_WORD)


@dataclass(frozen=True)
class CompressedLayer:
    """A layer in EIE's format for `pes` PEs (see the module docstring)."""

    rows: int
    cols: int
    pes: int
    codebook: np.ndarray  # int16[16], codebook[0] == 0
    slices: tuple[PeSlice, ...]

    @property
    def stored_entries(self) -> int:
        """Entries in all PEs, padding included."""
        return sum(len(s.entries) for s in self.slices)

    @property
    def padding_entries(self) -> int:
        return sum(int(np.count_nonzero((s.entries & 0xF) == 0)) for s in self.slices)

    @property
    def nonzeros(self) -> int:
        return self.stored_entries - self.padding_entries

    @property
    def local_rows(self) -> int:
        return -(-self.rows // self.pes)

    def indices(self) -> np.ndarray:
        """The codebook-index matrix (rows x cols, uint8) the layer encodes."""
        out = np.zeros((self.local_rows * self.pes, self.cols), dtype=np.uint8)
        for k, s in enumerate(self.slices):
            col, local_row, idx = decode_slice(s)
            out[local_row * self.pes + k, col] = idx
        return out[: self.rows]

    def weights(self) -> np.ndarray:
        """The dense int16 weight matrix the layer encodes."""
        return self.codebook[self.indices()]


def check_codebook(codebook: np.ndarray) -> np.ndarray:
    cb = np.asarray(codebook)
    if cb.shape != (CODEBOOK_SIZE,):
        raise ParameterError(f"eie: the codebook must hold {CODEBOOK_SIZE} values, got {cb.shape}")
    if cb.min() < -(1 << 15) or cb.max() >= 1 << 15:
        raise ParameterError("eie: codebook values must fit int16")
    if cb[0] != 0:
        raise ParameterError(
            f"eie: codebook[0] must be 0 (index 0 marks pruned weights and padding), got {cb[0]}"
        )
    return cb.astype(np.int16)


def encode(indices: np.ndarray, codebook: np.ndarray, pes: int) -> CompressedLayer:
    """Compress a (rows x cols) matrix of 4-bit codebook indices for `pes` PEs."""
    idx = np.asarray(indices)
    if idx.ndim != 2 or idx.size == 0:
        raise ParameterError(f"eie: the index matrix must be 2-D and non-empty, got {idx.shape}")
    if idx.min() < 0 or idx.max() >= CODEBOOK_SIZE:
        raise ParameterError("eie: weight indices must be 0..15 (4-bit codebook indices)")
    _check_int("pes", pes, 1, 32)
    cb = check_codebook(codebook)
    rows, cols = idx.shape
    slices = []
    for k in range(pes):
        sub = idx[k::pes].astype(np.uint8)
        # Nonzeros in column-major order: sorted by column, then local row.
        col, row = np.nonzero(sub.T)
        val = sub[row, col]
        prev = np.full(len(row), -1, dtype=np.int64)
        same = np.zeros(len(row), dtype=bool)
        same[1:] = col[1:] == col[:-1]
        prev[same] = row[:-1][same[1:]]
        gap = row - prev - 1
        pads = gap // (MAX_RELATIVE + 1)
        z = gap % (MAX_RELATIVE + 1)
        counts = pads + 1
        ends = np.cumsum(counts)
        entries = np.full(int(ends[-1]) if len(ends) else 0, PADDING_ENTRY, dtype=np.uint8)
        entries[ends - 1] = ((z << 4) | val).astype(np.uint8)
        per_col = np.bincount(col, weights=counts, minlength=cols).astype(np.int64)
        pointers = np.concatenate([[0], np.cumsum(per_col)]).astype(np.int64)
        slices.append(PeSlice(pointers, entries))
    return CompressedLayer(rows, cols, pes, cb, tuple(slices))


def decode_slice(s: PeSlice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(column, local row, codebook index) of every stored entry of one PE, padding
    included (its index is 0)."""
    counts = np.diff(s.pointers)
    col = np.repeat(np.arange(len(counts)), counts)
    e = s.entries.astype(np.int64)
    step = (e >> 4) + 1
    run = np.cumsum(step)
    # Local row = sum of (z+1) over the column's entries so far, minus 1.
    base = np.zeros(len(counts), dtype=np.int64)
    starts = s.pointers[:-1]
    nonempty = counts > 0
    base[nonempty] = np.where(starts[nonempty] > 0, run[starts[nonempty] - 1], 0)
    row = run - np.repeat(base, counts) - 1
    return col, row, (e & 0xF).astype(np.uint8)


# --------------------------------------------------------------------------- images


def header(target: int, pe: int, address: int, count: int) -> int:
    """A load-stream header beat."""
    if target not in (TARGET_POINTERS, TARGET_MATRIX, TARGET_CODEBOOK):
        raise ParameterError(f"eie: load target must be 0, 1 or 2, got {target}")
    _check_int("load PE", pe, 0, 255)
    _check_int("load address", address, 0, (1 << 24) - 1)
    _check_int("load beat count", count, 0, MAX_COUNT)
    return target | pe << 8 | address << 16 | count << 40


def _packet(target: int, pe: int, address: int, beats: np.ndarray) -> list[np.ndarray]:
    beats = np.asarray(beats, dtype=np.uint64)
    out = []
    for start in range(0, len(beats), MAX_COUNT):
        part = beats[start : start + MAX_COUNT]
        step = {TARGET_POINTERS: 2, TARGET_MATRIX: 1, TARGET_CODEBOOK: 4}[target]
        out.append(np.array([header(target, pe, address + step * start, len(part))], np.uint64))
        out.append(part)
    return out


def codebook_packet(codebook: np.ndarray) -> list[np.ndarray]:
    cb = check_codebook(codebook).view(np.uint16).astype(np.uint64)
    words = cb[0::4] | cb[1::4] << 16 | cb[2::4] << 32 | cb[3::4] << 48
    return _packet(TARGET_CODEBOOK, ALL_PES, 0, words)


def pack_entries(entries: np.ndarray, per_word: int) -> np.ndarray:
    """Entries (bytes or nibbles) packed into 64-bit words, least significant first."""
    bits = 64 // per_word
    n = -(-len(entries) // per_word)
    padded = np.zeros(n * per_word, dtype=np.uint64)
    padded[: len(entries)] = entries
    lanes = padded.reshape(n, per_word)
    shifts = (np.arange(per_word, dtype=np.uint64) * np.uint64(bits)).astype(np.uint64)
    return np.bitwise_or.reduce(lanes << shifts, axis=1).astype(np.uint64)


def check_fits(layer: CompressedLayer, geometry: EieGeometry) -> None:
    """ParameterError naming what does not fit the engine."""
    if layer.pes != geometry.pes:
        raise ParameterError(
            f"eie: the layer was compressed for {layer.pes} PEs, the engine has {geometry.pes}"
        )
    if layer.cols > geometry.act_depth:
        raise ParameterError(
            f"eie: {layer.cols} columns exceed the activation buffer (act_depth = "
            f"{geometry.act_depth})"
        )
    if layer.local_rows > geometry.rows_max:
        raise ParameterError(
            f"eie: {layer.rows} rows need {layer.local_rows} accumulators per PE, more than "
            f"rows_max = {geometry.rows_max}"
        )
    worst = max(s.words for s in layer.slices)
    if worst > geometry.mat_words:
        raise ParameterError(
            f"eie: the compressed layer needs {worst} matrix words in its fullest PE, more "
            f"than mat_words = {geometry.mat_words} (raise mat_words or prune further)"
        )


def model_image(layer: CompressedLayer, geometry: EieGeometry) -> np.ndarray:
    """The load-stream bytes that put a compressed layer into the engine: codebook (to
    every PE), then per PE its pointers and its matrix words from address 0."""
    check_fits(layer, geometry)
    parts = codebook_packet(layer.codebook)
    for k, s in enumerate(layer.slices):
        ptr = np.zeros(2 * (-(-len(s.pointers) // 2)), dtype=np.uint64)
        ptr[: len(s.pointers)] = s.pointers
        parts += _packet(TARGET_POINTERS, k, 0, ptr[0::2] | ptr[1::2] << 32)
        if len(s.entries):
            parts += _packet(TARGET_MATRIX, k, 0, pack_entries(s.entries, SPARSE_ENTRIES_PER_WORD))
    return np.concatenate(parts).astype("<u8").view(np.uint8)


def dense_block_image(
    indices: np.ndarray, pes: int, col_start: int, col_count: int, word_base: int
) -> np.ndarray:
    """Load-stream bytes putting columns [col_start, col_start + col_count) of the dense
    index matrix into every PE's matrix memory from word `word_base`, as 4-bit entries
    (dense mode: column c of the block starts at entry 16*word_base + c * local_rows)."""
    idx = np.asarray(indices, dtype=np.uint8)
    rows, cols = idx.shape
    if not (col_start >= 0 and col_count >= 1 and col_start + col_count <= cols):
        raise ParameterError(
            f"eie: dense block [{col_start}, {col_start + col_count}) is not inside the "
            f"{cols} columns"
        )
    local = -(-rows // pes)
    padded = np.zeros((local * pes, cols), dtype=np.uint8)
    padded[:rows] = idx
    parts: list[np.ndarray] = []
    for k in range(pes):
        sub = padded[k::pes, col_start : col_start + col_count]
        parts += _packet(
            TARGET_MATRIX, k, word_base, pack_entries(sub.T.ravel(), DENSE_ENTRIES_PER_WORD)
        )
    return np.concatenate(parts).astype("<u8").view(np.uint8)


def dense_block_words(rows: int, pes: int, col_count: int) -> int:
    """Matrix words one PE needs for a dense block of col_count columns."""
    return -(-(col_count * -(-rows // pes)) // DENSE_ENTRIES_PER_WORD)


def activation_image(acts: np.ndarray) -> np.ndarray:
    """The activation-stream bytes of a vector: int16, padded with zeros to whole groups."""
    a = np.asarray(acts)
    if a.ndim != 1 or a.min(initial=0) < -(1 << 15) or a.max(initial=0) >= 1 << 15:
        raise ParameterError("eie: activations must be a 1-D vector of int16 values")
    n = -(-len(a) // ACT_GROUP) * ACT_GROUP
    out = np.zeros(n, dtype="<i2")
    out[: len(a)] = a
    return out.view(np.uint8)


def results(raw: np.ndarray, rows: int, pes: int) -> np.ndarray:
    """Result-stream bytes (local_rows beats of pes int32 lanes) as the output vector."""
    v = np.frombuffer(np.ascontiguousarray(raw).tobytes(), dtype="<i4")
    return v.reshape(-1, pes).ravel()[:rows].astype(np.int32)
