"""The host CPU: a driver program written as a Python coroutine, with a cost model.

    host = HostCpu(sim, "host", clock_hz=2e9)
    sim.bind(host.bus, fabric.port("target"))
    irq = InterruptLine(sim, dma.event("irq"), "dma_irq")

    @sim.process
    async def driver():
        await host.write32(DMA_BASE + 0x10, 1)     # uncached store: access_cycles + fabric
        await host.compute(50)                     # 50 driver operations at `cpi`
        await host.wait_irq(irq)                   # sleep until the interrupt, + irq_latency
        t = await host.run_kernel(flops=2e6, bytes=1e6)   # the same work on the host (roofline)

The driver runs at transaction granularity: one Python resumption per access, per
compute() call and per interrupt, never per cycle. The costs (C++ model 'host_cpu')
are counted as stats and charged as energy.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from cosim import _core


class InterruptLine:
    """Latches a device's interrupt event, so a driver that starts waiting after the
    interrupt fired does not miss it (a level-sensitive line with a pending count).

    `source` is a model's event (e.g. dma.event("irq")). A daemon process listens to it."""

    def __init__(self, sim: Any, source: _core.Event, name: str) -> None:
        self.name = name
        self.pending = 0
        self.raised = 0
        self._event = sim.event(name)
        self._source = source
        sim.process(self._listen(), name=f"irq_{name}", daemon=True)

    async def _listen(self) -> None:
        while True:
            await self._source
            self.pending += 1
            self.raised += 1
            self._event.notify()

    async def wait(self) -> None:
        """Return when an interrupt is pending (consuming it)."""
        while self.pending == 0:
            await self._event
        self.pending -= 1


class HostCpu:
    """A host core driving the system through its 'bus' port (bind it to the fabric).

    Parameters are those of the 'host_cpu' model (cosim.model_info('host_cpu')): clock,
    cycles per operation, core-side cost of an uncached access, interrupt latency, and
    the roofline figures of host-compute mode."""

    def __init__(self, sim: Any, name: str = "host", **params: Any) -> None:
        self.sim = sim
        self.name = name
        self.model = sim.model("host_cpu", name, **params)
        self.socket = sim.initiator(f"{name}_driver")
        sim.bind(self.socket, self.model.port("cpu_side"))

    @property
    def bus(self) -> _core.Port:
        """The host's initiator port: bind it to the fabric's 'target' port."""
        return self.model.port("bus")

    # ------------------------------------------------------------------- accesses
    async def read(self, address: int, length: int) -> np.ndarray:
        """An uncached read of `length` bytes (a uint8 array)."""
        return await self.socket.read(address, length)

    async def write(self, address: int, data: Any) -> None:
        """An uncached write of bytes / a numpy array."""
        await self.socket.write(address, data)

    async def read32(self, address: int) -> int:
        """Read a 32-bit little-endian register."""
        return int.from_bytes(bytes(await self.socket.read(address, 4)), "little")

    async def write32(self, address: int, value: int) -> None:
        """Write a 32-bit little-endian register."""
        if not 0 <= value < 1 << 32:
            raise ValueError(f"write32 value must fit in 32 bits, got {value:#x}")
        await self.socket.write(address, struct.pack("<I", value))

    async def write64(self, address: int, value: int) -> None:
        """Write a 64-bit value as two 32-bit register writes (low word first)."""
        if not 0 <= value < 1 << 64:
            raise ValueError(f"write64 value must fit in 64 bits, got {value:#x}")
        await self.write32(address, value & 0xFFFF_FFFF)
        await self.write32(address + 4, value >> 32)

    # --------------------------------------------------------------------- costs
    async def compute(self, ops: int) -> None:
        """Run `ops` operations of driver code (ops * cpi cycles)."""
        if ops < 0:
            raise ValueError(f"compute(ops) needs ops >= 0, got {ops}")
        await _core.delay(self.model.ops(int(ops)))

    async def wait_irq(self, line: InterruptLine) -> None:
        """Sleep until `line` has an interrupt pending, then pay the interrupt latency."""
        await line.wait()
        await _core.delay(self.model.take_irq())

    async def run_kernel(self, flops: float, bytes: float) -> dict[str, Any]:
        """Run a kernel on the host itself (host-compute mode): advance time by the
        roofline time max(flops / sustained FLOP/s, bytes / sustained bandwidth) and
        charge its energy. Returns time_ps, compute_ps, memory_ps and the bound."""
        r = dict(self.model.kernel(float(flops), float(bytes)))
        await _core.delay(r["time_ps"])
        return r

    def kernel_time(self, flops: float, bytes: float) -> int:
        """Roofline time (ps) of a host kernel, without running or charging it."""
        p = self.model.params
        tc = flops / (p["peak_flops"] * p["compute_efficiency"])
        tm = bytes / (p["memory_bandwidth"] * p["memory_efficiency"])
        return round(max(tc, tm) * 1e12)

    @property
    def cycle(self) -> float:
        """Clock period in ps."""
        return self.model.cycle_ps

    def cycles(self, n: float) -> int:
        """Duration of n core cycles in ps."""
        return round(n * self.model.cycle_ps)

    def __repr__(self) -> str:
        return f"<HostCpu '{self.name}' {self.model.params['clock_hz'] / 1e9:g} GHz>"
