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
- the command window the host programs through the fabric at `base`
  (cosim.accel.control.CommandWindow: CMD, STATUS, IRQ_ENABLE, 16 ARG, 8 RESULT);
- the sequencer: the accelerator's control unit, which runs the command handler
  registered for the number written to CMD. It works at command and tile
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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import cosim
from cosim.accel.control import (
    ARG0,
    BUFFER,
    CMD,
    IRQ_ENABLE,
    N_ARGS,
    N_RESULTS,
    RESULT0,
    STATUS,
    STATUS_BUSY,
    STATUS_DONE,
    STATUS_ERROR,
    AcceleratorError,
    CommandWindow,
    ControllerPort,
    Handler,
)
from cosim.accel.engine import Engine
from cosim.errors import ParameterError
from cosim.system.host import HostCpu, InterruptLine
from cosim.units import parse_time

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
    "WINDOW": BUFFER,  # the registers end where the optional buffer starts
}
#: Default largest single transfer the sequencer issues when it copies data.
DEFAULT_CHUNK = 4096


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
        self._streams: list[tuple[int, int]] = []
        self._next_window = 0x6000_0000
        self._engines: dict[str, tuple[Engine, int, int]] = {}
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
        # Host-visible command window; its handlers get the sequencer.
        self.window = CommandWindow(
            sim, name, clock=self.clock, register_cycles=register_cycles, context=self.sequencer
        )
        self.window.map(soc.fabric, base)
        self.irq = self.window.irq
        self.register_latency = self.window.register_latency

    @property
    def commands_run(self) -> int:
        return self.window.commands_run

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
        """Register the handler of command `code` (decorator); it gets the sequencer."""
        return self.window.command(code, name)


class AcceleratorDriver:
    """The host's driver for a command window (an Accelerator's, or a CommandWindow on
    the fabric): write the arguments and the command, wait for the completion, read the
    results. Each access is an uncached MMIO access of the host (its cost comes from the
    host_cpu model). The wait is the interrupt, acknowledged by clearing STATUS.done, or
    with `poll_ops` set, polling STATUS with that many driver operations between reads
    (no interrupt to acknowledge; the next command clears done)."""

    def __init__(
        self, host: HostCpu, device: Accelerator | CommandWindow, poll_ops: int | None = None
    ) -> None:
        self.host = host
        self.window = device.window if isinstance(device, Accelerator) else device
        if self.window.base is None:
            raise ParameterError(f"command window '{self.window.name}' is not mapped on a fabric")
        self.base: int = self.window.base
        self.poll_ops = poll_ops
        self.irq = (
            InterruptLine(device.sim, self.window.irq, f"{device.name}_irq")
            if poll_ops is None
            else None
        )
        self._enabled = False

    async def run(self, command: int, *args: int, results: int = 0) -> list[int]:
        """start() then finish(): the command's results."""
        await self.start(command, *args, results=results)
        return await self.finish(command, results)

    async def start(self, command: int, *args: int, results: int = 0) -> None:
        """Write the arguments and the command (and IRQ_ENABLE, once)."""
        base = self.base
        if len(args) > N_ARGS or results > N_RESULTS:
            raise ParameterError(
                f"accelerator '{self.window.name}': at most {N_ARGS} arguments and "
                f"{N_RESULTS} results"
            )
        if self.irq is not None and not self._enabled:
            await self.host.write32(base + IRQ_ENABLE, 1)
            self._enabled = True
        for i, a in enumerate(args):
            await self.host.write32(base + ARG0 + 4 * i, int(a) & 0xFFFF_FFFF)
        await self.host.write32(base + CMD, command)

    async def finish(self, command: int, results: int = 0) -> list[int]:
        """Wait for the command started last to complete; its first `results` results."""
        base = self.base
        if self.irq is not None:
            await self.host.wait_irq(self.irq)
            status = await self.host.read32(base + STATUS)
            await self.host.write32(base + STATUS, STATUS_DONE | STATUS_ERROR)
        else:
            assert self.poll_ops is not None
            while (status := await self.host.read32(base + STATUS)) & STATUS_BUSY:
                await self.host.compute(self.poll_ops)
            if status & STATUS_ERROR:
                await self.host.write32(base + STATUS, STATUS_ERROR)
        if status & STATUS_ERROR:
            raise AcceleratorError(
                f"accelerator '{self.window.name}': command {command} failed (STATUS "
                f"{status:#x}: unknown command or started while busy)"
            )
        return [await self.host.read32(base + RESULT0 + 4 * i) for i in range(results)]


def split64(value: int) -> tuple[int, int]:
    """(low, high) 32-bit words of a 64-bit argument."""
    return value & 0xFFFF_FFFF, value >> 32
