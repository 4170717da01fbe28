"""A DFX cluster (`DfxCluster`): D devices in a ring (cosim.system.link), each mapped on
the SoC fabric at its own window, with a command window each. Each device holds heads/D
attention heads, FFN/D columns and vocab/D rows of the LM head; partial sums are added
over the ring (reduce-scatter then all-gather) after the attention output projection and
after the FFN (Hong et al., MICRO 2022)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim.accel.device import AcceleratorDriver
from cosim.accel.dfx import fp16_tile as ft
from cosim.accel.dfx import vector_unit as vu
from cosim.accel.dfx.device import GENERATE, DfxDevice
from cosim.accel.dfx.numerics import Numerics
from cosim.accel.dfx.workload import GptDims, GptWeights, shard
from cosim.accel.phase import Phase, PhaseMeter
from cosim.system.link import LinkReceiver, ring


class DfxCluster:
    """D devices in a ring, each mapped on the SoC fabric at its own window (as PCIe
    BARs: the host writes the prompt into every device's HBM and starts GENERATE on
    every device's command window; device 0 answers with the generated tokens and its
    interrupt)."""

    WINDOW = 1 << 32

    def __init__(
        self,
        sim: Any,
        soc: Any,
        name: str,
        devices: int,
        dims: GptDims,
        *,
        engines: dict[str, str],
        hbm_channels: int,
        clock: int,
        link_bandwidth: float,
        link_latency: int,
        window_base: int,
        weight_buffer: int = 128 << 10,
        wave: str | None = None,
    ) -> None:
        dims.check_devices(devices)
        self.sim, self.soc, self.name, self.devices, self.dims = sim, soc, name, devices, dims
        self.tile_shape = ft.TileShape(lanes=8, width=8, in_max=max(512, dims.ffn), t_max=16)
        self.vec_shape = vu.VectorShape(lanes=16, max_len=max(512, dims.ffn))
        self.numerics = Numerics.for_dims(dims, self.tile_shape.width)
        with sim.scope(name):
            self.devs = [
                DfxDevice(
                    sim,
                    self,
                    k,
                    engines=engines,
                    hbm_channels=hbm_channels,
                    clock=clock,
                    weight_buffer=weight_buffer,
                    wave=wave,
                )
                for k in range(devices)
            ]
            links = ring(
                sim,
                "link",
                devices,
                bandwidth=link_bandwidth,
                latency=link_latency,
                rx_base=DfxDevice.RX,
            )
        for k, dev in enumerate(self.devs):
            if links:
                dev.tx_link = links[k]
                dev.bus.map(
                    links[k].port("tx"), DfxDevice.TX, DfxDevice.RX_SLOTS * DfxDevice.RX_SLOT
                )
                sim.bind(links[k].port("rx"), self.devs[(k + 1) % devices].bus.port("target"))
                self.devs[(k + 1) % devices].rx = LinkReceiver(
                    sim, links[k], f"{name}_rx{(k + 1) % devices}"
                )
            base = window_base + k * self.WINDOW
            soc.fabric.map(dev.bus.port("target"), base, dev.hbm.capacity)
            dev.window.map(soc.fabric, base + dev.hbm.capacity)
            dev.hbm_at = base
        self.links = links
        # the host's drivers: device 0 interrupts, the others are started only
        self.drivers = [
            AcceleratorDriver(soc.host, dev.window, poll_ops=None if k == 0 else 0)
            for k, dev in enumerate(self.devs)
        ]

    def install(self, w: GptWeights) -> None:
        for k, dev in enumerate(self.devs):
            dev.install(w, shard(w, self.devices, k))

    def hbm_paths(self) -> list[str]:
        return [
            f"{self.name}.dev{k}.hbm.{s}"
            for k in range(self.devices)
            for s in ("bytes_read", "bytes_written")
        ]

    async def host_run(self, host: Any, prompt: list[int], new: int) -> tuple[list[int], Phase]:
        """The host's part: write the prompt, start every device, wait for device 0's
        interrupt (the others are not waited for: device 0 finishes last, with the
        tokens), read the tokens."""
        data = np.array(prompt, "<u4").view(np.uint8)
        for dev in self.devs:
            await host.write(dev.hbm_at + DfxDevice.IO + 4, data)
        meter = PhaseMeter(self.sim)
        for drv in self.drivers:
            await drv.start(GENERATE, len(prompt), new)
        await self.drivers[0].finish(GENERATE)
        phase = meter.stop()
        raw = await host.read(self.devs[0].hbm_at + DfxDevice.IO + 0x400, 4 * new)
        return [int(v) for v in np.asarray(raw).view("<u4")], phase
