"""`cosim new NAME`: write a new accelerator's skeleton in every layer folder (a vector
scale engine as RTL with its TLM and numpy twins, a system, a scenario, a test running
the three twins, a doc stub). The templates are the files beside this module;
docs/accelerators.md walks through turning the skeleton into a real accelerator."""

from __future__ import annotations

import importlib.util
import keyword
import re
import subprocess
import sys
from pathlib import Path

from cosim.errors import ParameterError

TEMPLATES = Path(__file__).resolve().with_name("accelerator")
#: template -> where it goes, relative to the repository ({name} is the accelerator).
LAYOUT = {
    "rtl.sv.tmpl": "rtl/{name}/{name}.sv",
    "tlm.cpp.tmpl": "tlm/accel/{name}/{name}.cpp",
    "init.py.tmpl": "cosim/accel/{name}/__init__.py",
    "engine.py.tmpl": "cosim/accel/{name}/engine.py",
    "system.py.tmpl": "cosim/accel/{name}/system.py",
    "scenario.py.tmpl": "scenarios/{name}.py",
    "test.py.tmpl": "tests/accel/{name}/test_{name}.py",
    "doc.md.tmpl": "docs/accelerators/{name}.md",
}
#: Names taken by the framework's own modules under cosim/accel/ and scenarios/.
RESERVED = {
    "common",
    "engine",
    "device",
    "control",
    "costs",
    "phase",
    "stream_engine",
    "fixed_point",
    "online_softmax",
    "scaffold",
    "system",
    "accel",
    "cosim",
}


def repository_root() -> Path:
    """The checkout this package runs from (cosim/ is one of its folders)."""
    return Path(__file__).resolve().parents[2]


def check_name(name: str, root: Path) -> None:
    """A ParameterError naming `name` and what is wrong with it, before anything is written."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,30}", name) or keyword.iskeyword(name):
        raise ParameterError(
            f"accelerator name {name!r}: use 2 to 31 lower-case letters, digits and '_', "
            "starting with a letter (it names a Python package, a Verilog module and files)"
        )
    if name in RESERVED:
        raise ParameterError(f"accelerator name {name!r} is taken by a framework module")
    taken = [
        str(p.relative_to(root))
        for p in (
            root / "rtl" / name,
            root / "cosim" / "accel" / name,
            root / "tlm" / "accel" / name,
            root / "scenarios" / f"{name}.py",
        )
        if p.exists()
    ]
    taken += [str(p.relative_to(root)) for p in (root / "rtl").rglob(f"{name}.sv")]
    if taken:
        raise ParameterError(f"accelerator {name!r} exists already: {', '.join(sorted(taken))}")


def render(template: str, name: str) -> str:
    camel = "".join(part.capitalize() for part in name.split("_"))
    return template.replace("{{name}}", name).replace("{{Name}}", camel)


def new_accelerator(name: str, root: Path | None = None) -> list[Path]:
    """Write the skeleton of accelerator `name` under `root` (default: this checkout);
    returns the files written. Touches no existing file."""
    root = (root or repository_root()).resolve()
    check_name(name, root)
    written = []
    for template, target in LAYOUT.items():
        path = root / target.format(name=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render((TEMPLATES / template).read_text(), name))
        written.append(path)
    format_python([p for p in written if p.suffix == ".py"], root)
    return written


def format_python(files: list[Path], root: Path) -> None:
    """Sort the imports and format the Python files as the project's linter does (line
    lengths depend on the name), when ruff is installed (it is with the test extra)."""
    if not files or importlib.util.find_spec("ruff") is None:
        return
    config = (
        ["--config", str(root / "pyproject.toml")] if (root / "pyproject.toml").is_file() else []
    )
    names = [str(f) for f in files]
    for args in (["check", "--fix", "--select", "I", "-q"], ["format", "-q"]):
        subprocess.run([sys.executable, "-m", "ruff", *args, *config, *names], check=False)
