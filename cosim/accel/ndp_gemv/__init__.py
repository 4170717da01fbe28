"""Near-data GEMV: near-bank MAC units in HBM against the host and an accelerator behind
the memory interface (docs/accelerators/ndp_gemv.md). Modules: `mac_unit` (the MAC
unit's twins), `system`."""
