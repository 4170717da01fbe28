"""ReRAM crossbars from Python.

- `Crossbar(**params)`: the analog crossbar model on its own (no simulation): program a
  signed integer matrix, run y = W @ x as the arrays compute it (with quantisation and
  the non-idealities you switch on), threshold, and read the ISAAC-style cost of each
  operation. Parameters are those of the `reram_tile` model (see
  `cosim.model_info("reram_tile").help()`), checked the same way.
- `TileDriver`: a driver for Python processes that programs and uses a `reram_tile`
  through its registers and buffers over TLM.
- `quantize()`: symmetric integer quantisation of float data for the arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import cosim
from cosim import _core
from cosim.errors import ParameterError, SimulationError
from cosim.models import model_info

#: Parameters of reram_tile that describe the tile around the arrays, not the arrays.
TILE_ONLY = ("arrays", "slots", "buffer_latency")

# Register map of reram_tile (tlm/reram/tile.cpp).
CMD, STATUS, SLOT, N_OUT, N_IN, THRESHOLD = 0x0, 0x4, 0x8, 0xC, 0x10, 0x14
IN, OUT, WEIGHTS = 0x10000, 0x20000, 0x40000
PROGRAM, MVM, THRESH = 1, 2, 3
IDLE, BUSY, DONE, ERROR = 0, 1, 2, 3


def _ints(a: Any, what: str, ndim: int) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != ndim:
        raise ParameterError(f"{what} must be a {ndim}-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ParameterError(f"{what} is empty")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.floor(arr) == arr):
            arr = arr.astype(np.int64)
        else:
            raise ParameterError(
                f"{what} must hold integers (use cosim.system.reram.quantize for real values), "
                f"got dtype {arr.dtype}"
            )
    return np.ascontiguousarray(arr, dtype=np.int64)


def quantize(a: Any, bits: int) -> tuple[np.ndarray, float]:
    """Symmetric quantisation to signed `bits`-bit integers: returns (q, scale) with
    a ~= q * scale and |q| <= 2^(bits-1) - 1."""
    if not 2 <= bits <= 16:
        raise ParameterError(f"bits = {bits} is out of range; allowed 2 .. 16")
    arr = np.asarray(a, dtype=np.float64)
    qmax = (1 << (bits - 1)) - 1
    peak = float(np.max(np.abs(arr))) if arr.size else 0.0
    scale = peak / qmax if peak > 0 else 1.0
    return np.clip(np.rint(arr / scale), -qmax, qmax).astype(np.int64), scale


class Crossbar:
    """ReRAM crossbar arrays holding one weight matrix (y = W @ x, W: outputs x inputs)."""

    def __init__(self, **params: Any) -> None:
        info = model_info("reram_tile")
        for key in params:
            if key in TILE_ONLY:
                raise ParameterError(
                    f"crossbar: '{key}' is a parameter of the tile, not the arrays"
                )
        values = info.check("crossbar", params)
        self.params = {k: v for k, v in values.items() if k not in TILE_ONLY}
        self._x = _core.CrossbarArray(self.params)

    def program(self, weights: Any) -> dict[str, Any]:
        """Program W; returns the cost (latency_ps, energy_pj, breakdown, counts)."""
        return self._x.program(_ints(weights, "weights", 2))

    def mvm(self, x: Any) -> np.ndarray:
        """W @ x as the arrays compute it (float64; integers when exact)."""
        return self._x.mvm(_ints(x, "input vector", 1))

    def threshold(self, x: Any, threshold: float) -> np.ndarray:
        """Boolean mask: which outputs' analog dot products reach `threshold`."""
        return self._x.threshold(_ints(x, "input vector", 1), float(threshold))

    @property
    def last_cost(self) -> dict[str, Any]:
        return self._x.last_cost

    @property
    def total_cost(self) -> dict[str, Any]:
        return self._x.total_cost

    @property
    def shape(self) -> tuple[int, int]:
        return self._x.shape

    def arrays_for(self, n_out: int, n_in: int) -> int:
        """Crossbar arrays a matrix of this shape occupies."""
        return self._x.arrays_for(n_out, n_in)

    def __getattr__(self, name: str) -> Any:
        if name in (
            "programmed",
            "max_cell_writes",
            "total_cell_writes",
            "worn_cells",
            "stuck_cells",
            "adc_energy_pj",
        ):
            return getattr(self._x, name)
        raise AttributeError(name)


class TileDriver:
    """Drives a `reram_tile` from a Python process through an initiator socket.

    The completion wait is interrupt-style: the driver waits for the tile's 'done'
    event; checking the status register before waiting uses a debug (untimed) read, so
    polling costs no bus time and no completion can be missed."""

    def __init__(self, socket: _core.Socket, base: int, tile: _core.Model) -> None:
        if tile.kind != "reram_tile":
            raise ParameterError(
                f"TileDriver needs a reram_tile model, got {tile.kind} '{tile.name}'"
            )
        self.sock, self.base, self.tile = socket, base, tile
        self.done = tile.event("done")

    async def _reg(self, off: int, value: int, dtype: Any = np.uint32) -> None:
        await self.sock.write(self.base + off, np.array([value], dtype=np.int64).astype(dtype))

    async def _command(self, slot: int, cmd: int) -> None:
        await self._reg(SLOT, slot)
        await self._reg(CMD, cmd)
        await cosim.sync()
        while True:
            status = int(self.sock.debug_read(self.base + STATUS, 4)[0].view(np.uint32)[0])
            if status != BUSY:
                break
            await self.done
        if status == ERROR:
            raise SimulationError(f"reram_tile '{self.tile.name}': {self.tile.last_error}")

    async def program(self, slot: int, weights: Any) -> None:
        """Load W (int16 range) into the weight buffer and program slot `slot`."""
        w = _ints(weights, "weights", 2)
        if np.any(np.abs(w) > 32767):
            raise ParameterError("weights must fit int16 to travel through the weight buffer")
        await self.sock.write(self.base + WEIGHTS, w.astype(np.int16).view(np.uint8))
        await self._reg(N_OUT, w.shape[0])
        await self._reg(N_IN, w.shape[1])
        await self._command(slot, PROGRAM)

    async def _inputs(self, x: Any) -> np.ndarray:
        v = _ints(x, "input vector", 1)
        if np.any(np.abs(v) > 32767):
            raise ParameterError("inputs must fit int16 to travel through the input buffer")
        await self.sock.write(self.base + IN, v.astype(np.int16).view(np.uint8))
        return v

    async def mvm(self, slot: int, x: Any, n_out: int) -> np.ndarray:
        """y = W @ x on slot `slot` (int32 results read back from the output buffer)."""
        await self._inputs(x)
        await self._command(slot, MVM)
        return (await self.sock.read(self.base + OUT, 4 * n_out)).view(np.int32)

    async def threshold(self, slot: int, x: Any, threshold: int, n_out: int) -> np.ndarray:
        """Mask of the outputs whose analog dot product reaches `threshold`."""
        await self._inputs(x)
        await self._reg(THRESHOLD, threshold, np.int32)
        await self._command(slot, THRESH)
        return (await self.sock.read(self.base + OUT, n_out)).astype(bool)
