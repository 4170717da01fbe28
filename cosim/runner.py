"""Run each simulation in a fresh worker process (docs/design.md, principle 4).

SystemC cannot elaborate twice in one process, and generated or model code may crash.
`simulate(fn, *args, **kwargs)` runs `fn(sim, *args, **kwargs)` in a new process, forked
from a warm template (numpy and cosim imported once, nothing elaborated; `cosim._worker`)
or, with $COSIM_WARM_WORKERS=0, a fresh interpreter, and returns a picklable SimResult.

- An exception raised in the worker is re-raised here as itself (when it can be
  pickled), chained to a RemoteTraceback that shows the worker-side traceback.
- A worker killed by a signal (SIGSEGV in generated code, abort()) becomes
  SimulationCrashed with the signal and the last lines the worker printed.
- `timeout` (wall-clock seconds) kills the worker and raises SimulationTimeout.

`fn` must be picklable by reference: a function defined at module level of a file.
"""

from __future__ import annotations

import abc
import collections
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cosim.errors import (
    RemoteTraceback,
    SimulationCrashed,
    SimulationError,
    SimulationTimeout,
    WorkerError,
)
from cosim.progress import NOTICE_PREFIX
from cosim.stats import flatten_tree

#: $COSIM_WARM_WORKERS=0 starts every worker as a fresh interpreter (the cold path).
WARM_ENV = "COSIM_WARM_WORKERS"
#: Prefix of job folders in the temporary directory (then the caller's pid).
JOB_PREFIX = "cosim-job-"
#: Written by a worker asked where its run is (signal WHERE_SIGNAL) before a timeout kill.
WHERE_FILE = "where.txt"
WHERE_SIGNAL = signal.SIGUSR1
#: Set in a worker while it imports the caller's script as __main__ (see simulate()).
LOADING_MAIN: str | None = None


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

    timeout: wall-clock seconds before the worker is killed (SimulationTimeout, saying
    where the run was). echo: also print the worker's output as it arrives (it is
    always kept in SimResult.log and in crash reports). env: extra environment variables
    of the worker.
    """
    if LOADING_MAIN is not None:
        raise SimulationError(
            f"cosim.simulate() was called while a worker imported {LOADING_MAIN}: a script "
            'that calls cosim.simulate() must do so under `if __name__ == "__main__":` '
            "(workers import the script to find its functions)"
        )
    main = sys.modules.get("__main__")
    uses_main = _uses_main(fn, args, kwargs)
    main_path = getattr(main, "__file__", None) if uses_main else None
    if main_path is not None and not os.path.isfile(main_path):  # "<stdin>"
        main_path = None
    if uses_main and main_path is None:
        raise TypeError(
            f"simulate() cannot run {_fn_name(fn)}: it is defined in a script read from "
            "standard input or typed interactively, which a worker cannot import; save the "
            'script to a file (and call simulate() under `if __name__ == "__main__":`) or '
            "define the function in a module"
        )
    try:
        blob = pickle.dumps((fn, args, kwargs))
    except Exception as e:
        raise TypeError(
            f"simulate() needs a function and arguments that can be pickled (define {fn!r} "
            f"at module level): {e}"
        ) from None
    _remove_abandoned_job_folders()
    with tempfile.TemporaryDirectory(prefix=f"{JOB_PREFIX}{os.getpid()}-") as tmp:
        # Where to import from and run in: read by the worker before it unpickles the job,
        # since unpickling imports fn's module.
        (Path(tmp) / "context.json").write_text(
            json.dumps(
                {
                    "sys_path": list(sys.path),
                    "cwd": os.getcwd(),
                    "main_path": main_path,
                    "parent_pid": os.getpid(),
                    # as a fresh worker's: the template was started with these too
                    "env": worker_environment(env),
                }
            )
        )
        (Path(tmp) / "job.pkl").write_bytes(blob)
        result_path = Path(tmp) / "result.pkl"
        worker = _start_worker(tmp)
        with _running_lock:
            _running.add(worker)
        tail: collections.deque[str] = collections.deque(maxlen=log_lines)
        full: list[str] = []

        def pump() -> None:
            with worker.output:
                pump_lines()
            worker.output_ended(result_path.exists())

        def pump_lines() -> None:
            for raw in worker.output:
                line = raw.decode(errors="replace").rstrip("\n")
                tail.append(line)
                if len(full) < 100_000:
                    full.append(line)
                if echo:
                    print(line, flush=True)
                elif line.startswith(NOTICE_PREFIX):
                    print(line, file=sys.stderr, flush=True)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        t0 = time.monotonic()
        try:
            rc = worker.wait(timeout)
        except subprocess.TimeoutExpired:
            where = _ask_where(worker, Path(tmp))
            worker.kill()
            worker.wait(None)
            reader.join(timeout=5)
            raise SimulationTimeout(
                f"simulation {_fn_name(fn)} did not finish within {timeout} s of wall time and "
                "was killed " + where + _format_tail(tail),
                timeout=timeout or 0.0,
                log_tail=list(tail),
            ) from None
        except BaseException:
            worker.kill()
            with _suppress():
                worker.wait(5)
            raise
        finally:
            with _running_lock:
                _running.discard(worker)
        reader.join(timeout=5)
        wall = time.monotonic() - t0
        if rc is not None and rc < 0:
            raise SimulationCrashed(
                f"the worker running {_fn_name(fn)} was killed by {_signal_name(-rc)}"
                + _format_tail(tail),
                signal=-rc,
                log_tail=list(tail),
            )
        if not result_path.exists():
            how = f"exited with code {rc}" if rc is not None else "was lost with its template"
            raise SimulationCrashed(
                f"the worker running {_fn_name(fn)} {how} without a result" + _format_tail(tail),
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


# --------------------------------------------------------------------- the workers


class _Worker(abc.ABC):
    """A running worker: its pid, its output (a binary file, EOF when it ends)."""

    pid: int
    output: BinaryIO

    @abc.abstractmethod
    def wait(self, timeout: float | None) -> int | None:
        """Its exit status (negative: killed by that signal; None: lost with the
        template); subprocess.TimeoutExpired after `timeout` seconds."""

    def output_ended(self, with_result: bool) -> None:  # noqa: B027 - a hook; most need none
        """Its output closed (it exited, or closed it), after writing a result or not."""

    def kill(self) -> None:
        """SIGKILL the worker and everything it started (its own session)."""
        pid = self.pid
        if pid <= 0:
            return
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            with _suppress():
                os.kill(pid, signal.SIGKILL)


class _ColdWorker(_Worker):
    """A fresh interpreter: `python -m cosim._worker JOB_DIR`."""

    def __init__(self, job_dir: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cosim._worker", job_dir],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=worker_environment(),
        )
        self.pid = self.proc.pid
        assert self.proc.stdout is not None
        self.output = self.proc.stdout

    def wait(self, timeout: float | None) -> int | None:
        return self.proc.wait(timeout=timeout)


class _WarmWorker(_Worker):
    """A worker forked by the template; the template reports its pid and exit status."""

    def __init__(self, output: BinaryIO) -> None:
        self.output = output
        self.forked = 0
        self.status: int | None = None
        self.started = threading.Event()
        self.ended = threading.Event()

    @property  # type: ignore[override]
    def pid(self) -> int:
        """Its pid once the template has forked it (0 if the template ended first)."""
        self.started.wait(60)
        return self.forked

    def wait(self, timeout: float | None) -> int | None:
        if not self.ended.wait(timeout):
            raise subprocess.TimeoutExpired("cosim worker", timeout or 0.0)
        return self.status

    def output_ended(self, with_result: bool) -> None:
        # A worker that wrote its result and closed its output is exiting normally: no
        # need to wait for the template's report of its exit status.
        if with_result and not self.ended.is_set():
            self.status = 0
            self.ended.set()


class _Template:
    """The warm template process (`python -m cosim._worker --template FD`): numpy, cosim
    and its extension imported once, nothing elaborated; it forks one worker per job, so
    a simulation starts in milliseconds instead of paying for a fresh interpreter. A
    crash still loses one worker only; the template lives as long as this process."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cosim._worker", "--template", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=worker_environment(),  # the TLS tunable is read at exec: the template's
            )
        finally:
            theirs.close()
        self.sock = mine
        self.sock.settimeout(120)
        try:
            hello = self.sock.recv(65536)
        except OSError:
            hello = b""
        if not hello:
            self._stop()
            raise OSError("the warm worker template did not start")
        self.sock.settimeout(None)
        self.lock = threading.Lock()
        self.jobs: dict[int, _WarmWorker] = {}
        self.next_id = 0
        self.alive = True
        threading.Thread(target=self._listen, daemon=True, name="cosim-template").start()

    def _listen(self) -> None:
        while True:
            try:
                msg = self.sock.recv(65536)
            except OSError:
                msg = b""
            if not msg:
                break
            report = json.loads(msg)
            with self.lock:
                job = self.jobs.get(report["id"])
            if job is None:
                continue
            if "pid" in report:
                job.forked = report["pid"]
                job.started.set()
            else:
                job.status = report["status"]
                with self.lock:
                    self.jobs.pop(report["id"], None)
                job.ended.set()
        with self.lock:
            self.alive = False
            lost, self.jobs = list(self.jobs.values()), {}
        for job in lost:
            job.started.set()
            job.ended.set()

    def start(self, job_dir: str) -> _WarmWorker:
        r, w = os.pipe()
        job = _WarmWorker(os.fdopen(r, "rb"))
        with self.lock:
            if not self.alive:
                os.close(w)
                job.output.close()
                raise OSError("the warm worker template has ended")
            rid, self.next_id = self.next_id, self.next_id + 1
            self.jobs[rid] = job
            try:
                socket.send_fds(self.sock, [json.dumps({"id": rid, "job": job_dir}).encode()], [w])
            except OSError:
                self.jobs.pop(rid, None)
                job.output.close()
                raise
            finally:
                os.close(w)
        return job

    def _stop(self) -> None:
        with _suppress():
            self.sock.close()
        with _suppress():
            self.proc.kill()
            self.proc.wait(5)


_running: set[_Worker] = set()
_running_lock = threading.Lock()


def kill_running_workers() -> int:
    """SIGKILL every simulation worker this process is waiting for (an interrupted
    sweep abandons its points); their simulate() calls raise SimulationCrashed."""
    with _running_lock:
        workers = list(_running)
    for worker in workers:
        worker.kill()
    return len(workers)


_template: _Template | None = None
_template_lock = threading.Lock()


def _start_worker(job_dir: str) -> _Worker:
    """A worker forked by the warm template, or a fresh interpreter when warm workers
    are off ($COSIM_WARM_WORKERS=0) or the template cannot run."""
    global _template
    if os.environ.get(WARM_ENV, "1") != "0":
        with _template_lock:
            try:
                if _template is None or not _template.alive:
                    if _template is not None:
                        _template._stop()
                    _template = _Template()
                template = _template
            except OSError:
                template = None
        if template is not None:
            with _suppress_oserror():
                return template.start(job_dir)
    return _ColdWorker(job_dir)


def _ask_where(worker: _Worker, job_dir: Path) -> str:
    """Ask a worker about to be killed for its simulated time and waiting processes."""
    if worker.pid <= 0:
        return "(it was never started)"
    with _suppress():
        os.kill(worker.pid, WHERE_SIGNAL)
    where = job_dir / WHERE_FILE
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and not where.exists():
        time.sleep(0.02)
    time.sleep(0.02)
    try:
        text = where.read_text().strip()
    except OSError:
        return "(it did not say where it was: busy in compiled code)"
    return "(" + "; ".join(text.splitlines()) + ")"


def _remove_abandoned_job_folders() -> None:
    """Job folders of callers that died (kill -9) without removing them; once a process."""
    global _swept
    if _swept:
        return
    _swept = True
    for folder in Path(tempfile.gettempdir()).glob(f"{JOB_PREFIX}*"):
        try:
            pid = int(folder.name[len(JOB_PREFIX) :].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


_swept = False


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


class _suppress_oserror:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> bool:
        return kind is not None and issubclass(kind, OSError)


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
