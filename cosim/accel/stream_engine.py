"""A common shape for accelerator compute engines with three interchangeable
implementations (docs/design.md, principle 5): a register port and two streams.

Every engine built on this module presents the same TLM ports whatever its
implementation:

    csr       32-bit registers (req/ack in the RTL), byte addresses:
                0x00 CTRL    W  bit 0: start a job; further bits are engine flags
                0x04 STATUS  R  bit 0 busy, bit 1 done, bit 2 the last start was refused
                0x08 CYCLES  R  clock cycles of the last job (0 for the untimed twin)
                0x0C INFO    R  engine shape (engine specific), version in [31:24]
                0x10 ...     engine configuration registers (read back as written)
    data_in   operand beats (writes of whole beats)
    data_out  result beats (reads of whole beats)
    done      an event notified when a job has delivered its last result

A job: write the configuration registers, write CTRL, write the job's input beats, read
its result beats. How many beats of each a job takes, and in which order they may be
interleaved, is each engine's protocol (documented with the engine). The three
implementations are:

    functional  a Python target (numpy), untimed: FunctionalEngine subclasses;
    tlm         a C++ model in tlm/accel/, approximately timed from the RTL's
                microarchitecture (StreamEngineTlm, tlm/accel/stream_engine.h, on
                EngineTlm, the base of every engine's twin);
    rtl         the SystemVerilog block in rtl/ behind cosim.rtl bridges.

`make_engine()` instantiates any of them by name (through
cosim.accel.engine.build_engine, as every engine); `shaped_engine()` does it for an engine
whose build parameters are one shape object; `EngineDriver` programs one from an
initiator socket (the host, an accelerator controller).
"""

from __future__ import annotations

import abc
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from cosim import _core
from cosim.accel.engine import IMPLEMENTATIONS, EngineProtocolError, RtlTop, build_engine
from cosim.errors import ParameterError

#: The ports of every stream-shaped engine and the FunctionalEngine method handling each.
PORTS = {"csr": "csr_access", "in": "inputs", "out": "outputs"}
CTRL, STATUS, CYCLES, INFO, CONFIG_BASE = 0x00, 0x04, 0x08, 0x0C, 0x10
CTRL_START = 1
STATUS_BUSY, STATUS_DONE, STATUS_ERROR = 1, 2, 4
#: Version field of INFO for engines of this family.
VERSION = 1


@dataclass
class StreamEngine:
    """The ports of one engine instance, whatever its implementation."""

    kind: str  # engine family name, e.g. "nm_sparse_engine"
    impl: str  # functional | tlm | rtl
    csr: Any  # cosim.Port (TLM target)
    data_in: Any
    data_out: Any
    done: Any  # cosim.Event
    in_beat_bytes: int
    out_beat_bytes: int
    model: Any = None  # FunctionalEngine, the C++ Model or the RtlBlock
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""  # the instance's name

    @property
    def ports(self) -> dict[str, Any]:
        """The TLM target ports by name (csr, in, out), as cosim.accel.engine.EnginePorts
        has them: a device attaches either view (cosim.accel.device.Accelerator.attach)."""
        return {"csr": self.csr, "in": self.data_in, "out": self.data_out}


class EngineHeader(abc.ABC):
    """The standard register header of a numpy twin (every engine's, whatever its
    streams): busy, done and error for STATUS, CYCLES 0 (untimed), INFO from info()."""

    def __init__(self) -> None:
        self.busy = False
        self.finished = False  # the last job completed
        self.error = False  # STATUS bit 2: the last start was refused (refuse()), ...
        self.jobs = 0

    @abc.abstractmethod
    def info(self) -> int:
        """The INFO register: the engine's shape, VERSION in bits [31:24]."""

    def refuse(self) -> None:
        """Refuse the job being started (a configuration out of range): the engine stays
        idle and STATUS bit 2 is set, as in the RTL."""
        self.error, self.busy = True, False

    def status(self) -> int:
        return (
            (STATUS_BUSY if self.busy else 0)
            | (STATUS_DONE if self.finished else 0)
            | (STATUS_ERROR if self.error else 0)
        )

    def read_header(self, addr: int) -> int | None:
        """STATUS, CYCLES or INFO at `addr`; None for an engine register."""
        if addr == STATUS:
            return self.status()
        if addr == CYCLES:
            return 0
        if addr == INFO:
            return self.info()
        return None


class FunctionalEngine(EngineHeader):
    """Base of the numpy twins of stream engines: register file, the header
    (EngineHeader), whole-beat checks, a queue of result beats and the done event.
    Subclasses implement `config_registers` (address -> name), `info()`, `start(flags)`,
    `consume(beats)` (call `emit()` for results and `finish()` when the job has nothing
    more to give once its results are read) and `wanted()` (input beats the job still
    takes now). Event counters: `counter_registers` (name -> address) are read from
    `self.counters` (32 bits, wrapping); a CTRL write with `counter_clear_flag` set
    zeroes them before anything else it does."""

    config_registers: ClassVar[dict[int, str]] = {}
    counter_registers: ClassVar[dict[str, int]] = {}
    counter_clear_flag: ClassVar[int] = 0

    def __init__(self, name: str, in_beat_bytes: int, out_beat_bytes: int, done: Any) -> None:
        super().__init__()
        self.name = name
        self.in_beat_bytes = in_beat_bytes
        self.out_beat_bytes = out_beat_bytes
        self.done = done
        self.regs: dict[str, int] = dict.fromkeys(self.config_registers.values(), 0)
        self.counters: dict[str, int] = dict.fromkeys(self.counter_registers, 0)
        self._counter_at = {a: n for n, a in self.counter_registers.items()}
        self._results: list[bytes] = []
        self._ending = False

    # ------------------------------------------------------------------ subclass API

    @abc.abstractmethod
    def start(self, flags: int) -> None:
        """A job starts (CTRL written with bit 0 set; `flags` is the whole CTRL word)."""

    @abc.abstractmethod
    def consume(self, beats: np.ndarray) -> None:
        """Input beats of the current job: an (n, in_beat_bytes) uint8 array."""

    @abc.abstractmethod
    def wanted(self) -> int:
        """How many input beats the current job takes now."""

    def emit(self, beats: np.ndarray) -> None:
        """Queue result beats: an (n, out_beat_bytes) uint8 array."""
        raw = np.ascontiguousarray(beats, dtype=np.uint8).reshape(-1, self.out_beat_bytes)
        self._results.extend(bytes(r) for r in raw)

    def end_job(self) -> None:
        """No further inputs: the job is over once its queued results are read."""
        self._ending = True
        self._maybe_finish()

    # ------------------------------------------------------------------- TLM targets
    def _maybe_finish(self) -> None:
        if self._ending and not self._results:
            self._ending = False
            self.busy = False
            self.finished = True
            self.done.notify()

    def csr_access(self, payload: Any) -> None:
        if payload.length != 4:
            raise EngineProtocolError(
                "the register port takes 4-byte accesses", _core.Response.BURST_ERROR
            )
        addr = payload.address
        if payload.is_write:
            (value,) = struct.unpack("<I", payload.data.tobytes())
            if addr == CTRL:
                if value & self.counter_clear_flag:
                    self.counters = dict.fromkeys(self.counter_registers, 0)
                if value & CTRL_START and not self.busy:
                    self.busy, self.finished = True, False
                    self._results.clear()
                    self._ending = False
                    self.jobs += 1
                    self.error = False
                    self.start(value)
            elif addr in self.config_registers:
                self.regs[self.config_registers[addr]] = value
            return
        header = self.read_header(addr)
        if header is not None:
            value = header
        elif addr in self.config_registers:
            value = self.regs[self.config_registers[addr]]
        elif addr in self._counter_at:
            value = self.counters[self._counter_at[addr]]
        else:
            value = 0
        payload.data[:] = np.frombuffer(struct.pack("<I", value & 0xFFFF_FFFF), np.uint8)

    def inputs(self, payload: Any) -> None:
        if not payload.is_write or payload.length % self.in_beat_bytes:
            raise EngineProtocolError(
                f"operand writes must be whole beats of {self.in_beat_bytes} bytes",
                _core.Response.BURST_ERROR,
            )
        n = payload.length // self.in_beat_bytes
        want = self.wanted() if self.busy else 0
        if n > want:
            raise EngineProtocolError(
                f"no job is waiting for {n} input beats (it takes {want} now: write the "
                "configuration, then CTRL, and send the beats the job takes; read results "
                "the protocol says come first)"
            )
        self.consume(payload.data.reshape(n, self.in_beat_bytes).copy())

    def outputs(self, payload: Any) -> None:
        if not payload.is_read or payload.length % self.out_beat_bytes:
            raise EngineProtocolError(
                f"result reads must be whole beats of {self.out_beat_bytes} bytes",
                _core.Response.BURST_ERROR,
            )
        n = payload.length // self.out_beat_bytes
        if n > len(self._results):
            raise EngineProtocolError(
                f"asked for {n} result beats but only {len(self._results)} exist (send the "
                "inputs they depend on first)"
            )
        payload.data[:] = np.frombuffer(b"".join(self._results[:n]), np.uint8)
        del self._results[:n]
        self._maybe_finish()


def make_engine(
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
    clock: int | str,
    **rtl_options: Any,
) -> StreamEngine:
    """Instantiate engine family `kind` as `name` with implementation `impl` (through
    cosim.accel.engine.build_engine).

    functional(done_event) builds the numpy twin; tlm_params go to the C++ model
    `<kind>_tlm` (with `clock`); rtl_params are the SystemVerilog parameters of
    rtl/<kind>.sv, whose pins follow the convention clk, rst_n, csr_*, in_*, out_*,
    busy, done. rtl_options go to cosim.rtl.block (waves=..., idle=...)."""
    eng = build_engine(
        sim,
        name,
        impl,
        ports=PORTS,
        functional=functional,
        tlm=(f"{kind}_tlm", tlm_params),
        rtl=RtlTop(
            kind,
            rtl_params,
            stream_in=("in",),
            stream_out=("out",),
            widths={"in": 8 * in_beat_bytes, "out": 8 * out_beat_bytes},
        ),
        clock=clock,
        label=f"{kind} '{name}'",
        **rtl_options,
    )
    return StreamEngine(
        kind,
        impl,
        eng.port("csr"),
        eng.port("in"),
        eng.port("out"),
        eng.done,
        in_beat_bytes,
        out_beat_bytes,
        eng.model,
        rtl_params if impl == "rtl" else tlm_params,
        name,
    )


class BuildShape(Protocol):
    """The build parameters of an engine as one object (EngineShape, SoftmaxShape, ...)."""

    def tlm_params(self) -> dict[str, Any]: ...

    def rtl_params(self) -> dict[str, Any]: ...


def shaped_engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    kind: str,
    shape: BuildShape,
    twin: Callable[[str, Any, Any], FunctionalEngine],
    in_beat_bytes: int,
    out_beat_bytes: int,
    clock: int | str,
    **rtl_options: Any,
) -> StreamEngine:
    """make_engine() for an engine whose build parameters are one shape object: the TLM
    and RTL parameters come from it, the numpy twin is twin(name, shape, done), and the
    shape is kept in the result's params["shape"]."""
    eng = make_engine(
        sim,
        name,
        impl,
        kind=kind,
        in_beat_bytes=in_beat_bytes,
        out_beat_bytes=out_beat_bytes,
        functional=lambda done: twin(name, shape, done),
        tlm_params=shape.tlm_params(),
        rtl_params=shape.rtl_params(),
        clock=clock,
        **rtl_options,
    )
    eng.params["shape"] = shape
    return eng


class EngineRegisters(abc.ABC):
    """The register part of a driver, the same for every engine (the standard header):
    start a job, read STATUS, CYCLES and INFO. Subclasses say how a register is reached:
    EngineDriver through initiator sockets, RegisterWindow through anything with
    write32/read32 (an accelerator's sequencer, the host)."""

    @abc.abstractmethod
    async def write_reg(self, offset: int, value: int) -> None: ...

    @abc.abstractmethod
    async def read_reg(self, offset: int) -> int: ...

    async def set_reg(self, offset: int, value: int) -> None:
        """Write a configuration register only when it changes (a job's registers read
        back as written, so an unchanged value costs no register access)."""
        written: dict[int, int] = self.__dict__.setdefault("_written", {})
        if written.get(offset) != value:
            await self.write_reg(offset, value)
            written[offset] = value

    async def start(self, flags: int = 0) -> None:
        """Start a job (CTRL bit 0, with the engine's `flags`)."""
        await self.write_reg(CTRL, CTRL_START | flags)

    async def read_status(self) -> int:
        return await self.read_reg(STATUS)

    async def read_cycles(self) -> int:
        """Clock cycles of the last job (0 until it is done; 0 for the untimed twin)."""
        return await self.read_reg(CYCLES)

    async def read_info(self) -> int:
        return await self.read_reg(INFO)


class RegisterWindow(EngineRegisters):
    """An engine's registers at `base` on a bus with write32(addr, value) and
    read32(addr): an accelerator's sequencer or the host."""

    def __init__(self, bus: Any, base: int) -> None:
        self.bus, self.base = bus, base

    async def write_reg(self, offset: int, value: int) -> None:
        await self.bus.write32(self.base + offset, value)

    async def read_reg(self, offset: int) -> int:
        return int(await self.bus.read32(self.base + offset))


class EngineDriver(EngineRegisters):
    """Programs one StreamEngine through initiator sockets: `socket` reaches the
    engine's three ports at the base addresses csr, data_in and data_out (a router in
    front of it), or `sockets` gives one socket bound to each port directly.
    `done_line` (an InterruptLine on the engine's done event, as attach() makes) lets
    wait_done() wait for a job without missing a done that fired before it waits."""

    def __init__(
        self,
        socket: Any,
        *,
        csr: int = 0,
        data_in: int = 0,
        data_out: int = 0,
        in_beat_bytes: int,
        out_beat_bytes: int,
        sockets: tuple[Any, Any, Any] | None = None,
        done_line: Any = None,
    ) -> None:
        self.csr_addr, self.in_addr, self.out_addr = csr, data_in, data_out
        self.s_csr, self.s_in, self.s_out = sockets or (socket, socket, socket)
        self.in_beat_bytes = in_beat_bytes
        self.out_beat_bytes = out_beat_bytes
        self.done_line = done_line
        self.engine: StreamEngine | None = None
        self.jobs = 0

    @classmethod
    def attach(cls, sim: Any, engine: StreamEngine, name: str) -> Any:
        """A driver wired straight to `engine` (a controller next to its engine, no
        interconnect): three new initiator sockets bound to its ports, and a latch on its
        done event."""
        from cosim.system.host import InterruptLine

        socks = tuple(sim.initiator(f"{name}_{p}") for p in ("csr", "in", "out"))
        for s, port in zip(socks, (engine.csr, engine.data_in, engine.data_out), strict=True):
            sim.bind(s, port)
        drv = cls(
            None,
            in_beat_bytes=engine.in_beat_bytes,
            out_beat_bytes=engine.out_beat_bytes,
            sockets=socks,  # type: ignore[arg-type]
            done_line=InterruptLine(sim, engine.done, f"{name}_done"),
        )
        drv.engine = engine
        return drv

    async def wait_done(self, error_bits: int = 0, what: str = "job") -> int:
        """Wait for the current job's done (each job raises it once), then read STATUS;
        SimulationError if any of `error_bits` is set. Needs a done_line."""
        from cosim.errors import SimulationError

        if self.done_line is None:
            raise ParameterError("wait_done() needs the driver's done_line (use attach())")
        await self.done_line.wait()
        status = await self.read_reg(STATUS)
        if status & error_bits:
            kind = self.engine.kind if self.engine is not None else "engine"
            raise SimulationError(f"{kind}: the {what} was refused (STATUS {status:#x})")
        return status

    async def write_reg(self, offset: int, value: int) -> None:
        if not 0 <= value < 1 << 32:
            raise ValueError(f"register value {value} does not fit in 32 bits")
        await self.s_csr.write(
            self.csr_addr + offset, np.frombuffer(struct.pack("<I", value), np.uint8).copy()
        )

    async def read_reg(self, offset: int) -> int:
        data = await self.s_csr.read(self.csr_addr + offset, 4)
        return struct.unpack("<I", data.tobytes())[0]

    async def start(self, flags: int = 0) -> None:
        await super().start(flags)
        self.jobs += 1

    async def send(self, beats: np.ndarray) -> None:
        """Write input beats: an (n, in_beat_bytes) array or flat bytes."""
        raw = np.ascontiguousarray(beats).view(np.uint8).reshape(-1)
        if raw.size % self.in_beat_bytes:
            raise ValueError(f"{raw.size} bytes are not whole beats of {self.in_beat_bytes}")
        if raw.size:
            await self.s_in.write(self.in_addr, raw)

    async def receive(self, n: int) -> np.ndarray:
        """Read n result beats: an (n, out_beat_bytes) uint8 array."""
        if n == 0:
            return np.zeros((0, self.out_beat_bytes), np.uint8)
        raw = await self.s_out.read(self.out_addr, n * self.out_beat_bytes)
        return np.asarray(raw, dtype=np.uint8).reshape(n, self.out_beat_bytes)


def pad_beats(rows: np.ndarray, beat_bytes: int) -> np.ndarray:
    """Rows of bytes zero-padded (or checked) to whole beats: (n, beat_bytes) uint8."""
    rows = np.ascontiguousarray(rows).view(np.uint8).reshape(len(rows), -1)
    if rows.shape[1] > beat_bytes:
        raise ValueError(f"a row of {rows.shape[1]} bytes does not fit a {beat_bytes}-byte beat")
    out = np.zeros((len(rows), beat_bytes), np.uint8)
    out[:, : rows.shape[1]] = rows
    return out


__all__ = [
    "CONFIG_BASE",
    "CTRL",
    "CTRL_START",
    "CYCLES",
    "IMPLEMENTATIONS",
    "INFO",
    "PORTS",
    "STATUS",
    "STATUS_BUSY",
    "STATUS_DONE",
    "STATUS_ERROR",
    "VERSION",
    "BuildShape",
    "EngineDriver",
    "EngineHeader",
    "EngineProtocolError",
    "EngineRegisters",
    "FunctionalEngine",
    "RegisterWindow",
    "StreamEngine",
    "make_engine",
    "pad_beats",
    "shaped_engine",
]
