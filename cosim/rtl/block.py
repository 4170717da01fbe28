"""An RTL block in a simulation, and the bridges that connect its pins to TLM.

    lib = cosim.rtl.build("systolic_array", {"ROWS": 4, "COLS": 4})

    def scenario(sim):
        sa = cosim.rtl.block(sim, "sa", lib, clock="1 ns", reset="rst_n", busy="busy")
        csr = sa.register_port("csr")           # pins csr_req, csr_ack, csr_we, ...
        a_in = sa.stream_in("in")               # pins in_valid, in_ready, in_data
        c_out = sa.stream_out("out")            # pins out_valid, out_ready, out_data
        done = sa.interrupt("done")             # an event: `await done`
        host = sim.initiator("host"); sim.bind(host, csr)
        ...

The block's clock runs in C++ (bridges/rtl_block.cpp); Python only sees transactions.
Pin names default to "<bridge name>_<role>" and are checked against the ports
Verilator reported, with the closest name suggested on a typo.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cosim import _core
from cosim.errors import BindingError
from cosim.rtl.builder import RtlBuild
from cosim.rtl.introspect import RtlPort
from cosim.units import parse_time

#: cycle_budget default: how many cycles a handshake may take before the run stops.
DEFAULT_CYCLE_BUDGET = 1_000_000

PinCallback = Callable[[int, Any], Any]


class _DefaultPin:
    """The default pin of a bridge role: <bridge name>_<role>."""

    def __repr__(self) -> str:
        return "<bridge>_<role>"


#: Default of the pin arguments of bridges: the pin named <bridge name>_<role>. None
#: means "no such pin" where a role is optional (a stream without ready).
DEFAULT_PIN = _DefaultPin()


def _bits(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo}..{hi}"


def _time(value: int | str, what: str) -> int:
    if isinstance(value, str):
        return parse_time(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"{what} must be a time: integer ps or a string like '1 ns', got {value!r}"
        )
    return value


class RtlBlock:
    """A Verilated RTL block clocked by C++ in a Simulation (see cosim.rtl.block)."""

    def __init__(
        self,
        sim: Any,
        name: str,
        build: RtlBuild,
        *,
        clock: int | str = "1 ns",
        clock_pin: str = "clk",
        reset: str | None = "rst_n",
        reset_active_low: bool | None = None,
        reset_cycles: int = 4,
        busy: str | None = None,
        quantum: int | str = "1 us",
        cycle_budget: int = DEFAULT_CYCLE_BUDGET,
        idle: str = "run",
        waves: str | Path | None = None,
        waves_window: tuple[int | str, int | str | None] | None = None,
        tie: Mapping[str, int] | None = None,
        undriven: str = "warn",
    ) -> None:
        if not isinstance(build, RtlBuild):
            raise TypeError(
                f"rtl block '{name}': build must come from cosim.rtl.build(), got {build!r}"
            )
        self.name = name
        waves_path = ""
        start = end = 0
        if waves is not None:
            suffix = Path(waves).suffix.lower()
            if suffix not in (".fst", ".vcd"):
                raise ValueError(
                    f"rtl block '{name}': waves file must end in .fst or .vcd, got {waves}"
                )
            build = build.with_trace(suffix[1:])
            waves_path = str(Path(waves).resolve())
            Path(waves_path).parent.mkdir(parents=True, exist_ok=True)
            if waves_window is not None:
                start = _time(waves_window[0], "waves_window start")
                end = 0 if waves_window[1] is None else _time(waves_window[1], "waves_window end")
        elif waves_window is not None:
            raise ValueError(f"rtl block '{name}': waves_window given without a waves file")
        self.build = build
        self._check(clock_pin, "input", 1, "clock")
        if reset is not None:
            self._check(reset, "input", 1, "reset")
            if reset_active_low is None:
                reset_active_low = reset.endswith(("_n", "_b", "_l")) or reset.lower() in (
                    "rstn",
                    "resetn",
                    "nreset",
                )
        if busy is not None:
            self._check(busy, "output", 1, "busy")
        self.model: _core.RtlBlock = sim.model(
            "rtl_block",
            name,
            library=str(build.library),
            clock=clock,
            clock_pin=clock_pin,
            reset=reset or "",
            reset_active_low=bool(reset_active_low) if reset is not None else True,
            reset_cycles=reset_cycles if reset is not None else 0,
            busy=busy or "",
            quantum=quantum,
            cycle_budget=cycle_budget,
            idle=idle,
            waves=waves_path,
            waves_start=start,
            waves_end=end,
            undriven=undriven,
        )
        for pin, value in (tie or {}).items():
            p = self._check(pin, "input", None, "tie")
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not (0 <= value < 1 << p.width)
            ):
                raise ValueError(
                    f"rtl block '{name}': tie value {value!r} for pin '{pin}' does not fit "
                    f"its {p.width} bits"
                )
            self.model.add_tie(pin, value.to_bytes(p.data_bytes, "little"))

    # ------------------------------------------------------------------ pins
    def _where(self, bridge: str | None) -> str:
        return f"rtl block '{self.name}' ({self.build.top})" + (
            f", bridge '{bridge}'" if bridge else ""
        )

    def _check(
        self,
        pin: str,
        direction: str,
        width: int | tuple[int, int] | None,
        role: str,
        bridge: str | None = None,
    ) -> RtlPort:
        """The port `pin`, checked; BindingError naming block, bridge and pin otherwise.
        A misspelled pin gets the closest name among the pins that could take the role
        (same direction, a width that fits)."""
        where = self._where(bridge)
        ports = {p.name: p for p in self.build.ports}
        lo, hi = (
            (None, None) if width is None else ((width, width) if isinstance(width, int) else width)
        )
        if pin not in ports:
            # A 1-bit pin is a control pin, not what a data role is missing.
            lo_hint = 2 if role == "data" and lo == 1 and (hi or 1) > 1 else lo
            fit = [
                p.name
                for p in self.build.ports
                if p.direction == direction
                and (lo_hint is None or lo_hint <= p.width <= (hi or lo_hint))
            ]
            close = difflib.get_close_matches(pin, fit, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            kind = f"{direction}s" + (
                "" if lo_hint is None else f" of {_bits(lo_hint, hi or lo_hint)} bits"
            )
            raise BindingError(
                f"{where}: no pin '{pin}' for the {role}{hint} ({kind}: "
                f"{', '.join(fit) or 'none'}; all pins: {', '.join(ports)})"
            )
        p = ports[pin]
        if p.direction != direction:
            raise BindingError(
                f"{where}: pin '{pin}' ({role}) is an {p.direction}; "
                f"the {role} must be an {direction}"
            )
        if lo is not None and not lo <= p.width <= (hi or lo):
            raise BindingError(
                f"{where}: pin '{pin}' ({role}) is {p.width} bits wide; "
                f"the {role} must be {_bits(lo, hi or lo)} bits"
            )
        return p

    def _pin(self, bridge: str, role: str, given: str | _DefaultPin | None) -> str | None:
        """The pin for `role`: the given name, None (no pin), or <bridge>_<role>."""
        if isinstance(given, _DefaultPin):
            return f"{bridge}_{role}"
        if given is not None and (not isinstance(given, str) or not given):
            raise TypeError(f"{self._where(bridge)}: the {role} pin must be a name, got {given!r}")
        return given

    def _data_pins(
        self,
        bridge: str,
        data: str | Sequence[str] | _DefaultPin,
        direction: str,
        width: int | None,
    ) -> list[str]:
        """The data pins of a stream bridge, checked: one name or several (packed least
        significant first), 1..1024 bits together (exactly `width` if given)."""
        if isinstance(data, _DefaultPin):
            names = [f"{bridge}_data"]
        elif isinstance(data, str):
            names = [data]
        else:
            names = list(data)
            if not names or not all(isinstance(n, str) and n for n in names):
                raise TypeError(
                    f"{self._where(bridge)}: data must be a pin name or a list of pin names, "
                    f"got {data!r}"
                )
        if len(set(names)) != len(names):
            raise BindingError(f"{self._where(bridge)}: a data pin is listed twice: {names}")
        if len(names) == 1:
            self._check(names[0], direction, (1, 1024) if width is None else width, "data", bridge)
            return names
        total = sum(self._check(n, direction, (1, 1024), "data", bridge).width for n in names)
        if total > 1024 or (width is not None and total != width):
            want = "at most 1024" if width is None else str(width)
            raise BindingError(
                f"{self._where(bridge)}: data pins {', '.join(names)} are {total} bits "
                f"together; the beat must be {want} bits"
            )
        return names

    @property
    def ports(self) -> tuple[RtlPort, ...]:
        return self.build.ports

    # --------------------------------------------------------------- bridges
    def stream_in(
        self,
        name: str,
        *,
        valid: str | _DefaultPin = DEFAULT_PIN,
        ready: str | _DefaultPin | None = DEFAULT_PIN,
        data: str | Sequence[str] | _DefaultPin = DEFAULT_PIN,
        width: int | None = None,
        blocking: bool = True,
    ) -> _core.Port:
        """A TLM target: writes of N bytes become N/beat_bytes valid/ready beats into
        the RTL (beat_bytes = ceil(beat bits/8), least significant byte first).

        data: one pin or a list of pins packed into one beat, the first in the least
        significant bits. `width`, if given, must equal the beat's width. ready=None:
        the RTL has no ready and takes a beat at every edge where valid is high.
        blocking=False declares a sink: its ready says the RTL can take a beat, not that
        it waits for one, so the clock keeps running (or parks) by the block's own
        state while it is idle. Pins default to <name>_valid, <name>_ready, <name>_data."""
        valid_pin = self._pin(name, "valid", valid)
        ready_pin = self._pin(name, "ready", ready)
        if valid_pin is None:
            raise BindingError(f"{self._where(name)}: a stream needs a valid pin")
        self._check(valid_pin, "input", 1, "valid", name)
        if ready_pin is not None:
            self._check(ready_pin, "output", 1, "ready", name)
        pins = self._data_pins(name, data, "input", width)
        return self.model.add_stream_in(
            name, valid_pin, ready_pin or "", pins, blocking=bool(blocking)
        )

    def stream_out(
        self,
        name: str,
        *,
        valid: str | _DefaultPin = DEFAULT_PIN,
        ready: str | _DefaultPin | None = DEFAULT_PIN,
        data: str | Sequence[str] | _DefaultPin = DEFAULT_PIN,
        width: int | None = None,
        blocking: bool = True,
        capture_depth: int | None = None,
    ) -> _core.Port:
        """A TLM target: reads of N bytes are filled with N/beat_bytes beats out of the RTL.

        data: one pin or several packed (first pin least significant), as stream_in.
        ready=None: the RTL has no ready (it does not wait for the reader): every beat
        it offers (valid high at an edge) is captured into a buffer of `capture_depth`
        beats that reads drain; a full buffer stops the run naming the pin and cycle.
        With a ready pin, valid falling before its beat was taken stops the run (the beat
        would be lost). blocking=False: valid high with nobody reading is not the RTL
        waiting on the outside (the clock keeps running by the block's own state)."""
        valid_pin = self._pin(name, "valid", valid)
        ready_pin = self._pin(name, "ready", ready)
        if valid_pin is None:
            raise BindingError(f"{self._where(name)}: a stream needs a valid pin")
        self._check(valid_pin, "output", 1, "valid", name)
        depth = 0
        if ready_pin is None:
            if capture_depth is None:
                raise BindingError(
                    f"{self._where(name)}: an output without ready (ready=None) is captured: "
                    "give capture_depth=N, the beats to buffer until they are read"
                )
            if (
                isinstance(capture_depth, bool)
                or not isinstance(capture_depth, int)
                or not (1 <= capture_depth <= 1 << 24)
            ):
                raise ValueError(
                    f"{self._where(name)}: capture_depth must be 1..{1 << 24} beats, "
                    f"got {capture_depth!r}"
                )
            depth = capture_depth
        else:
            if capture_depth is not None:
                raise BindingError(
                    f"{self._where(name)}: capture_depth is for outputs without ready "
                    f"(ready=None); this one has ready pin '{ready_pin}'"
                )
            self._check(ready_pin, "input", 1, "ready", name)
        pins = self._data_pins(name, data, "output", width)
        return self.model.add_stream_out(
            name, valid_pin, ready_pin or "", pins, blocking=bool(blocking), capture_depth=depth
        )

    def register_port(
        self,
        name: str,
        *,
        req: str | None = None,
        ack: str | None = None,
        write: str | None = None,
        addr: str | None = None,
        wdata: str | None = None,
        rdata: str | None = None,
    ) -> _core.Port:
        """A TLM target for MMIO: each read/write of ceil(width(wdata)/8) bytes at a byte
        address is a req/ack handshake. Default pins: <name>_req, <name>_ack, <name>_we,
        <name>_addr, <name>_wdata, <name>_rdata."""
        pins = {
            "req": req or f"{name}_req",
            "ack": ack or f"{name}_ack",
            "write": write or f"{name}_we",
            "addr": addr or f"{name}_addr",
            "wdata": wdata or f"{name}_wdata",
            "rdata": rdata or f"{name}_rdata",
        }
        self._check(pins["req"], "input", 1, "req", name)
        self._check(pins["ack"], "output", 1, "ack", name)
        self._check(pins["write"], "input", 1, "write", name)
        self._check(pins["addr"], "input", (1, 64), "addr", name)
        wd = self._check(pins["wdata"], "input", (1, 64), "wdata", name)
        self._check(pins["rdata"], "output", wd.width, "rdata (as wide as wdata)", name)
        return self.model.add_register_port(name, **pins)

    def memory_master(
        self,
        name: str,
        *,
        req_valid: str | None = None,
        req_ready: str | None = None,
        write: str | None = None,
        addr: str | None = None,
        wdata: str | None = None,
        rsp_valid: str | None = None,
        rsp_rdata: str | None = None,
        max_outstanding: int = 1,
        address_offset: int = 0,
    ) -> _core.Port:
        """A TLM initiator: each request the RTL makes becomes a b_transport at
        address_offset + addr; the response comes back after the latency the target
        annotates. Default pins: <name>_req_valid, <name>_req_ready, <name>_req_we,
        <name>_req_addr, <name>_req_wdata, <name>_rsp_valid, <name>_rsp_rdata."""
        pins = {
            "req_valid": req_valid or f"{name}_req_valid",
            "req_ready": req_ready or f"{name}_req_ready",
            "write": write or f"{name}_req_we",
            "addr": addr or f"{name}_req_addr",
            "wdata": wdata or f"{name}_req_wdata",
            "rsp_valid": rsp_valid or f"{name}_rsp_valid",
            "rsp_rdata": rsp_rdata or f"{name}_rsp_rdata",
        }
        self._check(pins["req_valid"], "output", 1, "req_valid", name)
        self._check(pins["req_ready"], "input", 1, "req_ready", name)
        self._check(pins["write"], "output", 1, "write", name)
        self._check(pins["addr"], "output", (1, 64), "addr", name)
        wd = self._check(pins["wdata"], "output", (8, 1024), "wdata", name)
        self._check(pins["rsp_valid"], "input", 1, "rsp_valid", name)
        self._check(pins["rsp_rdata"], "input", wd.width, "rsp_rdata (as wide as wdata)", name)
        return self.model.add_memory_master(
            name, **pins, max_outstanding=max_outstanding, address_offset=address_offset
        )

    def interrupt(
        self, name: str, pin: str | None = None, *, timeout_cycles: int | None = None
    ) -> _core.Event:
        """The event notified at each rising edge of output `pin` (default: `name`).
        The run stops with an error naming the pin if it does not rise within
        timeout_cycles (default: the block's cycle_budget) after the busy pin rose (or,
        without a busy pin, after a register write)."""
        pin = pin or name
        self._check(pin, "output", 1, "interrupt", name)
        if timeout_cycles is not None and (isinstance(timeout_cycles, bool) or timeout_cycles < 1):
            raise ValueError(f"rtl block '{self.name}': timeout_cycles must be >= 1")
        self.model.add_interrupt(name, pin, timeout_cycles or 0)
        return self.model.event(name)

    def on_cycle_slow(self, fn: PinCallback) -> None:
        """SLOW, for prototyping odd protocols: call `fn(cycle, pins)` from the clock
        thread before every clock edge, until it returns False.

        `pins["x"]` reads pin x as settled before the edge; `pins["x"] = v` drives input
        x from this edge on (like a non-blocking assignment). Python in the per-cycle
        loop costs microseconds per cycle, two to three orders of magnitude slower than
        the C++ bridges: replace the callback with a bridge once the protocol works."""
        self.model.set_slow_cycle_callback(fn)

    # ---------------------------------------------------------------- status
    def event(self, name: str) -> _core.Event:
        return self.model.event(name)

    def port(self, name: str) -> _core.Port:
        return self.model.port(name)

    def peek(self, pin: str) -> int:
        """The value of `pin` as of the last simulated edge."""
        return self.model.peek(pin)

    def undriven_inputs(self) -> list[str]:
        """Inputs that no bridge, the clock, the reset or a tie drives (held at 0). When
        the simulation starts they are listed in a warning (undriven='warn', the
        default), stop it with a BindingError (undriven='error') or pass
        (undriven='ignore'); tie={pin: value} drives one deliberately."""
        return list(self.model.undriven_inputs())

    @property
    def cycle(self) -> int:
        """Clock edges simulated so far (reset included)."""
        return self.model.cycle

    def close_waves(self) -> None:
        """Finish the waveform file now (also done at the end of its window)."""
        self.model.close_waves()


def block(sim: Any, name: str, build: RtlBuild, **kwargs: Any) -> RtlBlock:
    """Instantiate the RTL library `build` as block `name` in `sim`.

    clock: period ('1 ns'); clock_pin: its input ('clk'); reset: reset input or None
    ('rst_n'), active low when its name ends in 'n' unless reset_active_low says;
    reset_cycles: cycles in reset at time 0 (4); busy: output high while the block works
    on its own (needed to run to completion without transactions, for interrupt
    watchdogs and for idle='gate'); quantum: how far the RTL may run ahead of SystemC
    time ('1 us'); cycle_budget: cycles a handshake may take before the run stops with an
    error naming the pin (1,000,000); idle: 'run' simulates idle cycles, 'gate' skips them;
    waves: an .fst or .vcd file to dump, waves_window: (start, end or None); tie: inputs
    held at a value on purpose ({pin: int}); undriven: what happens at the start to
    inputs nothing drives ('warn', 'error' or 'ignore').
    """
    return RtlBlock(sim, name, build, **kwargs)
