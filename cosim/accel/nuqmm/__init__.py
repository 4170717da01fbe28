"""nuqmm: binary-coding-quantised weights times activations through lookup tables
(docs/accelerators/nuqmm.md): `engine` (declaration, numpy twin, the engine's three
twins), `bcq` (the seeded BCQ fit and the LUT arithmetic), `format` (stream images),
`workload` (seeded layer, golden) and `system` (command window, control program, energy
model)."""

from cosim.accel.nuqmm import bcq, engine, format, system, workload

__all__ = ["bcq", "engine", "format", "system", "workload"]
