"""vitality: ViTALiTy's Taylor linear attention accelerator (docs/accelerators/vitality.md):
`arithmetic` (the fixed-point specification), `engine` (registers, numpy twin, the
engine's three twins), `format` (DRAM images), `workload` (seeded heads, goldens) and
`system` (command window, energy)."""

from cosim.accel.vitality import arithmetic, engine, format, system, workload

__all__ = ["arithmetic", "engine", "format", "system", "workload"]
