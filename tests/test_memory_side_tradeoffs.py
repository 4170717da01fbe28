"""The memory-side trade-offs example (scenarios/memory_side_tradeoffs.py) end to end at
reduced size: its golden checks pass, its table and JSON line carry the figures, and the
figures behave as the mechanisms say they must."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
import memory_side_tradeoffs


@pytest.mark.slow
def test_memory_side_tradeoffs_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert memory_side_tradeoffs.main(["--quick", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    s = json.loads(out.strip().splitlines()[-1])
    assert s["golden_ok"] is True and s["quick"] is True and s["seed"] == 3
    assert "exact ADC -> OK" in out and "near-data" in out and "energy by component" in out

    sweep = s["reram"]["sweep"]
    assert [r["adc_bits"] for r in sweep] == list(range(s["reram"]["exact_adc_bits"], 3, -1))
    assert sweep[0]["mean_abs_error"] == 0.0
    # fewer ADC bits: more error, less energy (ADC energy halves per bit)
    for a, b in itertools.pairwise(sweep):
        assert a["mean_abs_error"] < b["mean_abs_error"]
        assert a["energy_pj_per_mvm"] > b["energy_pj_per_mvm"]
    assert s["reram"]["nonideal"]["mean_abs_error"] > 0

    assert [(g["m"], g["n"], g["dtype"]) for g in s["gemv"]] == [
        tuple(x) for x in memory_side_tradeoffs.QUICK_GEMV_SIZES
    ]
    for g in s["gemv"]:
        assert g["speedup"] == pytest.approx(g["host_time_ps"] / g["ndp_time_ps"])
        assert g["energy_ratio"] == pytest.approx(g["host_energy_pj"] / g["ndp_energy_pj"])
        assert g["ndp_kernel_ps"] < g["ndp_time_ps"]
        # the units move far more data inside the stack than over its interface
        assert g["ndp_internal_bw"] > 5 * g["ndp_external_bw"]


def test_same_seed_same_figures() -> None:
    a = memory_side_tradeoffs.reram_tradeoff(5, (16, 128), 2)
    b = memory_side_tradeoffs.reram_tradeoff(5, (16, 128), 2)
    assert a == b
    assert memory_side_tradeoffs.reram_tradeoff(6, (16, 128), 2)["nonideal"] != a["nonideal"]
