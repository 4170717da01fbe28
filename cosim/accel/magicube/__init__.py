"""magicube: vector-sparse SpMM on an int8/int4 MMA tile fed by a gather unit
(docs/accelerators/magicube.md): `format` (the vector-sparse format and beat images),
`workload` (seeded workload, numpy golden), `engine` (registers, numpy twin, the engine's
three twins) and `system` (command window, control programs, the baselines)."""

from cosim.accel.magicube import engine, format, system, workload

__all__ = ["engine", "format", "system", "workload"]
