"""SmartDeal (Chen et al., "SmartDeal: Re-Modeling Deep Network Weights for Efficient
Inference and Training", IEEE TNNLS 2022): weights stored as W = Ce x B (a 3x3 int8 basis,
structured-sparse power-of-two coefficients) and rebuilt on chip by shift-add
(docs/accelerators/smartdeal.md).

- format: the storage format, its stream image and the integer rebuild;
- workload: seeded conv layers, the decomposition fit and the numpy golden;
- engine: the rebuild engine and the MAC array (declarations, numpy twins, builders);
- system: both on a SoC behind one command window, with the int8 baseline.
"""

from cosim.accel.smartdeal import engine, format, system, workload

__all__ = ["engine", "format", "system", "workload"]
