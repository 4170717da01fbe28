"""Progress of runs and sweeps: what the lines say, how a scenario reports work done
(throttled, never per cycle), and that progress shows on a terminal and nowhere else."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import ROOT, cli_env

from cosim import progress
from cosim.progress import (
    RunProgress,
    SweepProgress,
    fmt_duration,
    render_run,
    render_sweep,
    report_progress,
)


def test_durations_are_readable() -> None:
    assert fmt_duration(4.24) == "4.2 s"
    assert fmt_duration(185) == "3 min 05 s"
    assert fmt_duration(7620) == "2 h 07 min"


def test_run_line_shows_work_rate_simulated_time_and_eta() -> None:
    state = {"done": 25, "total": 100, "unit": "tiles", "sim_time_ps": 1_500_000}
    line = render_run("eie", state, elapsed=5.0)
    assert line.startswith("eie  [#####---------------]  25%  25/100 tiles")
    assert "5.0 tiles/s" in line and "sim 1.5 us" in line
    assert "elapsed 5.0 s" in line and "ETA 15.0 s" in line
    unbounded = render_run("eie", {"done": 7, "total": None, "unit": "layers"}, 2.0)
    assert "7 layers" in unbounded and "ETA" not in unbounded and "%" not in unbounded
    assert render_run("eie", None, 3.0) == "eie  running, elapsed 3.0 s"


def test_sweep_line_shows_points_done_failed_left_and_eta() -> None:
    line = render_sweep("sweep eie", total=10, done=4, failed=1, running=2, elapsed=8.0)
    assert "4/10 points" in line and "1 failed" in line and "2 running" in line
    assert "6 left" in line and "30.0 points/min" in line and "ETA 12.0 s" in line
    assert "ETA" not in render_sweep("s", total=3, done=0, failed=0, running=2, elapsed=1.0)


def test_report_progress_writes_throttled_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "progress.json"
    monkeypatch.setattr(progress, "_target", str(target))
    monkeypatch.setattr(progress, "_target_read", True)
    monkeypatch.setattr(progress, "_last_report", 0.0)
    report_progress(1, 1000, unit="tiles")
    assert json.loads(target.read_text())["done"] == 1
    for i in range(2, 999):  # within REPORT_INTERVAL_S of the first: not written
        report_progress(i, 1000, unit="tiles")
    assert json.loads(target.read_text())["done"] == 1
    report_progress(1000, 1000, unit="tiles")  # the last one always is
    state = json.loads(target.read_text())
    assert state == {
        "done": 1000,
        "total": 1000,
        "unit": "tiles",
        "sim_time_ps": state["sim_time_ps"],
    }


def test_report_progress_without_a_target_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "_target", None)
    monkeypatch.setattr(progress, "_target_read", True)
    t0 = time.perf_counter()
    for i in range(100_000):
        report_progress(i, 100_000)
    assert time.perf_counter() - t0 < 1.0


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_run_progress_redraws_one_line_on_a_terminal_only(tmp_path: Path) -> None:
    state = tmp_path / "p.json"
    state.write_text(json.dumps({"done": 3, "total": 4, "unit": "tiles", "sim_time_ps": 10}))
    term = FakeTerminal()
    with RunProgress("x", state, stream=term, period=0.05):
        time.sleep(0.2)
    text = term.getvalue()
    assert text.count("\r") >= 3 and "3/4 tiles" in text and text.endswith("\r\x1b[K")
    pipe = io.StringIO()
    with RunProgress("x", state, stream=pipe, period=0.05):
        time.sleep(0.1)
    assert pipe.getvalue() == ""


def test_sweep_progress_prints_failures_even_when_quiet() -> None:
    pipe = io.StringIO()
    with SweepProgress("s", 2, stream=pipe) as bar:
        bar.point_finished(True)
        bar.point_finished(False, "point abc crashed: SIGSEGV")
    assert pipe.getvalue() == "point abc crashed: SIGSEGV\n"
    term = FakeTerminal()
    with SweepProgress("s", 2, stream=term) as bar:
        bar.point_finished(False, "point abc crashed")
    assert "point abc crashed\n" in term.getvalue() and "1/2 points" in term.getvalue()


def run_in_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run `python -m cosim ARGS` with stdout and stderr on a pseudo-terminal."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim", *args],
        cwd=cwd,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=child,
    )
    os.close(child)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(), b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
def test_long_run_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    code, out = run_in_terminal(["run", "axpy_offload", "--set", "n=262144"], tmp_path)
    assert code == 0, out
    assert "\r" in out and "/2,048 tiles" in out and "tiles/s" in out and "sim " in out
    assert json.loads(out.strip().splitlines()[-1])["golden_ok"] is True


@pytest.mark.slow
def test_sweep_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    code, out = run_in_terminal(
        [
            "sweep",
            "stream_fill",
            "--grid",
            "passes=300,301,302,303",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "r"),
        ],
        ROOT,
    )
    assert code == 0, out
    assert "/4 points" in out and "left" in out and "\r" in out
