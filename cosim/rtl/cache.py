"""Where RTL builds are kept, and the lock that makes concurrent workers build once.

Builds live under $COSIM_CACHE_DIR/rtl (default $XDG_CACHE_HOME/cosim/rtl, i.e.
~/.cache/cosim/rtl), one directory per content hash. A build is made in a private
temporary directory and renamed into place, under an exclusive file lock (fcntl.flock)
on its key: a second worker that asks for the same build while the first is building
waits for the lock, then finds the finished directory and uses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def cache_root() -> Path:
    """The RTL build cache directory (created on first use)."""
    base = os.environ.get("COSIM_CACHE_DIR")
    if base:
        root = Path(base).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "cosim"
    root = root / "rtl"
    root.mkdir(parents=True, exist_ok=True)
    return root


def digest(material: Any) -> str:
    """A stable sha256 of JSON-serialisable key material."""
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def locked(key: str) -> Iterator[None]:
    """Hold the exclusive lock for cache entry `key` (blocks while another process
    holds it). The lock is released when the holder exits, even if it crashes."""
    locks = cache_root() / "locks"
    locks.mkdir(exist_ok=True)
    with open(locks / f"{key}.lock", "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


_LEFTOVER = re.compile(r"\.tmp(\d+)(\.o)?$")


def remove_abandoned(folder: Path) -> list[Path]:
    """Remove the half-written entries (NAME.tmpPID) in `folder` of builds whose process
    is gone (killed mid-build: SIGKILL, a timeout, Ctrl-C of the caller)."""
    removed = []
    for entry in folder.glob("*.tmp*"):
        m = _LEFTOVER.search(entry.name)
        if m is None or _alive(int(m.group(1))):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
