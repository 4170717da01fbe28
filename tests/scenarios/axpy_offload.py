"""Test fixture scenario: z = a*x + y (int32) offloaded to a tiled engine, against the
host CPU doing it word by word, on one system (host, accelerator DMA, router, DRAM).

The engine streams tiles of x and y from DRAM in bursts into its buffer, computes
`lanes` elements per clock (tlm) or in no simulated time (functional: numpy, untimed
compute) and streams z back. The baseline is the host loading and storing 8-byte words
and spending HOST_CYCLES_PER_ELEMENT clocks per element. Cycles, DRAM traffic and
transaction counts come from the simulation; energy from those counts and the per-op
energies below. Both results are checked against numpy.

Used by the tests of the scenario contract, the CLI, sweeps and reports until
accelerator scenarios exist.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import cosim
from cosim import ns
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario

DRAM_BASE = 0x8000_0000
HOST_WORD = 8  # bytes per host load/store
HOST_CYCLES_PER_ELEMENT = 4  # load x, load y, multiply-add, store
BYTES_PER_BEAT, BEAT_TIME = 16, ns(1.25)  # DRAM data path: 12.8 GB/s

# Energies per operation at 45 nm (Horowitz, ISSCC 2014).
PJ_DRAM_PER_BIT = 640 / 32  # 32-bit DRAM read: 640 pJ
PJ_MULT32, PJ_ADD32 = 3.1, 0.1
PJ_SRAM32 = 5.0  # 32-bit read of an 8 KB SRAM (the engine's tile buffer)
PJ_INSTRUCTION = 70.0  # overhead per instruction of a simple in-order core (same talk)

scenario = Scenario(
    "axpy_offload",
    "z = a*x + y on a tiled engine vs the host loop (test fixture)",
    params=[
        Param("n", 4096, min=16, max=1 << 20, unit="elements", help="vector length"),
        Param(
            "tile",
            256,
            choices=(64, 128, 256, 512, 1024, 2048),
            unit="elements",
            help="elements per tile",
        ),
        Param("burst", 64, choices=(8, 16, 32, 64, 128, 256), unit="B", help="DMA burst"),
        Param("lanes", 8, min=1, max=64, help="elements the engine computes per clock"),
        Param("a", 3, min=-1000, max=1000, help="the scalar a"),
        Param("clock", "1 ns", type="time", min="100 ps", max="100 ns", help="clock period"),
        Param("dram_latency", "45 ns", type="time", max="1 us", help="DRAM access latency"),
    ],
    engines={
        "engine": Engine(
            ("tlm", "functional"), help="tlm: lanes per clock; functional: untimed numpy"
        )
    },
)


async def _engine_job(
    sim: cosim.Simulation, dma: cosim.Socket, cfg: Config, x_at: int, y_at: int, z_at: int
) -> None:
    n, tile, burst = cfg.n, cfg.tile, cfg.burst
    tiles = math.ceil(n / tile)
    for t in range(tiles):
        t0 = cosim.now()
        count = min(tile, n - t * tile)
        nbytes = 4 * count
        xb = np.empty(nbytes, dtype=np.uint8)
        yb = np.empty(nbytes, dtype=np.uint8)
        for off in range(0, nbytes, burst):
            end = min(off + burst, nbytes)
            xb[off:end] = await dma.read(x_at + 4 * t * tile + off, end - off)
            yb[off:end] = await dma.read(y_at + 4 * t * tile + off, end - off)
        z = (cfg.a * xb.view(np.int32).astype(np.int64) + yb.view(np.int32)).astype(np.int32)
        if cfg.engines["engine"] == "tlm":
            await cosim.delay(math.ceil(count / cfg.lanes) * cfg.clock)
        zb = z.view(np.uint8)
        for off in range(0, nbytes, burst):
            await dma.write(z_at + 4 * t * tile + off, zb[off : off + burst])
        sim.trace.span("axpy_engine", f"tile {t}", t0, cosim.now(), elements=count)
        report_progress(t + 1, 2 * tiles, unit="tiles")  # then as many for the baseline


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    n = cfg.n
    vec = 4 * n
    x_at, y_at, z_acc, z_host = (DRAM_BASE + i * vec for i in range(4))
    size = max(4096, math.ceil(4 * vec / 4096) * 4096)

    sim.quantum = ns(500)
    bus = sim.model("router", "bus", latency=ns(2))
    dram = sim.model(
        "memory",
        "dram",
        size=size,
        read_latency=cfg.dram_latency,
        write_latency=cfg.dram_latency,
        bytes_per_beat=BYTES_PER_BEAT,
        beat_time=BEAT_TIME,
    )
    host, dma = sim.initiator("host"), sim.initiator("engine_dma")
    sim.bind(host, bus)
    sim.bind(dma, bus)
    bus.map(dram.port("target"), DRAM_BASE, size)

    rng = cfg.rng()
    x = rng.integers(-(2**20), 2**20, size=n, dtype=np.int32)
    y = rng.integers(-(2**20), 2**20, size=n, dtype=np.int32)
    golden = (cfg.a * x.astype(np.int64) + y).astype(np.int32)
    out: dict[str, Any] = {}

    def counters() -> tuple[float, float]:
        s = sim.stats.flat()
        return s["dram.bytes_read"] + s["dram.bytes_written"], s["bus.transactions"]

    @sim.process
    async def host_program() -> None:
        for arr, at in ((x, x_at), (y, y_at)):
            raw = arr.view(np.uint8)
            for off in range(0, raw.size, 256):
                await host.write(at + off, raw[off : off + 256])
        # Offloaded.
        b0, n0 = counters()
        t0 = cosim.now()
        await _engine_job(sim, dma, cfg, x_at, y_at, z_acc)
        t1 = cosim.now()
        b1, n1 = counters()
        # Host loop (the baseline), word by word.
        step, tiles = HOST_WORD // 4, math.ceil(n / cfg.tile)
        for i in range(0, n, step):
            xw = (await host.read(x_at + 4 * i, HOST_WORD)).view(np.int32)
            yw = (await host.read(y_at + 4 * i, HOST_WORD)).view(np.int32)
            await cosim.delay(HOST_CYCLES_PER_ELEMENT * step * cfg.clock)
            zw = (cfg.a * xw.astype(np.int64) + yw).astype(np.int32)
            await host.write(z_host + 4 * i, zw.view(np.uint8))
            if (i + step) % cfg.tile == 0 or i + step >= n:
                report_progress(tiles + math.ceil((i + step) / cfg.tile), 2 * tiles, "tiles")
        t2 = cosim.now()
        sim.trace.span("host", "baseline loop", t1, t2, elements=n)
        b2, n2 = counters()
        z_a = np.empty(n, dtype=np.int32)
        z_h = np.empty(n, dtype=np.int32)
        await host.read_into(z_acc, z_a)
        await host.read_into(z_host, z_h)
        out.update(
            acc_ps=t1 - t0,
            host_ps=t2 - t1,
            acc_bytes=b1 - b0,
            host_bytes=b2 - b1,
            acc_transactions=n1 - n0,
            host_transactions=n2 - n1,
            ok_acc=bool(np.array_equal(z_a, golden)),
            ok_host=bool(np.array_equal(z_h, golden)),
        )

    sim.run()

    cycles = round(out["acc_ps"] / cfg.clock)
    baseline_cycles = round(out["host_ps"] / cfg.clock)
    compute = n * (PJ_MULT32 + PJ_ADD32)
    energy = {
        "dram": out["acc_bytes"] * 8 * PJ_DRAM_PER_BIT,
        "compute": compute,
        "tile_buffer": 3 * n * PJ_SRAM32,
    }
    baseline_energy = {
        "dram": out["host_bytes"] * 8 * PJ_DRAM_PER_BIT,
        "compute": compute,
        "instructions": HOST_CYCLES_PER_ELEMENT * n * PJ_INSTRUCTION,
    }
    energy_pj, baseline_energy_pj = sum(energy.values()), sum(baseline_energy.values())
    acc_s, host_s = out["acc_ps"] * 1e-12, out["host_ps"] * 1e-12
    report = "\n".join(
        [
            f"axpy_offload: n={n}, tile={cfg.tile}, burst={cfg.burst} B, lanes={cfg.lanes}, "
            f"engine={cfg.engines['engine']}",
            f"  golden check: engine {'OK' if out['ok_acc'] else 'FAILED'}, "
            f"host {'OK' if out['ok_host'] else 'FAILED'}",
            f"  engine {cycles:,} cycles vs host {baseline_cycles:,} cycles: "
            f"{baseline_cycles / cycles:.2f}x faster",
            f"  energy {energy_pj / 1e6:.3f} uJ vs {baseline_energy_pj / 1e6:.3f} uJ: "
            f"{baseline_energy_pj / energy_pj:.2f}x less",
            f"  DRAM traffic {out['acc_bytes']:,.0f} B in {out['acc_transactions']:,.0f} "
            f"transactions (host: {out['host_transactions']:,.0f})",
        ]
    )
    return {
        "golden_ok": out["ok_acc"] and out["ok_host"],
        "cycles": cycles,
        "baseline_cycles": baseline_cycles,
        "speedup": baseline_cycles / cycles,
        "energy_pj": energy_pj,
        "baseline_energy_pj": baseline_energy_pj,
        "energy_ratio": baseline_energy_pj / energy_pj,
        "dram_bytes": int(out["acc_bytes"]),
        "baseline_dram_bytes": int(out["host_bytes"]),
        "transactions": int(out["acc_transactions"]),
        "throughput_gops": 2 * n / acc_s / 1e9,
        "report": report,
        "extras": {
            "energy_breakdown_pj": energy,
            "baseline_energy_breakdown_pj": baseline_energy,
            "roofline": {
                "peak_gops": 2 * cfg.lanes / (cfg.clock / 1000),
                "peak_gbps": BYTES_PER_BEAT / (BEAT_TIME / 1000),
                "ops": 2 * n,
                "bytes": out["acc_bytes"],
                "seconds": acc_s,
                "baseline_ops": 2 * n,
                "baseline_bytes": out["host_bytes"],
                "baseline_seconds": host_s,
            },
        },
    }


if __name__ == "__main__":
    scenario.main()
