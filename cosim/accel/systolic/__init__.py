"""The dense int8 systolic array (output-, weight- or input-stationary), the dense
baseline of the accelerator scenarios (docs/accelerators/systolic.md):

- engine: its three twins behind one interface (systolic_array, SystolicLayout, REGISTERS);
- model: how a GEMM folds onto it and its cycles, analytically (SCALE-Sim's model and
  this array's own schedule);
- tiling: a whole GEMM as one job (operand beats, C from the result rows);
- driver: SystolicDriver, host-side use through initiator sockets;
- topology: SCALE-Sim topology files, conv layers lowered to GEMMs.
"""

from __future__ import annotations

from cosim.accel.systolic.driver import SystolicDriver
from cosim.accel.systolic.engine import (
    REGISTERS,
    SystolicArray,
    SystolicLayout,
    golden_matmul,
    systolic_array,
)
from cosim.accel.systolic.model import DATAFLOWS, Mapping, fold_period, job_cycles
from cosim.accel.systolic.tiling import GemmJob, gemm_job, gemm_result

__all__ = [
    "DATAFLOWS",
    "REGISTERS",
    "GemmJob",
    "Mapping",
    "SystolicArray",
    "SystolicDriver",
    "SystolicLayout",
    "fold_period",
    "gemm_job",
    "gemm_result",
    "golden_matmul",
    "job_cycles",
    "systolic_array",
]
