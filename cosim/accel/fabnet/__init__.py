"""FABNet (Fan et al., "Adaptable Butterfly Accelerator for Attention-based NNs via
Hardware and Algorithm Co-design", MICRO 2022): butterfly factorisation for Fourier token
mixing (FFT mode) and linear layers (butterfly-linear mode) on one configurable engine.

- butterfly: the constant-geometry stages in fixed point, twiddles, a butterfly's matrix;
- engine: the engine's parameters and register map, the numpy twin, `butterfly_engine`;
- workload: the seeded FNet-style layer, its dense counterpart, the goldens;
- system: the engine and the dense systolic-array baseline on a SoC (commands, energy).
"""

from cosim.accel.fabnet.engine import ButterflyFunctional, butterfly_engine, job_cycles
from cosim.accel.fabnet.system import FabnetAccelerator
from cosim.accel.fabnet.workload import FabnetLayer, check_outputs, make_layer

__all__ = [
    "ButterflyFunctional",
    "FabnetAccelerator",
    "FabnetLayer",
    "butterfly_engine",
    "check_outputs",
    "job_cycles",
    "make_layer",
]
