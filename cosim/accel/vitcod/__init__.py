"""vitcod: a vector-scale accelerator (docs/accelerators/vitcod.md): `engine` (registers,
numpy twin, the engine's three twins) and `system` (command window, control program)."""

from cosim.accel.vitcod import engine, system

__all__ = ["engine", "system"]
