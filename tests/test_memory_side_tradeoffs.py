"""The memory-side trade-offs scenario (scenarios/memory_side_tradeoffs.py) end to end at
reduced size: it follows the scenario contract, passes its golden checks, its figures
behave as the mechanisms say they must, and run as a script it prints the same metrics
for the same seed (JSON on the last line)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cosim.scenario import Outcome, load_script

SCRIPT = Path(__file__).resolve().parents[1] / "scenarios" / "memory_side_tradeoffs.py"
SMALL = {"m": 256, "n": 512, "small": 128, "reram_rows": 32, "reram_inputs": 4}
SETS = [arg for k, v in SMALL.items() for arg in ("--set", f"{k}={v}")]


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def outcome() -> Outcome:
    s = load_script(SCRIPT)
    return s.simulate(s.configure(SMALL, seed=3), timeout=300)


@pytest.mark.slow
def test_reduced_run_passes_and_its_figures_hold_together(outcome: Outcome) -> None:
    m = outcome.metrics
    assert m["golden_ok"] is True
    assert "exact ADC -> OK" in outcome.report and "energy by component" in outcome.report

    reram = outcome.extras["reram"]
    sweep = reram["sweep"]
    assert [r["adc_bits"] for r in sweep] == list(range(reram["exact_adc_bits"], 3, -1))
    assert sweep[0]["mean_abs_error"] == 0.0  # enough ADC bits: exact
    for a, b in itertools.pairwise(sweep):  # fewer bits: more error, less energy
        assert a["mean_abs_error"] < b["mean_abs_error"]
        assert a["energy_pj_per_mvm"] > b["energy_pj_per_mvm"]
    assert reram["nonideal"]["mean_abs_error"] > 0
    assert m["reram_energy_pj_exact"] == sweep[0]["energy_pj_per_mvm"]

    gemv = outcome.extras["gemv"]
    assert [(g["m"], g["n"], g["dtype"]) for g in gemv] == [
        (256, 512, "int8"),
        (256, 512, "fp16"),
        (128, 128, "int8"),
    ]
    main = gemv[0]
    tck = outcome.extras["system"]["tck_ps"]
    assert m["cycles"] == round(main["ndp"]["time_ps"] / tck)
    assert m["baseline_cycles"] == round(main["host"]["time_ps"] / tck)
    assert m["energy_pj"] == main["ndp"]["energy_pj"]
    assert m["baseline_dram_bytes"] == 256 * 512  # the host streams all of A
    assert m["dram_bytes"] < m["baseline_dram_bytes"] / 10  # near-data: x and y only
    for g in gemv:
        assert g["golden_ok"] and g["ndp"]["kernel_time_ps"] < g["ndp"]["time_ps"]
        # A stays in the stack on the near-data path: it uses less of the interface
        assert g["ndp"]["external_bandwidth"] < g["host"]["external_bandwidth"]
        assert g["ndp"]["internal_bandwidth"] > g["ndp"]["external_bandwidth"]
    peak_in = outcome.extras["system"]["peak_internal_bandwidth"]
    peak_out = outcome.extras["system"]["peak_external_bandwidth"]
    assert peak_out < m["ndp_internal_bandwidth"] <= peak_in
    breakdown = outcome.extras["energy_breakdown_pj"]
    assert breakdown["ndp"] > 0.5 * sum(breakdown.values())
    assert set(outcome.extras["baseline_energy_breakdown_pj"]) == {"dram", "fabric", "host"}


@pytest.mark.slow
def test_script_prints_the_same_metrics_for_the_same_seed(outcome: Outcome) -> None:
    r = run_script(*SETS, "--seed", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    metrics: dict[str, Any] = json.loads(lines[-1])
    assert metrics == outcome.metrics
    assert any("near-data vs host GEMV" in line for line in lines)


def test_script_rejects_a_size_out_of_range() -> None:
    r = run_script("--set", "n=2048")
    assert r.returncode == 2 and r.stdout == ""
    assert "parameter 'n' = 2048 is out of range; allowed 1 .. 1024" in r.stderr


def test_reram_tradeoff_depends_on_the_seed_only() -> None:
    s = load_script(SCRIPT)
    mod = sys.modules[s.run_function.__module__]

    def run(seed: int) -> dict[str, Any]:
        return mod.reram_tradeoff(np.random.default_rng(seed), seed, 16, 2, 6)

    assert run(5) == run(5)
    assert run(6)["nonideal"] != run(5)["nonideal"]
