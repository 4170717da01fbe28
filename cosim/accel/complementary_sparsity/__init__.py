"""complementary_sparsity: packed complementary sparse kernels times k-WTA activations
(docs/accelerators/complementary_sparsity.md): `engine` (declaration, numpy twin, the
engine's three twins), `format` (weight, id and result images), `workload` (seeded layer,
golden) and `system` (command window, control program, energy model)."""

from cosim.accel.complementary_sparsity import engine, format, system, workload

__all__ = ["engine", "format", "system", "workload"]
