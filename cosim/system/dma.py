"""Driving the 'dma' model: register map, descriptor layout, a small driver.

    desc = Descriptor(src=DRAM + 0x1000, dst=SPAD, row_bytes=256, rows=16,
                      src_stride=1024, dst_stride=256, irq=True)
    drv = DmaDriver(host, regs=DMA_BASE, irq=InterruptLine(sim, dma.event("irq"), "dma"))
    await drv.run([desc], at=DESC_AREA)      # write, start, wait for the interrupt

The layouts here mirror tlm/dma/dma.cpp.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cosim.errors import SimulationError

if TYPE_CHECKING:
    from cosim.system.host import HostCpu, InterruptLine

# Register offsets in the DMA's control window.
CTRL = 0x00
STATUS = 0x04
DESC_LO = 0x08
DESC_HI = 0x0C
IRQ_ENABLE = 0x10
IRQ_STATUS = 0x14
COMPLETED = 0x18
ERR_ADDR_LO = 0x20
ERR_ADDR_HI = 0x24
BYTES_LO = 0x28
BYTES_HI = 0x2C

CTRL_START = 1
STATUS_BUSY = 1
STATUS_DONE = 2
STATUS_ERROR = 4
IRQ_DESCRIPTOR = 1
IRQ_CHAIN_DONE = 2
IRQ_ERROR = 4

#: The register table (name -> offset) and bit values, for code generated from them
#: (the C board header of the RISC-V host, cosim.system.riscv_host).
REGISTERS = {
    "CTRL": CTRL,
    "STATUS": STATUS,
    "DESC_LO": DESC_LO,
    "DESC_HI": DESC_HI,
    "IRQ_ENABLE": IRQ_ENABLE,
    "IRQ_STATUS": IRQ_STATUS,
    "COMPLETED": COMPLETED,
    "ERR_ADDR_LO": ERR_ADDR_LO,
    "ERR_ADDR_HI": ERR_ADDR_HI,
    "BYTES_LO": BYTES_LO,
    "BYTES_HI": BYTES_HI,
}
BITS = {
    "CTRL_START": CTRL_START,
    "STATUS_BUSY": STATUS_BUSY,
    "STATUS_DONE": STATUS_DONE,
    "STATUS_ERROR": STATUS_ERROR,
    "IRQ_DESCRIPTOR": IRQ_DESCRIPTOR,
    "IRQ_CHAIN_DONE": IRQ_CHAIN_DONE,
    "IRQ_ERROR": IRQ_ERROR,
}

DESCRIPTOR_BYTES = 64
#: The in-memory descriptor: (field, bytes) in order, padded to DESCRIPTOR_BYTES.
DESCRIPTOR_FIELDS: tuple[tuple[str, int], ...] = (
    ("src", 8),
    ("dst", 8),
    ("row_bytes", 4),
    ("rows", 4),
    ("src_stride", 8),
    ("dst_stride", 8),
    ("next", 8),
    ("irq", 4),
)
_LAYOUT = struct.Struct(
    "<"
    + "".join("Q" if n == 8 else "I" for _, n in DESCRIPTOR_FIELDS)
    + f"{DESCRIPTOR_BYTES - sum(n for _, n in DESCRIPTOR_FIELDS)}x"
)
assert _LAYOUT.size == DESCRIPTOR_BYTES


class DmaError(SimulationError):
    """A DMA chain stopped on an error response (with stop_on_error=False)."""


@dataclass
class Descriptor:
    """One 2-D transfer: `rows` rows of `row_bytes`, rows `src_stride` / `dst_stride`
    bytes apart (default: packed rows). `irq` raises an interrupt when it completes."""

    src: int
    dst: int
    row_bytes: int
    rows: int = 1
    src_stride: int | None = None
    dst_stride: int | None = None
    next: int = 0
    irq: bool = False

    def __post_init__(self) -> None:
        for field, limit in (
            ("src", 64),
            ("dst", 64),
            ("next", 64),
            ("row_bytes", 32),
            ("rows", 32),
        ):
            v = getattr(self, field)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << limit:
                raise ValueError(
                    f"Descriptor.{field} must be an integer in [0, 2**{limit}), got {v!r}"
                )
        if self.row_bytes == 0 or self.rows == 0:
            raise ValueError(
                f"Descriptor needs row_bytes >= 1 and rows >= 1, got {self.row_bytes}, {self.rows}"
            )
        for field in ("src_stride", "dst_stride"):
            v = getattr(self, field)
            if v is None:
                setattr(self, field, self.row_bytes)
            elif not isinstance(v, int) or (v < self.row_bytes and self.rows > 1):
                raise ValueError(
                    f"Descriptor.{field} must be an integer >= row_bytes ({self.row_bytes}) for "
                    f"a {self.rows}-row transfer, got {v!r}"
                )

    @property
    def bytes(self) -> int:
        return self.row_bytes * self.rows

    def pack(self) -> bytes:
        """The 64-byte in-memory form."""
        return _LAYOUT.pack(
            self.src,
            self.dst,
            self.row_bytes,
            self.rows,
            self.src_stride,
            self.dst_stride,
            self.next,
            1 if self.irq else 0,
        )


def chain(descriptors: list[Descriptor], at: int) -> bytes:
    """Lay `descriptors` out back to back at address `at`, each `next` pointing to the
    following one (the last ends the chain); returns the bytes to write at `at`."""
    out = bytearray()
    for i, d in enumerate(descriptors):
        d.next = at + (i + 1) * DESCRIPTOR_BYTES if i + 1 < len(descriptors) else 0
        out += d.pack()
    return bytes(out)


class DmaDriver:
    """A driver for one DMA: `regs` is the base address of its control window as the
    host sees it; `irq` an InterruptLine on its 'irq' event (None: poll STATUS)."""

    def __init__(
        self, host: HostCpu, regs: int, irq: InterruptLine | None = None, poll_ops: int = 10
    ) -> None:
        self.host = host
        self.regs = regs
        self.irq = irq
        self.poll_ops = poll_ops

    async def start(self, first_descriptor: int) -> None:
        """Program DESC_ADDR, enable the completion interrupt (if an InterruptLine was
        given) and write START."""
        await self.host.write64(self.regs + DESC_LO, first_descriptor)
        await self.host.write32(self.regs + IRQ_ENABLE, 1 if self.irq is not None else 0)
        await self.host.write32(self.regs + CTRL, CTRL_START)

    async def wait(self) -> int:
        """Wait for the chain to end (interrupt, or polling STATUS); returns STATUS.
        Raises DmaError naming the failed address if the chain stopped on an error."""
        if self.irq is not None:
            # Descriptor interrupts may come before the chain ends: wait until not busy.
            while True:
                await self.host.wait_irq(self.irq)
                status = await self.host.read32(self.regs + STATUS)
                await self.host.write32(
                    self.regs + IRQ_STATUS, IRQ_CHAIN_DONE | IRQ_ERROR | IRQ_DESCRIPTOR
                )
                if not status & STATUS_BUSY:
                    break
        else:
            while True:
                status = await self.host.read32(self.regs + STATUS)
                if not status & STATUS_BUSY:
                    break
                await self.host.compute(self.poll_ops)
        if status & STATUS_ERROR:
            lo = await self.host.read32(self.regs + ERR_ADDR_LO)
            hi = await self.host.read32(self.regs + ERR_ADDR_HI)
            raise DmaError(
                f"DMA at {self.regs:#x} stopped on an error at address {(hi << 32) | lo:#x}"
            )
        return status

    async def run(self, descriptors: list[Descriptor], at: int) -> int:
        """Write the chain of `descriptors` at address `at`, start it and wait for it."""
        await self.host.write(at, chain(descriptors, at))
        await self.start(at)
        return await self.wait()
