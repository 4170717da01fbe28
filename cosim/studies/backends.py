"""Where the points of a sweep run: a local pool (default), Dask distributed or Ray.

Every backend runs the same task, `cosim.studies.sweep.run_point`, which runs one point
in a fresh simulation worker process through cosim.simulate (one elaboration per
process, docs/design.md, principle 4) and returns its PointRecord. A backend only decides
which machine and thread call it:

- local: `workers` threads of the driver, each waiting on its own simulation worker.
- dask: tasks on a Dask distributed cluster at `address` (scheduler address), or on a
  LocalCluster of `workers` single-threaded worker processes started for the sweep.
- ray: tasks on the Ray cluster at `address`, or on a local Ray started for the sweep
  with `workers` CPUs. Each task reserves one CPU.

On a cluster, every node needs the same cosim installation and the scenario script at
the same path (a shared checkout), as the task loads the script by its path.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from typing import Any

from cosim.errors import CosimError
from cosim.runner import kill_running_workers

BACKENDS = ("local", "dask", "ray")


class BackendError(CosimError):
    """A backend cannot be started: a missing package or an unreachable cluster."""


@dataclass(frozen=True)
class Task:
    """One call of the task function: its arguments and what it is for (a point id)."""

    key: str
    args: tuple[Any, ...]


class Backend(abc.ABC):
    """Runs tasks somewhere; subclasses implement run()."""

    name = "?"
    #: How many tasks run at once (for progress display; 0 when the cluster decides).
    concurrency = 0

    @abc.abstractmethod
    def run(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[tuple[Task, Any]]:
        """Yield (task, fn's result or the exception that stopped it) as tasks finish."""

    def close(self) -> None:  # noqa: B027 - optional hook: a backend holding nothing keeps it
        """Release the backend; tasks still running are abandoned."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalBackend(Backend):
    name = "local"

    def __init__(self, workers: int) -> None:
        self.concurrency = workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cosim-sweep")
        self.futures: list[Future[Any]] = []

    def run(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[tuple[Task, Any]]:
        owner: dict[Future[Any], Task] = {}
        for task in tasks:
            future = self.pool.submit(fn, *task.args)
            owner[future] = task
            self.futures.append(future)
        for future in as_completed(owner):
            error = future.exception()
            yield owner[future], error if error is not None else future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        # Abandoned points (an interrupted sweep): end their simulations now rather than
        # wait for them. A thread may be about to start one, hence the loop.
        while running := [f for f in self.futures if not f.done()]:
            kill_running_workers()
            wait(running, timeout=0.2)
        self.pool.shutdown(wait=True)


class DaskBackend(Backend):
    name = "dask"

    def __init__(self, workers: int, address: str | None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise BackendError(
                "the dask backend needs the 'dask' and 'distributed' packages: "
                "pip install 'cosim[dask]'"
            ) from None
        self.cluster = None
        try:
            if address:
                # Connect timeout: dask's own setting (distributed.comm.timeouts.connect,
                # e.g. DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s; 30 s by default).
                self.client = Client(address)
            else:
                self.cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self.client = Client(self.cluster)
        except OSError as e:
            raise BackendError(f"cannot reach the Dask scheduler at {address}: {e}") from None
        self.concurrency = 0 if address else workers
        self.futures: list[Any] = []

    def run(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[tuple[Task, Any]]:
        from distributed import as_completed as dask_completed

        owner, futures = {}, []
        for task in tasks:
            future = self.client.submit(fn, *task.args, key=f"cosim-{task.key}", pure=False)
            owner[future.key] = task
            futures.append(future)
        # Only this call's tasks: an explore calls run() once per batch.
        self.futures += futures
        for future in dask_completed(futures):
            try:
                yield owner[future.key], future.result()
            except Exception as e:
                yield owner[future.key], e

    def close(self) -> None:
        # Abandoned points: pending ones are cancelled; Dask cannot stop a running task,
        # so on a remote cluster those finish and their results are dropped. A local
        # cluster is shut down, and the simulations die with its workers.
        with contextlib.suppress(Exception):
            self.client.cancel([f for f in self.futures if not f.done()])
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


class RayBackend(Backend):
    name = "ray"

    def __init__(self, workers: int, address: str | None) -> None:
        try:
            import ray
        except ImportError:
            raise BackendError(
                "the ray backend needs the 'ray' package: pip install 'cosim[ray]'"
            ) from None
        self.ray = ray
        self.pending: list[Any] = []
        self.owns = not ray.is_initialized()
        if self.owns:
            try:
                ray.init(
                    address=address,
                    num_cpus=None if address else workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                )
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise BackendError(f"cannot start or reach Ray at {address}: {e}") from None
        self.watchdog = _reaper(_ray_pids()) if self.owns and not address else None
        self.concurrency = 0 if address else workers

    def run(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> Iterator[tuple[Task, Any]]:
        remote = self.ray.remote(num_cpus=1, max_retries=0)(fn)
        owner = {remote.remote(*task.args): task for task in tasks}
        self.pending = list(owner)
        while self.pending:
            done, self.pending = self.ray.wait(self.pending, num_returns=1)
            for ref in done:
                try:
                    yield owner[ref], self.ray.get(ref)
                except Exception as e:
                    yield owner[ref], e

    def close(self) -> None:
        # Abandoned points: force-cancelling kills the Ray worker running each, and its
        # simulation worker dies with it.
        for ref in self.pending:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        if self.owns:
            self.ray.shutdown()
        if self.watchdog is not None and self.watchdog.stdin is not None:
            with contextlib.suppress(OSError):
                self.watchdog.stdin.write(b"done\n")
                self.watchdog.stdin.close()
            self.watchdog.wait()


def _ray_pids() -> list[int]:
    """Pids of the processes of the local Ray this driver started (raylet, GCS, ...)."""
    try:
        import ray._private.worker as ray_worker

        node = ray_worker._global_node
        return [
            info.process.pid
            for infos in node.all_processes.values()
            for info in infos
            if info.process is not None
        ]
    except Exception:
        return []


#: Run by _reaper in a process of its own: watch the process trees given on the command
#: line; when the driver's pipe closes without "done" (the driver was killed), SIGKILL
#: every process ever seen in them (Ray's agents outlive a killed driver by a minute).
_REAPER = """
import os, select, signal, sys
def tree(roots, seen):
    kids = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                f = open(f"/proc/{e}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            kids.setdefault(int(f[1]), []).append((int(e), f[19]))
    todo = list(roots)
    while todo:
        for pid, start in kids.get(todo.pop(), []):
            if (pid, start) not in seen:
                seen.add((pid, start))
                todo.append(pid)
def start_of(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None
roots = [int(a) for a in sys.argv[1:]]
seen = {(p, start_of(p)) for p in roots}
while True:
    tree(roots + [p for p, _ in seen], seen)
    ready, _, _ = select.select([sys.stdin], [], [], 1.0)
    if ready:
        data = os.read(sys.stdin.fileno(), 64)
        if data.startswith(b"done"):
            sys.exit(0)
        if not data:
            break
tree(roots + [p for p, _ in seen], seen)
for pid, start in seen:
    if start is not None and start_of(pid) == start:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""


def _reaper(pids: list[int]) -> subprocess.Popen[bytes] | None:
    """A process that kills the process trees `pids` when this driver dies unannounced."""
    if not pids or not sys.platform.startswith("linux"):
        return None
    return subprocess.Popen(
        [sys.executable, "-c", _REAPER, *map(str, pids)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def make_backend(name: str, workers: int | None = None, address: str | None = None) -> Backend:
    """The backend called `name` with `workers` concurrent points (default: CPUs)."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend '{name}'; choose one of {', '.join(BACKENDS)}")
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise BackendError(f"workers must be >= 1, got {workers}")
    if name == "local":
        if address:
            raise BackendError("--address needs --backend dask or ray (the local pool has none)")
        return LocalBackend(n)
    if name == "dask":
        return DaskBackend(n, address)
    return RayBackend(n, address)
