"""cosim.rtl.build with the inputs a design from elsewhere comes with: source lists,
Verilator .f files, include directories, defines, extra flags, lint waivers, modules not
named after their file; only declared paths are searched (never the current folder);
the ABI header lives outside the Python package."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cosim import rtl
from cosim.rtl import builder as build_mod

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def ip_tree(root: Path) -> dict[str, Path]:
    """A vendor-style tree: the top `ip_top` lives in core.sv (not ip_top.sv), its
    submodule in lib/leaf_cell.sv, its width in inc/ip_cfg.svh, widened by a define."""
    return {
        "top": write(
            root / "src" / "core.sv",
            """\
            `include "ip_cfg.svh"
            module ip_top (input logic clk, input logic [`IP_W-1:0] a,
                           output logic [`IP_W-1:0] q);
              leaf_cell #(.W(`IP_W)) u (.clk(clk), .d(a), .q(q));
            endmodule
            """,
        ),
        "leaf": write(
            root / "lib" / "leaf_cell.sv",
            """\
            module leaf_cell #(parameter int W = 8) (input logic clk, input logic [W-1:0] d,
                                                     output logic [W-1:0] q);
              always_ff @(posedge clk) q <= d;
            endmodule
            """,
        ),
        "inc": write(
            root / "inc" / "ip_cfg.svh",
            """\
            `ifdef IP_WIDE
            `define IP_W 24
            `else
            `define IP_W 8
            `endif
            """,
        ).parent,
    }


def widths(lib: rtl.RtlBuild) -> dict[str, int]:
    return {p.name: p.width for p in lib.ports}


def test_sources_include_dirs_and_defines(tmp_path):
    t = ip_tree(tmp_path)
    lib = rtl.build(
        "ip_top", sources=[t["top"], t["leaf"]], include_dirs=[t["inc"]], search_path=[]
    )
    assert widths(lib) == {"clk": 1, "a": 8, "q": 8}
    wide = rtl.build(
        "ip_top",
        sources=[t["top"], t["leaf"]],
        include_dirs=[t["inc"]],
        defines={"IP_WIDE": None},
        search_path=[],
    )
    assert widths(wide) == {"clk": 1, "a": 24, "q": 24}
    assert wide.key != lib.key
    # with_trace keeps every input
    assert widths(wide.with_trace("vcd")) == {"clk": 1, "a": 24, "q": 24}


def test_flags_are_passed_verbatim(tmp_path):
    t = ip_tree(tmp_path)
    lib = rtl.build(
        "ip_top",
        sources=[t["top"], t["leaf"]],
        include_dirs=[t["inc"]],
        flags=["+define+IP_WIDE"],
        search_path=[],
    )
    assert widths(lib)["a"] == 24


def test_file_lists_resolve_paths_from_their_folder(tmp_path):
    t = ip_tree(tmp_path)
    flist = write(
        tmp_path / "flists" / "ip.f",
        """\
        +incdir+../inc
        ../lib/leaf_cell.sv
        ../src/core.sv
        """,
    )
    lib = rtl.build("ip_top", file_lists=[flist], search_path=[])
    assert widths(lib) == {"clk": 1, "a": 8, "q": 8}
    # An edit of a file the list names is a new build.
    t["leaf"].write_text(t["leaf"].read_text().replace("q <= d;", "q <= ~d;"))
    assert rtl.build("ip_top", file_lists=[flist], search_path=[]).key != lib.key


def test_search_path_finds_a_module_declared_in_another_file(tmp_path):
    t = ip_tree(tmp_path)
    lib = rtl.build(
        "ip_top", search_path=[t["top"].parent, t["leaf"].parent], include_dirs=[t["inc"]]
    )
    assert widths(lib)["q"] == 8


def test_lint_waivers(tmp_path):
    write(
        tmp_path / "narrow.sv",
        """\
        module narrow (input logic [7:0] a, output logic [3:0] y);
          assign y = a;
        endmodule
        """,
    )
    with pytest.raises(rtl.RtlBuildError) as e:
        rtl.build("narrow", search_path=[tmp_path])
    assert any(d.code.startswith("WIDTH") for d in e.value.diagnostics)
    lib = rtl.build("narrow", search_path=[tmp_path], waivers=["WIDTHTRUNC"])
    assert widths(lib) == {"a": 8, "y": 4}


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"sources": ["no/such/file.sv"]}, r"source file no/such/file.sv does not exist"),
        ({"file_lists": ["missing.f"]}, r"file list missing.f does not exist"),
        ({"include_dirs": ["nowhere"]}, r"include directory nowhere does not exist"),
        ({"flags": ["--top-module=x"]}, r"flag '--top-module=x' is set by cosim.rtl.build"),
        ({"flags": ["-Mdir"]}, r"flag '-Mdir' is set by cosim.rtl.build"),
        ({"waivers": ["width"]}, r"lint waiver 'width' is not a Verilator warning code"),
        ({"defines": {"1BAD": 1}}, r"define '1BAD' is not a macro name"),
    ],
)
def test_bad_build_inputs_name_the_culprit(kwargs, pattern):
    with pytest.raises(rtl.RtlBuildError, match=pattern):
        rtl.build("stream_add", **kwargs)


def test_top_declared_in_two_sources_is_ambiguous(tmp_path):
    a = write(tmp_path / "a.sv", "module twin (input logic x); endmodule\n")
    b = write(tmp_path / "b.sv", "module twin (input logic x); endmodule\n")
    with pytest.raises(rtl.RtlBuildError, match=r"module 'twin' is declared in several files"):
        rtl.build("twin", sources=[a, b], search_path=[])


def test_the_current_folder_never_leaks_into_a_build(tmp_path, monkeypatch):
    """leaf_cell exists only in the current folder: the build must not find it there
    (else it would be cached, and the same call from another folder would get it)."""
    t = ip_tree(tmp_path)
    here = tmp_path / "cwd"
    here.mkdir()
    t["leaf"].rename(here / "leaf_cell.sv")
    monkeypatch.chdir(here)
    for _ in range(2):  # and not from the elaboration cache either
        with pytest.raises(rtl.RtlBuildError, match=r"leaf_cell"):
            rtl.build("ip_top", search_path=[t["top"].parent], include_dirs=[t["inc"]])


def test_abi_header_lives_outside_the_package():
    assert not list((REPO / "cosim").rglob("*.h")), "no C/C++ header in the Python package"
    assert build_mod.abi_header() == REPO / "core" / "include" / "cosim" / "rtl_abi.h"
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert (
        "install(FILES core/include/cosim/rtl_abi.h DESTINATION cosim/rtl/include/cosim)" in cmake
    )


def test_abi_header_of_an_installed_package(tmp_path, monkeypatch):
    installed = write(tmp_path / "include" / "cosim" / "rtl_abi.h", "/* installed */\n")
    monkeypatch.setattr(build_mod, "_ABI_CANDIDATES", (tmp_path / "nowhere.h", installed))
    assert build_mod.abi_header() == installed
    monkeypatch.setattr(build_mod, "_ABI_CANDIDATES", (tmp_path / "nowhere.h",))
    with pytest.raises(rtl.RtlBuildError, match=r"rtl_abi.h is missing"):
        build_mod.abi_header()
