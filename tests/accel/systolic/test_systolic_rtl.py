"""rtl/systolic/systolic_array.sv refuses a dataflow it does not have at elaboration (its
lint corners and cocotb bench are in rtl_corners.py, run by tests/test_rtl_corners.py)."""

from __future__ import annotations

import pytest

from cosim import rtl


def test_a_bad_dataflow_does_not_elaborate():
    with pytest.raises(rtl.RtlBuildError, match="DATAFLOW must be"):
        rtl.elaborate("systolic_array", {"ROWS": 2, "COLS": 2, "DATAFLOW": "XS"})
