"""SPRINT: attention with keys pruned in ReRAM crossbars, a fetch filter and exact
on-chip recompute (docs/accelerators/sprint.md). Modules: `engines` (recompute and
fetch-filter twins), `workload`, `system`."""
