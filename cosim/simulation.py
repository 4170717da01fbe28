"""Building and running one simulation.

    sim = cosim.Simulation()
    mem = sim.model("memory", "mem", size=1 << 20, read_latency="10 ns")
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)

    @sim.process
    async def driver():
        await cpu.write(0x100, np.arange(16, dtype=np.uint8))
        data = await cpu.read(0x100, 16)

    sim.run()

A process (in this one OS process) may hold exactly one Simulation: SystemC cannot
elaborate twice. `cosim.simulate()` runs a build-and-run function in a fresh worker
process; tests, sweeps and the command line all go through it.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from cosim import _core
from cosim.errors import BindingError, SimulationError
from cosim.models import model_info
from cosim.stats import Stats
from cosim.trace import Trace
from cosim.units import fmt_time, parse_time

#: Default stack of the SystemC thread that runs a Python process. Python code runs on
#: that stack, so it must be far larger than SystemC's 64 KiB default.
PROCESS_STACK_BYTES = 2 << 20

_current: Simulation | None = None


def current_simulation() -> Simulation:
    """The Simulation of this process; SimulationError if none was created."""
    if _current is None:
        raise SimulationError("no cosim.Simulation exists in this process")
    return _current


def now() -> int:
    """Simulated time in ps as seen by the running process (kernel time plus the local
    offset of a temporally decoupled process)."""
    return _core.now()


def spawn(
    coro: Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]],
    *,
    name: str | None = None,
    daemon: bool = False,
) -> _core.Process:
    """Start another process of the current simulation (also from inside a process)."""
    return current_simulation().process(coro, name=name, daemon=daemon)


def _as_time(value: int | str, what: str) -> int:
    if isinstance(value, str):
        return parse_time(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{what} must be integer picoseconds or a string like '10 ns', got {value!r}"
        )
    if value < 0:
        raise ValueError(f"{what} must be >= 0 ps, got {value}")
    return value


class Simulation:
    """One SystemC simulation: build the system, then run it.

    quantum: time a Python process may run ahead of the kernel before synchronising
    (temporal decoupling, TLM-2.0 LT style); 0 disables decoupling, so every delay and
    every annotated transaction latency is waited out at once.
    """

    def __init__(self, *, quantum: int | str = 0) -> None:
        global _current
        if _current is not None or _core.phase() != "elaboration":
            raise SimulationError(
                "a cosim.Simulation already exists in this process and SystemC cannot "
                "elaborate a second one; run each simulation in a fresh process with "
                "cosim.simulate()"
            )
        _current = self
        self._names: set[str] = set()
        self._scopes: list[str] = []
        self._proc_names: set[str] = set()
        self._proc_counter = itertools.count()
        self._elaborated = False
        self._wall = 0.0
        self.stats = Stats()
        self.trace = Trace()
        self.quantum = quantum

    # ------------------------------------------------------------------ configuration
    @property
    def quantum(self) -> int:
        return _core.quantum()

    @quantum.setter
    def quantum(self, value: int | str) -> None:
        _core.set_quantum(_as_time(value, "quantum"))

    @property
    def now(self) -> int:
        """Current simulated time in ps (see cosim.now())."""
        return _core.now()

    @property
    def phase(self) -> str:
        """'elaboration', 'running', 'paused' or 'finished'."""
        return _core.phase()

    # ----------------------------------------------------------------------- building
    def _claim_name(self, name: str, what: str) -> str:
        if not isinstance(name, str) or not name or not name.replace("_", "a").isalnum():
            raise BindingError(
                f"{what} name {name!r} is not valid: use letters, digits and '_' "
                "(hierarchy comes from sim.scope())"
            )
        full = ".".join([*self._scopes, name])
        if full in self._names:
            raise BindingError(f"a component named '{full}' already exists")
        self._names.add(full)
        return full

    @contextlib.contextmanager
    def scope(self, name: str) -> Iterator[str]:
        """Group the components created inside the block under `name` in the hierarchy
        (names and stats become 'name.child')."""
        full = self._claim_name(name, "scope")
        _core.push_scope(name)
        self._scopes.append(name)
        try:
            yield full
        finally:
            self._scopes.pop()
            _core.pop_scope()

    def model(self, kind: str, name: str, **params: Any) -> _core.Model:
        """Instantiate the C++ model `kind` (see cosim.models()) with named parameters.

        Unknown parameters, wrong types and values out of range raise ParameterError
        naming the parameter and its allowed range."""
        info = model_info(kind)
        full = ".".join([*self._scopes, name])
        values = info.check(full, params)
        self._claim_name(name, "model")
        return _core.create_model(kind, name, values)

    def initiator(self, name: str) -> _core.Socket:
        """A TLM initiator socket for Python processes (`await sock.read(...)`). Bind it
        with sim.bind(sock, target)."""
        self._claim_name(name, "initiator")
        return _core.create_initiator(name)

    def target(self, name: str, impl: Any) -> _core.PythonTarget:
        """A TLM target implemented by `impl.b_transport(payload, delay_ps) -> delay_ps`
        (and optionally `impl.get_dmi(address, is_write) -> cosim.Dmi | None`)."""
        if not callable(getattr(impl, "b_transport", None)):
            raise BindingError(
                f"target '{name}': {type(impl).__name__} has no b_transport(payload, delay) method"
            )
        self._claim_name(name, "target")
        return _core.create_target(name, impl)

    def event(self, name: str = "event") -> _core.Event:
        """A new event that processes can await and notify."""
        return _core.Event(name)

    @staticmethod
    def _port(obj: Any, want: str) -> _core.Port:
        if isinstance(obj, _core.Port):
            return obj
        if isinstance(obj, _core.Model):
            ports = [p for p in obj.ports if p.kind == want]
            if len(ports) == 1:
                return ports[0]
            names = ", ".join(p.name for p in obj.ports) or "none"
            raise BindingError(
                f"'{obj.name}' has {len(ports)} {want} ports ({names}); name one with "
                f"{obj.name.rsplit('.', 1)[-1]}.port('...')"
            )
        raise BindingError(f"cannot bind {obj!r}: pass a port (model.port('name')) or a model")

    def bind(self, initiator: Any, target: Any) -> None:
        """Bind an initiator port to a target port. Either may be given as a model with
        exactly one port of that kind. Errors name both ends."""
        a = self._port(initiator, "tlm_initiator")
        b = self._port(target, "tlm_target")
        _core.bind(a, b)

    # ---------------------------------------------------------------------- processes
    def process(
        self,
        fn: Any = None,
        /,
        *,
        name: str | None = None,
        daemon: bool = False,
        stack_size: int = PROCESS_STACK_BYTES,
    ) -> Any:
        """Start a Python process: an `async def` function (called with no arguments)
        or a coroutine object. Usable as a decorator, with or without arguments.

        daemon: the process may be left waiting when the simulation ends (a server
        loop); non-daemon processes left waiting make run() raise DeadlockError."""
        if fn is None:
            return lambda f: self.process(f, name=name, daemon=daemon, stack_size=stack_size)
        if inspect.iscoroutinefunction(fn):
            coro = fn()
            default = fn.__qualname__
        elif inspect.iscoroutine(fn):
            coro = fn
            default = fn.__qualname__
        else:
            raise TypeError(
                f"process() takes an async function or a coroutine, got {fn!r}"
                + (" (a plain function: declare it with 'async def')" if callable(fn) else "")
            )
        if name is None:
            base = default.replace("<locals>.", "").replace(".", "_")
            name = base if base not in self._proc_names else f"{base}_{next(self._proc_counter)}"
            while name in self._proc_names:
                name = f"{base}_{next(self._proc_counter)}"
        elif name in self._proc_names:
            coro.close()
            raise BindingError(f"a process named '{name}' already exists")
        if stack_size < 256 << 10:
            coro.close()
            raise ValueError("stack_size must be at least 256 KiB for Python code")
        self._proc_names.add(name)
        return _core.spawn(coro, name, daemon, stack_size)

    spawn = process

    def processes(self) -> list[_core.Process]:
        return _core.processes()

    # ------------------------------------------------------------------------ running
    def elaborate(self) -> None:
        """Check the structure before the first run: open scopes and unbound ports are
        BindingErrors listing every offender. Called by run()."""
        if self._elaborated:
            return
        if self._scopes or _core.open_scopes():
            raise BindingError(f"scope '{'.'.join(self._scopes)}' is still open at run()")
        unbound = _core.unbound_ports()
        if unbound:
            raise BindingError(
                "unbound ports (every TLM port must be bound before the run):\n  "
                + "\n  ".join(unbound)
            )
        self._elaborated = True

    def run(self, until: int | str | None = None) -> int:
        """Run to absolute time `until` (ps or '10 us'), or, without it, until nothing is
        left to do. Returns the simulated time reached.

        Raises the first exception of a Python process (with its traceback),
        SimulationError for a SystemC error report, DeadlockError when processes are
        left waiting on nothing."""
        self.elaborate()
        target = -1 if until is None else _as_time(until, "until")
        t0 = time.perf_counter()
        try:
            return _core.run(target)
        finally:
            self._wall += time.perf_counter() - t0

    def run_for(self, duration: int | str) -> int:
        """Run for `duration` more simulated time."""
        return self.run(_core.kernel_time() + _as_time(duration, "duration"))

    def stop(self) -> None:
        """End the simulation (from a process: after it next yields). Stopping is final."""
        _core.stop()

    def report(self, severity: str, message: str, msg_type: str = "cosim/user") -> None:
        """Issue a SystemC report: 'info', 'warning', 'error' (raises SimulationError) or
        'fatal'."""
        _core.report(severity, msg_type, message)

    def summary(self) -> dict[str, Any]:
        """Figures of the run so far: simulated time, wall time, delta cycles, process
        resumptions, SystemC warnings."""
        t = _core.kernel_time()
        return {
            "sim_time_ps": t,
            "sim_time": fmt_time(t),
            "wall_s": self._wall,
            "delta_cycles": _core.delta_count(),
            "python_resumes": _core.python_resumes(),
            "phase": _core.phase(),
            "warnings": _core.warnings(),
            "systemc": _core.SYSTEMC_VERSION,
        }
