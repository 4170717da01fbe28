"""An accelerator attached to the standard SoC (cosim.system.soc.build_soc): the part every
accelerator scenario wires the same way (docs/accelerators.md).

    soc = build_soc(sim, memory="ddr4_2400")
    dev = Accelerator(sim, soc, "eie", base=ACCEL_BASE, clock="1 ns")
    eng = eie_engine(sim, "eie_pe", impl="rtl", ...)
    dev.attach(eng, base=ENGINE_BASE)          # engine ports on the accelerator's local bus

    @dev.command(1, "infer")
    async def infer(seq: Sequencer) -> list[int]:     # the accelerator's control program
        x = await seq.read(seq.arg64(0), 2048)         # DRAM, through the SoC fabric
        await seq.write(dev.address(eng, "act"), x)    # an engine stream
        ...
        return [cycles]

    # host side, in the driver process:
    drv = AcceleratorDriver(soc.host, dev)
    cycles, = await drv.run(1, *args, results=1)       # MMIO, then wait for the interrupt

Pieces:
- control registers the host programs through the fabric (a Python TLM target at
  `base`): 0x00 CMD (W: run command n), 0x04 STATUS (R: bit 0 busy, bit 1 done, bit 2
  error; W: 1s clear done and error), 0x08 IRQ_ENABLE (bit 0), 0x10 + 4i ARG[i] (i < 16),
  0x50 + 4i RESULT[i] (i < 8);
- the sequencer: the accelerator's control unit, a Python process that runs the command
  handler registered for the number written to CMD. It works at command and tile
  granularity (register writes, stream transfers, waiting for an engine's `done`), never
  per cycle; its transactions go out through its own initiator on a local bus;
- the local bus (a router with one cycle of latency): the engines' ports, the
  scratchpad's second access port, and an uplink into the SoC fabric for DRAM; two
  initiators use it, the sequencer and a data mover for transfers that run while the
  sequencer programs the engines (background_copy);
- the completion interrupt (an event; the host's InterruptLine latches it).

The control logic itself is not charged energy (its registers and FSM are small next to
the engines and memories it drives: an assumption stated in every scenario's report).
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np

import cosim
from cosim import _core
from cosim.accel.control import ControllerPort
from cosim.accel.engine import Engine
from cosim.errors import CosimError, ParameterError
from cosim.system.host import HostCpu, InterruptLine
from cosim.units import parse_time

CMD, STATUS, IRQ_ENABLE = 0x00, 0x04, 0x08
ARG0, RESULT0 = 0x10, 0x50
N_ARGS, N_RESULTS = 16, 8
WINDOW = 0x100
STATUS_BUSY, STATUS_DONE, STATUS_ERROR = 1, 2, 4
#: The command window's register table and codes, for code generated from them (the C
#: board header of the RISC-V host, cosim.system.riscv_host).
REGISTERS = {
    "CMD": CMD,
    "STATUS": STATUS,
    "IRQ_ENABLE": IRQ_ENABLE,
    "ARG0": ARG0,
    "RESULT0": RESULT0,
}
CODES = {
    "STATUS_BUSY": STATUS_BUSY,
    "STATUS_DONE": STATUS_DONE,
    "STATUS_ERROR": STATUS_ERROR,
    "N_ARGS": N_ARGS,
    "N_RESULTS": N_RESULTS,
    "WINDOW": WINDOW,
}
#: Default largest single transfer the sequencer issues when it copies data.
DEFAULT_CHUNK = 4096


class AcceleratorError(CosimError):
    """A command ended with STATUS.error (unknown command, or one started while busy)."""


class Sequencer(ControllerPort):
    """What a command handler gets: the command's arguments, the local-bus socket with
    the register helpers of every accelerator controller (read/write/read32/write32 of
    cosim.accel.control.ControllerPort) and helpers to move data and wait. One instance
    per device, reused by every command."""

    def __init__(self, device: Accelerator) -> None:
        super().__init__(device.socket)
        self.device = device
        self.mover = device.mover
        self.args: list[int] = [0] * N_ARGS

    def arg64(self, i: int) -> int:
        """ARG[i] | ARG[i+1] << 32 (an address)."""
        return self.args[i] | self.args[i + 1] << 32

    def _step(self, chunk: int | None, beat: int) -> int:
        step = chunk or self.device.chunk
        if beat < 1 or beat > step:
            raise ValueError(
                f"accelerator '{self.device.name}': beat of {beat} B vs chunk {step} B"
            )
        return step - step % beat

    async def copy(
        self,
        src: int,
        dst: int,
        nbytes: int,
        chunk: int | None = None,
        socket: Any = None,
        beat: int = 1,
    ) -> None:
        """Move nbytes from src to dst (memories or streams) in transfers of at most
        `chunk` bytes (the device's chunk size, rounded down to whole `beat`s of a
        stream), each a read then a write, through `socket` (default: the sequencer's)."""
        step = self._step(chunk, beat)
        sock = socket or self.socket
        src_stream, dst_stream = self.device.is_stream(src), self.device.is_stream(dst)
        for off in range(0, nbytes, step):
            data = await sock.read(src if src_stream else src + off, min(step, nbytes - off))
            await sock.write(dst if dst_stream else dst + off, data)

    def background_copy(self, src: int, dst: int, nbytes: int, beat: int = 1) -> Any:
        """Start copy() on the data mover (a second initiator of the device) in its own
        process, so the sequencer can program engines meanwhile; await the returned
        process to wait for it."""
        return cosim.spawn(self.copy(src, dst, nbytes, socket=self.mover, beat=beat))

    async def send(
        self, dst: int, data: np.ndarray, chunk: int | None = None, beat: int = 1
    ) -> None:
        """Write `data` to dst in transfers of at most `chunk` bytes (whole beats)."""
        step = self._step(chunk, beat)
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        stream = self.device.is_stream(dst)
        for off in range(0, len(raw), step):
            await self.write(dst if stream else dst + off, raw[off : off + step])

    async def wait(self, event: Any) -> None:
        """Wait for an engine's done (an InterruptLine from Accelerator.done_line)."""
        await event.wait()

    async def cycles(self, n: int) -> None:
        """Spend n cycles of the device clock (sequencer work that is not a transfer)."""
        await cosim.delay(n * self.device.clock)


Handler = Callable[[Sequencer], Awaitable[Sequence[int] | None]]


class _ControlRegisters:
    """The host-visible control window (a Python TLM target)."""

    def __init__(self, device: Accelerator) -> None:
        self.dev = device

    def b_transport(self, p: Any, delay: int) -> int:
        if p.length != 4 or p.address % 4 or p.address >= WINDOW or p.byte_enable is not None:
            p.set_error(
                _core.Response.ADDRESS_ERROR,
                f"accelerator '{self.dev.name}': control registers take aligned 4-byte "
                f"accesses in [0x0, {WINDOW - 1:#x}], got {p.length} B at {p.address:#x}",
            )
            return delay
        a = p.address
        if p.is_write:
            (v,) = struct.unpack("<I", p.data.tobytes())
            self.dev._write(a, v, delay)
        else:
            p.data[:] = np.frombuffer(struct.pack("<I", self.dev._read(a)), np.uint8)
        p.set_ok()
        return delay + self.dev.register_latency


class Accelerator:
    """An accelerator on `soc`: control registers at `base` on the fabric, a sequencer
    with a local bus, and an interrupt. Engines are attached with attach()."""

    def __init__(
        self,
        sim: Any,
        soc: Any,
        name: str,
        *,
        base: int,
        clock: int | str = "1 ns",
        register_cycles: int = 2,
        chunk: int = DEFAULT_CHUNK,
        scratchpad: bool = True,
    ) -> None:
        self.sim = sim
        self.soc = soc
        self.name = name
        self.base = base
        self.clock = parse_time(clock) if isinstance(clock, str) else int(clock)
        if self.clock <= 0:
            raise ParameterError(f"accelerator '{name}': clock must be > 0, got {clock!r}")
        if not 16 <= chunk <= 1 << 20:
            raise ParameterError(f"accelerator '{name}': chunk = {chunk} is out of range 16..2**20")
        self.chunk = chunk
        self.register_latency = register_cycles * self.clock
        self._handlers: dict[int, tuple[str, Handler]] = {}
        self._args = [0] * N_ARGS
        self._results = [0] * N_RESULTS
        self._busy = self._done = self._error = False
        self._irq_enable = False
        self._pending: int | None = None
        self._streams: list[tuple[int, int]] = []
        self._next_window = 0x6000_0000
        self._engines: dict[str, tuple[Engine, int, int]] = {}
        self.irq = sim.event(f"{name}.irq")
        self._start = sim.event(f"{name}.start")
        self.commands_run = 0
        # Host-visible control window.
        self._regs = sim.target(f"{name}_ctl", _ControlRegisters(self))
        soc.fabric.map(self._regs.port("socket"), base, WINDOW)
        # The sequencer's local bus: engines, scratchpad port, uplink to the fabric.
        self.bus = sim.model("router", f"{name}_bus", latency=self.clock)
        self.socket = sim.initiator(f"{name}_seq")
        sim.bind(self.socket, self.bus.port("target"))
        self.mover = sim.initiator(f"{name}_mover")  # concurrent transfers (background_copy)
        sim.bind(self.mover, self.bus.port("target"))
        if scratchpad:
            self.bus.map(soc.scratchpad.port("port"), soc.SPAD, soc.scratchpad.size)
        self.bus.map(soc.fabric.port("target"), soc.DRAM, soc.dram.capacity, translate=False)
        self.sequencer = Sequencer(self)
        sim.process(self._run(), name=f"{name}_sequencer", daemon=True)

    # ------------------------------------------------------------------ wiring
    def attach(
        self, engine: Engine, *, streams: Sequence[str] = (), window: int = 0x10_0000
    ) -> int:
        """Map every port of `engine` on the local bus, each in its own `window` of
        addresses; `streams` names the ports that are streams (their address is not
        used: copies into them do not advance the address). Returns the base address."""
        base = self._next_window
        for i, (pname, port) in enumerate(engine.ports.items()):
            at = base + i * window
            self.bus.map(port, at, window)
            if pname in streams:
                self._streams.append((at, at + window))
        self._next_window = base + len(engine.ports) * window
        self._engines[engine.name] = (engine, base, window)
        return base

    def address(self, engine: Engine, port: str) -> int:
        """Local-bus address of one port of an attached engine."""
        eng, base, window = self._engines[engine.name]
        names = list(eng.ports)
        if port not in names:
            raise KeyError(f"engine '{engine.name}' has no port '{port}' (ports: {names})")
        return base + names.index(port) * window

    def is_stream(self, address: int) -> bool:
        return any(lo <= address < hi for lo, hi in self._streams)

    def done_line(self, engine: Engine) -> InterruptLine:
        """A latched view of an engine's done event (so a done that fires before the
        sequencer waits is not missed)."""
        return InterruptLine(self.sim, engine.done, f"{self.name}_{engine.name}_done")

    def command(self, code: int, name: str) -> Callable[[Handler], Handler]:
        """Register the handler of command `code` (decorator)."""
        if not 1 <= code <= 255 or code in self._handlers:
            raise ParameterError(
                f"accelerator '{self.name}': command {code} must be 1..255 and registered once"
            )

        def register(fn: Handler) -> Handler:
            self._handlers[code] = (name, fn)
            return fn

        return register

    # ------------------------------------------------------------ registers
    def _write(self, a: int, v: int, delay: int) -> None:
        if a == CMD:
            if self._busy or v not in self._handlers:
                self._error = True
                self._done = True
                if self._irq_enable:
                    self.irq.notify(delay)
                return
            self._busy, self._done, self._pending = True, False, v
            self._start.notify(delay)
        elif a == STATUS:
            if v & STATUS_DONE:
                self._done = False
            if v & STATUS_ERROR:
                self._error = False
        elif a == IRQ_ENABLE:
            self._irq_enable = bool(v & 1)
        elif ARG0 <= a < ARG0 + 4 * N_ARGS:
            self._args[(a - ARG0) // 4] = v

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
            return self._args[(a - ARG0) // 4]
        if RESULT0 <= a < RESULT0 + 4 * N_RESULTS:
            return self._results[(a - RESULT0) // 4]
        return 0

    # ------------------------------------------------------------ the sequencer
    async def _run(self) -> None:
        while True:
            await self._start
            code = self._pending
            assert code is not None
            name, handler = self._handlers[code]
            self.sequencer.args = list(self._args)
            t0 = cosim.now()
            results = list(await handler(self.sequencer) or [])
            if len(results) > N_RESULTS:
                raise AcceleratorError(
                    f"accelerator '{self.name}': command '{name}' returned {len(results)} "
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


class AcceleratorDriver:
    """The host's driver for an Accelerator: write the arguments, the command, wait for
    the interrupt, read the results. Each access is an uncached MMIO access of the host
    (its cost comes from the host_cpu model), the wait an interrupt."""

    def __init__(self, host: HostCpu, device: Accelerator) -> None:
        self.host = host
        self.device = device
        self.irq = InterruptLine(device.sim, device.irq, f"{device.name}_irq")
        self._enabled = False

    async def run(self, command: int, *args: int, results: int = 0) -> list[int]:
        base = self.device.base
        if len(args) > N_ARGS or results > N_RESULTS:
            raise ParameterError(
                f"accelerator '{self.device.name}': at most {N_ARGS} arguments and "
                f"{N_RESULTS} results"
            )
        if not self._enabled:
            await self.host.write32(base + IRQ_ENABLE, 1)
            self._enabled = True
        for i, a in enumerate(args):
            await self.host.write32(base + ARG0 + 4 * i, int(a) & 0xFFFF_FFFF)
        await self.host.write32(base + CMD, command)
        await self.host.wait_irq(self.irq)
        status = await self.host.read32(base + STATUS)
        await self.host.write32(base + STATUS, STATUS_DONE | STATUS_ERROR)
        if status & STATUS_ERROR:
            raise AcceleratorError(
                f"accelerator '{self.device.name}': command {command} failed (STATUS "
                f"{status:#x}: unknown command or started while busy)"
            )
        return [await self.host.read32(base + RESULT0 + 4 * i) for i in range(results)]


def split64(value: int) -> tuple[int, int]:
    """(low, high) 32-bit words of a 64-bit argument."""
    return value & 0xFFFF_FFFF, value >> 32
