"""Pieces an accelerator's on-chip controller is built from, for any accelerator model:

- `ControllerPort`: the controller's initiator socket with the register helpers
  cosim.system.dma.DmaDriver expects of a host (so the controller can program a DMA itself);
  cosim.accel.device.Sequencer is one;
- `Doorbell`: host-visible command registers (a Python TLM target) that start the
  controller, and a completion interrupt the host waits on;
- `Fifo`: a bounded queue between two controller processes (prefetch / compute), with
  items stamped with the simulated time they became available;
- `EnergyCounters`: Python-side energy events charged through the shared energy table
  (entries defined once, each with its source).

Stats and energy over a phase of a run are measured with cosim.accel.phase.PhaseMeter.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import cosim
from cosim import _core
from cosim.system.host import InterruptLine


class ControllerPort:
    """An accelerator controller's socket, with the host-like helpers DmaDriver uses:
    uncached reads/writes, 32/64-bit registers, waiting on an interrupt line (no OS
    latency: the controller is hardware) and `compute` (no cost)."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket

    async def read(self, address: int, length: int) -> np.ndarray:
        return await self.socket.read(address, length)

    async def write(self, address: int, data: Any) -> None:
        await self.socket.write(address, data)

    async def read32(self, address: int) -> int:
        return int.from_bytes(bytes(await self.socket.read(address, 4)), "little")

    async def write32(self, address: int, value: int) -> None:
        await self.socket.write(address, np.frombuffer(struct.pack("<I", value), np.uint8).copy())

    async def write64(self, address: int, value: int) -> None:
        await self.write32(address, value & 0xFFFF_FFFF)
        await self.write32(address + 4, value >> 32)

    async def wait_irq(self, line: InterruptLine) -> None:
        await line.wait()

    async def compute(self, ops: int) -> None:
        return None


class Doorbell:
    """Command registers of an accelerator as the host sees them: a write of a 32-bit
    command to offset 0 queues it for the controller (`await doorbell.command()`); the
    controller calls `complete()` to raise the completion interrupt (`irq`, an
    InterruptLine the host waits on with HostCpu.wait_irq). Offset 4 reads the number
    of completed commands."""

    WINDOW = 0x100

    def __init__(self, sim: Any, name: str, irq_name: str | None = None) -> None:
        self.name = name
        self._commands: deque[int] = deque()
        self._arrived = sim.event(f"{name}.command")
        self._done = sim.event(f"{name}.done")
        self.completed = 0
        self.target = sim.target(name, self)
        # the interrupt line's listener is a process: its name must be unique in the run
        self.irq = InterruptLine(sim, self._done, irq_name or f"{name}_irq")

    @property
    def port(self) -> Any:
        return self.target.port("socket")

    def b_transport(self, payload: Any, delay: int) -> int:
        if payload.length != 4:
            payload.set_error(_core.Response.BURST_ERROR, "doorbell registers are 32-bit")
            return delay
        if payload.is_write and payload.address == 0:
            (value,) = struct.unpack("<I", payload.data.tobytes())
            self._commands.append(value)
            self._arrived.notify(delay)
        elif payload.is_read and payload.address == 4:
            payload.data[:] = np.frombuffer(struct.pack("<I", self.completed), np.uint8)
        else:
            payload.set_error(
                _core.Response.ADDRESS_ERROR,
                f"doorbell '{self.name}': write commands at 0x0, read the completed count at 0x4",
            )
            return delay
        payload.set_ok()
        return delay

    async def command(self) -> int:
        while not self._commands:
            await self._arrived
        return self._commands.popleft()

    def complete(self) -> None:
        self.completed += 1
        self._done.notify()


class Fifo:
    """A bounded FIFO between processes. `put` waits for room, `get` for an item; an
    item is not visible before the simulated time it was put (processes may run ahead
    with temporal decoupling). Capacity is in items, or in any unit `size(item)` gives
    (bytes of a buffer); an item larger than the capacity is taken into an empty FIFO."""

    def __init__(
        self, sim: Any, name: str, capacity: int, size: Callable[[Any], int] | None = None
    ) -> None:
        if capacity < 1:
            raise ValueError(f"fifo '{name}': capacity must be >= 1, got {capacity}")
        self.name = name
        self.capacity = capacity
        self._size = size or (lambda _item: 1)
        self._items: deque[tuple[int, Any, int]] = deque()
        self._used = 0
        self._changed = sim.event(f"{name}.changed")

    def __len__(self) -> int:
        return len(self._items)

    @property
    def used(self) -> int:
        return self._used

    async def put(self, item: Any) -> None:
        n = self._size(item)
        while self._items and self._used + n > self.capacity:
            await self._changed
        self._items.append((cosim.now(), item, n))
        self._used += n
        self._changed.notify()

    async def get(self) -> Any:
        while not self._items:
            await self._changed
        t, item, n = self._items.popleft()
        self._used -= n
        self._changed.notify()
        if t > cosim.now():
            await cosim.delay(t - cosim.now())
        return item


@dataclass(frozen=True)
class EnergyEntry:
    """An energy-table entry a Python-side model charges (see cosim.energy.define)."""

    key: str
    pj: float
    unit: str
    source: str
    doc: str = ""
    scaling: str = "logic"


class EnergyCounters:
    """Energy events of one Python-side component: `counters.add(kind, n)` charges n
    units of the entry registered for `kind`."""

    def __init__(
        self,
        sim: Any,
        component: str,
        entries: dict[str, EnergyEntry],
        descriptions: dict[str, str],
    ) -> None:
        known = {e.key for e in cosim.energy.table().values()}
        self._events: dict[str, Any] = {}
        for kind, e in entries.items():
            if e.key not in known:
                sim.energy.define(
                    e.key, e.pj, e.unit, source=e.source, doc=e.doc, scaling=e.scaling
                )
                known.add(e.key)
            self._events[kind] = sim.energy.event(
                component, kind, e.key, descriptions.get(kind, kind)
            )

    def add(self, kind: str, n: int | float) -> None:
        if n:
            self._events[kind].add(int(n))
