from collections.abc import Sequence
import enum
from typing import Annotated

import numpy
from numpy.typing import NDArray


SYSTEMC_VERSION: str = ...

TLM_VERSION: str = ...

class Stat:
    @property
    def path(self) -> str: ...

    @property
    def desc(self) -> str: ...

    @property
    def unit(self) -> str: ...

    def reset(self) -> None: ...

    def snapshot(self) -> dict: ...

class Counter(Stat):
    def inc(self, n: int = ...) -> None: ...

    @property
    def value(self) -> int: ...

class Average(Stat):
    def sample(self, x: float) -> None: ...

    @property
    def count(self) -> int: ...

    @property
    def mean(self) -> float: ...

    @property
    def min(self) -> float: ...

    @property
    def max(self) -> float: ...

    @property
    def sum(self) -> float: ...

class Histogram(Average):
    def sample(self, x: float) -> None: ...

    def percentile(self, p: float) -> float: ...

    @property
    def bins(self) -> list[int]: ...

    @property
    def underflow(self) -> int: ...

    @property
    def overflow(self) -> int: ...

class Value(Stat):
    def set(self, v: float) -> None: ...

    @property
    def value(self) -> float: ...

def stat_counter(path: str, desc: str = ..., unit: str = ...) -> Counter: ...

def stat_average(path: str, desc: str = ..., unit: str = ...) -> Average: ...

def stat_histogram(path: str, lo: float, hi: float, bins: int, desc: str = ..., unit: str = ...) -> Histogram: ...

def stat_value(path: str, desc: str = ..., unit: str = ...) -> Value: ...

def stats_snapshot() -> list: ...

def stats_reset() -> None: ...

def trace_enable(on: bool, max_events: int = ...) -> None: ...

def trace_enabled() -> bool: ...

def trace_track(arg: str, /) -> int: ...

def trace_span(track: int, name: str, start: int, dur: int, args_json: str = ...) -> None: ...

def trace_instant(track: int, name: str, at: int, args_json: str = ...) -> None: ...

def trace_size() -> int: ...

def trace_dropped() -> int: ...

def trace_write(arg: str, /) -> int: ...

class Port:
    @property
    def name(self) -> str: ...

    @property
    def full_name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def multi(self) -> bool: ...

    @property
    def peers(self) -> list[str]: ...

    @property
    def bound(self) -> bool: ...

    @property
    def model(self) -> Model: ...

    def __repr__(self) -> str: ...

class Model:
    """A C++ SystemC model instance."""

    @property
    def name(self) -> str: ...

    @property
    def basename(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def params(self) -> dict: ...

    @property
    def ports(self) -> list[Port]: ...

    def port(self, name: str) -> Port: ...

    def event(self, name: str) -> Event: ...

    def __repr__(self) -> str: ...

def model_specs() -> list: ...

def create_model(kind: str, name: str, params: dict) -> Model: ...

def bind(a: Port, b: Port) -> None: ...

def unbound_ports() -> list[str]: ...

class Awaitable:
    """
    Something a cosim process can await (returned by delay(), any_of(), socket operations, ...).
    """

    def __iter__(self, /):
        """Implement iter(self)."""

    def __next__(self, /):
        """Implement next(self)."""

    def __await__(self, /):
        """Return an iterator to be used in await expression."""

    def __repr__(self) -> str: ...

class Event:
    """A SystemC event. `await event` waits for its next notification."""

    def __init__(self, name: str = ...) -> None: ...

    def __await__(self, /):
        """Return an iterator to be used in await expression."""

    @property
    def name(self) -> str: ...

    def notify(self, delay: object | None = ...) -> None:
        """
        Notify now (delay=None), in the next delta cycle (0) or after `delay` ps.
        """

    def cancel(self) -> None:
        """Cancel a pending delayed notification."""

    @property
    def triggered(self) -> bool: ...

    def __repr__(self) -> str: ...

class Process:
    """
    A running Python process. `await process` waits for it to finish and returns its result.
    """

    def __await__(self, /):
        """Return an iterator to be used in await expression."""

    @property
    def name(self) -> str: ...

    @property
    def done(self) -> bool: ...

    @property
    def failed(self) -> bool: ...

    @property
    def daemon(self) -> bool: ...

    @property
    def state(self) -> str: ...

    @property
    def waiting_on(self) -> str: ...

    @property
    def local_time(self) -> int:
        """
        How far (ps) this process has run ahead of kernel time (temporal decoupling).
        """

    @property
    def result(self) -> object: ...

    def __eq__(self, arg: Process, /) -> bool: ...

    def __hash__(self) -> int: ...

    def __repr__(self) -> str: ...

def delay(t: int) -> object:
    """
    Await to let `t` picoseconds of simulated time pass (0: one delta cycle).
    """

def sync() -> object:
    """
    Await to bring a temporally decoupled process back in step with kernel time.
    """

def any_of(*items, timeout: object | None = ...) -> object:
    """
    Await the first of several events/processes/delays; returns the one that fired (None when `timeout` expired first).
    """

def all_of(*items, timeout: object | None = ...) -> object:
    """
    Await all of several events/processes; returns True, or False if `timeout` expired first.
    """

class Command(enum.Enum):
    READ = 0

    WRITE = 1

    IGNORE = 2

class Response(enum.Enum):
    OK = 1

    INCOMPLETE = 0

    GENERIC_ERROR = -1

    ADDRESS_ERROR = -2

    COMMAND_ERROR = -3

    BURST_ERROR = -4

    BYTE_ENABLE_ERROR = -5

class Payload:
    """
    A TLM-2.0 generic payload. `data` and `byte_enable` are zero-copy numpy views of the payload's buffers.
    """

    def __init__(self, command: Command, address: int, data: object | None = ..., length: object | None = ..., byte_enable: object | None = ..., streaming_width: object | None = ...) -> None: ...

    @property
    def command(self) -> Command: ...

    @property
    def is_read(self) -> bool: ...

    @property
    def is_write(self) -> bool: ...

    @property
    def address(self) -> int: ...

    @address.setter
    def address(self, arg: int, /) -> None: ...

    @property
    def length(self) -> int: ...

    @property
    def streaming_width(self) -> int: ...

    @property
    def data(self) -> object:
        """Zero-copy uint8 view of the data buffer."""

    @property
    def byte_enable(self) -> object:
        """
        Zero-copy uint8 view of the byte-enable mask (0xff enabled, 0 disabled), or None.
        """

    @property
    def response(self) -> Response: ...

    @property
    def ok(self) -> bool: ...

    @property
    def dmi_allowed(self) -> bool: ...

    @dmi_allowed.setter
    def dmi_allowed(self, arg: bool, /) -> None: ...

    @property
    def error_target(self) -> str: ...

    @property
    def error_message(self) -> str: ...

    def set_ok(self) -> None: ...

    def set_error(self, status: Response, message: str = ...) -> None:
        """Answer with an error status; `message` tells the initiator why."""

    def __repr__(self) -> str: ...

class DmiRegion:
    """A region of a target's memory granted for direct access."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...

    @property
    def read_latency(self) -> int: ...

    @property
    def write_latency(self) -> int: ...

    @property
    def readable(self) -> bool: ...

    @property
    def writable(self) -> bool: ...

    @property
    def data(self) -> object:
        """Zero-copy uint8 view of [start, end]."""

    def __repr__(self) -> str: ...

class Socket(Model):
    """
    A TLM initiator socket for Python processes: await its read/write/transport methods.
    """

    def read(self, address: int, length: int) -> object: ...

    def read_into(self, address: int, buffer: object) -> object: ...

    def write(self, address: int, data: object) -> object: ...

    def transport(self, payload: object, check: bool = ...) -> object: ...

    def debug_read(self, address: int, length: int) -> tuple: ...

    def debug_write(self, address: int, data: object) -> int: ...

    def dmi(self, address: int, write: bool = ...) -> object: ...

    @property
    def use_dmi(self) -> bool:
        """
        Serve accesses from a DMI region when the target grants one (skips b_transport and the target's own statistics).
        """

    @use_dmi.setter
    def use_dmi(self, arg: bool, /) -> None: ...

    @property
    def target(self) -> str: ...

class PythonTarget(Model):
    """A TLM target implemented in Python."""

    def invalidate_dmi(self, start: int, end: int) -> None: ...

    @property
    def impl(self) -> object: ...

def create_initiator(name: str) -> Socket: ...

def create_target(name: str, impl: object) -> PythonTarget: ...

def push_scope(name: str) -> None: ...

def pop_scope() -> None: ...

def open_scopes() -> int: ...

def spawn(coro: object, name: str, daemon: bool = ..., stack_size: int = ...) -> Process: ...

def processes() -> list: ...

def current_process() -> object: ...

def run(until: int = ...) -> int: ...

def stop() -> None: ...

def end_simulation() -> None:
    """
    End the simulation for good: models get end_of_simulation() and finish their files.
    """

def now() -> int: ...

def kernel_time() -> int: ...

def phase() -> str: ...

def set_quantum(arg: int, /) -> None: ...

def quantum() -> int: ...

def delta_count() -> int: ...

def python_resumes() -> int: ...

def pending_activity() -> bool: ...

def describe_waiting() -> str: ...

def report(severity: str, msg_type: str, msg: str) -> None: ...

def warnings() -> list[str]: ...

class EnergyEvent:
    """Counts one kind of event of one component and charges its energy."""

    def add(self, n: int = ...) -> None:
        """Count `n` more events."""

    @property
    def count(self) -> int: ...

    @property
    def energy_pj(self) -> float: ...

    @property
    def pj_per_unit(self) -> float: ...

    @property
    def component(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def key(self) -> str: ...

    def __repr__(self) -> str: ...

def energy_define(key: str, pj: float, unit: str, node_nm: float, scaling: str, source: str, doc: str = ...) -> None: ...

def energy_entries() -> list: ...

def energy_entry(key: str) -> dict: ...

def energy_pj(key: str) -> float: ...

def energy_set(key: str, pj: float) -> None: ...

def energy_reset(key: str = ...) -> None: ...

def energy_set_node(node_nm: float, vdd: float = ...) -> None: ...

def energy_node() -> tuple: ...

def energy_scaling_nodes() -> list[float]: ...

def energy_nominal_vdd(node_nm: float) -> float: ...

def energy_event(component: str, kind: str, key: str, desc: str = ...) -> EnergyEvent: ...

def energy_events() -> list: ...

class Dram(Model):
    """The 'dram' model (see cosim.model_info('dram'))."""

    @property
    def capacity(self) -> int: ...

    @property
    def burst_bytes(self) -> int: ...

    @property
    def tck_ps(self) -> int: ...

    @property
    def preset_name(self) -> str: ...

    def config(self) -> dict:
        """The configuration in use: the preset with this instance's overrides."""

    def address(self, channel: int = ..., rank: int = ..., bankgroup: int = ..., bank: int = ..., row: int = ..., column: int = ...) -> int:
        """Byte address of a burst (column = burst index within the row)."""

    def decode(self, address: int) -> dict:
        """Channel, rank, bank group, bank, row and column of a byte address."""

    def bank_commands(self) -> dict:
        """
        Commands issued per bank: {'act'|'pre'|'rd'|'wr': [channel][rank][bank]} (bank = bank group x banks_per_group + bank; 'pre' counts explicit and auto precharges) and 'ref': [channel][rank].
        """

    def bandwidth_series(self) -> list:
        """
        Bandwidth (B/s) of each bandwidth_window from time 0, counting each request's bytes in the window of its completion.
        """

    def array(self) -> object:
        """
        Zero-copy numpy uint8 view of the whole memory (backdoor: no time, no stats).
        """

def dram_presets() -> list: ...

def dram_baseline(preset: str, count: int, pattern: str = ..., outstanding: int = ..., size: int = ..., span: int = ..., seed: int = ..., channels: int = ...) -> dict: ...

class Fabric(Model):
    """The 'fabric' model (see cosim.model_info('fabric'))."""

    def map(self, port: Port, base: int, size: int, translate: bool = ...) -> None:
        """
        Map target `port` at [base, base+size); with translate the target sees offsets.
        """

    @property
    def address_map(self) -> list: ...

    @property
    def initiators(self) -> list[str]:
        """Bound initiators, in priority (bind) order."""

class HostCpuModel(Model):
    """The 'host_cpu' model (see cosim.system.host.HostCpu)."""

    def ops(self, n: int) -> int:
        """Charge n driver operations; returns their time in ps."""

    def take_irq(self) -> int:
        """Charge taking an interrupt; returns its latency in ps."""

    def kernel(self, flops: float, bytes: float) -> dict:
        """
        Charge a host-compute kernel (roofline); returns its time and which roof bounds it.
        """

    @property
    def cycle_ps(self) -> float: ...

    @property
    def irq_latency(self) -> int: ...

class Memory(Model):
    """The 'memory' model (see cosim.model_info('memory'))."""

    @property
    def size(self) -> int: ...

    def array(self) -> object:
        """
        Zero-copy numpy uint8 view of the whole memory (backdoor: no time, no stats).
        """

class NdpModel(Model):
    """The 'ndp' model (see cosim.system.ndp.NdpDriver)."""

    @property
    def last_error(self) -> str:
        """why the last command failed ('' if it did not)"""

    @property
    def memory_name(self) -> str: ...

    @property
    def datapath(self) -> str:
        """the RTL datapath library ('' for the C++ datapath)"""

    @property
    def buffer_bytes(self) -> int: ...

    @property
    def geometry(self) -> dict: ...

    @property
    def regions(self) -> list: ...

    def region(self, kind: str, dtype: str, m: int, n: int, base_row: int) -> dict:
        """
        The layout of a region (rows per bank, stream bytes, address) as the units see it.
        """

    def locate(self, unit: int, offset: int, base_row: int) -> dict:
        """
        Where byte `offset` of unit `unit`'s stream of a region at `base_row` lies.
        """

    @property
    def last_command(self) -> dict: ...

class ReramTile(Model):
    """The 'reram_tile' model."""

    @property
    def last_error(self) -> str:
        """why the last command failed ('' if it did not)"""

    @property
    def arrays_used(self) -> int: ...

    @property
    def arrays(self) -> int: ...

class CrossbarArray:
    """ReRAM crossbar arrays holding one weight matrix."""

    def __init__(self, params: dict) -> None: ...

    def program(self, weights: Annotated[NDArray[numpy.int64], dict(shape=(None, None), order='C', device='cpu', writable=False)]) -> dict: ...

    def mvm(self, x: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> Annotated[NDArray[numpy.float64], dict(shape=(None,))]: ...

    def threshold(self, x: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)], threshold: float) -> Annotated[NDArray[numpy.bool_], dict(shape=(None,))]: ...

    @property
    def last_cost(self) -> dict: ...

    @property
    def total_cost(self) -> dict: ...

    @property
    def programmed(self) -> bool: ...

    @property
    def shape(self) -> tuple: ...

    def arrays_for(self, arg0: int, arg1: int, /) -> int: ...

    @property
    def max_cell_writes(self) -> int: ...

    @property
    def total_cell_writes(self) -> int: ...

    @property
    def worn_cells(self) -> int: ...

    @property
    def stuck_cells(self) -> int: ...

    @property
    def adc_energy_pj(self) -> float: ...

class RiscvCpuModel(Model):
    """The 'riscv_cpu' model (see cosim.system.riscv_host.RiscvHost)."""

    def map_bus(self, base: int, size: int, name: str, cacheable: bool = ...) -> None:
        """
        Make [base, base + size) reachable through 'bus' (through the data cache if cacheable).
        """

    def load(self, path: str) -> None:
        """Check an RV64 ELF now and load it when the simulation starts."""

    def connect_irq(self, line: int, event_port: Port) -> None:
        """Latch interrupt line `line` on each notification of a model's event."""

    def raise_irq(self, line: int) -> None:
        """Latch interrupt line `line` now (from a Python process)."""

    def symbolize(self, address: int) -> str:
        """Nearest ELF symbol: 'name+0xoff'."""

    def ram_view(self) -> object:
        """Zero-copy uint8 view of the local RAM (backdoor: no time)."""

    @property
    def exited(self) -> bool: ...

    @property
    def exit_code(self) -> int: ...

    @property
    def instret(self) -> int: ...

    @property
    def cycle_ps(self) -> float: ...

    @property
    def entry(self) -> int: ...

    @property
    def state(self) -> str: ...

    @property
    def console(self) -> list[tuple[int, str]]: ...

    @property
    def signals(self) -> list[int]:
        """Values written to SIGNAL, in order."""

def riscv_board_registers() -> list[tuple[str, int, str]]:
    """
    The riscv_cpu board window: (name, offset, description) of each register.
    """

RISCV_BOARD_WINDOW: int = ...

class Router(Model):
    """The 'router' model (see cosim.model_info('router'))."""

    def map(self, port: Port, base: int, size: int, translate: bool = ...) -> None:
        """
        Map target `port` at [base, base+size); with translate the target sees offsets.
        """

    @property
    def address_map(self) -> list: ...

class Scratchpad(Model):
    """The 'scratchpad' model (see cosim.model_info('scratchpad'))."""

    @property
    def size(self) -> int: ...

    def array(self) -> object:
        """
        Zero-copy numpy uint8 view of the contents (backdoor: no time, no stats).
        """

class RtlPins:
    """
    Pins of an RTL block for the slow per-cycle callback: pins['name'] reads (settled values before the coming edge), pins['name'] = v drives an input from the edge on.
    """

    def __getitem__(self, arg: str, /) -> object: ...

    def __setitem__(self, arg0: str, arg1: object, /) -> None: ...

    def __contains__(self, arg: str, /) -> bool: ...

    def names(self) -> list[str]: ...

class RtlBlock(Model):
    """An RTL block (model 'rtl_block'); see cosim.rtl.block()."""

    @property
    def top(self) -> str: ...

    @property
    def period(self) -> int:
        """clock period in ps"""

    @property
    def cycle(self) -> int:
        """clock edges simulated so far (reset included)"""

    def pins(self) -> list[tuple[str, str, int]]:
        """(name, direction, width) of every pin"""

    def peek(self, pin: str) -> object:
        """The pin's value now (as of the last simulated edge)."""

    def close_waves(self) -> None:
        """Finish the waveform file now."""

    def add_stream_in(self, name: str, valid: str, ready: str, data: Sequence[str], blocking: bool = ...) -> Port:
        """
        ready '' : the RTL takes a beat at every edge where valid is high; data: pins packed least significant first
        """

    def add_stream_out(self, name: str, valid: str, ready: str, data: Sequence[str], blocking: bool = ..., capture_depth: int = ...) -> Port:
        """
        ready '' : capture mode, beats buffered (capture_depth beats) until read
        """

    def add_tie(self, pin: str, value: bytes) -> None:
        """Hold input `pin` at `value` (bytes, least significant first)."""

    def undriven_inputs(self) -> list[str]:
        """Inputs no bridge, clock, reset or tie drives (held at 0)."""

    def add_register_port(self, name: str, req: str, ack: str, write: str, addr: str, wdata: str, rdata: str) -> Port: ...

    def add_memory_master(self, name: str, req_valid: str, req_ready: str, write: str, addr: str, wdata: str, rsp_valid: str, rsp_rdata: str, max_outstanding: int = ..., address_offset: int = ...) -> Port: ...

    def add_interrupt(self, name: str, pin: str, timeout_cycles: int = ...) -> Port: ...

    def set_slow_cycle_callback(self, fn: object) -> None:
        """
        SLOW (prototyping only): call fn(cycle, pins) from the clock thread once per clock edge while it does not return False. Python in the per-cycle loop is hundreds of times slower than a bridge.
        """
