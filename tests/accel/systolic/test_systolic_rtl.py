"""rtl/systolic/systolic_array.sv: lint clean under `verilator --lint-only -Wall` at its
shape and dataflow corners, and its cocotb bench (tests/cocotb/tb_systolic_array.py)
against numpy, for each dataflow."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cosim import rtl
from cosim.rtl import verilator as vl

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "rtl" / "systolic" / "systolic_array.sv"
BENCH = REPO / "tests" / "cocotb" / "tb_systolic_array.py"

LINT = [
    (rows, cols, df)
    for df in ("OS", "WS", "IS")
    for rows, cols in ((1, 1), (1, 4), (4, 1), (3, 5), (8, 8))
]


@pytest.mark.parametrize(
    ("rows", "cols", "dataflow"), LINT, ids=[f"{d}-{r}x{c}" for r, c, d in LINT]
)
def test_rtl_is_lint_clean(rows, cols, dataflow):
    cmd = [
        str(vl.executable()),
        "--lint-only",
        "-Wall",
        f"-GROWS={rows}",
        f"-GCOLS={cols}",
        f'-GDATAFLOW="{dataflow}"',
        str(SOURCE),
    ]
    r = subprocess.run(cmd, env=vl.environment(), capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr


def test_a_bad_dataflow_does_not_elaborate():
    with pytest.raises(rtl.RtlBuildError, match="DATAFLOW must be"):
        rtl.elaborate("systolic_array", {"ROWS": 2, "COLS": 2, "DATAFLOW": "XS"})


@pytest.mark.slow
@pytest.mark.parametrize(
    "params",
    [
        {"ROWS": 3, "COLS": 5, "DATAFLOW": "OS"},
        {"ROWS": 4, "COLS": 3, "DATAFLOW": "WS"},
        {"ROWS": 2, "COLS": 4, "DATAFLOW": "IS"},
    ],
    ids=["os_3x5", "ws_4x3", "is_2x4"],
)
def test_cocotb_bench(tmp_path, params):
    build = rtl.cocotb_build("systolic_array", params)
    result = rtl.run_cocotb(
        build,
        BENCH,
        test_dir=tmp_path,
        env={"COSIM_TB_PARAMS": params},
        log_file=tmp_path / "cocotb.log",
    )
    assert result.tests >= 6 and not result.failures, (tmp_path / "cocotb.log").read_text()[-3000:]
