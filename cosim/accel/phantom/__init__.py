"""Phantom (docs/accelerators/phantom.md): `engine` (one core: declaration, numpy twin, the
three twins), `format` (mask + nonzeros images, window beats), `workload` (seeded sparse
layers, numpy golden) and `system` (the mesh of cores behind a command window)."""

from cosim.accel.phantom import engine, format, system, workload

__all__ = ["engine", "format", "system", "workload"]
