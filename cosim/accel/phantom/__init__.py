"""phantom: a vector-scale accelerator (docs/accelerators/phantom.md): `engine` (registers,
numpy twin, the engine's three twins) and `system` (command window, control program)."""

from cosim.accel.phantom import engine, system

__all__ = ["engine", "system"]
