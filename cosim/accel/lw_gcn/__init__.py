"""LW-GCN (docs/accelerators/lw_gcn.md): `engine` (the PE array: declaration, numpy twin,
the three twins), `format` (PCOO and CSR slot images, dense and feature beats), `graph`
(synthetic citation graphs, edge-list files, the normalised adjacency), `workload` (the
seeded 2-layer GCN and its numpy golden) and `system` (the array behind a command window)."""

from cosim.accel.lw_gcn import engine, format, graph, system, workload

__all__ = ["engine", "format", "graph", "system", "workload"]
