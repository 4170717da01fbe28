"""Run each simulation in a fresh worker process (docs/design.md, principle 4).

SystemC cannot elaborate twice in one process, and generated or model code may crash.
`simulate(fn, *args, **kwargs)` starts `python -m cosim._worker`, which creates a
Simulation, calls `fn(sim, *args, **kwargs)` and sends back a picklable SimResult:
fn's return value, the stats tree and run metadata.

- An exception raised in the worker is re-raised here as itself (when it can be
  pickled), chained to a RemoteTraceback that shows the worker-side traceback.
- A worker killed by a signal (SIGSEGV in generated code, abort()) becomes
  SimulationCrashed with the signal and the last lines the worker printed.
- `timeout` (wall-clock seconds) kills the worker and raises SimulationTimeout.

`fn` must be picklable by reference: a function defined at module level.
"""

from __future__ import annotations

import collections
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import (
    RemoteTraceback,
    SimulationCrashed,
    SimulationTimeout,
    WorkerError,
)
from cosim.stats import flatten_tree


@dataclass
class SimResult:
    """What a simulation run in a worker returns."""

    value: Any
    stats: dict[str, Any]
    metadata: dict[str, Any]
    log: list[str] = field(default_factory=list)

    def stat(self, path: str) -> float:
        """One number from the stats tree: 'mem.reads', 'cpu.latency.mean'."""
        flat = flatten_tree(self.stats)
        if path not in flat:
            raise KeyError(f"no stat '{path}' in this result")
        return flat[path]

    def flat_stats(self) -> dict[str, float]:
        return flatten_tree(self.stats)


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


#: Static TLS room for the RTL libraries a worker dlopen()s. Verilator's run-time reads
#: thread-local state on every eval; with TLS descriptors (cosim.rtl.builder.PIC_FLAGS)
#: that read is a load only while the library's TLS fits glibc's static surplus, which
#: the modules a worker imports first (numpy, ...) use up: the dynamic path costs an RTL
#: block about 5% of its speed. The tunable is read at process start, hence set here.
WORKER_TLS_TUNABLE = "glibc.rtld.optional_static_tls=16384"


def worker_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a worker: ours, `extra`, and room for RTL libraries' TLS
    (unless GLIBC_TUNABLES already sets it)."""
    env = {**os.environ, **(extra or {})}
    tunables = env.get("GLIBC_TUNABLES", "")
    if "optional_static_tls" not in tunables:
        env["GLIBC_TUNABLES"] = ":".join(t for t in (tunables, WORKER_TLS_TUNABLE) if t)
    return env


def simulate(
    fn: Any,
    /,
    *args: Any,
    timeout: float | None = None,
    echo: bool = False,
    log_lines: int = 40,
    env: dict[str, str] | None = None,
    **kwargs: Any,
) -> SimResult:
    """Run `fn(sim, *args, **kwargs)` in a fresh worker process and return its result.

    timeout: wall-clock seconds before the worker is killed (SimulationTimeout).
    echo: also print the worker's output as it arrives (it is always kept in
    SimResult.log and in crash reports).
    """
    try:
        blob = pickle.dumps((fn, args, kwargs))
    except Exception as e:
        raise TypeError(
            f"simulate() needs a function and arguments that can be pickled (define {fn!r} "
            f"at module level): {e}"
        ) from None
    with tempfile.TemporaryDirectory(prefix="cosim-") as tmp:
        # Where to import from and run in: read by the worker before it unpickles the job,
        # since unpickling imports fn's module.
        main = sys.modules.get("__main__")
        main_path = getattr(main, "__file__", None) if _uses_main(fn, args, kwargs) else None
        (Path(tmp) / "context.json").write_text(
            json.dumps(
                {
                    "sys_path": list(sys.path),
                    "cwd": os.getcwd(),
                    "main_path": main_path,
                    "parent_pid": os.getpid(),
                }
            )
        )
        (Path(tmp) / "job.pkl").write_bytes(blob)
        result_path = Path(tmp) / "result.pkl"
        cmd = [sys.executable, "-m", "cosim._worker", tmp]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=worker_environment(env),
        )
        tail: collections.deque[str] = collections.deque(maxlen=log_lines)
        full: list[str] = []

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                tail.append(line)
                if len(full) < 100_000:
                    full.append(line)
                if echo:
                    print(line, flush=True)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        t0 = time.monotonic()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with _suppress():
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            reader.join(timeout=5)
            raise SimulationTimeout(
                f"simulation {_fn_name(fn)} did not finish within {timeout} s of wall time and "
                "was killed" + _format_tail(tail),
                timeout=timeout or 0.0,
                log_tail=list(tail),
            ) from None
        except BaseException:
            with _suppress():
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        reader.join(timeout=5)
        wall = time.monotonic() - t0
        rc = proc.returncode
        if rc < 0:
            raise SimulationCrashed(
                f"the worker running {_fn_name(fn)} was killed by {_signal_name(-rc)}"
                + _format_tail(tail),
                signal=-rc,
                log_tail=list(tail),
            )
        if not result_path.exists():
            raise SimulationCrashed(
                f"the worker running {_fn_name(fn)} exited with code {rc} without a result"
                + _format_tail(tail),
                exit_code=rc,
                log_tail=list(tail),
            )
        payload = pickle.loads(result_path.read_bytes())
    if payload["status"] == "ok":
        meta = payload["metadata"]
        meta["worker_wall_s"] = wall
        return SimResult(payload["value"], payload["stats"], meta, full)
    exc: BaseException | None = None
    if payload.get("exc") is not None:
        try:
            exc = pickle.loads(payload["exc"])
        except Exception:
            exc = None
    if exc is None:
        exc = WorkerError(f"{payload['type']}: {payload['message']}", payload["type"])
    exc.__cause__ = RemoteTraceback(payload["traceback"])
    raise exc


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


def _uses_main(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether the job refers to the running script's own definitions (__main__), which
    the worker must then load from the script file, as multiprocessing does."""
    if getattr(fn, "__module__", None) == "__main__":
        return True
    return any(
        getattr(type(a), "__module__", None) == "__main__"
        or getattr(a, "__module__", None) == "__main__"
        for a in (*args, *kwargs.values())
    )


def _fn_name(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _format_tail(tail: collections.deque[str]) -> str:
    if not tail:
        return " (it printed nothing)"
    return "; its last output:\n  " + "\n  ".join(tail)
