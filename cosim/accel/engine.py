"""What every accelerator compute engine with interchangeable implementations shares
(docs/design.md, principle 5; the pattern is written down in docs/accelerators.md).

An engine presents named TLM target ports (a 32-bit register port and data streams) and
a `done` event, whatever its implementation:

- "functional": a numpy model in Python behind `sim.target(...)` ports (untimed: every
  transaction completes in zero time, jobs finish when they start);
- "tlm": an approximately timed C++ model in tlm/ (`sim.model(kind, ...)`);
- "rtl": the SystemVerilog top in rtl/, Verilated, behind register and stream bridges.

    eng = build_engine(sim, "eie", impl, ports=("csr", "ld", "act", "out"),
                       functional=lambda done: EieFunctional(geometry, done),
                       tlm=("eie_tlm", {...}),
                       rtl=RtlTop("eie", {...}, stream_in=("ld", "act"), stream_out=("out",)))
    bus.map(eng.port("csr"), base, 0x100)

`build_engine` is the one place that checks the implementation, wraps a functional twin's
handlers in Python targets (`Forward`), instantiates the TLM model, builds and bridges the
RTL and records its build in the provenance; the stream-shaped engines
(cosim.accel.stream_engine.make_engine) and the systolic array build through it.

The helpers for functional twins (`Forward`, `EngineProtocolError`, `reg_word`,
`reply_word`) keep the register and stream conventions of the RTL bridges: 4-byte register
accesses, whole beats on the streams, errors answered with a TLM error response that names
the engine and the reason.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from cosim import _core
from cosim.errors import ParameterError

IMPLEMENTATIONS = ("functional", "tlm", "rtl")


class Engine(Protocol):
    """What a device needs of any engine view (EnginePorts, stream_engine.StreamEngine):
    its instance name, its TLM target ports by name and its done event."""

    name: str
    done: Any

    @property
    def ports(self) -> Mapping[str, Any]: ...


@dataclass
class EnginePorts:
    """The ports of one engine instance, whatever its implementation."""

    name: str
    impl: str
    ports: dict[str, Any]  # TLM target ports by name
    done: Any  # event notified when a job finishes
    model: Any = None  # RtlBlock, C++ Model, or the functional state

    def port(self, name: str) -> Any:
        if name not in self.ports:
            raise KeyError(
                f"engine '{self.name}' has no port '{name}' (ports: {', '.join(self.ports)})"
            )
        return self.ports[name]


@dataclass(frozen=True)
class RtlTop:
    """How to put an RTL top behind bridges: its parameters, which pins form a register
    port and which form input/output streams (bridge names = pin prefixes)."""

    top: str
    parameters: Mapping[str, Any]
    registers: str = "csr"
    stream_in: Sequence[str] = ()
    stream_out: Sequence[str] = ()
    #: input streams that are sinks (always ready while the block computes): not blocking
    sinks: Sequence[str] = ()
    #: data pin width (bits) of a stream, checked against the netlist when given
    widths: Mapping[str, int] = field(default_factory=dict)
    done: str = "done"
    busy: str = "busy"
    #: cosim.rtl.block options (the block's call may add and override them); idle is
    #: "gate" unless given here
    options: Mapping[str, Any] = field(default_factory=dict)


class EngineProtocolError(Exception):
    """A transaction a functional twin refuses (it answers it with a TLM error)."""

    def __init__(self, message: str, status: Any = None) -> None:
        super().__init__(message)
        self.status = status if status is not None else _core.Response.COMMAND_ERROR


class Forward:
    """A Python TLM target forwarding every transaction to `fn(payload)` (untimed). `fn`
    answers the payload itself (reply_word, set_error, ...) or raises
    EngineProtocolError, answered with that TLM error response; a payload it leaves
    unanswered is answered OK."""

    def __init__(self, fn: Callable[[Any], None]) -> None:
        self.fn = fn

    def b_transport(self, payload: Any, delay: int) -> int:
        try:
            self.fn(payload)
        except EngineProtocolError as e:
            payload.set_error(e.status, str(e))
            return delay
        if payload.response == _core.Response.INCOMPLETE:
            payload.set_ok()
        return delay


def check_impl(engine: str, impl: str) -> str:
    if impl not in IMPLEMENTATIONS:
        raise ParameterError(
            f"{engine}: impl must be one of {', '.join(IMPLEMENTATIONS)}, got {impl!r}"
        )
    return impl


def record_rtl_build(what: str, lib: Any) -> None:
    """Record the content hash of an RTL build in the run's provenance."""
    from cosim import provenance

    provenance.record(f"rtl_build.{what}", lib.key)


def build_engine(
    sim: Any,
    name: str,
    impl: str,
    *,
    ports: Sequence[str] | Mapping[str, str],
    functional: Callable[[Any], Any],
    tlm: tuple[str, Mapping[str, Any]],
    rtl: RtlTop,
    clock: int | str = "1 ns",
    label: str | None = None,
    **rtl_options: Any,
) -> EnginePorts:
    """Instantiate engine `name` with implementation `impl`.

    ports names the engine's ports; as a mapping, port -> the functional twin's method
    that handles it (a sequence: methods named as the ports). functional(done_event)
    returns the numpy twin; each of its handlers takes a payload (see Forward). tlm is
    (registered model kind, its parameters); clock is added to them. rtl describes the
    top; rtl_options go to cosim.rtl.block (waves=, ...). label names the engine in
    errors (default: name)."""
    handlers = dict(ports) if isinstance(ports, Mapping) else {p: p for p in ports}
    what = label or name
    check_impl(what, impl)
    if impl != "rtl" and rtl_options:
        raise ParameterError(f"{what}: options {sorted(rtl_options)} apply to impl='rtl' only")
    if impl == "functional":
        done = sim.event(f"{name}.done")
        state = functional(done)
        found = {
            p: sim.target(f"{name}_{p}", Forward(getattr(state, h))).port("socket")
            for p, h in handlers.items()
        }
        return EnginePorts(name, impl, found, done, state)
    if impl == "tlm":
        kind, params = tlm
        m = sim.model(kind, name, **{**params, "clock": clock})
        return EnginePorts(name, impl, {p: m.port(p) for p in handlers}, m.event("done"), m)
    from cosim import rtl as rtl_flow

    lib = rtl_flow.build(rtl.top, dict(rtl.parameters))
    record_rtl_build(name, lib)
    options = {"idle": "gate", **rtl.options, **rtl_options}
    blk = rtl_flow.block(sim, name, lib, clock=clock, reset="rst_n", busy=rtl.busy, **options)
    w = rtl.widths
    found = {rtl.registers: blk.register_port(rtl.registers)}
    found.update(
        {s: blk.stream_in(s, width=w.get(s), blocking=s not in rtl.sinks) for s in rtl.stream_in}
    )
    found.update({s: blk.stream_out(s, width=w.get(s)) for s in rtl.stream_out})
    missing = [p for p in handlers if p not in found]
    if missing:
        raise ParameterError(f"{what}: the RTL top '{rtl.top}' has no bridge for {missing}")
    return EnginePorts(name, impl, {p: found[p] for p in handlers}, blk.interrupt(rtl.done), blk)


# ------------------------------------------------------------- functional-twin helpers


def reg_access_ok(payload: Any, engine: str) -> bool:
    """A register access must be 4 bytes without byte enables (as the register bridge)."""
    if payload.length != 4 or payload.byte_enable is not None:
        payload.set_error(
            _core.Response.BURST_ERROR, f"{engine}: the register port takes 4-byte accesses"
        )
        return False
    return True


def reg_word(payload: Any) -> int:
    """The 32-bit value of a register write."""
    return struct.unpack("<I", payload.data.tobytes())[0]


def reply_word(payload: Any, value: int) -> None:
    """Answer a register read with a 32-bit value."""
    payload.data[:] = np.frombuffer(struct.pack("<I", value & 0xFFFF_FFFF), dtype=np.uint8)
    payload.set_ok()


def whole_beats(payload: Any, beat_bytes: int, write: bool, engine: str, what: str) -> bool:
    """A stream transaction must move whole beats in the stream's direction."""
    ok = (payload.is_write if write else payload.is_read) and payload.length % beat_bytes == 0
    if not ok or payload.byte_enable is not None:
        payload.set_error(
            _core.Response.BURST_ERROR,
            f"{engine}: {what} {'writes' if write else 'reads'} must be whole beats of "
            f"{beat_bytes} bytes",
        )
        return False
    return True
