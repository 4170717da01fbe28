"""Timeline tracing: TLM transactions and named activity spans, exported as Chrome
trace-event JSON (open in https://ui.perfetto.dev or chrome://tracing).

Off by default; `sim.trace.enable()` before run() turns it on for every initiator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cosim import _core


class Trace:
    def enable(self, max_events: int = 10_000_000) -> None:
        """Record transactions and spans (keeps at most `max_events`, counts the rest as
        dropped)."""
        if max_events < 1:
            raise ValueError("max_events must be >= 1")
        _core.trace_enable(True, max_events)

    def disable(self) -> None:
        _core.trace_enable(False, 0)

    @property
    def enabled(self) -> bool:
        return _core.trace_enabled()

    def track(self, name: str) -> int:
        """The id of the timeline row called `name` (created on first use)."""
        return _core.trace_track(name)

    def span(self, track: str | int, name: str, start: int, end: int, **args: Any) -> None:
        """Record that `track` did `name` from `start` to `end` (ps)."""
        if end < start:
            raise ValueError(f"span '{name}' ends ({end} ps) before it starts ({start} ps)")
        tid = track if isinstance(track, int) else self.track(track)
        _core.trace_span(tid, name, start, end - start, json.dumps(args) if args else "")

    def instant(self, track: str | int, name: str, at: int, **args: Any) -> None:
        tid = track if isinstance(track, int) else self.track(track)
        _core.trace_instant(tid, name, at, json.dumps(args) if args else "")

    def __len__(self) -> int:
        return _core.trace_size()

    @property
    def dropped(self) -> int:
        return _core.trace_dropped()

    def export(self, path: str | Path) -> int:
        """Write the Chrome trace-event JSON file; returns the number of events."""
        return _core.trace_write(str(path))
