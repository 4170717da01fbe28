"""The data layout near-data units expect, and numpy twins of what they compute.

The layout contract (implemented for the units in tlm/ndp/layout.h, here for the host):

- A channel (HBM pseudo channel) of B banks has U units; unit u owns the B/U banks with
  flat indices u*B/U .. (u+1)*B/U - 1 (flat = bank group * banks per group + bank).
  Units are numbered t = channel * U + u; T = channels * U.
- Each unit holds one byte *stream* per region. Stream byte s lies in the unit's k-th
  DRAM row (k = s // row_bytes): row base_row + k // (B/U) of its bank k % (B/U), column
  (s % row_bytes) // burst_bytes. A region so occupies rows [base_row, base_row + rows)
  of every bank of every channel; its address is that of channel 0, bank 0, row
  base_row, column 0 under the dram's address mapping.
- Matrix M x N: row i belongs to unit i % T as its local row i // T, at stream offset
  (i // T) * S with S = N * element bytes rounded up to whole bursts (zero padding).
- Vector of length L: element i belongs to unit i % T at stream offset (i // T) * element
  bytes. y = A x therefore lands with y_i in the unit that computed it.

`Layout` maps a region to DRAM addresses through the dram model's own address mapping
(so any `mapping` or `bank_xor` setting works), packs host data into unit streams and
back, and lists the contiguous address ranges a host writes or reads.

The reference_* functions compute what the units compute, in their order of operations
(see tlm/ndp/unit_ops.h), so results compare exactly; `gemv_fp_bound` is the error bound
of fp16 GEMV against an exact (float64) product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.errors import ParameterError

#: Element types the units handle, with their register code.
DTYPES: dict[str, Any] = {
    "int8": np.int8,
    "int32": np.int32,
    "fp16": np.float16,
    "fp32": np.float32,
}
DTYPE_CODES = {"int8": 1, "int32": 2, "fp16": 3, "fp32": 4}
#: GEMV: the type of y for each type of A and x.
GEMV_OUT = {"int8": "int32", "fp16": "fp32"}


def check_dtype(dtype: str, allowed: tuple[str, ...] = tuple(DTYPES)) -> str:
    if dtype not in allowed:
        raise ParameterError(
            f"dtype '{dtype}' is not supported here; allowed: {', '.join(allowed)}"
        )
    return dtype


@dataclass(frozen=True)
class Geometry:
    """The units of an `ndp` model: how many, which banks, row and burst sizes."""

    channels: int
    units_per_channel: int
    banks: int
    banks_per_group: int
    banks_per_unit: int
    rows: int
    row_bytes: int
    burst_bytes: int
    unit_interval: int
    unit_latency: int
    tck_ps: int

    @property
    def units(self) -> int:
        return self.channels * self.units_per_channel

    def lanes(self, dtype: str) -> int:
        """Datapath lanes of a unit for `dtype`: one burst of elements."""
        return self.burst_bytes // np.dtype(DTYPES[dtype]).itemsize

    @staticmethod
    def of(ndp: Any) -> Geometry:
        g = dict(ndp.geometry)
        g.pop("units")
        return Geometry(**g)


class Layout:
    """A matrix or vector laid out for the units of `ndp` (an 'ndp' model) from DRAM row
    `base_row`. Addresses are the dram model's own (add the dram's base in the host's
    address map to access them from the host)."""

    def __init__(
        self, ndp: Any, kind: str, dtype: str, m: int, n: int = 1, base_row: int = 0
    ) -> None:
        check_dtype(dtype)
        if kind not in ("matrix", "vector"):
            raise ParameterError(f"kind '{kind}' is not 'matrix' or 'vector'")
        self.geometry = g = Geometry.of(ndp)
        if not 0 <= base_row < g.rows:
            raise ParameterError(f"base_row = {base_row} is out of range 0 .. {g.rows - 1}")
        try:
            info = ndp.region(kind, dtype, int(m), int(n), int(base_row))
        except ValueError as e:
            raise ParameterError(f"{kind} layout: {e}") from None
        self.kind, self.dtype = kind, dtype
        self.m = int(m)
        self.n = int(n) if kind == "matrix" else 1
        self.base_row = int(base_row)
        self.rows = int(info["rows"])
        self.address = int(info["address"])
        self.row_stride = int(info["row_stride"])
        self.stream_bytes = int(info["stream_bytes"])
        if self.base_row + self.rows > g.rows:
            raise ParameterError(
                f"a {self.describe()} needs rows {self.base_row} .. {self.base_row + self.rows - 1}"
                f" of every bank; the banks have rows 0 .. {g.rows - 1}"
            )
        self._ndp = ndp
        self._addr_cache: np.ndarray | None = None

    @property
    def itemsize(self) -> int:
        return np.dtype(DTYPES[self.dtype]).itemsize

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.m, self.n) if self.kind == "matrix" else (self.m,)

    def describe(self) -> str:
        shape = f"{self.m}x{self.n}" if self.kind == "matrix" else f"length-{self.m}"
        return f"{shape} {self.dtype} {self.kind}"

    def __repr__(self) -> str:
        return (
            f"<Layout {self.describe()} at {self.address:#x}, rows {self.base_row} .. "
            f"{self.base_row + self.rows - 1}>"
        )

    # -------------------------------------------------------------- addressing
    @property
    def _addresses(self) -> np.ndarray:
        if self._addr_cache is None:
            self._addr_cache = self._burst_addresses(self._ndp)
        return self._addr_cache

    def _burst_addresses(self, ndp: Any) -> np.ndarray:
        """(units, bursts per stream) array of burst addresses. The dram mapping puts each
        field in its own bits and only the row touches the bank bits (bank_xor), so an
        address is (channel, bank, row) part + column part: ask the model for those."""
        g = self.geometry
        nb = self.stream_bytes // g.burst_bytes
        bpr = g.row_bytes // g.burst_bytes
        k_rows = -(-self.stream_bytes // g.row_bytes)
        base = np.empty((g.units, k_rows), dtype=np.uint64)
        for t in range(g.units):
            for k in range(k_rows):
                base[t, k] = ndp.locate(t, k * g.row_bytes, self.base_row)["address"]
        col0 = ndp.locate(0, 0, self.base_row)["address"]
        cols = np.array(
            [ndp.locate(0, c * g.burst_bytes, self.base_row)["address"] - col0 for c in range(bpr)],
            dtype=np.uint64,
        )
        b = np.arange(nb)
        return base[:, b // bpr] + cols[b % bpr]

    def burst_addresses(self) -> np.ndarray:
        """Address of every burst of every unit's stream: shape (units, bursts)."""
        return self._addresses.copy()

    def row_location(self, i: int) -> dict[str, int]:
        """Where matrix row (or vector element) i starts: unit, channel, the unit within
        its channel, bank group, bank, DRAM row, column (burst index) and address."""
        if not 0 <= i < self.m:
            raise ParameterError(f"index {i} is out of range 0 .. {self.m - 1}")
        g = self.geometry
        t, j = i % g.units, i // g.units
        offset = j * self.row_stride
        k = offset // g.row_bytes
        flat = (t % g.units_per_channel) * g.banks_per_unit + k % g.banks_per_unit
        burst = offset // g.burst_bytes
        return {
            "unit": t,
            "channel": t // g.units_per_channel,
            "unit_in_channel": t % g.units_per_channel,
            "bankgroup": flat // g.banks_per_group,
            "bank": flat % g.banks_per_group,
            "row": self.base_row + k // g.banks_per_unit,
            "column": (offset % g.row_bytes) // g.burst_bytes,
            "address": int(self._addresses[t, burst]) + offset % g.burst_bytes,
        }

    # ----------------------------------------------------------------- packing
    def _check_data(self, data: Any) -> np.ndarray:
        arr = np.asarray(data)
        if arr.shape != self.shape:
            raise ParameterError(
                f"data of shape {arr.shape} does not fit the {self.describe()} (shape {self.shape})"
            )
        want = np.dtype(DTYPES[self.dtype])
        if arr.dtype != want:
            raise ParameterError(
                f"data of dtype {arr.dtype} does not fit the {self.describe()} (needs {want})"
            )
        return np.ascontiguousarray(arr)

    def pack(self, data: Any) -> np.ndarray:
        """Unit streams holding `data`: uint8 array of shape (units, stream_bytes)."""
        arr = self._check_data(data)
        g, e = self.geometry, self.itemsize
        streams = np.zeros((g.units, self.stream_bytes), dtype=np.uint8)
        raw = arr.view(np.uint8).reshape(self.m, -1)
        for t in range(min(g.units, self.m)):
            local = raw[t :: g.units]
            if self.kind == "matrix":
                rows = np.zeros((local.shape[0], self.row_stride), dtype=np.uint8)
                rows[:, : self.n * e] = local
                streams[t, : rows.size] = rows.ravel()
            else:
                streams[t, : local.size] = local.ravel()
        return streams

    def unpack(self, streams: np.ndarray) -> np.ndarray:
        """The matrix or vector held by unit streams (inverse of pack())."""
        g, e = self.geometry, self.itemsize
        if streams.shape != (g.units, self.stream_bytes):
            raise ParameterError(
                f"streams of shape {streams.shape}; the {self.describe()} has "
                f"{(g.units, self.stream_bytes)}"
            )
        out = np.empty((self.m, self.n * e if self.kind == "matrix" else e), dtype=np.uint8)
        for t in range(min(g.units, self.m)):
            count = len(range(t, self.m, g.units))
            if self.kind == "matrix":
                rows = streams[t, : count * self.row_stride].reshape(count, self.row_stride)
                out[t :: g.units] = rows[:, : self.n * e]
            else:
                out[t :: g.units] = streams[t, : count * e].reshape(count, e)
        return out.view(DTYPES[self.dtype]).reshape(self.shape)

    def ranges(self, max_bytes: int | None = None) -> list[tuple[int, int]]:
        """Contiguous (address, length) ranges covering every stream burst, in address
        order, each at most `max_bytes` long (a host writes or reads the region with
        one access per range)."""
        addrs = np.sort(self._addresses.ravel())
        bb = self.geometry.burst_bytes
        breaks = np.flatnonzero(np.diff(addrs) != bb) + 1
        out: list[tuple[int, int]] = []
        for run in np.split(addrs, breaks):
            start, length = int(run[0]), len(run) * bb
            step = length if max_bytes is None else max(bb, max_bytes // bb * bb)
            out.extend((start + o, min(step, length - o)) for o in range(0, length, step))
        return out

    def image(self, streams: np.ndarray) -> dict[int, np.ndarray]:
        """Bytes at each burst address (address -> uint8 array of one burst)."""
        bb = self.geometry.burst_bytes
        flat = streams.reshape(-1, bb)
        return dict(zip(self._addresses.ravel().tolist(), flat, strict=True))

    def gather(self, streams: np.ndarray, ranges: list[tuple[int, int]]) -> list[np.ndarray]:
        """The bytes a host writes for `ranges` (from ranges()) to store `streams`."""
        bb = self.geometry.burst_bytes
        order = np.argsort(self._addresses.ravel(), kind="stable")
        sorted_addr = self._addresses.ravel()[order]
        flat = streams.reshape(-1, bb)[order]
        out = []
        for start, length in ranges:
            i = int(np.searchsorted(sorted_addr, start))
            out.append(flat[i : i + length // bb].ravel())
        return out

    def scatter(self, ranges: list[tuple[int, int]], chunks: list[np.ndarray]) -> np.ndarray:
        """Unit streams from bytes a host read for `ranges` (inverse of gather())."""
        g, bb = self.geometry, self.geometry.burst_bytes
        order = np.argsort(self._addresses.ravel(), kind="stable")
        sorted_addr = self._addresses.ravel()[order]
        flat = np.zeros((order.size, bb), dtype=np.uint8)
        for (start, length), data in zip(ranges, chunks, strict=True):
            i = int(np.searchsorted(sorted_addr, start))
            flat[order[i : i + length // bb]] = np.asarray(data, dtype=np.uint8).reshape(-1, bb)
        return flat.reshape(g.units, self.stream_bytes)


# ------------------------------------------------------------ numpy twins


def _tree(acc: np.ndarray) -> np.ndarray:
    """Pairwise tree sum over the last axis in float32: ((0+1)+(2+3))+..."""
    while acc.shape[-1] > 1:
        acc = acc[..., 0::2] + acc[..., 1::2]
    return acc[..., 0]


def reference_gemv(a: np.ndarray, x: np.ndarray, lanes: int) -> np.ndarray:
    """y = A x as the units compute it: int8 with int32 (wrapping) accumulation, or fp16
    with fp32 lane accumulation in column order and a pairwise tree over `lanes`."""
    if a.dtype == np.int8:
        return (a.astype(np.int64) @ x.astype(np.int64)).astype(np.int32)
    if a.dtype != np.float16:
        raise ParameterError(f"GEMV supports int8 and fp16 matrices, got {a.dtype}")
    m, n = a.shape
    steps = -(-n // lanes)
    prod = np.zeros((m, steps * lanes), dtype=np.float32)
    prod[:, :n] = a.astype(np.float32) * x.astype(np.float32)  # exact in fp32
    prod = prod.reshape(m, steps, lanes)
    acc = np.zeros((m, lanes), dtype=np.float32)
    for k in range(steps):
        acc += prod[:, k, :]
    return _tree(acc)


def gemv_fp_bound(a: np.ndarray, x: np.ndarray, lanes: int) -> np.ndarray:
    """Bound on |y - A x| (exact product) for the fp16 GEMV: each output is a sum of
    exact products in fp32 with at most n/lanes + log2(lanes) roundings in any term's
    path, so |error| <= gamma_k * sum_j |a_ij x_j|, gamma_k = k u / (1 - k u),
    u = 2^-24 (Higham, Accuracy and Stability of Numerical Algorithms, 2002, ch. 3)."""
    n = a.shape[1]
    k = -(-n // lanes) + int(np.log2(lanes))
    u = 2.0**-24
    gamma = k * u / (1 - k * u)
    return gamma * (np.abs(a.astype(np.float64)) @ np.abs(x.astype(np.float64)))


def reference_elementwise(
    op: str, a: np.ndarray, b: np.ndarray, alpha: float | int = 0
) -> np.ndarray:
    """add / mul / axpy (alpha * a + b) as the units compute them (tlm/ndp/unit_ops.h)."""
    if a.dtype in (np.float16, np.float32):
        fa, fb = a.astype(np.float32), b.astype(np.float32)
        if op == "add":
            r = fa + fb
        elif op == "mul":
            r = fa * fb
        else:
            r = np.float32(alpha) * fa + fb
        return r.astype(a.dtype)
    ia, ib = a.astype(np.int64), b.astype(np.int64)
    if op == "add":
        r = ia + ib
    elif op == "mul":
        r = ia * ib
    else:
        r = np.int64(np.int32(alpha)) * ia + ib
    return r.astype(a.dtype)


def reference_sum(v: np.ndarray, units: int, lanes: int) -> int | float:
    """SUM as the units compute it: integers exactly; fp per unit in fp32 lanes (element
    j of a unit on lane j % lanes, in order), a pairwise tree over the lanes, then a
    pairwise tree over the units' partials (unit order, padded to a power of two)."""
    if v.dtype in (np.int8, np.int32):
        return int(v.astype(np.int64).sum())
    width = 1 << max(0, (units - 1).bit_length())
    parts = np.zeros(width, dtype=np.float32)
    for t in range(min(units, v.size)):
        local = v[t::units].astype(np.float32)
        steps = -(-local.size // lanes)
        acc = np.zeros(lanes, dtype=np.float32)
        padded = np.zeros(steps * lanes, dtype=np.float32)
        padded[: local.size] = local
        for k in range(steps):
            acc += padded[k * lanes : (k + 1) * lanes]
        parts[t] = _tree(acc)
    return float(_tree(parts))


def reference_max(v: np.ndarray) -> int | float:
    """MAX: exact."""
    return int(v.max()) if v.dtype in (np.int8, np.int32) else float(v.max())
