"""The fabric: hop latency, width, contention, arbitration policies, address errors.

Every case uses a 16-byte, 1 GHz fabric with a 2-cycle hop in front of zero-latency
memories, so a 64-byte transfer holds its channel 4 ns and an uncontended one takes
2 + 4 = 6 ns.
"""

from __future__ import annotations

from typing import Any

import pytest

import cosim

A, B = 0x0, 0x1000_0000  # the two memories


def run_plan(
    sim: cosim.Simulation, plan: list[tuple[int, ...]], sockets: int = 2, **fabric: Any
) -> tuple[list[int], list[int]]:
    """`plan`: (socket, start_ps, address, nbytes, write) per access, each in its own
    process. Returns latency (ps) and grant order by plan index."""
    fab = sim.model("fabric", "fab", width=16, clock_hz=1e9, latency=2, **fabric)
    for name, base in (("mem_a", A), ("mem_b", B)):
        m = sim.model("memory", name, size=1 << 16, read_latency=0, write_latency=0)
        fab.map(m.port("target"), base, 1 << 16)
    socks = []
    for i in range(sockets):
        s = sim.initiator(f"cpu{i}")
        sim.bind(s, fab.port("target"))
        socks.append(s)
    lat = [0] * len(plan)
    order = []

    for k, (si, start, addr, n, write) in enumerate(plan):

        async def access(k=k, si=si, start=start, addr=addr, n=n, write=write):
            await cosim.delay(start)
            t0 = cosim.now()
            if write:
                await socks[si].write(addr, bytes(n))
            else:
                await socks[si].read(addr, n)
            lat[k] = cosim.now() - t0
            order.append(k)

        sim.process(access(), name=f"access{k}")
    sim.run()
    return lat, order


def unmapped(sim: cosim.Simulation, address: int, nbytes: int) -> None:
    fab = sim.model("fabric", "fab")
    m = sim.model("memory", "mem", size=4096)
    fab.map(m.port("target"), 0x1000, 4096)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, fab.port("target"))

    @sim.process
    async def driver() -> None:
        await cpu.read(address, nbytes)

    sim.run()


def overlapping(sim: cosim.Simulation) -> None:
    fab = sim.model("fabric", "fab")
    a = sim.model("memory", "a", size=4096)
    b = sim.model("memory", "b", size=4096)
    fab.map(a.port("target"), 0x1000, 4096)
    fab.map(b.port("target"), 0x1800, 4096)


def test_uncontended_latency_is_hop_plus_beats() -> None:
    r = cosim.simulate(run_plan, [(0, 0, A, 64, False), (0, 100_000, A, 16, True)])
    assert r.value[0] == [6_000, 3_000]  # 2 + 64/16 beats; 2 + 1 beat
    assert r.stat("fab.beats") == 5
    assert r.stat("fab.bytes") == 80


def test_contention_on_one_target_is_visible_in_stats() -> None:
    r = cosim.simulate(run_plan, [(0, 0, A, 64, True), (1, 0, A, 64, True)])
    assert sorted(r.value[0]) == [6_000, 10_000]  # the second waits the first's 4 beats
    s = r.flat_stats()
    assert s["fab.channel.mem_a_target.write.grants"] == 2
    assert s["fab.channel.mem_a_target.write.contended"] == 1
    assert s["fab.channel.mem_a_target.write.wait.mean"] == pytest.approx(2.0)
    assert s["fab.channel.mem_a_target.write.busy"] == 8_000
    assert s["fab.from.cpu1_socket.wait.max"] == pytest.approx(4.0)


def test_crossbar_targets_and_duplex_channels_do_not_contend() -> None:
    both_targets = [(0, 0, A, 64, True), (1, 0, B, 64, True)]
    assert cosim.simulate(run_plan, both_targets).value[0] == [6_000, 6_000]
    read_and_write = [(0, 0, A, 64, True), (1, 0, A, 64, False)]
    assert cosim.simulate(run_plan, read_and_write).value[0] == [6_000, 6_000]
    # One shared bus, or one channel per target for both directions, serialises them.
    assert sorted(cosim.simulate(run_plan, both_targets, sharing="shared").value[0]) == [
        6_000,
        10_000,
    ]
    assert sorted(cosim.simulate(run_plan, read_and_write, duplex=False).value[0]) == [
        6_000,
        10_000,
    ]


# Socket 2 holds the channel from 0 to 4 ns; socket 1 arrives at 1 ns, socket 0 at 2 ns.
LATE_ARRIVALS = [(2, 0, A, 64, True), (1, 1_000, A, 64, True), (0, 2_000, A, 64, True)]
# Socket 0 holds the channel, asks again at 1 ns; socket 1 arrives at 2 ns.
REPEAT = [(0, 0, A, 64, True), (0, 1_000, A, 64, True), (1, 2_000, A, 64, True)]


@pytest.mark.parametrize(
    ("policy", "plan", "order"),
    [
        ("fifo", LATE_ARRIVALS, [0, 1, 2]),  # arrival order
        ("fixed_priority", LATE_ARRIVALS, [0, 2, 1]),  # socket 0 beats socket 1
        ("round_robin", LATE_ARRIVALS, [0, 2, 1]),  # after socket 2 the turn is socket 0's
        ("fifo", REPEAT, [0, 1, 2]),
        ("fixed_priority", REPEAT, [0, 1, 2]),  # socket 0 again
        ("round_robin", REPEAT, [0, 2, 1]),  # socket 1's turn after socket 0
    ],
)
def test_arbitration_policies(policy, plan: list[tuple[int, ...]], order) -> None:
    lat, got = cosim.simulate(run_plan, plan, sockets=3, arbitration=policy).value
    assert got == order
    # Grants come back to back, 4 ns apart: the k-th granted finishes at 4k + 6 ns.
    finish = {k: plan[k][1] + lat[k] for k in range(3)}
    assert sorted(finish.values()) == [6_000, 10_000, 14_000]


def test_unmapped_access_names_address_and_initiator() -> None:
    with pytest.raises(cosim.TlmError) as e:
        cosim.simulate(unmapped, 0x9000, 4)
    msg = str(e.value)
    assert "no target is mapped at 0x9000" in msg
    assert "requested by 'cpu.socket'" in msg
    assert "mem.target [0x1000, 0x1fff]" in msg


def test_access_crossing_the_end_of_a_range_is_refused() -> None:
    with pytest.raises(
        cosim.TlmError, match=r"access \[0x1ff8, 0x2007\] by 'cpu.socket' crosses the end"
    ):
        cosim.simulate(unmapped, 0x1FF8, 16)


def test_overlapping_ranges_are_refused_naming_both() -> None:
    with pytest.raises(
        cosim.BindingError,
        match=r"\[0x1800, 0x27ff\] for 'b.target' overlaps \[0x1000, 0x1fff\] "
        r"already mapped to 'a.target'",
    ):
        cosim.simulate(overlapping)
