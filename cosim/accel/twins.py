"""Compute engines with three interchangeable implementations behind one set of ports
(DESIGN.md principle 5), for engines that take a register port and two streams:

    csr    32-bit registers (req/ack pins in the RTL), byte addresses:
             0x00 CTRL    W  bits select the job to start (engine specific; 0 starts none)
             0x04 STATUS  R  bit 0 busy, bit 1 done, further bits engine specific
             0x08 CYCLES  R  clock cycles of the last job (0 in the untimed twin)
             0x0C INFO    R  engine shape, version in bits [31:24]
             0x10 ...     engine configuration registers
    in     input beats (writes of whole beats)
    out    output beats (reads of whole beats)
    done   an event notified when a job has finished

Implementations (`engine(...)` builds any of them by name):
    functional  a Python target (numpy), untimed: a subclass of FunctionalEngine;
    tlm         the C++ model `<kind>_tlm` in tlm/, approximately timed from the RTL;
    rtl         rtl/<kind>.sv behind cosim.rtl bridges (pins clk, rst_n, csr_*, in_*,
                out_*, busy, done).

`EngineDriver` programs one from an initiator socket bound to each port. The systolic
array (cosim.accel.systolic) follows the same pin and register conventions.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from cosim import _core
from cosim.errors import ParameterError, SimulationError
from cosim.host import InterruptLine

IMPLEMENTATIONS = ("functional", "tlm", "rtl")
CTRL, STATUS, CYCLES, INFO = 0x00, 0x04, 0x08, 0x0C
STATUS_BUSY, STATUS_DONE = 1, 2


@dataclass
class Engine:
    """The ports of one engine instance, whatever its implementation."""

    kind: str
    impl: str
    csr: Any  # cosim Port (TLM target)
    data_in: Any
    data_out: Any
    done: Any  # cosim Event
    in_beat_bytes: int
    out_beat_bytes: int
    model: Any = None  # FunctionalEngine, the C++ model or the RtlBlock
    notes: dict[str, Any] = field(default_factory=dict)


class ProtocolError(Exception):
    """A transaction a functional twin refuses; it answers it with a TLM error response."""

    def __init__(self, message: str, status: Any = None) -> None:
        super().__init__(message)
        self.status = status if status is not None else _core.Response.COMMAND_ERROR


class FunctionalEngine:
    """Base of the numpy twins: the register file with CTRL/STATUS/CYCLES/INFO, whole-beat
    checks, the result queue and the done event. Subclasses set `config_registers`
    (address -> name) and implement `info()`, `start(ctrl)` (a CTRL write with a non-zero
    value while idle), `wanted()` (input beats the job takes now) and `consume(beats)`;
    they queue results with `emit()` and call `finish()` when the job is over once its
    queued results are read (or at once when it has none)."""

    config_registers: ClassVar[dict[int, str]] = {}

    def __init__(self, name: str, in_beat_bytes: int, out_beat_bytes: int, done: Any) -> None:
        self.name = name
        self.in_beat_bytes = in_beat_bytes
        self.out_beat_bytes = out_beat_bytes
        self.done = done
        self.regs: dict[str, int] = dict.fromkeys(self.config_registers.values(), 0)
        self.busy = False
        self.finished = False
        self.status_bits = 0  # engine-specific STATUS bits above bit 1
        self.jobs = 0
        self._results: list[bytes] = []
        self._ending = False

    # ---------------------------------------------------------- subclass API
    def info(self) -> int:
        raise NotImplementedError

    def start(self, ctrl: int) -> None:
        raise NotImplementedError

    def wanted(self) -> int:
        raise NotImplementedError

    def consume(self, beats: np.ndarray) -> None:
        raise NotImplementedError

    def emit(self, beats: np.ndarray | bytes) -> None:
        raw = np.frombuffer(bytes(beats), np.uint8) if isinstance(beats, bytes) else beats
        rows = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1, self.out_beat_bytes)
        self._results.extend(bytes(r) for r in rows)

    def finish(self) -> None:
        self._ending = True
        self._maybe_done()

    # ---------------------------------------------------------- TLM targets
    def _maybe_done(self) -> None:
        if self._ending and not self._results:
            self._ending = False
            self.busy = False
            self.finished = True
            self.done.notify()

    def csr_access(self, payload: Any) -> None:
        if payload.length != 4:
            raise ProtocolError(
                "the register port takes 4-byte accesses", _core.Response.BURST_ERROR
            )
        addr = payload.address
        if payload.is_write:
            (value,) = struct.unpack("<I", payload.data.tobytes())
            if addr == CTRL:
                if value and not self.busy:
                    self.busy, self.finished = True, False
                    self.status_bits = 0
                    self._results.clear()
                    self._ending = False
                    self.jobs += 1
                    self.start(value)
            elif addr in self.config_registers:
                self.regs[self.config_registers[addr]] = value
            return
        if addr == STATUS:
            value = self.status_bits | (STATUS_BUSY if self.busy else 0)
            value |= STATUS_DONE if self.finished else 0
        elif addr == INFO:
            value = self.info()
        elif addr in self.config_registers:
            value = self.regs[self.config_registers[addr]]
        else:
            value = 0
        payload.data[:] = np.frombuffer(struct.pack("<I", value & 0xFFFF_FFFF), np.uint8)

    def inputs(self, payload: Any) -> None:
        if not payload.is_write or payload.length % self.in_beat_bytes:
            raise ProtocolError(
                f"input writes must be whole beats of {self.in_beat_bytes} bytes",
                _core.Response.BURST_ERROR,
            )
        n = payload.length // self.in_beat_bytes
        want = self.wanted() if self.busy else 0
        if n > want:
            raise ProtocolError(
                f"no job is waiting for {n} input beats (the engine takes {want} now)"
            )
        self.consume(payload.data.reshape(n, self.in_beat_bytes).copy())

    def outputs(self, payload: Any) -> None:
        if not payload.is_read or payload.length % self.out_beat_bytes:
            raise ProtocolError(
                f"output reads must be whole beats of {self.out_beat_bytes} bytes",
                _core.Response.BURST_ERROR,
            )
        n = payload.length // self.out_beat_bytes
        if n > len(self._results):
            raise ProtocolError(
                f"asked for {n} output beats but only {len(self._results)} exist (send the "
                "inputs they depend on first)"
            )
        payload.data[:] = np.frombuffer(b"".join(self._results[:n]), np.uint8)
        del self._results[:n]
        self._maybe_done()


class _Target:
    """A Python TLM target forwarding to one method of a FunctionalEngine."""

    def __init__(self, fn: Callable[[Any], None]) -> None:
        self.fn = fn

    def b_transport(self, payload: Any, delay: int) -> int:
        try:
            self.fn(payload)
        except ProtocolError as e:
            payload.set_error(e.status, str(e))
            return delay
        payload.set_ok()
        return delay


def engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    kind: str,
    in_beat_bytes: int,
    out_beat_bytes: int,
    functional: Callable[[Any], FunctionalEngine],
    tlm_params: dict[str, Any],
    rtl_params: dict[str, Any],
    clock: int | str = "1 ns",
    **rtl_options: Any,
) -> Engine:
    """Instantiate engine `kind` as `name` with implementation `impl`: the numpy twin
    `functional(done_event)`, the C++ model `<kind>_tlm` with `tlm_params` and `clock`,
    or rtl/<kind>.sv with SystemVerilog parameters `rtl_params` (rtl_options go to
    cosim.rtl.block, e.g. waves=)."""
    if impl not in IMPLEMENTATIONS:
        raise ParameterError(
            f"{kind} '{name}': impl must be one of {', '.join(IMPLEMENTATIONS)}, got {impl!r}"
        )
    if rtl_options and impl != "rtl":
        raise ParameterError(f"{kind} '{name}': options {sorted(rtl_options)} apply to rtl only")
    if impl == "functional":
        done = sim.event(f"{name}.done")
        state = functional(done)
        ports = [
            sim.target(f"{name}_{p}", _Target(fn)).port("socket")
            for p, fn in (("csr", state.csr_access), ("in", state.inputs), ("out", state.outputs))
        ]
        return Engine(kind, impl, *ports, done, in_beat_bytes, out_beat_bytes, state)
    if impl == "tlm":
        m = sim.model(f"{kind}_tlm", name, clock=clock, **tlm_params)
        return Engine(
            kind,
            impl,
            m.port("csr"),
            m.port("in"),
            m.port("out"),
            m.event("done"),
            in_beat_bytes,
            out_beat_bytes,
            m,
        )
    from cosim import provenance, rtl

    lib = rtl.build(kind, rtl_params)
    provenance.record(f"rtl_build.{name}", lib.key[:16])
    blk = rtl.block(sim, name, lib, clock=clock, reset="rst_n", busy="busy", **rtl_options)
    return Engine(
        kind,
        impl,
        blk.register_port("csr"),
        blk.stream_in("in", width=8 * in_beat_bytes),
        blk.stream_out("out", width=8 * out_beat_bytes),
        blk.interrupt("done"),
        in_beat_bytes,
        out_beat_bytes,
        blk,
    )


class EngineDriver:
    """Programs one Engine through three initiator sockets (csr, in, out), each bound to
    the engine's port of that name (directly, or through a router at the given bases).
    `irq` latches the engine's done event (a cosim.host.InterruptLine), so a job that
    finishes before the driver waits is not missed; every job raises done once."""

    def __init__(
        self,
        eng: Engine,
        sockets: tuple[Any, Any, Any],
        irq: InterruptLine,
        bases: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        self.engine = eng
        self.s_csr, self.s_in, self.s_out = sockets
        self.irq = irq
        self.csr_base, self.in_base, self.out_base = bases
        self.jobs = 0

    @classmethod
    def attach(cls, sim: Any, eng: Engine, name: str) -> Any:
        """A driver with three new initiator sockets bound straight to the engine's ports
        (a controller wired to its engine, no interconnect in between)."""
        socks = tuple(sim.initiator(f"{name}_{p}") for p in ("csr", "in", "out"))
        for s, port in zip(socks, (eng.csr, eng.data_in, eng.data_out), strict=True):
            sim.bind(s, port)
        return cls(eng, socks, InterruptLine(sim, eng.done, f"{name}_done"))  # type: ignore[arg-type]

    async def write_reg(self, offset: int, value: int) -> None:
        if not 0 <= value < 1 << 32:
            raise ValueError(f"register value {value} does not fit in 32 bits")
        await self.s_csr.write(
            self.csr_base + offset, np.frombuffer(struct.pack("<I", value), np.uint8).copy()
        )

    async def read_reg(self, offset: int) -> int:
        data = await self.s_csr.read(self.csr_base + offset, 4)
        return int(struct.unpack("<I", data.tobytes())[0])

    async def start(self, ctrl: int) -> None:
        await self.write_reg(CTRL, ctrl)
        self.jobs += 1

    async def send(self, data: np.ndarray | bytes) -> None:
        raw = np.frombuffer(bytes(data), np.uint8) if isinstance(data, bytes) else data
        raw = np.ascontiguousarray(raw).view(np.uint8).reshape(-1)
        if raw.size % self.engine.in_beat_bytes:
            raise ValueError(
                f"{raw.size} bytes are not whole input beats of {self.engine.in_beat_bytes}"
            )
        if raw.size:
            await self.s_in.write(self.in_base, raw)

    async def receive(self, beats: int) -> np.ndarray:
        """`beats` output beats as an (n, out_beat_bytes) uint8 array."""
        ob = self.engine.out_beat_bytes
        if beats == 0:
            return np.zeros((0, ob), np.uint8)
        raw = await self.s_out.read(self.out_base, beats * ob)
        return np.asarray(raw, np.uint8).reshape(beats, ob)

    async def wait_done(self, error_bit: int = 0, what: str = "job") -> int:
        """Wait for the job's done, then read STATUS; raise SimulationError if
        `error_bit` (a STATUS bit) is set. Returns STATUS."""
        await self.irq.wait()
        status = await self.read_reg(STATUS)
        if error_bit and status & error_bit:
            raise SimulationError(
                f"{self.engine.kind} '{getattr(self.engine.model, 'name', '?')}' refused the "
                f"{what} (STATUS {status:#x})"
            )
        return status


def u32_le(values: np.ndarray) -> np.ndarray:
    """Little-endian bytes of 32-bit values (a flat uint8 array)."""
    return np.ascontiguousarray(np.asarray(values).astype("<u4")).view(np.uint8)
