"""System demo: host CPU + fabric + DMA + scratchpad + DRAM/HBM, driven by a Python driver.

    .venv/bin/python examples/system_demo.py [--memory ddr4_2400|lpddr4_3200|hbm2|hbm3]

The driver (a coroutine on the host CPU model):
  1. probes DRAM with one uncached read (the end-to-end idle latency);
  2. has the DMA load a tile (rows of a row-major matrix in DRAM, a 2-D strided
     transfer) into the scratchpad, waiting for the completion interrupt;
  3. has the DMA store the tile back to another DRAM area with a different pitch;
  4. copies the same tile with its own uncached loads and stores, for comparison;
  5. runs a GEMV over the tile in host-compute mode (roofline) as the "on the CPU"
     baseline an accelerator scenario would report against.
The result is checked against numpy (the tile in the scratchpad and in DRAM), and the
run prints latencies, bandwidths, DRAM row-hit rate, fabric contention and the energy
breakdown by component; its last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

import cosim
from cosim import energy
from cosim.system.dma import Descriptor

MATRIX = 512  # the input matrix is MATRIX x MATRIX bytes (int8) in DRAM
TILE = 128  # a TILE x TILE tile is moved


def run_demo(
    sim: Any, memory: str = "ddr4_2400", tile: int = TILE, seed: int = 1
) -> dict[str, Any]:
    soc = cosim.build_soc(sim, memory=memory)
    rng = np.random.default_rng(seed)
    matrix = rng.integers(-128, 128, (MATRIX, MATRIX), dtype=np.int8)
    in_off = soc.DATA - soc.DRAM  # input matrix, row-major
    out_off = in_off + MATRIX * MATRIX  # output area for the stored-back tile
    out_pitch = tile * 2
    soc.dram.array()[in_off : in_off + matrix.size] = matrix.view(np.uint8).ravel()
    row, col = 64, 128  # tile origin in the matrix
    src = soc.DATA + row * MATRIX + col
    fig: dict[str, Any] = {"memory": memory, "tile": tile}

    @sim.process
    async def driver() -> None:
        host = soc.host
        # 1. One uncached read of an idle DRAM (closed bank).
        t = cosim.now()
        await host.read(soc.DATA + 8 * MATRIX * MATRIX, soc.dram.burst_bytes)
        fig["probe_read_ps"] = cosim.now() - t
        await host.compute(200)  # driver bookkeeping between steps

        # 2. DMA load: `tile` rows of `tile` bytes, source pitch MATRIX, packed in SPAD.
        load = Descriptor(src=src, dst=soc.SPAD, row_bytes=tile, rows=tile, src_stride=MATRIX)
        t = cosim.now()
        await soc.dma_driver.run([load], at=soc.DESCRIPTORS)
        fig["dma_load_ps"] = cosim.now() - t
        fig["dma_load_busy_ps"] = int(sim.stats["dma.busy_time"])

        # 3. DMA store back to DRAM with a wider pitch.
        store = Descriptor(
            src=soc.SPAD, dst=soc.DRAM + out_off, row_bytes=tile, rows=tile, dst_stride=out_pitch
        )
        t = cosim.now()
        await soc.dma_driver.run([store], at=soc.DESCRIPTORS)
        fig["dma_store_ps"] = cosim.now() - t

        # 4. The same load done by the CPU itself: an uncached read and write per row.
        t = cosim.now()
        for r in range(tile):
            data = await host.read(src + r * MATRIX, tile)
            await host.write(soc.SPAD + tile * tile + r * tile, data)
        fig["cpu_copy_ps"] = cosim.now() - t

        # 5. Host-compute baseline: y = A x over the tile (2 flops per byte of A).
        k = await host.run_kernel(flops=2.0 * tile * tile, bytes=tile * tile + 2 * tile)
        fig["host_gemv_ps"] = k["time_ps"]
        fig["host_gemv_bound"] = k["bound"]

    sim.run()
    expect = matrix[row : row + tile, col : col + tile]
    spad = soc.scratchpad.array()[: tile * tile].view(np.int8).reshape(tile, tile)
    cpu_copy = (
        soc.scratchpad.array()[tile * tile : 2 * tile * tile].view(np.int8).reshape(tile, tile)
    )
    out = (
        soc.dram.array()[out_off : out_off + tile * out_pitch]
        .view(np.int8)
        .reshape(tile, out_pitch)
    )
    fig["golden_ok"] = bool(
        np.array_equal(spad, expect)
        and np.array_equal(out[:, :tile], expect)
        and np.array_equal(cpu_copy, expect)
    )
    fig["sim_time_ps"] = sim.now
    fig["energy"] = sim.energy.breakdown()
    fig["dram_config"] = soc.dram.config()
    return fig


def report(fig: dict[str, Any], stats: dict[str, float]) -> str:
    tile = fig["tile"]
    nbytes = tile * tile
    t = fig["dram_config"]["timing"]
    tck = t["tCK_ps"]
    dram = cosim.system.dram.summary(stats, "dram")
    peak = stats["dram.peak_bandwidth"]
    fabric_peak = 16 * 1e9  # fabric defaults: 16 B per cycle at 1 GHz per channel

    def gbps(ps: float) -> float:
        return nbytes / (ps * 1e-12) / 1e9

    load_gbps = gbps(fig["dma_load_busy_ps"])
    wait = stats["fabric.from.dma_initiator.wait.mean"]
    idle = (t["tRCD"] + t["tCL"] + t["burst_cycles"]) * tck / 1000
    lines = [
        f"cosim system demo: host + fabric + DMA + scratchpad + {fig['memory']}",
        f"  golden check (numpy)       : {'OK' if fig['golden_ok'] else 'MISMATCH'}",
        f"  probe read, idle DRAM      : {fig['probe_read_ps'] / 1000:.3f} ns "
        f"(tRCD+CL+burst = {idle:.3f} ns + host access + fabric)",
        f"  {f'DMA tile load {tile}x{tile} B':<27}: {fig['dma_load_ps'] / 1e6:.3f} us with driver "
        f"and interrupt; engine busy {fig['dma_load_busy_ps'] / 1e6:.3f} us = {load_gbps:.2f} GB/s",
        f"                               (DRAM peak {peak / 1e9:.1f} GB/s, fabric channel "
        f"{fabric_peak / 1e9:.1f} GB/s)",
        f"  DMA tile store             : {fig['dma_store_ps'] / 1e6:.3f} us",
        f"  CPU copy of the same tile  : {fig['cpu_copy_ps'] / 1e6:.3f} us "
        f"({fig['cpu_copy_ps'] / fig['dma_load_ps']:.1f}x the DMA load)",
        f"  host GEMV over the tile    : {fig['host_gemv_ps'] / 1e6:.4f} us "
        f"({fig['host_gemv_bound']}-bound roofline)",
        f"  DRAM                       : row-hit rate {dram['row_hit_rate']:.2f}, read latency "
        f"mean {dram['read_latency_mean_ns']:.1f} ns, {dram['energy_pj_per_bit']:.2f} pJ/bit",
        f"                               commands: ACT {dram['cmd_act']:.0f}, RD "
        f"{dram['cmd_rd']:.0f}, WR {dram['cmd_wr']:.0f}, REF {dram['cmd_ref']:.0f}",
        f"  fabric contention          : {wait:.2f} ns mean wait per DMA transaction",
        f"  simulated time             : {cosim.fmt_time(fig['sim_time_ps'])}",
        "  energy breakdown:",
        "    " + energy.format_breakdown(fig["energy"]).replace("\n", "\n    "),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="host + fabric + DMA + scratchpad + DRAM demo")
    ap.add_argument("--memory", default="ddr4_2400", choices=sorted(cosim.system.dram.presets()))
    ap.add_argument("--tile", type=int, default=TILE, help="tile edge in bytes (<= 256)")
    args = ap.parse_args(argv)
    r = cosim.simulate(run_demo, args.memory, args.tile)
    fig, stats = r.value, r.flat_stats()
    print(report(fig, stats))
    keys = (
        "memory",
        "tile",
        "golden_ok",
        "probe_read_ps",
        "dma_load_ps",
        "dma_load_busy_ps",
        "dma_store_ps",
        "cpu_copy_ps",
        "host_gemv_ps",
        "sim_time_ps",
    )
    summary = {k: fig[k] for k in keys}
    summary["dram_row_hit_rate"] = stats["dram.row_hit_rate"]
    summary["energy_pj"] = energy.total_pj(fig["energy"])
    print(json.dumps(summary))
    return 0 if fig["golden_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
