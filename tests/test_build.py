"""The build finds the distribution's SystemC 2.3 or stops with one line naming the
package to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CMAKE = shutil.which("cmake", path=str(Path(sys.executable).parent)) or shutil.which("cmake")


def configure(tmp_path: Path, prefixes: str) -> subprocess.CompletedProcess[str]:
    assert CMAKE is not None, "cmake is installed by `make setup`"
    env = {**os.environ, "COSIM_SYSTEMC_PREFIXES": prefixes}
    return subprocess.run(
        [CMAKE, "-S", str(ROOT), "-B", str(tmp_path / "build")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_missing_systemc_names_the_package(tmp_path: Path) -> None:
    r = configure(tmp_path, str(tmp_path / "nowhere"))
    assert r.returncode != 0
    lines = [ln.strip() for ln in r.stderr.splitlines() if "libsystemc-dev" in ln]
    assert lines == ["SystemC not found: install the package libsystemc-dev"]


def test_wrong_systemc_version_is_refused(tmp_path: Path) -> None:
    prefix = tmp_path / "sc3"
    (prefix / "include" / "sysc" / "kernel").mkdir(parents=True)
    (prefix / "include" / "systemc.h").write_text("")
    (prefix / "include" / "tlm.h").write_text("")
    (prefix / "include" / "sysc" / "kernel" / "sc_ver.h").write_text(
        "#define SC_VERSION_MAJOR 3\n#define SC_VERSION_MINOR 0\n"
    )
    (prefix / "lib").mkdir()
    (prefix / "lib" / "libsystemc.so").write_text("")
    r = configure(tmp_path, str(prefix))
    assert r.returncode != 0
    assert "SystemC 3.0 found" in r.stderr and "cosim needs 2.3.x" in r.stderr


def test_distribution_systemc_is_found(tmp_path: Path) -> None:
    r = subprocess.run(
        [CMAKE, "-S", str(ROOT), "-B", str(tmp_path / "build")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "SystemC 2.3: /usr/include" in r.stdout
