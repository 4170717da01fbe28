"""The dense int8 systolic array (its engine, twins and driver in engine.py)."""

from __future__ import annotations

from cosim.accel.systolic.engine import (
    REGISTERS,
    SystolicArray,
    SystolicDriver,
    SystolicLayout,
    golden_matmul,
    systolic_array,
)

__all__ = [
    "REGISTERS",
    "SystolicArray",
    "SystolicDriver",
    "SystolicLayout",
    "golden_matmul",
    "systolic_array",
]
