"""Spartus: a DeltaLSTM accelerator with column-balanced sparse weights
(docs/accelerators/spartus.md): `fixed_point` (formats, sigmoid/tanh tables), `format`
(balanced pruning, weight images), `workload` (seeded workload, numpy goldens), `engine`
(declaration, numpy twin, the three twins) and `system` (command window, energy)."""

from cosim.accel.spartus import engine, fixed_point, format, system, workload

__all__ = ["engine", "fixed_point", "format", "system", "workload"]
