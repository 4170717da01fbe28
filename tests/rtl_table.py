"""The RTL test table: every accelerator declares the parameter corners its RTL is linted
at and the cocotb benches it runs, in an `rtl_corners.py` beside its tests
(tests/accel/<name>/rtl_corners.py; tests/cocotb/rtl_corners.py for the shared
primitives in rtl/common/). tests/test_rtl_corners.py runs them all; no test file of an
accelerator repeats the lint or cocotb runner."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

#: Builds a bench's vectors: (seeded generator, the corner's parameters) -> arrays.
Vectors = Callable[[np.random.Generator, Mapping[str, Any]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Lint:
    """`verilator --lint-only -Wall` of `top` with these parameters must be clean."""

    top: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bench:
    """The cocotb bench `bench` (a file beside the declaring rtl_corners.py, or in
    tests/cocotb/) on `top` built with `params`; `vectors` writes COSIM_TB_VECTORS (an
    .npz made from a generator seeded with `seed`); at least `min_tests` tests run."""

    top: str
    params: Mapping[str, Any]
    bench: str
    vectors: Vectors | None = None
    seed: int = 1
    min_tests: int = 2
    name: str = ""


@dataclass(frozen=True)
class Declared:
    """A corner with the folder that declared it."""

    owner: str  # the folder's name: an accelerator, or "cocotb" for rtl/common/
    folder: Path
    corner: Lint | Bench

    @property
    def id(self) -> str:
        c = self.corner
        if isinstance(c, Bench) and c.name:
            return f"{self.owner}:{c.name}"
        return f"{self.owner}:{c.top}" + "".join(f"-{k.lower()}{v}" for k, v in c.params.items())

    def bench_path(self) -> Path:
        assert isinstance(self.corner, Bench)
        for folder in (self.folder, TESTS / "cocotb"):
            if (folder / self.corner.bench).is_file():
                return folder / self.corner.bench
        raise FileNotFoundError(f"{self.folder / 'rtl_corners.py'}: no bench {self.corner.bench}")


def corner_files() -> list[Path]:
    return sorted(TESTS.glob("accel/*/rtl_corners.py")) + sorted(TESTS.glob("*/rtl_corners.py"))


def _load(path: Path) -> Any:
    name = f"rtl_corners_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declared() -> list[Declared]:
    out = []
    for path in corner_files():
        module = _load(path)
        for corner in [*getattr(module, "LINT", ()), *getattr(module, "BENCHES", ())]:
            out.append(Declared(path.parent.name, path.parent, corner))
    return out


def rtl_dirs() -> list[Path]:
    """rtl/ and every folder below it (the default RTL search path)."""
    root = REPO / "rtl"
    return [root, *sorted(d for d in root.rglob("*") if d.is_dir())]


def rtl_tops() -> dict[str, Path]:
    """Every SystemVerilog file under rtl/ by its module name."""
    return {p.stem: p for d in rtl_dirs() for p in d.glob("*.sv")}
