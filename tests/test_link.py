"""The serial link model (tlm/link.cpp) and rings of it (cosim.system.link): serialisation at
the link's bandwidth, in-order queueing, the one-hop latency, delivery into the
receiver's memory, arrival events, energy per bit, and refused reads."""

from __future__ import annotations

import numpy as np
import pytest

import cosim
from cosim import ns
from cosim.system.link import LinkReceiver, ring, serial_link

TX, RX = 0x1000_0000, 0x2000_0000


def two_messages(sim, bandwidth, latency):
    link = serial_link(sim, "l", bandwidth=bandwidth, latency=latency, rx_base=0x100)
    mem = sim.model("memory", "rxmem", size=4096, read_latency=0, write_latency=0)
    sender = sim.initiator("sender")
    sim.bind(sender, link.port("tx"))
    sim.bind(link.port("rx"), mem)
    rx = LinkReceiver(sim, link, "rx")
    out = {"sent": [], "arrived": []}

    @sim.process
    async def send():
        for k in range(2):
            await sender.write(16 * k, np.full(1000, k + 1, np.uint8))
            out["sent"].append(cosim.now())

    @sim.process
    async def receive():
        for _ in range(2):
            await rx.message()
            out["arrived"].append(cosim.now())

    sim.run()
    out["data"] = mem.array()[0x100 : 0x100 + 1016].copy()
    out["energy"] = sim.energy.breakdown()["l"]["bits"]
    return out


def test_messages_serialise_queue_and_arrive_after_the_latency():
    r = cosim.simulate(two_messages, 1e9, ns(500)).value  # 1 GB/s: 1000 B take 1 us
    assert r["sent"] == [ns(1000), ns(2000)]  # released when the last byte has left
    assert r["arrived"] == [ns(1500), ns(2500)]
    assert (r["data"][:16] == 1).all() and (r["data"][16:] == 2).all()  # in order, at rx_base
    assert r["energy"] == pytest.approx(2 * 8000 * 35.0)


def read_from_link(sim):
    link = serial_link(sim, "l", bandwidth=1e9, latency=0)
    sender = sim.initiator("sender")
    sim.bind(sender, link.port("tx"))
    sim.bind(link.port("rx"), sim.model("memory", "m"))

    @sim.process
    async def p():
        await sender.read(0, 4)

    sim.run()


def test_a_link_refuses_reads():
    with pytest.raises(cosim.TlmError, match="carries writes"):
        cosim.simulate(read_from_link)


def ring_of_four(sim):
    links = ring(sim, "ring", 4, bandwidth=12.5e9, latency="200 ns", rx_base=RX)
    mems = [sim.model("memory", f"m{k}", size=1 << 16) for k in range(4)]
    buses = [sim.model("router", f"bus{k}") for k in range(4)]
    socks = [sim.initiator(f"ctl{k}") for k in range(4)]
    for k in range(4):
        sim.bind(socks[k], buses[k].port("target"))
        buses[k].map(mems[k].port("target"), RX, 1 << 16)
        buses[k].map(links[k].port("tx"), TX, 1 << 16)
        sim.bind(links[k].port("rx"), buses[(k + 1) % 4].port("target"))
    rxs = [LinkReceiver(sim, links[(k - 1) % 4], f"rx{k}") for k in range(4)]
    got = {}

    def node(k):
        async def run():
            await socks[k].write(TX, np.full(64, k, np.uint8))
            await rxs[k].message()
            got[k] = int((await socks[k].read(RX, 1))[0])

        return run

    for k in range(4):
        sim.process(node(k)(), name=f"node{k}")
    sim.run()
    return got, sim.now


def test_a_ring_passes_each_message_to_the_next_device():
    got, end = cosim.simulate(ring_of_four).value
    assert got == {0: 3, 1: 0, 2: 1, 3: 2}
    assert end >= ns(200)
    with pytest.raises(ValueError, match="devices must be >= 1"):
        ring(None, "r", 0, bandwidth=1e9, latency=0)
