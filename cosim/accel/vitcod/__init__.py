"""ViTCoD (docs/accelerators/vitcod.md): `engine` (the split attention engine and the Q/K
codec: declarations, numpy twins, the three twins of each), `workload` (seeded layer,
mask pruning and polarisation, codec training, golden) and `system` (command window,
control program, energy)."""

from cosim.accel.vitcod import engine, system, workload

__all__ = ["engine", "system", "workload"]
