"""Host-time cost of the DRAM model: simulated requests per second of wall time.

    .venv/bin/python bench/dram_model.py [--count N] [--repeat R] [--quick]

For streaming (sequential) and random reads of 64-byte requests with 32 in flight, it
measures, in the same run:
  - model:    the SystemC 'dram' model driven by the C++ AT traffic generator
              (at_traffic_gen -> dram, no Python in the loop), wall time of sim.run();
  - baseline: the same timing engine and traffic in a C++-only loop, without SystemC or
              TLM (cosim._core.dram_baseline).
Both simulate the same requests on one DDR4-2400 channel (the simulated times are
printed side by side as a check). Then the same random reads replayed from a DRAMsim3
trace file by the C++ trace_player (closed loop, 32 in flight; reading the trace counts),
and, per preset, the streaming bandwidth as a share of the channel's peak and the idle
read latency (one burst to a closed bank).

The last line printed is one JSON object: `dram_requests_per_s` is the model's
streaming rate (target: at least 2 M requests/s), `dram_requests_per_s_random` the
random rate (target: at least 3 M requests/s, and as fast as streaming) and
`trace_replay_requests_per_s` the trace player's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The simulation is single-threaded; keep numpy's BLAS threads from competing for the
# (shared, 2-core) machine in this process and its workers.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cosim
from cosim import _core

PRESET = "ddr4_2400"
OUTSTANDING = 32
SIZE = 64
SPAN = 1 << 26
TARGET = 2e6
TARGET_RANDOM = 3e6


def model_run(sim: cosim.Simulation, preset: str, pattern: str, count: int) -> dict[str, float]:
    """Worker: at_traffic_gen -> dram, one channel; returns wall seconds and sim time."""
    mem = sim.model("dram", "mem", preset=preset, channels=1)
    gen = sim.model(
        "at_traffic_gen",
        "gen",
        count=count,
        outstanding=OUTSTANDING,
        size=SIZE,
        pattern=pattern,
        span=SPAN,
        read_fraction=1.0,
    )
    sim.bind(gen, mem)
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "sim_ps": int(sim.stats["gen.finish_time"])}


def trace_run(sim: cosim.Simulation, path: str, count: int) -> dict[str, float]:
    """Worker: trace_player (closed loop) -> dram, one channel; wall time of reading the
    trace and replaying it."""
    t0 = time.perf_counter()
    mem = sim.model("dram", "mem", preset=PRESET, channels=1)
    tp = sim.model("trace_player", "tp", file=path, outstanding=OUTSTANDING, size=SIZE)
    sim.bind(tp, mem)
    sim.run()
    wall = time.perf_counter() - t0
    assert sim.stats["tp.reads"] == count
    return {"wall_s": wall, "sim_ps": int(sim.stats["tp.finish_time"])}


def write_trace(path: Path, count: int, seed: int = 1) -> None:
    """A DRAMsim3 trace of `count` random 64-byte reads in [0, SPAN), one per cycle."""
    import numpy as np

    slots = np.random.default_rng(seed).integers(0, SPAN // SIZE, count) * SIZE
    path.write_text("".join(f"{hex(int(a))} READ {i}\n" for i, a in enumerate(slots)))


def idle_latency(sim: cosim.Simulation, preset: str) -> int:
    """Worker: one read of one burst from an idle memory (closed bank)."""
    mem = sim.model("dram", "mem", preset=preset, channels=1)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    out = {}

    @sim.process
    async def driver() -> None:
        t0 = cosim.now()
        await cpu.read(0, mem.burst_bytes)
        out["ps"] = cosim.now() - t0

    sim.run()
    return out["ps"]


def stream_bandwidth(
    sim: cosim.Simulation, preset: str, pattern: str, count: int
) -> dict[str, float]:
    """Worker: bandwidth of `count` reads on one channel, as a share of its peak."""
    mem = sim.model("dram", "mem", preset=preset, channels=1)
    gen = sim.model(
        "at_traffic_gen",
        "gen",
        count=count,
        outstanding=OUTSTANDING,
        size=SIZE,
        pattern=pattern,
        span=SPAN,
    )
    sim.bind(gen, mem)
    sim.run()
    s = sim.stats.flat()
    return {
        "pct": 100.0 * s["mem.bandwidth"] / s["mem.peak_bandwidth"],
        "row_hit_rate": s["mem.row_hit_rate"],
        "peak": s["mem.peak_bandwidth"],
    }


def best_of(repeat: int, fn: Callable[[], dict[str, float]]) -> dict[str, float]:
    runs = [fn() for _ in range(repeat)]
    return min(runs, key=lambda r: r["wall_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=300_000, help="requests per throughput run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    ap.add_argument(
        "--quick", action="store_true", help="small counts (a smoke test, not a measurement)"
    )
    args = ap.parse_args()
    if args.count < 1 or args.repeat < 1:
        ap.error("--count and --repeat must be >= 1")
    stream_count, random_count = 50_000, 20_000
    if args.quick:
        args.count, args.repeat = 20_000, 1
        stream_count, random_count = 5_000, 2_000
    env = {"OPENBLAS_NUM_THREADS": "1"}

    rates = {}
    print(
        f"DRAM model throughput: {PRESET}, one channel, {SIZE}-byte reads, "
        f"{OUTSTANDING} in flight, {args.count} requests, best of {args.repeat}"
    )
    print(
        f"{'pattern':<12}{'model req/s':>14}{'baseline req/s':>16}{'model/baseline':>16}"
        f"{'sim time (model)':>19}{'sim time (base)':>18}"
    )
    for pattern in ("sequential", "random"):
        m = best_of(
            args.repeat,
            lambda p=pattern: cosim.simulate(model_run, PRESET, p, args.count, env=env).value,
        )
        b = best_of(
            args.repeat,
            lambda p=pattern: dict(
                _core.dram_baseline(PRESET, args.count, p, OUTSTANDING, SIZE, SPAN, 1, 1)
            ),
        )
        mr, br = args.count / m["wall_s"], args.count / b["wall_s"]
        rates[pattern] = (mr, br)
        print(
            f"{pattern:<12}{mr:>14,.0f}{br:>16,.0f}{mr / br:>16.2f}"
            f"{cosim.fmt_time(m['sim_ps']):>19}{cosim.fmt_time(int(b['sim_ps'])):>18}"
        )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.trc"
        write_trace(path, args.count)
        tr = best_of(
            args.repeat,
            lambda: cosim.simulate(trace_run, str(path), args.count, env=env).value,
        )
    trace_rate = args.count / tr["wall_s"]
    print(
        f"{'trace':<12}{trace_rate:>14,.0f}{'':>16}{'':>16}{cosim.fmt_time(tr['sim_ps']):>19}"
        "   (DRAMsim3 trace of the random reads, closed loop)"
    )

    presets = {}
    print()
    print(
        f"{'preset':<14}{'peak GB/s':>10}{'stream % of peak':>18}{'random % of peak':>18}"
        f"{'idle read ns':>14}"
    )
    for name in cosim.system.dram.presets():
        st = cosim.simulate(stream_bandwidth, name, "sequential", stream_count, env=env).value
        rnd = cosim.simulate(stream_bandwidth, name, "random", random_count, env=env).value
        idle = cosim.simulate(idle_latency, name, env=env).value
        presets[name] = {
            "peak_GBps": round(st["peak"] / 1e9, 3),
            "stream_bw_pct_of_peak": round(st["pct"], 2),
            "random_bw_pct_of_peak": round(rnd["pct"], 2),
            "idle_read_latency_ns": round(idle / 1000.0, 3),
        }
        p = presets[name]
        print(
            f"{name:<14}{p['peak_GBps']:>10.2f}{p['stream_bw_pct_of_peak']:>18.2f}"
            f"{p['random_bw_pct_of_peak']:>18.2f}{p['idle_read_latency_ns']:>14.3f}"
        )

    seq_model, seq_base = rates["sequential"]
    rnd_model, rnd_base = rates["random"]
    result = {
        "dram_requests_per_s": round(seq_model),
        "dram_requests_per_s_random": round(rnd_model),
        "baseline_requests_per_s": round(seq_base),
        "baseline_requests_per_s_random": round(rnd_base),
        "model_vs_baseline": round(seq_model / seq_base, 3),
        "model_vs_baseline_random": round(rnd_model / rnd_base, 3),
        "random_vs_streaming": round(rnd_model / seq_model, 3),
        "trace_replay_requests_per_s": round(trace_rate),
        "target_requests_per_s": TARGET,
        "meets_target": seq_model >= TARGET,
        "target_requests_per_s_random": TARGET_RANDOM,
        "meets_target_random": rnd_model >= TARGET_RANDOM and rnd_model >= seq_model,
        "quick": args.quick,
        "presets": presets,
    }
    print()
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
