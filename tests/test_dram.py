"""The dram model against closed-form JEDEC expectations.

Every expected latency below is written out from the standard's numbers (in clock
cycles of the preset, see tlm/dram/presets.cpp and its sources), not read back from the
model: DDR4-2400R (JESD79-4, Micron MT40A1G8-083E): tCK 833 ps, CL 16, tRCD 16, tRP 16,
tRAS 39, tRC 55, tRRD_S 4, tRRD_L 6, tFAW 26, tCCD_S 4, tWTR_L 9, tRFC 420, tREFI 9360,
BL8 = 4 clocks, 64-byte bursts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import cosim

DDR4_TCK = 833
DDR4 = {
    "CL": 16,
    "CWL": 12,
    "RCD": 16,
    "RP": 16,
    "RAS": 39,
    "RC": 55,
    "RRD_S": 4,
    "FAW": 26,
    "WTR_L": 9,
    "RFC": 420,
    "REFI": 9360,
    "BURST": 4,
}


# --------------------------------------------------------------- simulations (workers)


def read_latencies(
    sim: cosim.Simulation, preset: str, plan: list[tuple[int, ...]], **params: Any
) -> list[int]:
    """One socket; `plan` is a list of (wait_ps_before, address, length). Returns the
    latency of each read in ps."""
    mem = sim.model("dram", "mem", preset=preset, **params)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out = []

    @sim.process
    async def driver() -> None:
        for wait, addr, length in plan:
            if wait:
                await cosim.delay(wait)
            t0 = cosim.now()
            await cpu.read(addr, length)
            out.append(cosim.now() - t0)

    sim.run()
    return out


def concurrent_reads(
    sim: cosim.Simulation, preset: str, locations: list[tuple[int, int, int]], **params: Any
) -> list[int]:
    """One socket per request, all issued at t=0; returns each completion time (ps).
    `locations` are (bankgroup, bank, row) tuples."""
    mem = sim.model("dram", "mem", preset=preset, channels=1, **params)
    done = [0] * len(locations)
    for i, (bg, bank, row) in enumerate(locations):
        sock = sim.initiator(f"cpu{i}")
        sim.bind(sock, mem)
        addr = mem.address(bankgroup=bg, bank=bank, row=row)

        async def one(i=i, sock=sock, addr=addr):
            await sock.read(addr, mem.burst_bytes)
            done[i] = cosim.now()

        sim.process(one(), name=f"r{i}")
    sim.run()
    return done


def two_reads(sim: cosim.Simulation, first: tuple[int, int], second: tuple[int, int]) -> list[int]:
    """Two concurrent one-burst reads at t=0 to (rank, bankgroup) locations; returns
    their completion times in cycles."""
    mem = sim.model("dram", "mem", preset="ddr4_2400", ranks=2, refresh=False)
    done = []
    for i, (rank, bg) in enumerate((first, second)):
        sock = sim.initiator(f"cpu{i}")
        sim.bind(sock, mem)
        addr = mem.address(rank=rank, bankgroup=bg)

        async def one(sock=sock, addr=addr):
            await sock.read(addr, 64)
            done.append(cosim.now() // DDR4_TCK)

        sim.process(one(), name=f"r{i}")
    sim.run()
    return sorted(done)


def decoupled_reads(sim: cosim.Simulation, quantum: int) -> list[int]:
    """A temporally decoupled Python process reading a DRAM: the DRAM synchronises it."""
    sim.quantum = quantum
    mem = sim.model("dram", "mem", preset="ddr4_2400", refresh=False)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out = []

    @sim.process
    async def driver() -> None:
        for i in range(4):
            t0 = cosim.now()
            await cpu.read(i * 64 * 4, 64)  # same row, bank group 0
            out.append(cosim.now() - t0)

    sim.run()
    return out


def lt_traffic(sim: cosim.Simulation) -> None:
    """The LT traffic generator (one request in flight, decoupled) against the DRAM."""
    mem = sim.model("dram", "mem", preset="hbm2", channels=2)
    gen = sim.model("traffic_gen", "gen", count=500, size=64, span=1 << 16, read_fraction=0.5)
    sim.bind(gen, mem)
    sim.run()


def stream(
    sim: cosim.Simulation, preset, count, pattern="sequential", outstanding=32, size=64, **params
) -> dict[str, Any]:
    mem = sim.model("dram", "mem", preset=preset, **params)
    gen = sim.model(
        "at_traffic_gen",
        "gen",
        count=count,
        outstanding=outstanding,
        size=size,
        pattern=pattern,
        span=1 << 24,
    )
    sim.bind(gen, mem)
    sim.run()
    return mem.config()


def write_then_read(sim: cosim.Simulation) -> dict[str, Any]:
    mem = sim.model("dram", "mem", preset="ddr4_2400", posted_writes=False)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out = {}

    @sim.process
    async def driver() -> None:
        t0 = cosim.now()
        await cpu.write(0, np.full(64, 7, dtype=np.uint8))
        out["write"] = cosim.now() - t0
        t1 = cosim.now()
        data = await cpu.read(64 * 4, 64)  # same row, next column of bank group 0
        out["read"] = cosim.now() - t1
        out["data"] = bytes(data)

    sim.run()
    return out


def functional(sim: cosim.Simulation, preset: str, seed: int) -> list[int]:
    mem = sim.model("dram", "mem", preset=preset, channels=2 if preset.startswith("hbm") else 0)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    rng = np.random.default_rng(seed)
    shadow = np.zeros(1 << 16, dtype=np.uint8)
    ops = [
        (int(rng.integers(0, (1 << 16) - 300)), int(rng.integers(1, 300)), bool(rng.integers(0, 2)))
        for _ in range(300)
    ]
    mismatches = []

    @sim.process
    async def driver() -> None:
        for addr, n, write in ops:
            if write:
                data = rng.integers(0, 256, n, dtype=np.uint8)
                shadow[addr : addr + n] = data
                await cpu.write(addr, data)
            else:
                got = await cpu.read(addr, n)
                if not np.array_equal(got, shadow[addr : addr + n]):
                    mismatches.append(addr)

    sim.run()
    return mismatches


def out_of_range(sim: cosim.Simulation) -> None:
    mem = sim.model("dram", "mem", preset="lpddr4_3200")
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)

    @sim.process
    async def driver() -> None:
        await cpu.read(mem.capacity - 16, 64)

    sim.run()


def mapping_of(
    sim: cosim.Simulation, mapping: str
) -> tuple[int, dict[str, int], dict[str, int], str]:
    mem = sim.model("dram", "mem", preset="ddr4_2400", mapping=mapping)
    a = mem.address(bankgroup=2, bank=3, row=77, column=5)
    return a, mem.decode(a), mem.decode(64), mem.config()["mapping"]


def xor_banks(sim: cosim.Simulation, bank_xor: bool) -> tuple[dict[str, int], bool]:
    mem = sim.model("dram", "mem", preset="ddr4_2400", bank_xor=bank_xor)
    row_stride = 1024 * 8 * 4 * 4  # row bytes x bank groups x banks: the next row, same bank
    loc = mem.decode(3 * row_stride)
    back = mem.address(**loc)
    return loc, back == 3 * row_stride


def bad_config(sim: cosim.Simulation, **params: Any) -> None:
    sim.model("dram", "mem", **params)


# ------------------------------------------------------------------------- tests


def test_presets_carry_their_jedec_sources() -> None:
    presets = cosim.system.dram.presets()
    assert set(presets) == {"ddr4_2400", "lpddr4_3200", "hbm2", "hbm2_legacy", "hbm3"}
    assert "JESD79-4" in presets["ddr4_2400"]["source"]
    assert "JESD209-4" in presets["lpddr4_3200"]["source"]
    assert "JESD235" in presets["hbm2"]["source"]
    assert "JESD235" in presets["hbm2_legacy"]["source"]
    assert "JESD238" in presets["hbm3"]["source"]
    t = presets["ddr4_2400"]["timing"]
    # JESD79-4 rounding: nCK = floor(t / 0.8333 ns + 0.974).
    assert (t["tRAS"], t["tFAW"], t["tCCD_L"], t["tRFC"], t["tREFI"]) == (39, 26, 6, 420, 9360)
    # Peak: 64-byte burst every 4 clocks of 833 ps.
    assert cosim.system.dram.peak_bandwidth("ddr4_2400", 1) == pytest.approx(64 / (4 * 833e-12))
    assert cosim.system.dram.peak_bandwidth("hbm2", 1) == pytest.approx(16e9)
    assert cosim.system.dram.peak_bandwidth("hbm3", 1) == pytest.approx(25.6e9)
    assert cosim.system.dram.peak_bandwidth("lpddr4_3200", 1) == pytest.approx(6.4e9)


@pytest.mark.parametrize(
    ("preset", "size", "cycles", "tck"),
    [
        ("ddr4_2400", 64, 16 + 16 + 4, 833),  # tRCD + CL + BL8/2
        ("lpddr4_3200", 32, 29 + 28 + 8, 625),  # tRCD + RL + BL16/2
        ("hbm2", 32, 14 + 14 + 2, 1000),  # tRCD + CL + BL4/2
        ("hbm3", 32, 23 + 23 + 2, 625),  # tRCD 14 ns, CL 14 ns at 0.625 ns, BL8/4
    ],
)
def test_idle_read_latency(preset, size, cycles, tck) -> None:
    r = cosim.simulate(read_latencies, preset, [(0, 0, size)], channels=1)
    assert r.value == [cycles * tck]


def test_row_hit_and_row_miss_penalty() -> None:
    ddr = DDR4
    row_bytes = 1024 * 8  # 1024 columns x 8 bytes per rank
    # Mapping ro-ra-ba-co-bg-ch: bursts 64 B, 4 bank groups, 128 bursts per row.
    same_row = 4 * 64  # next column, bank group 0
    other_row = row_bytes * 16  # same bank group/bank, next row
    # Wait a whole number of clocks so the third read arrives on a clock edge.
    plan = [(0, 0, 64), (0, same_row, 64), (120 * DDR4_TCK, other_row, 64)]
    r = cosim.simulate(read_latencies, "ddr4_2400", plan, refresh=False)
    miss, hit, conflict = r.value
    assert miss == (ddr["RCD"] + ddr["CL"] + ddr["BURST"]) * DDR4_TCK
    assert hit == (ddr["CL"] + ddr["BURST"]) * DDR4_TCK
    assert conflict == (ddr["RP"] + ddr["RCD"] + ddr["CL"] + ddr["BURST"]) * DDR4_TCK
    assert conflict - hit == (ddr["RP"] + ddr["RCD"]) * DDR4_TCK  # the row-miss penalty
    stats = r.flat_stats()
    assert (stats["mem.row_hits"], stats["mem.row_misses"], stats["mem.row_conflicts"]) == (1, 1, 1)
    assert (stats["mem.cmd.act"], stats["mem.cmd.pre"], stats["mem.cmd.rd"]) == (2, 1, 3)


def test_closed_page_activates_every_access() -> None:
    plan = [(0, 0, 64), (0, 4 * 64, 64)]
    r = cosim.simulate(read_latencies, "ddr4_2400", plan, refresh=False, page_policy="closed")
    # The second access to the same row finds it closed again (auto-precharge): it pays
    # tRCD, and its ACT waits for tRC after the first (ACT at 0, next ACT at tRC = 55;
    # the request arrives at cycle 36).
    first, second = r.value
    assert first == (16 + 16 + 4) * DDR4_TCK
    assert second == (55 - 36 + 16 + 16 + 4) * DDR4_TCK
    assert r.stat("mem.row_hits") == 0


def test_write_to_read_turnaround() -> None:
    r = cosim.simulate(write_then_read)
    # Non-posted write to a closed bank: ACT, WR after tRCD, data ends CWL + BL/2 later.
    assert r.value["write"] == (16 + 12 + 4) * DDR4_TCK
    # The read (same row, same bank group) must wait tWTR_L after the end of write data.
    assert r.value["read"] == (9 + 16 + 4) * DDR4_TCK
    assert r.value["data"] == bytes(64)  # the other column was never written


def test_bank_level_parallelism() -> None:
    # Four reads to four bank groups overlap their row activations: ACTs tRRD_S apart.
    spread = cosim.simulate(
        concurrent_reads, "ddr4_2400", [(g, 0, 0) for g in range(4)], refresh=False
    )
    assert max(spread.value) == (3 * 4 + 16 + 16 + 4) * DDR4_TCK
    # Four reads to one bank (different rows) serialise on tRC.
    serial = cosim.simulate(
        concurrent_reads, "ddr4_2400", [(0, 0, r) for r in range(4)], refresh=False
    )
    assert max(serial.value) == (3 * 55 + 16 + 16 + 4) * DDR4_TCK
    assert max(serial.value) > 4 * max(spread.value)


def test_tfaw_limits_activates() -> None:
    banks = [(g, b) for b in range(2) for g in range(4)]  # 8 banks, bank groups alternating
    r = cosim.simulate(concurrent_reads, "ddr4_2400", [(g, b, 0) for g, b in banks], refresh=False)
    # ACTs at 0, 4, 8, 12 (tRRD_S), then the fifth waits for tFAW = 26 after the first.
    acts = [0, 4, 8, 12, 26, 30, 34, 38]
    assert sorted(r.value) == [(a + 16 + 16 + 4) * DDR4_TCK for a in acts]
    # Without the four-activate window the fifth ACT would go right after the fourth.
    free = cosim.simulate(
        concurrent_reads, "ddr4_2400", [(g, b, 0) for g, b in banks], refresh=False, tFAW=1
    )
    assert sorted(free.value)[4] < sorted(r.value)[4]


def test_rank_switch_costs_a_data_bus_bubble() -> None:
    # Same rank, two bank groups: ACTs tRRD_S = 4 apart, data back to back.
    assert cosim.simulate(two_reads, (0, 0), (0, 1)).value == [16 + 16 + 4, 4 + 16 + 16 + 4]
    # Two ranks: ACTs one command-bus cycle apart, but the second rank may drive the bus
    # only tRTRS = 2 cycles after the first burst ends: its data ends at 36 + 2 + 4.
    assert cosim.simulate(two_reads, (0, 0), (1, 0)).value == [36, 36 + 2 + 4]


def test_decoupled_python_process_is_synchronised() -> None:
    # With a quantum the process may run ahead, but the DRAM answers at the right time:
    # the same latencies as without decoupling (miss, then three row hits).
    expect = [36 * DDR4_TCK] + [20 * DDR4_TCK] * 3
    assert cosim.simulate(decoupled_reads, 0).value == expect
    assert cosim.simulate(decoupled_reads, 1_000_000).value == expect


def test_lt_traffic_generator_runs_against_the_dram() -> None:
    r = cosim.simulate(lt_traffic)
    assert r.stat("gen.reads") + r.stat("gen.writes") == 500
    assert r.stat("gen.errors") == 0
    assert r.stat("mem.reads") == r.stat("gen.reads")


def test_refresh_blocks_a_read_for_trfc() -> None:
    # A read arriving exactly when the first refresh falls due (tREFI) waits tRFC.
    refi_ps = DDR4["REFI"] * DDR4_TCK
    r = cosim.simulate(read_latencies, "ddr4_2400", [(refi_ps, 0, 64)])
    assert r.value == [(DDR4["RFC"] + 16 + 16 + 4) * DDR4_TCK]
    assert r.stat("mem.cmd.ref") == 1
    no_ref = cosim.simulate(read_latencies, "ddr4_2400", [(refi_ps, 0, 64)], refresh=False)
    assert no_ref.value == [(16 + 16 + 4) * DDR4_TCK]


@pytest.mark.parametrize("preset", ["ddr4_2400", "hbm2"])
def test_streaming_read_reaches_peak_bandwidth(preset) -> None:
    r = cosim.simulate(stream, preset, 20000, refresh=False, channels=1)
    s = r.flat_stats()
    peak = cosim.system.dram.peak_bandwidth(preset, 1)
    assert s["mem.peak_bandwidth"] == pytest.approx(peak)
    # Back-to-back bursts alternating bank groups (tCCD_S = burst): only the first
    # activations and the pipeline fill are lost.
    assert 0.995 * peak <= s["mem.bandwidth"] <= peak
    assert s["mem.row_hit_rate"] > 0.95


def test_refresh_costs_trfc_over_trefi_of_streaming_bandwidth() -> None:
    r = cosim.simulate(stream, "ddr4_2400", 40000)
    s = r.flat_stats()
    peak = cosim.system.dram.peak_bandwidth("ddr4_2400", 1)
    expected = 1 - DDR4["RFC"] / DDR4["REFI"]  # 95.5 %
    assert s["mem.bandwidth"] / peak == pytest.approx(expected, abs=0.01)
    sim_ps = 40000 * 64 / s["mem.bandwidth"] * 1e12
    assert s["mem.cmd.ref"] == int(sim_ps // (DDR4["REFI"] * DDR4_TCK))


def test_two_channels_double_the_bandwidth() -> None:
    one = cosim.simulate(stream, "hbm2", 20000, refresh=False, channels=1).stat("mem.bandwidth")
    two = cosim.simulate(stream, "hbm2", 20000, refresh=False, channels=2).stat("mem.bandwidth")
    assert two == pytest.approx(2 * one, rel=0.01)


def test_random_traffic_misses_rows_and_pays_for_it() -> None:
    r = cosim.simulate(stream, "ddr4_2400", 5000, pattern="random", refresh=False, channels=1)
    s = r.flat_stats()
    assert s["mem.row_hit_rate"] < 0.05
    # Each random access needs its row activated: far below the streaming bandwidth.
    assert s["mem.bandwidth"] < 0.75 * cosim.system.dram.peak_bandwidth("ddr4_2400", 1)
    assert s["mem.cmd.act"] >= 0.95 * 5000


def test_small_queue_backpressure_still_completes_everything() -> None:
    r = cosim.simulate(stream, "ddr4_2400", 3000, outstanding=64, read_queue=4, channels=1)
    assert r.stat("gen.reads") == 3000
    assert r.stat("mem.queue_occupancy.max") <= 4


@pytest.mark.parametrize("preset", ["ddr4_2400", "hbm3"])
def test_reads_return_what_was_written(preset) -> None:
    assert cosim.simulate(functional, preset, 7).value == []


def test_address_mapping_round_trip_and_custom_mapping() -> None:
    addr, loc, next_burst, mapping = cosim.simulate(mapping_of, "").value
    assert addr % 64 == 0
    assert mapping == "ro-ra-ba-co-bg-ch"
    assert loc == {"channel": 0, "rank": 0, "bankgroup": 2, "bank": 3, "row": 77, "column": 5}
    assert next_burst["bankgroup"] == 1  # consecutive bursts alternate bank groups
    _, _, next_burst, _ = cosim.simulate(mapping_of, "ro-ra-bg-ba-co-ch").value
    assert next_burst["column"] == 1 and next_burst["bankgroup"] == 0


def test_bank_xor_spreads_rows_of_one_bank() -> None:
    plain, _ = cosim.simulate(xor_banks, False).value
    xored, round_trip = cosim.simulate(xor_banks, True).value
    assert (plain["row"], plain["bankgroup"], plain["bank"]) == (3, 0, 0)
    # Row 3 = 0b11: bank ^= row & 3, bank group ^= (row >> 2) & 3.
    assert (xored["row"], xored["bankgroup"], xored["bank"]) == (3, 0, 3)
    assert round_trip


def test_access_outside_the_dram_names_address_and_initiator() -> None:
    with pytest.raises(cosim.TlmError) as e:
        cosim.simulate(out_of_range)
    msg = str(e.value)
    assert "outside the DRAM" in msg and "cpu" in msg and e.value.address is not None
    assert hex(e.value.address) in msg


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"mapping": "ro-ba-co-ch"}, "mapping"),
        ({"mapping": "ro-ra-ba-co-bg-xx"}, "unknown field 'xx'"),
        ({"channels": 3}, "channels = 3 must be a power of two"),
        ({"page_policy": "sometimes"}, "page_policy"),
        ({"read_queue": 0}, "read_queue"),
        ({"write_queue": 8, "write_high": 16}, "write_high"),
    ],
)
def test_bad_configuration_names_the_parameter(params: Any, words) -> None:
    with pytest.raises(cosim.ParameterError, match=words):
        cosim.simulate(bad_config, **params)
