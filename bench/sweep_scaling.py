"""Parallel efficiency of a sweep: the same 16 points on 1 and on 2 local workers.

    .venv/bin/python bench/sweep_scaling.py [--quick] [--points 16] [--passes 2500]

efficiency = wall(1 worker) / (2 x wall(2 workers)), both measured in this run (in the
order 1, 2, 2, 1 workers, averaged, so that drifting background load weighs on both);
the target on a 2-core machine is at least 0.8. Each point is one run of the stream_fill
fixture scenario (tests/scenarios/: C++ traffic generators filling DRAM, no Python in
the simulated loop) in its own worker process, stored in a fresh results store, exactly
as `cosim sweep` does. The points differ in `passes` by one, so they are distinct points
of practically equal work. --quick makes the points short (the figure is then dominated
by worker start-up and is not the one to quote). The same ratio for plain CPU-bound
processes is measured before and after (the lower is reported): on a machine shared
with other work it shows how much parallelism there was to have.

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cosim.scenario import load_script
from cosim.studies import ResultStore, expand_grid, parse_grid, run_sweep

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "scenarios" / "stream_fill.py"


def sweep_wall(points: int, passes: int, workers: int) -> tuple[float, list[float]]:
    """Wall time of the sweep and the wall time of each of its points."""
    scenario = load_script(FIXTURE)
    grid = [f"passes={','.join(str(passes + i) for i in range(points))}"]
    configs = expand_grid(scenario, parse_grid(scenario, grid))
    with tempfile.TemporaryDirectory(prefix="cosim-bench-") as out:
        t0 = time.perf_counter()
        summary = run_sweep(scenario, configs, out, workers=workers, progress=False)
        wall = time.perf_counter() - t0
        if not summary.complete:
            raise SystemExit(f"the sweep on {workers} worker(s) did not complete: {summary.line()}")
        with ResultStore(out) as store:
            point_walls = [r.wall_s for r in store.records()]
    return wall, point_walls


SPIN = "x = 0\nfor i in range({n}): x += i\n"


def machine_efficiency(n: int) -> float:
    """The same ratio for plain CPU-bound processes: one alone vs two side by side. On a
    machine shared with other work this is below 1 too, and bounds the sweep's figure."""

    def wall(copies: int) -> float:
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", SPIN.format(n=n)]) for _ in range(copies)]
        for p in procs:
            p.wait()
        return time.perf_counter() - t0

    return wall(1) / wall(2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short points (checks it runs)")
    ap.add_argument("--points", type=int, default=16, help="points in the sweep")
    ap.add_argument("--passes", type=int, help="work per point (default 2500, quick 100)")
    args = ap.parse_args()
    passes = args.passes or (100 if args.quick else 2500)
    if args.points < 2 or passes < 1:
        ap.error("--points must be >= 2 and --passes >= 1")
    machine_before = machine_efficiency(3_000_000 if args.quick else 20_000_000)
    # 1, 2, 2, 1 workers: load from other work that drifts during the run weighs on both
    # sides alike (quick mode: 1, 2).
    walls: dict[int, list[float]] = {1: [], 2: []}
    point_walls: dict[int, list[float]] = {1: [], 2: []}
    for workers in (1, 2) if args.quick else (1, 2, 2, 1):
        wall, points = sweep_wall(args.points, passes, workers)
        walls[workers].append(wall)
        point_walls[workers] += points
    wall_1, wall_2 = statistics.mean(walls[1]), statistics.mean(walls[2])
    points_1, points_2 = point_walls[1], point_walls[2]
    machine_after = machine_efficiency(3_000_000 if args.quick else 20_000_000)
    efficiency = wall_1 / (2 * wall_2)
    figures = {
        "quick": args.quick,
        "points": args.points,
        "passes": passes,
        "cpus": os.cpu_count(),
        "wall_1_worker_s": round(wall_1, 3),
        "wall_2_workers_s": round(wall_2, 3),
        "sweeps_per_worker_count": len(walls[1]),
        "point_wall_s_median_1_worker": round(statistics.median(points_1), 3),
        "point_wall_s_median_2_workers": round(statistics.median(points_2), 3),
        "speedup": round(wall_1 / wall_2, 3),
        "parallel_efficiency": round(efficiency, 3),
        "target_efficiency": 0.8,
        "machine_parallel_efficiency": round(min(machine_before, machine_after), 3),
    }
    print(
        f"sweep of {args.points} points: {wall_1:.2f} s on 1 worker, {wall_2:.2f} s on 2 "
        f"workers: speedup {wall_1 / wall_2:.2f}, parallel efficiency {efficiency:.2f} "
        f"(target >= 0.8); plain CPU-bound processes on this machine: "
        f"{min(machine_before, machine_after):.2f}"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
