"""SCALE-Sim topology files and the conv layers they describe, lowered to GEMMs.

A topology file is a CSV with a header line and one layer per line: layer name, IFMAP
height, IFMAP width, filter height, filter width, channels, number of filters, strides
(a trailing comma is allowed), the format of SCALE-Sim's topologies/ folder. A layer is
a convolution without padding: the output is OH x OW x filters with OH = (H - FH) / S + 1
(likewise OW), lowered to the GEMM M = OH*OW, K = FH*FW*C, N = filters (an fc layer is
a 1x1 "convolution" of a 1x1 input).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.errors import ParameterError

COLUMNS = (
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
)


@dataclass(frozen=True)
class ConvLayer:
    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    filters: int
    stride: int

    @property
    def ofmap(self) -> tuple[int, int]:
        return (
            (self.ifmap_h - self.filter_h) // self.stride + 1,
            (self.ifmap_w - self.filter_w) // self.stride + 1,
        )

    @property
    def gemm(self) -> tuple[int, int, int]:
        """(M, N, K) of the lowered GEMM."""
        oh, ow = self.ofmap
        return oh * ow, self.filters, self.filter_h * self.filter_w * self.channels

    def operands(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A seeded int8 input (H x W x C) and filters (FH x FW x C x filters)."""
        x = rng.integers(-128, 128, (self.ifmap_h, self.ifmap_w, self.channels), dtype=np.int8)
        w = rng.integers(
            -128, 128, (self.filter_h, self.filter_w, self.channels, self.filters), dtype=np.int8
        )
        return x, w

    def lower(self, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """im2col: A (M x K, rows of output pixels) and B (K x N), K ordered (fh, fw, c)."""
        oh, ow = self.ofmap
        s = self.stride
        cols = [
            x[i : i + s * (oh - 1) + 1 : s, j : j + s * (ow - 1) + 1 : s, :]
            for i in range(self.filter_h)
            for j in range(self.filter_w)
        ]
        a = np.stack(cols, axis=2).reshape(oh * ow, -1)
        return np.ascontiguousarray(a), w.reshape(-1, self.filters)

    def golden(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The convolution computed directly (no lowering): OH*OW x filters int32."""
        oh, ow = self.ofmap
        s = self.stride
        out = np.zeros((oh, ow, self.filters), np.int64)
        xi = x.astype(np.int64)
        for i in range(oh):
            for j in range(ow):
                patch = xi[i * s : i * s + self.filter_h, j * s : j * s + self.filter_w, :]
                out[i, j] = np.tensordot(patch, w.astype(np.int64), axes=3)
        return out.reshape(oh * ow, self.filters).astype(np.int32)


def read_topology(path: str | Path) -> list[ConvLayer]:
    """The layers of a topology file; ParameterError naming the file, the row (1-based
    line) and the column of the first malformed value."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ParameterError(f"topology file {p}: cannot be read ({e.strerror})") from None
    layers: list[ConvLayer] = []
    header = False
    for line, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        while cells and cells[-1] == "":
            cells.pop()
        if not cells or cells[0].startswith("#"):
            continue
        if not layers and not header and not any(_is_int(c) for c in cells[1:]):
            header = True  # the header line: names, no numbers
            continue
        layers.append(_layer(p, line, cells))
    if not layers:
        raise ParameterError(f"topology file {p}: no layers")
    return layers


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _layer(path: Path, line: int, cells: list[str]) -> ConvLayer:
    where = f"topology file {path}, row {line}"
    if not cells[0]:
        raise ParameterError(f"{where}, column 1 ({COLUMNS[0]}): the layer has no name")
    if len(cells) != len(COLUMNS):
        raise ParameterError(
            f"{where}: {len(cells)} columns, expected {len(COLUMNS)} ({', '.join(COLUMNS)})"
        )
    values = []
    for col, (name, cell) in enumerate(zip(COLUMNS[1:], cells[1:], strict=True), start=2):
        try:
            v = int(cell)
        except ValueError:
            raise ParameterError(
                f"{where}, column {col} ({name}): expected an integer, got {cell!r}"
            ) from None
        if v < 1:
            raise ParameterError(f"{where}, column {col} ({name}): must be >= 1, got {v}")
        values.append(v)
    layer = ConvLayer(cells[0], *values)
    for col, (f, i) in ((4, ("filter_h", "ifmap_h")), (5, ("filter_w", "ifmap_w"))):
        if getattr(layer, f) > getattr(layer, i):
            raise ParameterError(
                f"{where}, column {col} ({COLUMNS[col - 1]}): {getattr(layer, f)} is larger "
                f"than the IFMAP ({getattr(layer, i)})"
            )
    return layer
