"""Accelerator compute engines with interchangeable implementations (functional numpy,
approximately-timed TLM, cycle-exact RTL) behind one interface per engine."""

from __future__ import annotations

from cosim.accel.systolic import (
    IMPLEMENTATIONS,
    REGISTERS,
    SystolicArray,
    SystolicDriver,
    SystolicLayout,
    golden_matmul,
    systolic_array,
)

__all__ = [
    "IMPLEMENTATIONS",
    "REGISTERS",
    "SystolicArray",
    "SystolicDriver",
    "SystolicLayout",
    "golden_matmul",
    "systolic_array",
]
