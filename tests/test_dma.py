"""The DMA engine: 2-D strided copies, chains, completion interrupts, timing, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import cosim
from cosim.system.dma import COMPLETED, IRQ_STATUS, STATUS, Descriptor, DmaDriver, chain

SRC, DST, REGS = 0x0, 0x10_0000, 0x4000_0000


def timed_system(sim: cosim.Simulation, rows: int, lanes: int, row_bytes: int = 64) -> float:
    """Fabric (16 B, 1 GHz, 2-cycle hop) with 10 ns memories; a plain socket programs the
    DMA. Returns the DMA's chain time (ns)."""
    fab = sim.model("fabric", "fab", width=16, clock_hz=1e9, latency=2)
    src = sim.model("memory", "src", size=1 << 20, read_latency=10_000, write_latency=10_000)
    dst = sim.model("memory", "dst", size=1 << 20, read_latency=10_000, write_latency=10_000)
    dma = sim.model("dma", "dma", lanes=lanes, burst_bytes=64, setup_cycles=10)
    fab.map(src.port("target"), SRC, 1 << 20)
    fab.map(dst.port("target"), DST, 1 << 20)
    fab.map(dma.port("control"), REGS, 0x1000)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, fab.port("target"))
    sim.bind(dma.port("initiator"), fab.port("target"))
    desc = Descriptor(src=SRC + 0x1000, dst=DST, row_bytes=row_bytes, rows=rows, src_stride=256)
    src.array()[0:64] = np.frombuffer(desc.pack(), dtype=np.uint8)
    src.array()[0x1000 : 0x1000 + 256 * rows] = np.arange(256 * rows) % 251

    @sim.process
    async def driver() -> None:
        await cpu.write(REGS + 0x08, (0).to_bytes(8, "little"))  # DESC_LO/HI
        await cpu.write(REGS + 0x00, (1).to_bytes(4, "little"))  # START
        await dma.event("done")

    sim.run()
    expect = src.array()[0x1000 : 0x1000 + 256 * rows].reshape(rows, 256)[:, :row_bytes]
    assert np.array_equal(dst.array()[: rows * row_bytes].reshape(rows, row_bytes), expect)
    return sim.stats["dma.chain_time.mean"]


def soc_copy(
    sim: cosim.Simulation, memory: str, descs: list[dict[str, int]], irq_every: bool = False
) -> dict[str, Any]:
    """Copy with build_soc's DMA driver; returns (data ok, status, registers, irqs)."""
    soc = cosim.build_soc(sim, memory=memory)
    image = (np.arange(1 << 18) * 7 % 256).astype(np.uint8)
    base = soc.DATA - soc.DRAM
    soc.dram.array()[base : base + image.size] = image
    descriptors = [Descriptor(**d, irq=irq_every) for d in descs]
    out = {}

    @sim.process
    async def driver() -> None:
        out["status"] = await soc.dma_driver.run(descriptors, at=soc.DESCRIPTORS)
        out["completed"] = await soc.host.read32(soc.DMA + COMPLETED)
        out["irq_status"] = await soc.host.read32(soc.DMA + IRQ_STATUS)

    sim.run()
    ok = True
    for d in descs:
        src = d["src"] - soc.DATA
        dst = d["dst"] - soc.SPAD
        ss, ds = d.get("src_stride", d["row_bytes"]), d.get("dst_stride", d["row_bytes"])
        for r in range(d.get("rows", 1)):
            got = soc.scratchpad.array()[dst + r * ds : dst + r * ds + d["row_bytes"]]
            want = image[src + r * ss : src + r * ss + d["row_bytes"]]
            ok &= bool(np.array_equal(got, want))
    out["ok"] = ok
    out["irqs_seen"] = soc.dma_irq.raised
    out["irqs_pending"] = soc.dma_irq.pending
    return out


def bad_source(sim: cosim.Simulation, stop_on_error: bool) -> dict[str, str]:
    soc = cosim.build_soc(sim, dma={"stop_on_error": stop_on_error})
    out = {}

    @sim.process
    async def driver() -> None:
        d = Descriptor(src=0x7000_0000, dst=soc.SPAD, row_bytes=64)  # nothing mapped there
        try:
            await soc.dma_driver.run([d], at=soc.DESCRIPTORS)
        except cosim.system.dma.DmaError as e:
            out["error"] = str(e)

    sim.run()
    return out


def poll_copy(sim: cosim.Simulation) -> dict[str, Any]:
    soc = cosim.build_soc(sim)
    soc.dram.array()[soc.DATA - soc.DRAM : soc.DATA - soc.DRAM + 2048] = 9
    drv = DmaDriver(soc.host, soc.DMA, irq=None, poll_ops=20)
    out = {}

    @sim.process
    async def driver() -> None:
        d = Descriptor(src=soc.DATA, dst=soc.SPAD, row_bytes=2048)
        out["status"] = await drv.run([d], at=soc.DESCRIPTORS)
        status = await soc.host.read32(soc.DMA + STATUS)
        out["busy_after"] = bool(status & cosim.system.dma.STATUS_BUSY)

    sim.run()
    out["ok"] = bool((soc.scratchpad.array()[:2048] == 9).all()) and not out["busy_after"]
    return out


def zero_rows(sim: cosim.Simulation) -> None:
    soc = cosim.build_soc(sim)
    raw = bytearray(Descriptor(src=soc.DATA, dst=soc.SPAD, row_bytes=64).pack())
    raw[20:24] = bytes(4)  # rows = 0, which Descriptor() itself refuses to build

    @sim.process
    async def driver() -> None:
        await soc.host.write(soc.DESCRIPTORS, bytes(raw))
        await soc.dma_driver.start(soc.DESCRIPTORS)
        await soc.dma_driver.wait()

    sim.run()


def start_twice(sim: cosim.Simulation) -> None:
    soc = cosim.build_soc(sim)

    @sim.process
    async def driver() -> None:
        d = Descriptor(src=soc.DATA, dst=soc.SPAD, row_bytes=4096)
        await soc.host.write(soc.DESCRIPTORS, chain([d], soc.DESCRIPTORS))
        await soc.dma_driver.start(soc.DESCRIPTORS)
        await soc.host.write32(soc.DMA, 1)  # START again while busy

    sim.run()


def test_single_burst_timing_closed_form() -> None:
    # Descriptor fetch: hop 2 + memory 10 + 4 beats = 16 ns; setup 10 ns; the row's one
    # burst: read 16 ns, write 16 ns.
    assert cosim.simulate(timed_system, 1, 1).value == pytest.approx(16 + 10 + 16 + 16)


def test_lanes_overlap_transfers() -> None:
    one = cosim.simulate(timed_system, 2, 1).value
    two = cosim.simulate(timed_system, 2, 2).value
    assert one == pytest.approx(16 + 10 + 2 * 32)
    # Two lanes read at once; the second waits 4 ns for the source's read channel, and
    # the writes follow 4 ns apart: 26 + 4 + 16 + 16 ns.
    assert two == pytest.approx(16 + 10 + 4 + 32)


def test_2d_strided_copy_from_dram_to_scratchpad() -> None:
    data = cosim.system.soc.DRAM_BASE + cosim.system.soc.DESCRIPTOR_AREA
    spad = cosim.system.soc.SPAD_BASE
    descs = [
        {
            "src": data + 100,
            "dst": spad + 8,
            "row_bytes": 100,
            "rows": 12,
            "src_stride": 1000,
            "dst_stride": 104,
        }
    ]
    for memory in ("ddr4_2400", "hbm2"):
        r = cosim.simulate(soc_copy, memory, descs)
        assert r.value["ok"]
        assert r.value["status"] & cosim.system.dma.STATUS_DONE
        assert r.stat("dma.bytes") == 1200
        # Unaligned 100-byte rows split at 64-byte source boundaries: 2 or 3 bursts each.
        starts = [data + 100 + i * 1000 for i in range(12)]
        assert r.stat("dma.reads") == sum((s + 99) // 64 - s // 64 + 1 for s in starts)


def test_chain_of_descriptors_and_interrupts() -> None:
    data = cosim.system.soc.DRAM_BASE + cosim.system.soc.DESCRIPTOR_AREA
    spad = cosim.system.soc.SPAD_BASE
    descs = [
        {"src": data, "dst": spad, "row_bytes": 256, "rows": 4, "src_stride": 512},
        {"src": data + 8192, "dst": spad + 4096, "row_bytes": 1024},
    ]
    r = cosim.simulate(soc_copy, "ddr4_2400", descs, irq_every=True)
    v = r.value
    assert v["ok"] and v["completed"] == 2
    # The first descriptor's interrupt, then one for the second descriptor together with
    # the chain completion (same instant: one interrupt, two IRQ_STATUS bits).
    assert v["irqs_seen"] == 2
    assert r.stat("dma.irqs") == 2
    # The host takes the first (1 us interrupt latency, longer than the rest of the chain),
    # finds the chain done and returns: the second stays pending on the line.
    assert r.stat("host.irqs") == 1 and v["irqs_pending"] == 1
    assert r.stat("dma.descriptors") == 2


def test_error_response_stops_the_simulation_naming_address_and_responder() -> None:
    with pytest.raises(cosim.SimulationError) as e:
        cosim.simulate(bad_source, True)
    msg = str(e.value)
    assert "dma: read of 64 B at 0x70000000" in msg
    assert "no target is mapped at 0x70000000" in msg
    assert "requested by 'dma.initiator'" in msg


def test_error_response_reported_to_the_driver_without_stop_on_error() -> None:
    r = cosim.simulate(bad_source, False)
    assert "stopped on an error at address 0x70000000" in r.value["error"]
    assert r.stat("dma.errors") == 1


def test_bad_descriptors_are_refused() -> None:
    with pytest.raises(ValueError, match="rows >= 1"):
        Descriptor(src=0, dst=0, row_bytes=64, rows=0)
    with pytest.raises(ValueError, match="src_stride must be an integer >= row_bytes"):
        Descriptor(src=0, dst=0, row_bytes=64, rows=2, src_stride=32)
    with pytest.raises(cosim.SimulationError, match="has rows = 0"):
        cosim.simulate(zero_rows)


def test_start_while_busy_is_a_register_error() -> None:
    with pytest.raises(cosim.TlmError, match="START written while a chain is in progress"):
        cosim.simulate(start_twice)


def test_driver_without_interrupt_polls_status() -> None:
    r = cosim.simulate(poll_copy)
    assert r.value["ok"]
    assert r.value["status"] & cosim.system.dma.STATUS_DONE
    assert r.stat("dma.irqs") == 0 and r.stat("host.irqs") == 0
    # START, DESC_LO/HI, IRQ_ENABLE writes, the descriptor, then STATUS reads until done.
    assert r.stat("host.loads") >= 2
