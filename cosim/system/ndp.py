"""Near-data processing units in HBM, driven from a Python process on the host.

The 'ndp' model (tlm/ndp/) adds compute units next to the banks of a 'dram' model; the
units run GEMV, element-wise ops and reductions on data the host laid out for them
(cosim.system.ndp_layout), reading their banks at internal bandwidth under the dram's JEDEC
timing. `NdpDriver` is the host's driver: it allocates regions, stores and loads data
through the normal memory path, issues commands through the model's registers and waits
for completion (interrupt or polling).

    sys = build_ndp_system(sim, memory="hbm2")          # cosim.system.ndp_system
    drv = sys.driver
    @sim.process
    async def main():
        a = await drv.store(drv.matrix(1024, 1024, "int8"), A)
        y = await drv.gemv(a, x)                       # a Layout of the result vector
        result = await drv.load(y)                     # int32 array, read by the host
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from cosim.errors import ParameterError, SimulationError
from cosim.system.host import HostCpu, InterruptLine
from cosim.system.ndp_layout import DTYPE_CODES, DTYPES, GEMV_OUT, Geometry, Layout, check_dtype

# Register map of the 'ndp' model (tlm/ndp/ndp.cpp).
CMD, STATUS, DTYPE, KIND, M, N, A, B, D, ALPHA, RESULT = (
    0x00,
    0x04,
    0x08,
    0x0C,
    0x10,
    0x14,
    0x18,
    0x20,
    0x28,
    0x30,
    0x38,
)
XBUF = 0x1000
LAYOUT, RELEASE, GEMV, ADD, MUL, AXPY, SUM, MAX = range(1, 9)
IDLE, BUSY, DONE, ERROR = 0, 1, 2, 3
KIND_CODES = {"matrix": 1, "vector": 2}

#: The register table (name -> offset) and command/status/type codes, for code generated
#: from them (the C board header of the RISC-V host, cosim.system.riscv_host).
REGISTERS = {
    "CMD": CMD,
    "STATUS": STATUS,
    "DTYPE": DTYPE,
    "KIND": KIND,
    "M": M,
    "N": N,
    "A": A,
    "B": B,
    "D": D,
    "ALPHA": ALPHA,
    "RESULT": RESULT,
    "XBUF": XBUF,
}
CODES = {
    "CMD_LAYOUT": LAYOUT,
    "CMD_RELEASE": RELEASE,
    "CMD_GEMV": GEMV,
    "CMD_ADD": ADD,
    "CMD_MUL": MUL,
    "CMD_AXPY": AXPY,
    "CMD_SUM": SUM,
    "CMD_MAX": MAX,
    "STATUS_IDLE": IDLE,
    "STATUS_BUSY": BUSY,
    "STATUS_DONE": DONE,
    "STATUS_ERROR": ERROR,
    **{f"DTYPE_{k.upper()}": v for k, v in DTYPE_CODES.items()},
    **{f"KIND_{k.upper()}": v for k, v in KIND_CODES.items()},
}


def window_bytes(ndp: Any) -> int:
    """Bytes of the model's address window: registers and the vector buffer."""
    return XBUF + int(ndp.buffer_bytes)


class NdpDriver:
    """The host's driver for one 'ndp' model.

    host: the HostCpu whose accesses (uncached, through the fabric) carry the driver's
    register writes, data stores and loads. regs: base of the model's window in the
    host's address map; dram_base: base of its dram (the 'dram' model itself as `dram`,
    for untimed preloads). irq: an InterruptLine on the
    model's 'done' event to wait for completion by interrupt; None polls STATUS, paying
    an uncached read and `poll_ops` driver operations per poll. max_access: the largest
    single access the driver makes when it stores or loads data."""

    def __init__(
        self,
        host: HostCpu,
        regs: int,
        ndp: Any,
        dram_base: int,
        irq: InterruptLine | None = None,
        poll_ops: int = 10,
        max_access: int = 4096,
        dram: Any = None,
    ) -> None:
        if getattr(ndp, "kind", None) != "ndp":
            raise ParameterError(f"NdpDriver needs an 'ndp' model, got {ndp!r}")
        if max_access < 1:
            raise ParameterError(f"max_access = {max_access} must be >= 1 byte")
        self.host, self.regs, self.ndp = host, regs, ndp
        self.dram_base, self.irq, self.poll_ops = dram_base, irq, poll_ops
        self.max_access = max_access
        self.dram = dram
        self.geometry = Geometry.of(ndp)
        self._top = self.geometry.rows  # regions are allocated from the top rows down
        self.last_command: dict[str, Any] = {}

    # ------------------------------------------------------------ allocation
    def _allocate(self, kind: str, dtype: str, m: int, n: int, base_row: int | None) -> Layout:
        if base_row is not None:
            return Layout(self.ndp, kind, dtype, m, n, base_row)
        probe = Layout(self.ndp, kind, dtype, m, n, 0)
        base = self._top - probe.rows
        if base < 0:
            raise ParameterError(
                f"no room for a {probe.describe()}: it needs {probe.rows} rows of every bank, "
                f"{self._top} are left"
            )
        self._top = base
        return Layout(self.ndp, kind, dtype, m, n, base)

    def matrix(self, m: int, n: int, dtype: str, base_row: int | None = None) -> Layout:
        """Allocate (below the previous allocation, from the top row down, unless
        base_row is given) an M x N matrix region laid out for the units."""
        return self._allocate("matrix", check_dtype(dtype), m, n, base_row)

    def vector(self, length: int, dtype: str, base_row: int | None = None) -> Layout:
        """Allocate a vector region laid out for the units."""
        return self._allocate("vector", check_dtype(dtype), length, 1, base_row)

    # ------------------------------------------------------------- registers
    async def _w32(self, off: int, value: int) -> None:
        await self.host.write32(self.regs + off, value & 0xFFFF_FFFF)

    async def _command(self, op: int) -> dict[str, Any]:
        await self._w32(CMD, op)
        if self.irq is not None:
            await self.host.wait_irq(self.irq)
            status = await self.host.read32(self.regs + STATUS)
        else:
            while True:
                status = await self.host.read32(self.regs + STATUS)
                if status != BUSY:
                    break
                await self.host.compute(self.poll_ops)
        if status == ERROR:
            raise SimulationError(f"ndp '{self.ndp.name}': {self.ndp.last_error}")
        self.last_command = dict(self.ndp.last_command)
        return self.last_command

    async def register(self, layout: Layout) -> None:
        """Tell the units where a region is and how it is laid out (LAYOUT)."""
        await self._w32(KIND, KIND_CODES[layout.kind])
        await self._w32(DTYPE, DTYPE_CODES[layout.dtype])
        await self._w32(M, layout.m)
        await self._w32(N, layout.n)
        await self.host.write64(self.regs + D, layout.address)
        await self._command(LAYOUT)

    async def release(self, layout: Layout) -> None:
        """Forget a region (RELEASE)."""
        await self.host.write64(self.regs + D, layout.address)
        await self._command(RELEASE)

    # ------------------------------------------------------------------ data
    async def store(self, layout: Layout, data: Any, register: bool = True) -> Layout:
        """Write `data` into the region through the host's normal memory path (laid out
        for the units) and register the region. Returns the layout."""
        streams = layout.pack(data)
        ranges = layout.ranges(self.max_access)
        for (addr, _), chunk in zip(ranges, layout.gather(streams, ranges), strict=True):
            await self.host.write(self.dram_base + addr, chunk)
        if register:
            await self.register(layout)
        return layout

    def preload(self, layout: Layout, data: Any) -> Layout:
        """Put `data` into the region through the dram's backdoor: no simulated time, no
        traffic, no energy (set-up before what is measured). Register it afterwards."""
        if self.dram is None:
            raise ParameterError("preload needs the driver's `dram` model (NdpDriver(dram=...))")
        mem = self.dram.array()
        streams = layout.pack(data)
        ranges = layout.ranges()
        for (addr, n), chunk in zip(ranges, layout.gather(streams, ranges), strict=True):
            mem[addr : addr + n] = chunk
        return layout

    async def load(self, layout: Layout) -> np.ndarray:
        """Read the region through the host's normal memory path and undo the layout."""
        ranges = layout.ranges(self.max_access)
        chunks = [await self.host.read(self.dram_base + a, n) for a, n in ranges]
        return layout.unpack(layout.scatter(ranges, chunks))

    # --------------------------------------------------------------- commands
    async def gemv(self, a: Layout, x: Any, y: Layout | None = None) -> Layout:
        """y = A x in the units (A: a registered int8 or fp16 matrix region; x: N
        elements of the same type, written to the vector buffer). Returns y's region
        (allocated and registered if not given)."""
        if a.kind != "matrix":
            raise ParameterError(f"GEMV needs a matrix region for A, got a {a.describe()}")
        check_dtype(a.dtype, tuple(GEMV_OUT))
        xv = np.asarray(x)
        want = np.dtype(DTYPES[a.dtype])
        if xv.shape != (a.n,) or xv.dtype != want:
            raise ParameterError(
                f"x must be {a.n} {a.dtype} values for the {a.describe()}, got shape "
                f"{xv.shape} of {xv.dtype}"
            )
        if y is None:
            y = self.vector(a.m, GEMV_OUT[a.dtype])
            await self.register(y)
        await self.host.write(self.regs + XBUF, np.ascontiguousarray(xv).view(np.uint8))
        await self._w32(DTYPE, DTYPE_CODES[a.dtype])
        await self._w32(M, a.m)
        await self._w32(N, a.n)
        await self.host.write64(self.regs + A, a.address)
        await self.host.write64(self.regs + D, y.address)
        await self._command(GEMV)
        return y

    async def _elementwise(
        self, op: int, a: Layout, b: Layout, out: Layout | None, alpha_bits: int = 0
    ) -> Layout:
        for name, v in (("a", a), ("b", b)):
            if v.kind != "vector":
                raise ParameterError(f"element-wise operand {name} must be a vector region")
        if out is None:
            out = self.vector(a.m, a.dtype)
            await self.register(out)
        await self._w32(DTYPE, DTYPE_CODES[a.dtype])
        await self._w32(M, a.m)
        await self._w32(ALPHA, alpha_bits)
        await self.host.write64(self.regs + A, a.address)
        await self.host.write64(self.regs + B, b.address)
        await self.host.write64(self.regs + D, out.address)
        await self._command(op)
        return out

    async def add(self, a: Layout, b: Layout, out: Layout | None = None) -> Layout:
        """out = a + b in the units."""
        return await self._elementwise(ADD, a, b, out)

    async def mul(self, a: Layout, b: Layout, out: Layout | None = None) -> Layout:
        """out = a * b (element-wise) in the units."""
        return await self._elementwise(MUL, a, b, out)

    async def axpy(
        self, alpha: float | int, a: Layout, b: Layout, out: Layout | None = None
    ) -> Layout:
        """out = alpha * a + b in the units (alpha: int32 for integer vectors, fp32 for
        fp vectors)."""
        if a.dtype in ("fp16", "fp32"):
            bits = struct.unpack("<I", struct.pack("<f", float(alpha)))[0]
        else:
            if isinstance(alpha, float) and not float(alpha).is_integer():
                raise ParameterError(f"alpha = {alpha} must be an integer for {a.dtype} vectors")
            if not -(2**31) <= int(alpha) < 2**31:
                raise ParameterError(f"alpha = {alpha} is out of the int32 range")
            bits = int(alpha) & 0xFFFF_FFFF
        return await self._elementwise(AXPY, a, b, out, bits)

    async def _reduce(self, op: int, v: Layout) -> int | float:
        if v.kind != "vector":
            raise ParameterError(f"a reduction needs a vector region, got a {v.describe()}")
        await self._w32(DTYPE, DTYPE_CODES[v.dtype])
        await self._w32(M, v.m)
        await self.host.write64(self.regs + A, v.address)
        await self._command(op)
        lo = await self.host.read32(self.regs + RESULT)
        hi = await self.host.read32(self.regs + RESULT + 4)
        raw = struct.pack("<II", lo, hi)
        if v.dtype in ("fp16", "fp32"):
            return struct.unpack("<d", raw)[0]
        return struct.unpack("<q", raw)[0]

    async def sum(self, v: Layout) -> int | float:
        """Sum of a vector region's elements (integers exact; fp in fp32)."""
        return await self._reduce(SUM, v)

    async def max(self, v: Layout) -> int | float:
        """Largest element of a vector region."""
        return await self._reduce(MAX, v)
