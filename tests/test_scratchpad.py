"""The banked scratchpad: bank conflicts between ports and within an access, port
occupancy, capacity (overflow errors), energy per word.

Geometry in every case: 4 banks of 8-byte words, 1 GHz, 1-cycle latency, so an access
that needs each bank for n cycles completes after n + 1 ns.
"""

from __future__ import annotations

from typing import Any

import pytest

import cosim


def accesses(
    sim: cosim.Simulation,
    plan: list[tuple[int, ...]],
    ports: int = 2,
    sockets: int = 2,
    **params: Any,
) -> list[int]:
    """`plan`: (socket, address, nbytes) per access, all issued at t=0 in their own
    process. Returns each latency in ps."""
    sp = sim.model(
        "scratchpad",
        "spad",
        size=1024,
        banks=4,
        bank_width=8,
        ports=ports,
        clock_hz=1e9,
        latency=1,
        **params,
    )
    socks = []
    for i in range(sockets):
        s = sim.initiator(f"cpu{i}")
        sim.bind(s, sp.port("port"))
        socks.append(s)
    lat = [0] * len(plan)
    for k, (si, addr, n) in enumerate(plan):

        async def one(k=k, si=si, addr=addr, n=n):
            await socks[si].read(addr, n)
            lat[k] = cosim.now()

        sim.process(one(), name=f"a{k}")
    sim.run()
    return lat


def test_same_bank_from_two_ports_conflicts() -> None:
    r = cosim.simulate(accesses, [(0, 0, 8), (1, 32, 8)])  # words 0 and 4: both bank 0
    assert sorted(r.value) == [2_000, 3_000]
    assert r.stat("spad.bank_conflicts") == 1
    assert r.stat("spad.bank_conflict_cycles") == 1


def test_different_banks_proceed_in_parallel() -> None:
    r = cosim.simulate(accesses, [(0, 0, 8), (1, 8, 8)])  # banks 0 and 1
    assert r.value == [2_000, 2_000]
    assert r.stat("spad.bank_conflicts") == 0


def test_word_interleaving_spreads_a_wide_access_block_interleaving_does_not() -> None:
    word = cosim.simulate(accesses, [(0, 0, 64)])  # 8 words over 4 banks: 2 cycles
    assert word.value == [3_000]
    assert word.stat("spad.bank_conflicts") == 0
    block = cosim.simulate(accesses, [(0, 0, 64)], interleave="block")  # all in bank 0
    assert block.value == [9_000]
    assert block.stat("spad.bank_conflict_cycles") == 8 - 2


def test_one_port_serves_one_access_at_a_time() -> None:
    r = cosim.simulate(accesses, [(0, 0, 8), (0, 8, 8)], sockets=1, ports=1)
    assert sorted(r.value) == [2_000, 3_000]
    assert r.stat("spad.port_waits") == 1
    assert r.stat("spad.port0.accesses") == 2


def test_overflow_names_range_capacity_and_initiator() -> None:
    with pytest.raises(cosim.TlmError) as e:
        cosim.simulate(accesses, [(1, 1020, 8)])
    assert (
        "scratchpad overflow: access [0x3fc, 0x403] by 'cpu1.socket' exceeds the capacity "
        "of 1024 B [0x0, 0x3ff]" in str(e.value)
    )


def test_more_initiators_than_ports_is_an_error() -> None:
    with pytest.raises(
        cosim.SimulationError, match=r"2 initiators bound to 'port' but only 1 ports"
    ):
        cosim.simulate(accesses, [(0, 0, 8)], ports=1, sockets=2)


def test_energy_per_32_bit_word() -> None:
    r = cosim.simulate(accesses, [(0, 0, 64), (1, 64, 6)])
    # 64 B = 16 words, 6 B = 2 words (partial words count whole), 5 pJ each at 45 nm.
    assert r.stat("spad.energy_events.access") == 18
    assert r.stat("spad.energy_pj.access") == pytest.approx(18 * 5.0)
