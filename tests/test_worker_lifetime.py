"""A simulation worker never outlives the process that started it: killing a driver with
SIGKILL (which it cannot intercept) must not leave its simulations running as orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cosim

HERE = Path(__file__).resolve().parent


def sleeps_after_writing_pid(sim: cosim.Simulation, pid_file: str) -> None:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)


def process_alive(pid: int) -> bool:
    """Running (a zombie left for a non-reaping init counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_worker_dies_with_its_killed_driver(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    driver_code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r})\n"
        "import cosim, test_worker_lifetime as t\n"
        f"cosim.simulate(t.sleeps_after_writing_pid, {str(pid_file)!r})\n"
    )
    driver = subprocess.Popen([sys.executable, "-c", driver_code], cwd=tmp_path)
    try:
        assert wait_for(pid_file.exists, 30), "the worker never started"
        worker = int(pid_file.read_text())
        assert process_alive(worker)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        assert wait_for(lambda: not process_alive(worker), 10), (
            f"worker {worker} outlived its killed driver"
        )
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()


def test_a_killed_driver_leaves_no_job_folder_and_no_template(tmp_path: Path) -> None:
    import tempfile

    pid_file = tmp_path / "worker.pid"
    driver_code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r})\n"
        "import cosim, test_worker_lifetime as t\n"
        f"cosim.simulate(t.sleeps_after_writing_pid, {str(pid_file)!r})\n"
    )
    driver = subprocess.Popen([sys.executable, "-c", driver_code], cwd=tmp_path)
    try:
        assert wait_for(pid_file.exists, 30), "the worker never started"
        worker = int(pid_file.read_text())
        template = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[1])
        folders = lambda: list(Path(tempfile.gettempdir()).glob(f"cosim-job-{driver.pid}-*"))  # noqa: E731
        assert folders(), "the job folder is not where expected"
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        assert wait_for(lambda: not process_alive(worker), 10)
        assert wait_for(lambda: not process_alive(template), 10), "the template outlived it"
        assert wait_for(lambda: not folders(), 10), f"left behind: {folders()}"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
