"""What one `cosim.simulate` costs besides the simulation: a worker forked from the warm
template (the default) against a fresh interpreter per simulation (the cold path,
$COSIM_WARM_WORKERS=0), measured side by side in this run.

    .venv/bin/python bench/simulate_overhead.py [--runs 40]

The simulated function (bench/harness/tiny_simulation.py, a module as a sweep's run
function is) builds a memory and one Python process doing one write, so the figure is
start-up, job hand-over and result return. The template is started (and its
start-up timed) before the warm runs; cold and warm runs alternate in rounds so that
drifting background load weighs on both; each figure is the median. The target is
simulate_overhead_s < 0.05. The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cosim

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))
from tiny_simulation import tiny


def one(warm: bool) -> float:
    os.environ[cosim.runner.WARM_ENV] = "1" if warm else "0"
    t0 = time.perf_counter()
    cosim.simulate(tiny)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=40, help="simulations of each kind")
    ap.add_argument("--quick", action="store_true", help="5 simulations of each kind (tests)")
    args = ap.parse_args()
    if args.quick:
        args.runs = 5
    t0 = time.perf_counter()
    one(warm=True)  # starts the template
    template_start = time.perf_counter() - t0
    warm: list[float] = []
    cold: list[float] = []
    rounds = max(1, args.runs // 5)
    for _ in range(rounds):
        warm += [one(warm=True) for _ in range(5)]
        cold += [one(warm=False) for _ in range(5)]
    os.environ.pop(cosim.runner.WARM_ENV, None)
    figures = {
        "simulate_overhead_s": round(statistics.median(warm), 4),
        "cold_simulate_overhead_s": round(statistics.median(cold), 4),
        "speedup": round(statistics.median(cold) / statistics.median(warm), 1),
        "warm_p90_s": round(sorted(warm)[int(0.9 * len(warm))], 4),
        "template_start_s": round(template_start, 3),
        "runs": len(warm),
        "target_s": 0.05,
        "quick": args.quick,
    }
    print(
        f"per cosim.simulate: warm {figures['simulate_overhead_s'] * 1e3:.1f} ms, "
        f"cold {figures['cold_simulate_overhead_s'] * 1e3:.1f} ms "
        f"({figures['speedup']}x); template start {template_start:.2f} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
