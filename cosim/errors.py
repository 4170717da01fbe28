"""Exceptions raised by cosim. Every message names the thing at fault."""

from __future__ import annotations


class CosimError(Exception):
    """Base class of all cosim errors."""


class SimulationError(CosimError):
    """The simulation cannot go on: a SystemC error or fatal report, a run after the
    simulation finished, or a misuse of the kernel."""


class DeadlockError(SimulationError):
    """Processes are still waiting but no event is pending that could wake them.

    The message lists each waiting process and what it awaits."""


class BindingError(CosimError):
    """The structure of the system is wrong: an unbound or doubly bound port, a binding
    between incompatible ports, a duplicate name, a change after the simulation started."""


class ParameterError(CosimError, ValueError):
    """A model parameter is unknown, of the wrong type or out of its allowed range."""


class DeclarationError(CosimError):
    """A declaration is invalid: a parameter whose default breaks its own range, an
    unknown type, an engine with no implementations. Raised where it is declared."""


class ScenarioError(CosimError):
    """A scenario script breaks the contract: a bad declaration, no run function, a
    result without a required metric or with a metric that is not a number."""


class TlmError(SimulationError):
    """A TLM transaction was answered with an error response.

    Attributes name the access (address, length, command), the response status, the
    component that refused it (target) and the socket that issued it (initiator)."""

    def __init__(
        self,
        message: str,
        address: int | None = None,
        length: int | None = None,
        command: str | None = None,
        status: str | None = None,
        target: str | None = None,
        initiator: str | None = None,
    ) -> None:
        super().__init__(message)
        self.address = address
        self.length = length
        self.command = command
        self.status = status
        self.target = target
        self.initiator = initiator


class SimulationCrashed(CosimError):
    """The worker process running a simulation died (a signal such as SIGSEGV, or an
    exit without a result). `signal` / `exit_code` say how, `log_tail` holds the last
    lines it printed."""

    def __init__(
        self,
        message: str,
        signal: int | None = None,
        exit_code: int | None = None,
        log_tail: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.signal = signal
        self.exit_code = exit_code
        self.log_tail = log_tail or []


class SimulationTimeout(CosimError):
    """A simulation exceeded its wall-clock timeout and its worker was killed."""

    def __init__(self, message: str, timeout: float = 0.0, log_tail: list[str] | None = None):
        super().__init__(message)
        self.timeout = timeout
        self.log_tail = log_tail or []


class RemoteTraceback(Exception):
    """Carries the formatted traceback of an exception raised in a worker process; it is
    attached as the __cause__ of the re-raised exception so the user's own lines show."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb


class WorkerError(CosimError):
    """An exception from a worker process that could not be sent back as itself (its
    class cannot be pickled); `type_name` is its qualified class name."""

    def __init__(self, message: str, type_name: str = "") -> None:
        super().__init__(message)
        self.type_name = type_name
