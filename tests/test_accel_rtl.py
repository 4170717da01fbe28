"""The accelerator RTL blocks (rtl/eie*.sv, rtl/s2ta*.sv): lint-clean under
`verilator --lint-only -Wall` at their parameter corners, and their cocotb unit benches
(tests/cocotb/tb_*.py) pass against numpy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cosim import rtl
from cosim.rtl import verilator as vl

REPO = Path(__file__).resolve().parents[1]
BENCHES = Path(__file__).with_name("cocotb")

EIE_SMALL = {"PES": 4, "FIFO_DEPTH": 4, "ACT_DEPTH": 64, "MAT_WORDS": 256, "ROWS_MAX": 64}

LINT = [
    ("eie", {}),
    ("eie", {"PES": 1, "FIFO_DEPTH": 1, "ACT_DEPTH": 16, "ROWS_MAX": 16, "MAT_WORDS": 2}),
    ("eie", {"PES": 32, "FIFO_DEPTH": 64, "ACT_DEPTH": 4096, "ROWS_MAX": 4096}),
    ("eie", {"PES": 3, "FIFO_DEPTH": 5, "ACT_DEPTH": 64, "MAT_WORDS": 100}),
    ("eie_pe", {"FIFO_DEPTH": 1}),
    ("eie_lnzd", {"ACT_DEPTH": 16}),
    ("s2ta", {}),
    ("s2ta", {"ROWS": 1, "COLS": 1, "W_NNZ": 1}),
    ("s2ta", {"ROWS": 16, "COLS": 14, "W_NNZ": 8}),
    ("s2ta", {"ROWS": 3, "COLS": 5, "W_NNZ": 2}),
    ("s2ta_array", {"ROWS": 1, "COLS": 1, "W_NNZ": 8}),
    ("s2ta_pruner", {}),
]

BENCH = [
    ("eie", EIE_SMALL, "tb_eie.py"),
    (
        "eie",
        {**EIE_SMALL, "PES": 1, "FIFO_DEPTH": 1, "MAT_WORDS": 512, "ROWS_MAX": 512},
        "tb_eie.py",
    ),
    ("eie_pe", {"FIFO_DEPTH": 4, "ACT_DEPTH": 64, "MAT_WORDS": 64, "ROWS_MAX": 64}, "tb_eie_pe.py"),
    ("eie_lnzd", {"ACT_DEPTH": 128}, "tb_eie_lnzd.py"),
    ("s2ta", {"ROWS": 4, "COLS": 3, "W_NNZ": 4}, "tb_s2ta.py"),
    ("s2ta", {"ROWS": 2, "COLS": 5, "W_NNZ": 1}, "tb_s2ta.py"),
    ("s2ta_array", {"ROWS": 3, "COLS": 4, "W_NNZ": 3}, "tb_s2ta_array.py"),
    ("s2ta_pruner", {}, "tb_s2ta_pruner.py"),
]


def _id(top: str, params: dict) -> str:
    return top + "".join(f"-{k.lower()}{v}" for k, v in params.items())


@pytest.mark.parametrize(("top", "params"), LINT, ids=[_id(t, p) for t, p in LINT])
def test_accelerator_rtl_is_lint_clean(top, params):
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
@pytest.mark.parametrize(("top", "params", "bench"), BENCH, ids=[_id(t, p) for t, p, _ in BENCH])
def test_accelerator_cocotb_bench(tmp_path, top, params, bench):
    build = rtl.cocotb_build(top, params)
    result = rtl.run_cocotb(
        build,
        BENCHES / bench,
        test_dir=tmp_path,
        env={"COSIM_TB_PARAMS": params},
        log_file=tmp_path / "cocotb.log",
    )
    assert result.tests >= 2 and not result.failures
