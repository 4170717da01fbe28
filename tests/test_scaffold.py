"""`cosim new NAME` (cosim.scaffold): the skeleton lands in every layer folder, under 400
lines, with no template marker left; its Python is lint clean, its RTL passes
`verilator --lint-only -Wall`, its C++ compiles against the framework headers; bad names
and existing accelerators are refused before anything is written."""

from __future__ import annotations

import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cosim.errors import ParameterError
from cosim.rtl import verilator as vl
from cosim.scaffold import LAYOUT, new_accelerator

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A minimal checkout: the folders and headers the skeleton builds against."""
    (tmp_path / "rtl" / "common").mkdir(parents=True)
    (tmp_path / "rtl" / "common" / "keep.sv").write_text("// an existing file\n")
    (tmp_path / "tlm" / "accel").mkdir(parents=True)
    for header in (REPO / "tlm" / "accel").glob("*.h"):
        shutil.copy(header, tmp_path / "tlm" / "accel" / header.name)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_skeleton_is_complete_small_and_clean(checkout: Path):
    files = new_accelerator("vec_scale", checkout)
    assert [f.relative_to(checkout).as_posix() for f in files] == [
        t.format(name="vec_scale") for t in LAYOUT.values()
    ]
    text = {f: f.read_text() for f in files}
    assert sum(len(t.splitlines()) for t in text.values()) < 400
    assert not any("{{name}}" in t or "{{Name}}" in t for t in text.values())
    assert "class VecScaleTlm" in text[checkout / "tlm/accel/vec_scale/vec_scale.cpp"]
    assert (checkout / "rtl/common/keep.sv").read_text() == "// an existing file\n"
    python = [f for f in files if f.suffix == ".py"]
    for f in python:
        py_compile.compile(str(f), doraise=True)
    lint = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--config",
            str(REPO / "pyproject.toml"),
            *map(str, python),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


def test_the_skeleton_rtl_lints_and_its_twin_compiles(checkout: Path):
    new_accelerator("vscale2", checkout)
    sv = checkout / "rtl/vscale2/vscale2.sv"
    for params in ([], ["-GLANES=1", "-GMAX_BEATS=2"], ["-GLANES=16", "-GMAX_BEATS=100"]):
        r = subprocess.run(
            [str(vl.executable()), "--lint-only", "-Wall", *params, str(sv)],
            env=vl.environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr
    cxx = subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wno-unused-parameter",
            f"-I{REPO / 'core' / 'include'}",
            "-DSC_INCLUDE_DYNAMIC_PROCESSES",
            str(checkout / "tlm/accel/vscale2/vscale2.cpp"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cxx.returncode == 0, cxx.stderr[-3000:]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("VScale", "lower-case"),
        ("x", "2 to 31"),
        ("class", "lower-case"),
        ("1abc", "starting with a letter"),
        ("engine", "taken by a framework module"),
    ],
)
def test_bad_names_are_refused_before_writing(checkout: Path, name: str, says: str):
    with pytest.raises(ParameterError, match=says):
        new_accelerator(name, checkout)
    assert not (checkout / "scenarios").exists()


def test_an_existing_accelerator_is_refused(checkout: Path):
    new_accelerator("vscale", checkout)
    with pytest.raises(ParameterError, match=r"'vscale' exists already: .*rtl/vscale"):
        new_accelerator("vscale", checkout)
    with pytest.raises(ParameterError, match="exists already"):
        new_accelerator("eie", REPO)


def test_cosim_new_on_the_command_line_names_the_fault():
    r = subprocess.run(
        [sys.executable, "-m", "cosim", "new", "eie"], capture_output=True, text=True, check=False
    )
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("cosim new: error: accelerator 'eie' exists already: ")
