"""DFX: multi-device GPT-2 inference with matrix tiles and vector units over HBM and a
ring link (docs/accelerators/dfx.md). Modules: `workload` (model, sharding, float64
reference), `numerics` (the exact golden of the distributed computation), `device` (one
device: HBM, engines, controller), `cluster` (devices on a ring), and the engines'
twins `fp16_tile` and `vector_unit`."""

from __future__ import annotations

from cosim.accel.dfx.cluster import DfxCluster
from cosim.accel.dfx.device import ENERGY, DeviceRun, DfxDevice, StepTimes
from cosim.accel.dfx.numerics import GoldenRun, Numerics, golden_generate, ring_allreduce
from cosim.accel.dfx.workload import GptDims, GptWeights, make_model, reference_logits, shard

__all__ = [
    "ENERGY",
    "DeviceRun",
    "DfxCluster",
    "DfxDevice",
    "GoldenRun",
    "GptDims",
    "GptWeights",
    "Numerics",
    "StepTimes",
    "golden_generate",
    "make_model",
    "reference_logits",
    "ring_allreduce",
    "shard",
]
