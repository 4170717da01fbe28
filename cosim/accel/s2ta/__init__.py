"""S2TA (Liu et al., "S2TA: Exploiting Structured Sparsity for Energy-Efficient Mobile CNN
Acceleration", HPCA 2022): density-bound-block sparsity on weights (static) and
activations (pruned at run time) on an array of time-unrolled tensor PEs.

- format: DBB pruning (the golden model of the activation pruner), the stream images;
- workload: seeded conv layers lowered to int8 GEMMs with W-DBB weights;
- engine: the engine's ports and register map, the numpy twin, `s2ta_engine(impl=...)`;
- system: S2TA and the dense systolic-array baseline on a SoC (tiled GEMM commands,
  energy models, host calls).
"""

from cosim.accel.s2ta.engine import S2taFunctional, s2ta_engine
from cosim.accel.s2ta.format import S2taGeometry, dbb_prune, golden
from cosim.accel.s2ta.system import Layout, S2taAccelerator
from cosim.accel.s2ta.workload import ConvGemm, make_conv_gemm

__all__ = [
    "ConvGemm",
    "Layout",
    "S2taAccelerator",
    "S2taFunctional",
    "S2taGeometry",
    "dbb_prune",
    "golden",
    "make_conv_gemm",
    "s2ta_engine",
]
