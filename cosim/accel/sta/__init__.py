"""STA: N:M sparse weights on a sparse-dense engine with an on-chip streaming softmax
(docs/accelerators/sta.md). Modules: `nm_sparse` (the N:M engine's twins),
`softmax_unit` (the softmax engine's twins), `system`."""
