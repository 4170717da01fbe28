"""gcod: a vector-scale accelerator (docs/accelerators/gcod.md): `engine` (registers,
numpy twin, the engine's three twins) and `system` (command window, control program)."""

from cosim.accel.gcod import engine, system

__all__ = ["engine", "system"]
