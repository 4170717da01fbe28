"""Trace replay, traffic patterns and the statistics a DRAM user reads.

Expected times are written out from the DDR4-2400 preset's JEDEC timings (JESD79-4,
read from cosim.system.dram.preset_info): a read to a closed bank takes tRCD + CL + burst
clocks, a row hit CL + burst.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cosim

T = cosim.system.dram.preset_info("ddr4_2400")["timing"]
TCK = T["tCK_ps"]
MISS = T["tRCD"] + T["tCL"] + T["burst_cycles"]
HIT = T["tCL"] + T["burst_cycles"]
SAME_ROW = 64 * 4  # mapping ro-ra-ba-co-bg-ch: the next column of bank group 0, same row

# --------------------------------------------------------------- simulations (workers)


def replay(sim: cosim.Simulation, path: str, **params: Any) -> dict[str, float]:
    mem = sim.model("dram", "mem", preset="ddr4_2400", channels=1, refresh=False)
    tp = sim.model("trace_player", "tp", file=path, cycle=TCK, **params)
    sim.bind(tp, mem)
    sim.run()
    return sim.stats.flat()


def build_player(sim: cosim.Simulation, path: str, **params: Any) -> None:
    sim.model("trace_player", "tp", file=path, **params)


def generate(
    sim: cosim.Simulation, count: int, mem_params: dict[str, Any] | None = None, **params: Any
) -> dict[str, Any]:
    mem = sim.model(
        "dram", "mem", preset="ddr4_2400", channels=1, refresh=False, **(mem_params or {})
    )
    gen = sim.model("at_traffic_gen", "gen", count=count, span=1 << 20, **params)
    sim.bind(gen, mem)
    sim.run()
    return {
        "stats": sim.stats.flat(),
        "series": mem.bandwidth_series(),
        "banks": mem.bank_commands(),
    }


def two_hbm2_reads(sim: cosim.Simulation) -> dict[str, float]:
    """Two 64-byte reads of one HBM2 row; both bursts of a request in one channel."""
    mem = sim.model("dram", "mem", preset="hbm2", channels=1, mapping="ro-ra-ba-bg-ch-co")
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)

    @sim.process
    async def driver() -> None:
        await cpu.read(0, 64)
        await cpu.read(64, 64)

    sim.run()
    return sim.stats.flat()


def big_requests(sim: cosim.Simulation) -> dict[str, float]:
    """256-byte requests (four DDR4 bursts) into a read queue of two requests."""
    mem = sim.model("dram", "mem", preset="ddr4_2400", channels=1, read_queue=2)
    gen = sim.model("at_traffic_gen", "gen", count=200, size=256, outstanding=8)
    sim.bind(gen, mem)
    sim.run()
    return sim.stats.flat()


def trace(tmp_path: Path, lines: list[str], name: str = "t.trc") -> str:
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n")
    return str(f)


# ------------------------------------------------------------------ trace player


def test_closed_loop_replay_issues_each_request_at_the_previous_response(tmp_path: Path) -> None:
    path = trace(tmp_path, ["# one row", *[f"{hex(i * SAME_ROW)} READ {i}" for i in range(4)]])
    s = cosim.simulate(replay, path, mode="closed", outstanding=1).value
    assert (s["tp.reads"], s["tp.writes"], s["tp.bytes"]) == (4, 0, 256)
    # One request in flight: a row miss, then three row hits back to back.
    assert s["tp.finish_time"] == (MISS + 3 * HIT) * TCK
    assert (s["mem.row_misses"], s["mem.row_hits"]) == (1, 3)


def test_open_loop_replay_issues_at_the_trace_times(tmp_path: Path) -> None:
    lines = [f"{hex(i * SAME_ROW)} READ {100 * i}" for i in range(4)]
    s = cosim.simulate(replay, trace(tmp_path, lines), mode="open").value
    # Requests at cycles 0, 100, 200, 300; the last is a row hit.
    assert s["tp.finish_time"] == (300 + HIT) * TCK
    assert s["tp.issue_lateness.max"] == 0
    # Closed loop ignores the times: the same trace finishes far earlier.
    closed = cosim.simulate(replay, trace(tmp_path, lines), mode="closed").value
    assert closed["tp.finish_time"] < 100 * TCK


def test_open_loop_waits_for_a_free_slot_and_says_how_late(tmp_path: Path) -> None:
    lines = [f"{hex(i * SAME_ROW)} READ 0" for i in range(3)]
    s = cosim.simulate(replay, trace(tmp_path, lines), mode="open", outstanding=1).value
    assert s["tp.finish_time"] == (MISS + 2 * HIT) * TCK
    # The third request went out two responses after its time.
    assert s["tp.issue_lateness.max"] == pytest.approx((MISS + HIT) * TCK / 1000)


def test_ramulator_trace_replays_reads_and_writes(tmp_path: Path) -> None:
    path = trace(tmp_path, ["0x0 R", "0x100 W", "0x200 R", "0x300 W"])
    s = cosim.simulate(replay, path, format="ramulator").value
    assert (s["tp.reads"], s["tp.writes"]) == (2, 2)
    assert (s["mem.reads"], s["mem.writes"]) == (2, 2)


@pytest.mark.parametrize(
    ("fmt", "lines", "line", "words"),
    [
        (
            "dramsim3",
            ["0x0 READ 0", "0x40 FETCH 5"],
            2,
            "the operation 'FETCH' is not READ or WRITE",
        ),
        ("dramsim3", ["0x0 READ 0", "0x40 READ"], 2, "the cycle is missing"),
        ("dramsim3", ["0x0 READ 9", "0x40 READ 5"], 2, "cycle 5 is earlier than"),
        ("dramsim3", ["# c", "0xZZ READ 1"], 2, "the address '0xZZ' is not a number"),
        ("ramulator", ["0x0 R", "0x40 W 7"], 2, "a third field '7'"),
        ("ramulator", ["0x0 READ"], 1, "'<address> <R|W>'"),
    ],
)
def test_malformed_trace_line_is_refused_before_simulating(
    tmp_path: Path, fmt: str, lines: list[str], line: int, words: str
) -> None:
    path = trace(tmp_path, lines)
    with pytest.raises(cosim.ParameterError) as e:
        cosim.simulate(build_player, path, format=fmt)
    msg = str(e.value)
    assert f"{path}:{line}: expected" in msg and words in msg and "\n" not in msg


def test_missing_or_empty_trace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(cosim.ParameterError, match="cannot read the trace"):
        cosim.simulate(build_player, str(tmp_path / "none.trc"))
    with pytest.raises(cosim.ParameterError, match="holds no request"):
        cosim.simulate(build_player, trace(tmp_path, ["# nothing"]))
    with pytest.raises(cosim.ParameterError, match="names no trace"):
        cosim.simulate(build_player, "")


# ------------------------------------------------------------------ traffic pattern


def test_rw_pattern_gives_an_exact_read_write_mix() -> None:
    s = cosim.simulate(generate, 9, rw_pattern="RRW").value["stats"]
    assert (s["gen.reads"], s["gen.writes"]) == (6, 3)
    with pytest.raises(cosim.ParameterError, match="rw_pattern 'RX' may hold only R and W"):
        cosim.simulate(generate, 9, rw_pattern="RX")


# ------------------------------------------------------------------ statistics


def test_row_hit_rate_per_request_and_per_burst() -> None:
    s = cosim.simulate(two_hbm2_reads).value
    # Request 1: ACT then two bursts (the first a miss, the second a hit); request 2: two
    # hits. Per burst 3 of 4 hit; per request only the second was all hits.
    assert (s["mem.row_misses"], s["mem.row_hits"]) == (1, 3)
    assert s["mem.row_hit_rate"] == pytest.approx(3 / 4)
    assert (s["mem.requests_scheduled"], s["mem.request_row_hits"]) == (2, 1)
    assert s["mem.request_row_hit_rate"] == pytest.approx(1 / 2)
    sm = cosim.system.dram.summary(s, "mem")
    assert (sm["row_hit_rate"], sm["request_row_hit_rate"]) == pytest.approx((3 / 4, 1 / 2))
    act_pj = cosim.system.dram.preset_info("hbm2")["energy"]["act_pj"]
    assert sm["energy_pj_act"] == pytest.approx(act_pj) and sm["cmd_act"] == 1


def test_queue_depth_counts_requests() -> None:
    s = cosim.simulate(big_requests).value
    assert s["gen.reads"] == 200
    # Two four-burst requests share the queue of two requests (eight bursts in all): a
    # request arriving sees at most one queued.
    assert s["mem.queue_occupancy.max"] == 1


def test_read_latency_from_issue_and_from_acceptance() -> None:
    s = cosim.simulate(generate, 2000, {"read_queue": 4}, outstanding=64).value["stats"]
    # Requests wait outside the controller for room: issue latency includes that wait.
    assert s["mem.read_latency_accepted.mean"] <= s["mem.read_latency.mean"]
    assert s["mem.read_latency_accepted.count"] == s["mem.read_latency.count"] == 2000


def test_bandwidth_series_adds_up_to_the_bytes_moved() -> None:
    r = cosim.simulate(generate, 5000, {"bandwidth_window": 100_000}).value
    s, series = r["stats"], r["series"]
    window_s = 100_000e-12
    assert sum(b * window_s for b in series) == pytest.approx(5000 * 64)
    assert max(series) == pytest.approx(s["mem.bandwidth_window_peak"])
    # A request counts whole in the window of its completion: at most one request's
    # bytes above the data bus's peak in any window.
    assert max(series) <= s["mem.peak_bandwidth"] + 64 / window_s


def test_bank_command_counts_add_up_to_the_command_counts() -> None:
    r = cosim.simulate(generate, 3000, pattern="random").value
    s, banks = r["stats"], r["banks"]
    for cmd in ("act", "rd"):
        per_bank = banks[cmd][0][0]  # channel 0, rank 0
        assert len(per_bank) == 16 and sum(per_bank) == s[f"mem.cmd.{cmd}"]
    # Random addresses spread the activations over every bank.
    assert min(banks["act"][0][0]) > 0
    assert banks["ref"] == [[0]]
