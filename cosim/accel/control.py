"""Pieces an accelerator's on-chip controller is built from, for any accelerator model:

- `ControllerPort`: the controller's initiator socket with the register helpers
  cosim.system.dma.DmaDriver expects of a host (so the controller can program a DMA itself);
  cosim.accel.device.Sequencer is one;
- `CommandWindow`: the command window every accelerator's host driver programs
  (command, status, arguments, results, interrupt, optional buffer), which runs the
  handler of each command in the controller's process;
- `Fifo`: the bounded queue between two controller processes (prefetch / compute); an
  item is not visible before the simulated time it was put;
- `EnergyCounters`: Python-side energy events charged through the shared energy table
  (entries defined once, each with its source).

Stats and energy over a phase of a run are measured with cosim.accel.phase.PhaseMeter.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import cosim
from cosim import _core
from cosim.errors import CosimError, ParameterError
from cosim.system.host import InterruptLine
from cosim.units import parse_time


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


class AcceleratorError(CosimError):
    """A command ended with STATUS.error (unknown command, or one started while busy)."""


# The command window's registers, as the host sees them (32-bit, little-endian).
CMD, STATUS, IRQ_ENABLE = 0x00, 0x04, 0x08
ARG0, RESULT0 = 0x10, 0x50
N_ARGS, N_RESULTS = 16, 8
#: The registers end here; the optional buffer starts here.
BUFFER = 0x100
STATUS_BUSY, STATUS_DONE, STATUS_ERROR = 1, 2, 4

Handler = Callable[[Any], Awaitable[Sequence[int] | None]]


class _WindowTarget:
    """The window as a Python TLM target: aligned 32-bit registers, then the buffer."""

    def __init__(self, window: CommandWindow) -> None:
        self.w = window

    def b_transport(self, p: Any, delay: int) -> int:
        w, a, n = self.w, p.address, p.length
        if a >= BUFFER and a + n <= w.size and p.byte_enable is None:
            off = a - BUFFER
            if p.is_write:
                w.buffer[off : off + n] = p.data
            else:
                p.data[:] = w.buffer[off : off + n]
        elif n == 4 and a % 4 == 0 and a < BUFFER and p.byte_enable is None:
            if p.is_write:
                (v,) = struct.unpack("<I", p.data.tobytes())
                w._write(a, v, delay)
            else:
                p.data[:] = np.frombuffer(struct.pack("<I", w._read(a)), np.uint8)
        else:
            buffer = f", buffer [{BUFFER:#x}, {w.size - 1:#x}]" if w.size > BUFFER else ""
            p.set_error(
                _core.Response.ADDRESS_ERROR,
                f"command window '{w.name}': registers take aligned 4-byte accesses in "
                f"[0x0, {BUFFER - 1:#x}]{buffer}; got {n} B at {a:#x}",
            )
            return delay
        p.set_ok()
        return delay + w.register_latency


class CommandWindow:
    """The host's view of an accelerator's controller, the same for every accelerator:
    0x00 CMD (W: run command n), 0x04 STATUS (R: bit 0 busy, bit 1 done, bit 2 error;
    W: 1s clear done and error), 0x08 IRQ_ENABLE (bit 0), 0x10 + 4i ARG[i] (i < 16),
    0x50 + 4i RESULT[i] (i < 8), and an optional buffer of `buffer_bytes` from 0x100.

    A write to CMD starts the handler registered for n (`command`) in the controller's
    process, which gets `context` (default: the window) with `args` set to the ARG
    registers as they were at the write. When it returns, its results go to RESULT,
    STATUS becomes done and, if IRQ_ENABLE, the interrupt (`irq`) is raised. A command
    written while one runs, or an unknown one, is not started: STATUS becomes done +
    error and the interrupt is raised (a posted register write cannot be refused).
    Every access takes `register_cycles` cycles of `clock`; a command starts when its
    CMD write completes (the register holds it then)."""

    def __init__(
        self,
        sim: Any,
        name: str,
        *,
        clock: int | str = "1 ns",
        register_cycles: int = 2,
        buffer_bytes: int = 0,
        context: Any = None,
    ) -> None:
        self.sim = sim
        self.name = name
        self.clock = parse_time(clock) if isinstance(clock, str) else int(clock)
        if self.clock <= 0:
            raise ParameterError(f"command window '{name}': clock must be > 0, got {clock!r}")
        if register_cycles < 0 or buffer_bytes < 0 or buffer_bytes % 4:
            raise ParameterError(
                f"command window '{name}': register_cycles = {register_cycles} must be >= 0 "
                f"and buffer_bytes = {buffer_bytes} a multiple of 4"
            )
        self.register_latency = register_cycles * self.clock
        self.size = BUFFER + buffer_bytes
        self.buffer = np.zeros(buffer_bytes, np.uint8)
        self.context = context if context is not None else self
        self.args: list[int] = [0] * N_ARGS
        self.base: int | None = None
        self._handlers: dict[int, tuple[str, Handler]] = {}
        self._regs = [0] * N_ARGS
        self._results = [0] * N_RESULTS
        self._busy = self._done = self._error = False
        self._irq_enable = False
        self._pending: int | None = None
        self.irq = sim.event(f"{name}.irq")
        self._start = sim.event(f"{name}.start")
        self.commands_run = 0
        self.target = sim.target(f"{name}_ctl", _WindowTarget(self))
        sim.process(self._run(), name=f"{name}_controller", daemon=True)

    @property
    def port(self) -> Any:
        return self.target.port("socket")

    def map(self, fabric: Any, base: int) -> None:
        """Put the window on `fabric` (a router) at `base`, where drivers find it."""
        fabric.map(self.port, base, self.size)
        self.base = base

    def arg64(self, i: int) -> int:
        """ARG[i] | ARG[i+1] << 32 (an address)."""
        return self.args[i] | self.args[i + 1] << 32

    @property
    def busy(self) -> bool:
        return self._busy

    def command(self, code: int, name: str) -> Callable[[Handler], Handler]:
        """Register the handler of command `code` (decorator)."""
        if not 1 <= code <= 255 or code in self._handlers:
            raise ParameterError(
                f"command window '{self.name}': command {code} must be 1..255 and registered once"
            )

        def register(fn: Handler) -> Handler:
            self._handlers[code] = (name, fn)
            return fn

        return register

    # ------------------------------------------------------------ registers
    def _write(self, a: int, v: int, delay: int) -> None:
        if a == CMD:
            # the write takes effect once the register holds it, after the access latency
            if self._busy or v not in self._handlers:
                self._error = self._done = True
                if self._irq_enable:
                    self.irq.notify(delay + self.register_latency)
                return
            self._busy, self._done, self._pending = True, False, v
            self._start.notify(delay + self.register_latency)
        elif a == STATUS:
            if v & STATUS_DONE:
                self._done = False
            if v & STATUS_ERROR:
                self._error = False
        elif a == IRQ_ENABLE:
            self._irq_enable = bool(v & 1)
        elif ARG0 <= a < ARG0 + 4 * N_ARGS:
            self._regs[(a - ARG0) // 4] = v

    def _read(self, a: int) -> int:
        if a == STATUS:
            return (
                (STATUS_BUSY if self._busy else 0)
                | (STATUS_DONE if self._done else 0)
                | (STATUS_ERROR if self._error else 0)
            )
        if a == IRQ_ENABLE:
            return int(self._irq_enable)
        if ARG0 <= a < ARG0 + 4 * N_ARGS:
            return self._regs[(a - ARG0) // 4]
        if RESULT0 <= a < RESULT0 + 4 * N_RESULTS:
            return self._results[(a - RESULT0) // 4]
        return 0

    # ------------------------------------------------------------ the controller
    async def _run(self) -> None:
        while True:
            await self._start
            code = self._pending
            assert code is not None
            name, handler = self._handlers[code]
            ctx = self.context
            ctx.args = list(self._regs)
            t0 = cosim.now()
            results = list(await handler(ctx) or [])
            if len(results) > N_RESULTS:
                raise AcceleratorError(
                    f"command window '{self.name}': command '{name}' returned {len(results)} "
                    f"results; the window holds {N_RESULTS}"
                )
            self._results = [int(r) & 0xFFFF_FFFF for r in results] + [0] * (
                N_RESULTS - len(results)
            )
            if self.sim.trace.enabled:
                self.sim.trace.span(self.name, name, t0, cosim.now())
            self.commands_run += 1
            self._busy, self._done, self._pending = False, True, None
            if self._irq_enable:
                self.irq.notify()


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
