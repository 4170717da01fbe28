"""A standard SoC every accelerator scenario can start from: host CPU, fabric, DMA,
scratchpad and a JEDEC DRAM/HBM memory, wired and address-mapped.

    soc = build_soc(sim, memory="hbm2")
    @sim.process
    async def driver():
        await soc.dma_driver.run([Descriptor(src=soc.DRAM, dst=soc.SPAD, row_bytes=4096)],
                                 at=soc.DESCRIPTORS)

Address map (as the host and the DMA see it):
    0x1000_0000  scratchpad (its size)
    0x4000_0000  DMA registers (4 KiB)
    0x8000_0000  DRAM (its capacity); the first 64 KiB hold DMA descriptors by convention

An accelerator model adds itself with `soc.fabric.map(acc.port(...), base, size)` and
binds its own initiator to `soc.fabric.port("target")` or to a free scratchpad port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cosim.system.dma import DmaDriver
from cosim.system.host import HostCpu, InterruptLine

SPAD_BASE = 0x1000_0000
DMA_BASE = 0x4000_0000
DMA_WINDOW = 0x1000
DRAM_BASE = 0x8000_0000
DESCRIPTOR_AREA = 0x1_0000  # bytes reserved for descriptors at the start of DRAM


@dataclass
class Soc:
    """Handles to the parts of a system built by build_soc()."""

    sim: Any
    host: HostCpu
    fabric: Any
    dma: Any
    scratchpad: Any
    dram: Any
    dma_irq: InterruptLine
    dma_driver: DmaDriver
    address_map: dict[str, tuple[int, int]] = field(default_factory=dict)

    DRAM: int = DRAM_BASE
    SPAD: int = SPAD_BASE
    DMA: int = DMA_BASE
    DESCRIPTORS: int = DRAM_BASE
    #: First DRAM address free for data (after the descriptor area).
    DATA: int = DRAM_BASE + DESCRIPTOR_AREA


def build_soc(
    sim: Any,
    *,
    memory: str = "ddr4_2400",
    dram: dict[str, Any] | None = None,
    fabric: dict[str, Any] | None = None,
    dma: dict[str, Any] | None = None,
    scratchpad: dict[str, Any] | None = None,
    host: dict[str, Any] | None = None,
) -> Soc:
    """Build and wire the standard SoC. `memory` is a dram preset; the dicts override
    each model's parameters (see cosim.model_info(kind))."""
    h = HostCpu(sim, "host", **(host or {}))
    fab = sim.model("fabric", "fabric", **(fabric or {}))
    d = sim.model("dma", "dma", **(dma or {}))
    sp = sim.model("scratchpad", "spad", **(scratchpad or {}))
    mem = sim.model("dram", "dram", **{"preset": memory, **(dram or {})})
    sim.bind(h.bus, fab.port("target"))
    sim.bind(d.port("initiator"), fab.port("target"))
    fab.map(sp.port("port"), SPAD_BASE, sp.size)
    fab.map(d.port("control"), DMA_BASE, DMA_WINDOW)
    fab.map(mem.port("target"), DRAM_BASE, mem.capacity)
    irq = InterruptLine(sim, d.event("irq"), "dma_irq")
    return Soc(
        sim=sim,
        host=h,
        fabric=fab,
        dma=d,
        scratchpad=sp,
        dram=mem,
        dma_irq=irq,
        dma_driver=DmaDriver(h, DMA_BASE, irq),
        address_map={
            "scratchpad": (SPAD_BASE, sp.size),
            "dma": (DMA_BASE, DMA_WINDOW),
            "dram": (DRAM_BASE, mem.capacity),
        },
    )
