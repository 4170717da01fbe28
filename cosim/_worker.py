"""Entry point of a simulation worker process (see cosim.runner). Not public API.

    python -m cosim._worker JOB_DIR

JOB_DIR holds context.json (sys.path, working directory and pid of the caller) and job.pkl
((fn, args, kwargs)); the worker writes result.pkl there and exits without interpreter
teardown. A worker never outlives its caller: if the caller dies (a sweep driver killed
with kill -9), the worker is killed too instead of running on as an orphan."""

from __future__ import annotations

import faulthandler
import json
import os
import pickle
import platform
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any


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
    """End this worker when the process that started it dies, so that killing a driver
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


def main(job_dir: str) -> None:
    faulthandler.enable()
    d = Path(job_dir)
    context = json.loads((d / "context.json").read_text())
    _die_with_parent(context.get("parent_pid"))
    for p in reversed(context["sys_path"]):
        if p not in sys.path:
            sys.path.insert(0, p)
    os.chdir(context["cwd"])
    if context.get("main_path"):
        _load_main(context["main_path"])
    fn, args, kwargs = pickle.loads((d / "job.pkl").read_bytes())

    from cosim import _core
    from cosim.simulation import Simulation

    sim = Simulation()
    t0 = time.perf_counter()
    result: dict[str, Any]
    try:
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
        try:
            exc_blob: bytes | None = pickle.dumps(e)
            pickle.loads(exc_blob)
        except Exception:
            exc_blob = None
        try:
            stats = sim.stats.tree()
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


if __name__ == "__main__":
    main(sys.argv[1])
