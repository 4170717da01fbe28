"""Simulation worker processes (see cosim.runner). Not public API.

    python -m cosim._worker JOB_DIR           one cold worker: runs the job, exits
    python -m cosim._worker --template FD     the warm template: imports done, nothing
                                              elaborated; forks one worker per job

JOB_DIR holds context.json (sys.path, working directory, environment and pid of the
caller) and job.pkl ((fn, args, kwargs)); the worker writes result.pkl there and exits
without interpreter teardown. A worker never outlives its caller: a cold worker dies
with the caller's death signal; the template notices its caller's end (its socket
closes), kills its workers, removes their job folders and exits."""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import json
import os
import pickle
import platform
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from cosim.runner import WHERE_FILE, WHERE_SIGNAL


def _metadata(sim: Any, wall: float) -> dict[str, Any]:
    import numpy

    import cosim

    meta = sim.summary()
    meta.update(
        {
            "wall_s": wall,
            "cosim_version": cosim.__version__,
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "pid": os.getpid(),
        }
    )
    return meta


def _die_with_parent(parent_pid: int | None) -> None:
    """End this process when the process that started it dies, so that killing a driver
    (even with SIGKILL, which it cannot intercept) leaves no simulation running."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    elif parent_pid is not None:  # no parent-death signal: watch the parent instead

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="cosim-parent-watch").start()
    # The parent may have died before the signal was armed.
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


def _describe_where(job_dir: Path) -> None:
    """Signal handler: write the simulated time and what each process waits for."""
    try:
        from cosim import _core
        from cosim.units import fmt_time

        lines = [f"at simulated time {fmt_time(_core.kernel_time())}"]
        for p in _core.processes():
            if not getattr(p, "done", False):
                lines.append(f"process '{p.name}': {p.waiting_on}")
        (job_dir / WHERE_FILE).write_text("\n".join(lines))
    except Exception as e:  # never let the report break the run it describes
        (job_dir / WHERE_FILE).write_text(f"(cannot tell where the run is: {e})")


def _not_a_result(fn: Any, e: BaseException) -> BaseException:
    """SystemExit and KeyboardInterrupt raised by the simulated code must not exit or
    interrupt the caller: they arrive as a WorkerError saying what happened."""
    from cosim.errors import WorkerError

    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    if isinstance(e, SystemExit):
        return WorkerError(
            f"simulation {name} called sys.exit({e.code!r}) instead of returning a result",
            "builtins.SystemExit",
        )
    return WorkerError(
        f"simulation {name} raised KeyboardInterrupt (not a Ctrl-C: workers do not "
        "receive the terminal's interrupts)",
        "builtins.KeyboardInterrupt",
    )


def run_job(d: Path) -> None:
    """Run the job in JOB_DIR `d` in this (fresh) process, write result.pkl, and exit."""
    import cosim.runner

    context = json.loads((d / "context.json").read_text())
    for p in reversed(context["sys_path"]):
        if p not in sys.path:
            sys.path.insert(0, p)
    os.chdir(context["cwd"])
    if context.get("env") is not None:
        os.environ.clear()
        os.environ.update(context["env"])
    signal.signal(WHERE_SIGNAL, lambda *_: _describe_where(d))

    from cosim import _core
    from cosim.simulation import Simulation

    fn: Any = None
    sim: Any = None
    t0 = time.perf_counter()
    result: dict[str, Any]
    try:
        if context.get("main_path"):
            # A cosim.simulate() call meanwhile comes from the script's top level.
            cosim.runner.LOADING_MAIN = context["main_path"]
            try:
                _load_main(context["main_path"])
            finally:
                cosim.runner.LOADING_MAIN = None
        fn, args, kwargs = pickle.loads((d / "job.pkl").read_bytes())
        sim = Simulation()
        t0 = time.perf_counter()
        value = fn(sim, *args, **kwargs)
        wall = time.perf_counter() - t0
        result = {
            "status": "ok",
            "value": value,
            "stats": sim.stats.tree(),
            "metadata": _metadata(sim, wall),
        }
        try:
            blob = pickle.dumps(result)
        except Exception as e:
            raise TypeError(
                f"the value returned by the simulation cannot be pickled: {e}"
            ) from None
    except BaseException as e:
        if isinstance(e, SystemExit | KeyboardInterrupt):
            cause = e
            e = _not_a_result(fn, e)
            e.__cause__ = cause
        try:
            exc_blob: bytes | None = pickle.dumps(e)
            pickle.loads(exc_blob)
        except Exception:
            exc_blob = None
        try:
            stats = sim.stats.tree() if sim is not None else {}
        except Exception:
            stats = {}
        result = {
            "status": "error",
            "exc": exc_blob,
            "type": f"{type(e).__module__}.{type(e).__qualname__}",
            "message": str(e),
            "traceback": "".join(traceback.format_exception(e)),
            "stats": stats,
        }
        blob = pickle.dumps(result)
    try:
        # Models finish what they write (waveform files) before the caller sees the result.
        _core.end_simulation()
    except Exception:
        traceback.print_exc()
    tmp = d / "result.pkl.tmp"
    tmp.write_bytes(blob)
    os.replace(tmp, d / "result.pkl")
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: SystemC objects are not meant to be destroyed under it.
    os._exit(0)


def main(job_dir: str) -> None:
    """A cold worker: a fresh interpreter that runs one job."""
    faulthandler.enable()
    d = Path(job_dir)
    context = json.loads((d / "context.json").read_text())
    _die_with_parent(context.get("parent_pid"))
    run_job(d)


def _load_main(path: str) -> None:
    """Make the caller's script importable as __main__ (under the name __mp_main__, so
    its `if __name__ == "__main__":` block does not run again)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("__mp_main__", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the calling script {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["__mp_main__"] = module
    sys.modules["__main__"] = module
    spec.loader.exec_module(module)


# ------------------------------------------------------------------- warm template


def _preload() -> None:
    """What every worker imports anyway, done once in the template."""
    import numpy  # noqa: F401

    import cosim
    import cosim.scenario
    import cosim.simulation  # noqa: F401
    from cosim import _core  # noqa: F401


def serve(fd: int) -> None:
    """The warm template: on each request (a job folder and the write end of the pipe
    for its output) fork a worker, and report its pid and, when it ends, its exit status
    (negative: the signal that killed it). Requests and reports are one JSON message per
    packet on the SOCK_SEQPACKET socket `fd`; when the caller closes it (or dies), kill
    every worker, remove their job folders and exit."""
    import selectors
    import socket

    sock = socket.socket(fileno=fd)
    _preload()
    # Workers share the template's memory copy-on-write; keep the collector from touching
    # (and so copying) every preloaded object in each of them.
    gc.collect()
    gc.freeze()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    me = os.getpid()
    jobs: dict[int, tuple[int, str]] = {}  # pid -> (request id, job folder)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    sock.send(json.dumps({"ready": me}).encode())

    def tell(message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the caller is gone: the next receive sees it
            sock.send(json.dumps(message).encode())

    def reap() -> None:
        while jobs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in jobs:
                rid, _ = jobs.pop(pid)
                code = os.waitstatus_to_exitcode(status)
                tell({"id": rid, "status": code})

    while True:
        for key, _ in sel.select():
            if key.fileobj is wake_r:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
                reap()
                continue
            try:
                msg, fds, _, _ = socket.recv_fds(sock, 65536, 1)
            except OSError:
                msg, fds = b"", []
            if not msg:  # the caller is gone
                for pid in jobs:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                for pid, (_, job) in jobs.items():
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(pid, 0)
                    shutil.rmtree(job, ignore_errors=True)
                os._exit(0)
            request = json.loads(msg)
            out = fds[0] if fds else os.open(os.devnull, os.O_WRONLY)
            pid = os.fork()
            if pid == 0:
                _child(sock, sel, (wake_r, wake_w), out, me, Path(request["job"]))
            os.close(out)
            jobs[pid] = (request["id"], request["job"])
            tell({"id": request["id"], "pid": pid})
            reap()


def _child(sock: Any, sel: Any, wake: tuple[int, int], out: int, template: int, job: Path) -> None:
    """In a freshly forked worker: drop the template's plumbing, become a session of its
    own (so a timeout kills what it starts too), die with the template, run the job."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sel.close()
        sock.close()
        for f in wake:
            os.close(f)
        os.setsid()
        _die_with_parent(template)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        faulthandler.enable()
        run_job(job)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "--template":
        serve(int(sys.argv[2]))
    else:
        main(sys.argv[1])
