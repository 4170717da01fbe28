"""scenarios/sprint.py end to end at reduced size: SPRINT and dense attention in one run,
every mask, filter entry and output checked; the engines swapped between their twins
(identical results, TLM timing error against the RTL measured); a sequence longer than
the buffer (where the fetch filter saves DRAM traffic); non-ideal ReRAM; bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest

import cosim
from cosim.scenario import load_script

SCRIPT = Path(__file__).resolve().parents[3] / "scenarios" / "sprint.py"


@pytest.fixture(scope="module")
def scenario():
    return load_script(SCRIPT)


@pytest.mark.slow
def test_sprint_against_dense_at_reduced_size(scenario):
    out = scenario.simulate(scenario.configure({"seq_len": 64, "sweep": False}))
    m = out.metrics
    assert m["golden_ok"], out.report
    # pruning: about `keep` of the pairs, far fewer engine cycles
    assert 0.1 < m["keep_fraction"] < 0.3
    assert m["pairs"] < 0.35 * m["baseline_pairs"]
    assert m["speedup"] > 2 and m["energy_ratio"] > 1
    # K/V fit the buffer: both fetch each record at most once
    assert m["kv_fetched"] <= m["baseline_kv_fetched"] == 64
    # the fraction is against what dense fetched, not against L^2 pairs
    assert m["kv_fetch_fraction"] == m["kv_fetched"] / 64 and m["kv_fetch_fraction"] > 0.5
    assert m["filter_hit_rate"] > 0.5
    assert m["output_error"] < 0.1 and m["dense_output_error"] < m["output_error"]
    assert m["reram_energy_pj"] > 0
    assert "accuracy sweep" not in out.report and "golden: masks = crossbar twin" in out.report


@pytest.mark.slow
def test_engine_twins_agree_and_tlm_timing_error(scenario, capsys):
    params = {"seq_len": 48, "d": 32, "sweep": False, "buffer_kib": 2}
    runs = {
        impl: scenario.simulate(
            scenario.configure(params, {"recompute": impl, "filter": impl})
        ).metrics
        for impl in ("functional", "tlm", "rtl")
    }
    for impl, m in runs.items():
        assert m["golden_ok"], impl
    keys = ("pairs", "kv_fetched", "output_error", "dense_output_error", "filter_hit_rate")
    assert len({tuple(m[k] for k in keys) for m in runs.values()}) == 1
    errors = []
    for which in ("cycles", "baseline_cycles"):
        rtl_c, tlm_c = runs["rtl"][which], runs["tlm"][which]
        errors.append((which, rtl_c, tlm_c, (tlm_c - rtl_c) / rtl_c))
    with capsys.disabled():
        print(
            "\n  SPRINT scenario L=48 d=32: "
            + "; ".join(f"{w}: RTL {r}, TLM {t} ({e:+.1%})" for w, r, t, e in errors)
            + f"; functional {runs['functional']['cycles']}"
        )
    assert all(abs(e) < 0.10 for *_, e in errors)


@pytest.mark.slow
def test_longer_than_the_buffer_the_filter_saves_traffic(scenario):
    out = scenario.simulate(
        scenario.configure({"seq_len": 128, "d": 32, "buffer_kib": 2, "sweep": False})
    )
    m = out.metrics
    assert m["golden_ok"]
    assert m["baseline_kv_fetched"] > 20 * 128  # dense refetches: 32 slots for 128 keys
    assert m["kv_fetch_fraction"] == m["kv_fetched"] / m["baseline_kv_fetched"]
    assert m["kv_fetch_fraction"] < 0.5 and m["dram_bytes"] < m["baseline_dram_bytes"]
    assert m["energy_ratio"] > 1.5


@pytest.mark.slow
def test_dense_baseline_is_query_tiled(scenario):
    """Dense attention fetches a K/V batch once per tile of queries: a tile of 4 fetches
    a quarter of the records one query at a time does, computes the same outputs, and
    leaves SPRINT's run alone."""
    params = {"seq_len": 128, "d": 32, "buffer_kib": 2, "sweep": False}
    runs = {t: scenario.simulate(scenario.configure({**params, "dense_tile": t})) for t in (1, 4)}
    one, four = runs[1].metrics, runs[4].metrics
    assert one["golden_ok"] and four["golden_ok"]
    assert four["baseline_kv_fetched"] * 4 == one["baseline_kv_fetched"] == 128 * 128
    assert four["baseline_dram_bytes"] < one["baseline_dram_bytes"] / 3
    assert four["baseline_pairs"] == one["baseline_pairs"] == 128 * 128
    assert four["dense_output_error"] == one["dense_output_error"]
    for key in ("cycles", "kv_fetched", "energy_pj"):
        assert four[key] == one[key], key
    assert four["baseline_energy_pj"] < one["baseline_energy_pj"]


@pytest.mark.slow
def test_non_ideal_arrays_still_match_their_twin(scenario):
    out = scenario.simulate(
        scenario.configure(
            {"seq_len": 32, "sigma_d2d": 0.1, "sigma_read": 0.1, "sigma_cmp": 3.0, "sweep": True}
        )
    )
    assert out.metrics["golden_ok"]
    sweep = out.extras["sweep"]
    assert {r["devices"] for r in sweep} >= {"ideal", "all of these"}
    assert len(sweep) == 3 * len({r["devices"] for r in sweep})


def test_bad_settings_are_refused(scenario):
    with pytest.raises(cosim.ParameterError, match="allowed buffer_kib <= 8 for d = 16"):
        scenario.simulate(scenario.configure({"d": 16, "buffer_kib": 16}))
    with pytest.raises(cosim.ParameterError, match="'lanes' = 64 exceeds d = 32"):
        scenario.simulate(scenario.configure({"d": 32, "lanes": 64}))
    with pytest.raises(cosim.ParameterError, match=r"'keep' = 0\.0 is out of range"):
        scenario.configure({"keep": 0})


@pytest.mark.slow
def test_trace_shows_the_pipeline_stages_and_wave_dumps_the_engine(scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the waveform is written in the working directory
    trace = tmp_path / "sprint.json"
    out = scenario.simulate(
        scenario.configure(
            {"seq_len": 16, "d": 32, "sweep": False}, {"recompute": "rtl"}, wave="recompute"
        ),
        trace_path=trace,
    )
    text = trace.read_text()
    assert out.trace_events and all(
        f"sprint.{s}" in text for s in ("threshold", "fetch", "compute")
    )
