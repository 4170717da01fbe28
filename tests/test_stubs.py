"""The typed stubs of the compiled extension (cosim/_core.pyi) describe the extension as
built: regenerated with nanobind's stubgen, they must equal the committed file, so they
cannot go stale (regenerate with `make stubs`)."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import cosim

PACKAGE = Path(cosim.__file__).parent


def test_core_stubs_match_the_built_extension(tmp_path: Path) -> None:
    out = tmp_path / "_core.pyi"
    stubgen = [sys.executable, "-m", "nanobind.stubgen", "-q", "--exclude-values"]
    subprocess.run([*stubgen, "-m", "cosim._core", "-o", str(out)], check=True)
    committed = (PACKAGE / "_core.pyi").read_text().splitlines()
    built = out.read_text().splitlines()
    diff = list(difflib.unified_diff(committed, built, "cosim/_core.pyi", "built", lineterm=""))
    assert not diff, "cosim/_core.pyi is stale; run `make stubs`:\n" + "\n".join(diff[:60])


def test_package_is_marked_typed() -> None:
    # next to the sources, so an editable install's editors and type checkers see both
    assert (PACKAGE / "py.typed").exists()
    assert (PACKAGE / "_core.pyi").exists()
