"""Progress of long runs and sweeps, shown on a terminal and nowhere else.

In a scenario (worker side), report work done at the scenario's own granularity: a
tile, a layer, a DMA descriptor; never per simulated cycle:

    from cosim.progress import report_progress
    for i, tile in enumerate(tiles):
        ...
        report_progress(i + 1, len(tiles), unit="tiles")

A report is written to the file named by $COSIM_PROGRESS_FILE (set by the command line
for the run it shows), together with the simulated time, at most once per
REPORT_INTERVAL_S of wall time and always when done reaches total. Without the variable
(tests, sweeps) a report costs one comparison.

On the driver side, RunProgress shows one run (work done, rate, simulated time, ETA) and
SweepProgress a sweep (points done, failed, left, rate, ETA), redrawing one line on
stderr, only when stderr is a terminal.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from cosim.units import fmt_time

PROGRESS_ENV = "COSIM_PROGRESS_FILE"
REPORT_INTERVAL_S = 0.2

_target: str | None = None
_target_read = False
_last_report = 0.0


#: Lines a worker prints with this prefix are shown by the caller even when the worker's
#: output is otherwise kept quiet (no -v, no terminal): what is being built, and so on.
NOTICE_PREFIX = "cosim: "


def notice(text: str) -> None:
    """Tell the person waiting what is happening (one line on stderr, always shown)."""
    import sys

    print(f"{NOTICE_PREFIX}{text}", file=sys.stderr, flush=True)


def report_progress(done: float, total: float | None = None, unit: str = "steps") -> None:
    """Report that `done` of `total` units of work are finished (see the module doc)."""
    global _target, _target_read, _last_report
    if not _target_read:
        _target, _target_read = os.environ.get(PROGRESS_ENV) or None, True
    if _target is None:
        return
    t = time.monotonic()
    final = total is not None and done >= total
    if not final and t - _last_report < REPORT_INTERVAL_S:
        return
    _last_report = t
    try:
        from cosim import _core

        sim_time: int | None = _core.now()
    except Exception:
        sim_time = None
    state = {"done": done, "total": total, "unit": unit, "sim_time_ps": sim_time}
    tmp = f"{_target}.tmp"
    Path(tmp).write_text(json.dumps(state))
    os.replace(tmp, _target)


def fmt_duration(seconds: float) -> str:
    """'4.2 s', '3 min 05 s', '2 h 07 min'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m} min {s:02d} s"
    h, m = divmod(round(seconds) // 60, 60)
    return f"{h} h {m:02d} min"


def _bar(fraction: float, width: int = 20) -> str:
    filled = max(0, min(width, int(fraction * width)))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def render_run(label: str, state: dict[str, Any] | None, elapsed: float) -> str:
    """The progress line of one run from its last report (None: nothing reported)."""
    parts = [label]
    if state is not None:
        done, total, unit = state["done"], state.get("total"), state.get("unit", "steps")
        rate = done / elapsed if elapsed > 0 else 0.0
        if total:
            parts.append(f"{_bar(done / total)} {100 * done / total:3.0f}%")
            parts.append(f"{done:,.0f}/{total:,.0f} {unit}")
        else:
            parts.append(f"{done:,.0f} {unit}")
        parts.append(f"{rate:,.1f} {unit}/s")
        if state.get("sim_time_ps") is not None:
            parts.append(f"sim {fmt_time(int(state['sim_time_ps']))}")
        parts.append(f"elapsed {fmt_duration(elapsed)}")
        if total and rate > 0 and done < total:
            parts.append(f"ETA {fmt_duration((total - done) / rate)}")
    else:
        parts.append(f"running, elapsed {fmt_duration(elapsed)}")
    return "  ".join(parts)


def render_sweep(
    label: str, total: int, done: int, failed: int, running: int, elapsed: float
) -> str:
    """The progress line of a sweep: `done` and `failed` count points finished by this
    driver (failed ones among them), `total` the points it has to run."""
    left = total - done
    parts = [label, f"{_bar(done / total if total else 1.0)} {done}/{total} points"]
    parts.append(f"{failed} failed")
    if running:
        parts.append(f"{running} running")
    parts.append(f"{left} left")
    if done and elapsed > 0:
        rate = done / elapsed
        parts.append(f"{rate * 60:,.1f} points/min")
        if left:
            parts.append(f"ETA {fmt_duration(left / rate)}")
    parts.append(f"elapsed {fmt_duration(elapsed)}")
    return "  ".join(parts)


class _Line:
    """One line of stderr redrawn in place; silent unless the stream is a terminal."""

    def __init__(self, stream: TextIO, enabled: bool | None) -> None:
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.shown = False
        self.lock = threading.Lock()

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        with self.lock:
            self.stream.write("\r" + text + "\x1b[K")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.enabled and self.shown:
            with self.lock:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self.shown = False

    def above(self, text: str) -> None:
        """Print a message line, keeping the progress line below it."""
        with self.lock:
            if self.enabled and self.shown:
                self.stream.write("\r\x1b[K")
            self.stream.write(text + "\n")
            self.stream.flush()


class _Ticker:
    def __init__(self, period: float, fn: Any) -> None:
        self.period, self.fn = period, fn
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="cosim-progress")

    def _loop(self) -> None:
        while not self.stop.wait(self.period):
            self.fn()

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


class RunProgress:
    """Shows the progress a worker reports into `path` while a run is going on."""

    def __init__(
        self,
        label: str,
        path: str | Path,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        period: float = 0.25,
    ) -> None:
        import sys

        self.label, self.path = label, Path(path)
        self.line = _Line(stream or sys.stderr, enabled)
        self.t0 = time.monotonic()
        self.ticker = _Ticker(period, self.refresh)

    def state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def refresh(self) -> None:
        self.line.show(render_run(self.label, self.state(), time.monotonic() - self.t0))

    def __enter__(self) -> RunProgress:
        if self.line.enabled:
            self.refresh()
            self.ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.ticker.close()
        self.line.clear()


class SweepProgress:
    """Points done / failed / running / left of a sweep, with rate and ETA."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        running_limit: int = 0,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        period: float = 1.0,
    ) -> None:
        import sys

        self.label, self.total, self.running_limit = label, total, running_limit
        self.done = self.failed = 0
        self.line = _Line(stream or sys.stderr, enabled)
        self.t0 = time.monotonic()
        self.ticker = _Ticker(period, self.refresh)

    def point_finished(self, ok: bool, message: str | None = None) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if message:
            self.line.above(message)
        self.refresh()

    def refresh(self) -> None:
        running = min(self.running_limit, self.total - self.done)
        self.line.show(
            render_sweep(
                self.label,
                self.total,
                self.done,
                self.failed,
                running,
                time.monotonic() - self.t0,
            )
        )

    def __enter__(self) -> SweepProgress:
        if self.line.enabled:
            self.refresh()
            self.ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.ticker.close()
        self.line.clear()
