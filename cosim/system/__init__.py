"""The system models an accelerator is placed in: the host (`host`), DMA (`dma`), DRAM and
HBM (`dram`), the standard SoC (`soc`: host + fabric + DMA + scratchpad + DRAM), the
inter-device link (`link`), ReRAM crossbars (`reram`) and the near-data units in HBM
(`ndp`, `ndp_layout`, `ndp_system`). docs/system-models.md describes each."""

from __future__ import annotations

from cosim.system import dma, dram, host, soc

__all__ = ["dma", "dram", "host", "soc"]
