"""The scenario contract (cosim.scenario): declaring parameters and engines, validating
values with messages that name the parameter and what is allowed, loading scripts by
path, running them in a worker, and checking the metrics they return."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import AXPY, ROOT, STREAM, last_json

from cosim import ParameterError, ns
from cosim.errors import DeclarationError
from cosim.scenario import (
    REQUIRED_METRICS,
    Config,
    Engine,
    Param,
    Scenario,
    ScenarioError,
    check_result,
    load_script,
)

# ------------------------------------------------------------------ declarations


def test_param_types_are_inferred_and_values_converted() -> None:
    assert Param("n", 4).type == "int"
    assert Param("x", 0.5).type == "float"
    assert Param("on", True).type == "bool"
    assert Param("mode", "a", choices=("a", "b")).type == "str"
    clock = Param("clock", "2.5 ns", type="time", min="1 ns", max="1 us")
    assert clock.default == 2500 and clock.min == 1000 and clock.max == 1_000_000
    assert clock.check("10 ns") == 10_000
    assert Param("n", 4, min=1).check("0x10") == 16
    assert Param("x", 0.5).check("1e-3") == 0.001
    assert Param("x", 0.5).check(2) == 2.0
    assert Param("on", True).check("no") is False
    assert Param("n", 4).check(np.int64(7)) == 7


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        (Param("n", 4, min=1, max=64), 0, "parameter 'n' = 0 is out of range; allowed 1 .. 64"),
        (Param("n", 4, min=1, unit="B"), -3, "parameter 'n' = -3 is out of range; allowed >= 1"),
        (Param("n", 4), "four", "parameter 'n' expects an integer, got 'four'"),
        (Param("n", 4), 4.0, "parameter 'n' expects an integer, got 4.0"),
        (Param("n", 4), True, "parameter 'n' expects an integer, got True"),
        (Param("x", 0.5, max=1.0), 1.5, "parameter 'x' = 1.5 is out of range; allowed <= 1"),
        (Param("x", 0.5), "nan", "parameter 'x' expects a finite number"),
        (Param("on", True), "maybe", "parameter 'on' expects true or false, got 'maybe'"),
        (
            Param("mode", "a", choices=("a", "b")),
            "c",
            "parameter 'mode' = 'c' is not allowed; choose one of 'a', 'b'",
        ),
        (
            Param("pes", 8, choices=(4, 8, 16)),
            "5",
            "parameter 'pes' = 5 is not allowed; choose one of 4, 8, 16",
        ),
        (
            Param("clock", "1 ns", type="time", max="10 ns"),
            "20 ns",
            "parameter 'clock' = 20 ns is out of range; allowed <= 10 ns",
        ),
        (
            Param("clock", "1 ns", type="time"),
            "fast",
            "parameter 'clock' expects a time like '2.5 ns', got 'fast'",
        ),
    ],
)
def test_bad_values_name_the_parameter_and_what_is_allowed(
    param: Param, value: object, message: str
) -> None:
    with pytest.raises(ParameterError) as info:
        param.check(value, "scenario 's'")
    assert str(info.value).startswith("scenario 's': ")
    assert message in str(info.value)


def test_bad_declarations_are_declaration_or_scenario_errors() -> None:
    with pytest.raises(DeclarationError, match=r"invalid declaration: parameter 'n' = 0 is out"):
        Param("n", 0, min=1)
    with pytest.raises(DeclarationError, match="cannot tell the type"):
        Param("n", None)
    with pytest.raises(DeclarationError, match="not a Python identifier"):
        Param("bad name", 1)
    with pytest.raises(DeclarationError, match="min 8 is above max 4"):
        Param("n", 4, min=8, max=4)
    with pytest.raises(DeclarationError, match="invalid declaration: cannot read 'soon'"):
        Param("clock", "1 ns", type="time", max="soon")
    with pytest.raises(DeclarationError, match="subset of functional, tlm, rtl"):
        Engine(("tlm", "gate"))
    with pytest.raises(DeclarationError, match="default 'rtl' is not one of tlm"):
        Engine(("tlm",), default="rtl")
    with pytest.raises(ScenarioError, match="must be lower-case"):
        Scenario("EIE", "x")
    with pytest.raises(ScenarioError, match="summary must be one non-empty line"):
        Scenario("eie", "two\nlines")
    with pytest.raises(ScenarioError, match="'seed' is set by the framework"):
        Scenario("eie", "x", params=[Param("seed", 1)])
    with pytest.raises(ScenarioError, match="parameter 'n' is declared twice"):
        Scenario("eie", "x", params=[Param("n", 1), Param("n", 2)])


def _scenario() -> Scenario:
    return Scenario(
        "demo",
        "a scenario for tests",
        params=[Param("n", 8, min=1, max=64), Param("mode", "fast", choices=("fast", "slow"))],
        engines={"pe": Engine(("functional", "tlm", "rtl"), default="tlm")},
        seed=7,
    )


def test_configure_fills_defaults_and_validates_everything() -> None:
    s = _scenario()
    c = s.configure({"n": "16"}, {"pe": "functional"})
    assert (c.n, c["mode"], c.engines, c.engine("pe"), c.seed) == (
        16,
        "fast",
        {"pe": "functional"},
        "functional",
        7,
    )
    assert s.configure(seed="3").seed == 3
    with pytest.raises(ParameterError, match="unknown parameter 'nn'; did you mean 'n'"):
        s.configure({"nn": 1})
    with pytest.raises(ParameterError, match="unknown engine 'pu' \\(known: pe\\)"):
        s.configure(engines={"pu": "tlm"})
    with pytest.raises(ParameterError, match="seed expects an integer, got 'x'"):
        s.configure(seed="x")
    with pytest.raises(AttributeError, match="has no parameter 'm' \\(parameters: n, mode\\)"):
        _ = c.m


def test_wave_must_name_an_engine_running_as_rtl() -> None:
    s = _scenario()
    assert s.configure(engines={"pe": "rtl"}, wave="pe").wave == "pe"
    with pytest.raises(ParameterError, match="runs as 'tlm' \\(add --engine pe=rtl\\)"):
        s.configure(wave="pe")
    with pytest.raises(ParameterError, match="--wave dram: no such block"):
        s.configure(wave="dram")


def test_point_id_depends_on_what_determines_results_only() -> None:
    s = _scenario()
    a = s.configure({"n": 4})
    assert a.point_id == s.configure({"n": 4}, wave=None, trace=True).point_id
    assert a.point_id != s.configure({"n": 5}).point_id
    assert a.point_id != s.configure({"n": 4}, seed=8).point_id
    assert a.point_id != s.configure({"n": 4}, {"pe": "functional"}).point_id
    assert s.config_from_dict(a.to_dict()) == a


def test_help_text_lists_parameters_engines_and_seed() -> None:
    text = _scenario().help_text()
    assert "n (int, default 8; allowed 1 .. 64)" in text
    assert "mode (str, default 'fast'; allowed 'fast', 'slow')" in text
    assert "pe (default tlm; allowed functional, tlm, rtl)" in text
    assert "seed (--seed N): default 7" in text


# ----------------------------------------------------------------------- results


def _metrics(**changes: object) -> dict[str, object]:
    m: dict[str, object] = {
        "golden_ok": True,
        "cycles": 100,
        "baseline_cycles": 250,
        "speedup": 2.5,
        "energy_pj": 10.0,
        "baseline_energy_pj": 30.0,
        "energy_ratio": 3.0,
        "dram_bytes": 4096,
    }
    m.update(changes)
    return {k: v for k, v in m.items() if v is not None}


def test_check_result_splits_metrics_report_and_extras() -> None:
    value = _metrics(
        cycles=np.int64(100),
        utilisation=np.float32(0.5),
        report="text",
        extras={"energy_breakdown_pj": {"dram": np.float64(7.0)}, "hist": np.arange(3)},
    )
    metrics, report, extras = check_result("s", value)
    assert metrics["cycles"] == 100 and type(metrics["cycles"]) is int
    assert metrics["utilisation"] == 0.5 and report == "text"
    assert extras == {"energy_breakdown_pj": {"dram": 7.0}, "hist": [0, 1, 2]}
    assert json.dumps(extras)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, 2], "must return a dict of metrics, got list"),
        (_metrics(dram_bytes=None), "lacks required metric 'dram_bytes'"),
        (_metrics(speedup=None, energy_ratio=None), "metrics 'speedup', 'energy_ratio'"),
        (_metrics(cycles="many"), "metric 'cycles' must be a finite number or a bool"),
        (_metrics(energy_pj=float("inf")), "metric 'energy_pj' must be a finite number"),
        (_metrics(golden_ok=1), "metric 'golden_ok' must be a bool"),
        (_metrics(speedup=2.0), "'speedup' = 2.0 disagrees with baseline_cycles / cycles = 2.5"),
        (_metrics(energy_ratio=1.0), "'energy_ratio' = 1.0 disagrees with baseline_energy_pj"),
        (_metrics(report=3), "'report' must be text"),
        (_metrics(extras={"f": object()}), "extras.f is a object"),
    ],
)
def test_results_that_break_the_contract_name_the_key(value: object, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        check_result("s", value)
    assert message in str(info.value)


def test_required_metrics_are_the_contract_of_issue_6() -> None:
    assert set(REQUIRED_METRICS) == {
        "golden_ok",
        "cycles",
        "baseline_cycles",
        "speedup",
        "energy_pj",
        "baseline_energy_pj",
        "energy_ratio",
        "dram_bytes",
    }


# ----------------------------------------------------------------- loading scripts


def _script(tmp_path: Path, body: str, name: str = "s.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_load_script_finds_the_scenario_and_its_run_function(tmp_path: Path) -> None:
    (tmp_path / "_helper.py").write_text("FACTOR = 3\n")
    path = _script(
        tmp_path,
        """
        from _helper import FACTOR
        from cosim.scenario import Param, Scenario
        scenario = Scenario("s", "summary", params=[Param("k", FACTOR)])

        @scenario.run
        def run(sim, config):
            return {}
        """,
    )
    s = load_script(path)
    assert s.name == "s" and s.path == path and s.params["k"].default == 3
    assert load_script(path) is s


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x = 1\n", "must create exactly one cosim.scenario.Scenario at module level; it creat"),
        (
            "from cosim.scenario import Scenario\nscenario = Scenario('s', 'x')\n",
            "has no run function; decorate `def run(sim, config)` with @scenario.run",
        ),
        ("import no_such_module_here\n", "cannot load scenario script"),
        (
            "from cosim.scenario import Scenario\na = Scenario('a', 'x')\nb = Scenario('b', 'y')\n",
            "it creates 2",
        ),
    ],
)
def test_broken_scripts_are_reported_with_their_path(
    tmp_path: Path, body: str, message: str
) -> None:
    path = _script(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_script(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_run_function_must_be_module_level() -> None:
    s = _scenario()

    def inner(sim: object, config: Config) -> dict[str, object]:
        return {}

    with pytest.raises(ScenarioError, match="must be a module-level function"):
        s.run(inner)


# --------------------------------------------------------------- running scenarios


def test_fixture_scenario_runs_in_a_worker_and_passes_its_golden_check(tmp_path: Path) -> None:
    s = load_script(AXPY)
    trace = tmp_path / "t.json"
    out = s.simulate(s.configure({"n": 512, "tile": 128}), trace_path=trace, timeout=120)
    m = out.metrics
    assert m["golden_ok"] is True
    # 3 arrays of 512 int32 move between DRAM and the engine, in 64-byte bursts
    assert m["dram_bytes"] == 3 * 512 * 4 and m["transactions"] == 3 * 512 * 4 // 64
    assert m["speedup"] == m["baseline_cycles"] / m["cycles"] > 1
    assert out.extras["roofline"]["ops"] == 2 * 512
    assert "golden check: engine OK, host OK" in out.report
    assert out.provenance["cosim"] and out.provenance["systemc"].startswith("2.3")
    assert out.sim_time_ps > 0 and out.trace_events == len(
        [e for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] != "M"]
    )
    spans = [e["name"] for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "X"]
    assert spans.count("tile 0") == 1 and "baseline loop" in spans and "read" in spans


def test_metrics_are_deterministic_for_a_seed_and_engines_agree_on_results() -> None:
    s = load_script(AXPY)
    runs = [
        s.simulate(s.configure({"n": 256}, {"engine": e}, seed=seed)).metrics
        for e, seed in (("tlm", 5), ("tlm", 5), ("functional", 5))
    ]
    assert runs[0] == runs[1]
    functional = runs[2]
    assert functional["golden_ok"] and functional["dram_bytes"] == runs[0]["dram_bytes"]
    # the functional engine computes in no simulated time: fewer cycles, same traffic
    assert functional["cycles"] < runs[0]["cycles"]
    assert functional["cycles"] == runs[0]["cycles"] - 256 // 8


def test_a_wrong_result_is_a_scenario_error_from_the_worker() -> None:
    s = load_script(STREAM)
    with pytest.raises(ScenarioError, match="lacks required metric 'dram_bytes'"):
        s.simulate(s.configure({"fault": "missing_metric"}))


def test_the_run_function_must_run_the_simulation(tmp_path: Path) -> None:
    path = _script(
        tmp_path,
        """
        from cosim.scenario import Scenario
        scenario = Scenario("lazy", "returns without running")

        @scenario.run
        def run(sim, config):
            return {"golden_ok": True, "cycles": 1, "baseline_cycles": 1, "speedup": 1,
                    "energy_pj": 1, "baseline_energy_pj": 1, "energy_ratio": 1, "dram_bytes": 0}
        """,
        "lazy.py",
    )
    s = load_script(path)
    with pytest.raises(ScenarioError, match="returned without running the simulation"):
        s.simulate(s.configure())


# ------------------------------------------------------------- scripts run directly


def run_script(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_script_help_lists_parameters_engines_and_examples() -> None:
    r = run_script(AXPY, "--help")
    assert r.returncode == 0, r.stderr
    for text in (
        "axpy_offload: z = a*x + y",
        "n (int, default 4096 elements; allowed 16 .. 1048576 elements)",
        "clock (time, default 1 ns; allowed 100 ps .. 100 ns)",
        "engine (default tlm; allowed tlm, functional)",
        "--set NAME=VALUE",
        "--engine COMPONENT=IMPL",
        "--trace [FILE]",
        "examples:",
    ):
        assert text in r.stdout


def test_script_runs_with_settings_and_prints_metrics_json_last(tmp_path: Path) -> None:
    trace = tmp_path / "run.json"
    r = run_script(
        AXPY,
        "--set",
        "n=300",
        "--set",
        "lanes=2",
        "--engine",
        "engine=functional",
        "--seed",
        "4",
        "--trace",
        str(trace),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    metrics = last_json(r.stdout)
    assert metrics["golden_ok"] is True and metrics["dram_bytes"] == 3 * 300 * 4
    assert "engine=functional" in r.stdout and f"events in {trace}" in r.stdout
    assert json.loads(trace.read_text())["traceEvents"]
    assert "\r" not in r.stderr  # no progress line when stderr is not a terminal


def test_script_rejects_bad_values_in_one_line(tmp_path: Path) -> None:
    r = run_script(AXPY, "--set", "lanes=100")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "python axpy_offload.py: error: scenario 'axpy_offload': parameter 'lanes' = 100 "
        "is out of range; allowed 1 .. 64"
    )
    assert r.stdout == ""


def test_time_parameters_reach_the_run_function_as_picoseconds() -> None:
    s = load_script(AXPY)
    slow = s.simulate(s.configure({"n": 256, "clock": "2 ns"})).metrics
    fast = s.simulate(s.configure({"n": 256, "clock": ns(1)})).metrics
    assert slow["golden_ok"] and fast["golden_ok"]
    assert slow["cycles"] < fast["cycles"]  # DRAM latency is fewer cycles of a slower clock


# ------------------------------------------------------------------ constraints


def test_declared_checks_run_before_any_worker_and_name_the_parameter() -> None:
    s = Scenario(
        "demo",
        "a scenario for tests",
        params=[Param("rows", 64, min=1, max=4096), Param("pes", 8, choices=(4, 8, 16))],
    )
    seen = []

    @s.check
    def rows_split(config: Config) -> str | None:
        seen.append(dict(config.params))
        if config.rows % config.pes:
            return f"parameter 'rows' = {config.rows} must be a multiple of pes = {config.pes}"
        return None

    def raises(config: Config) -> None:
        if config.rows > 2048:
            raise ParameterError(f"scenario 'demo': rows = {config.rows} does not fit")

    s.check(raises)
    assert s.configure({"rows": 32, "pes": 4}).rows == 32
    with pytest.raises(ParameterError) as info:
        s.configure({"rows": 36})
    assert str(info.value) == (
        "scenario 'demo': parameter 'rows' = 36 must be a multiple of pes = 8"
    )
    with pytest.raises(ParameterError, match=r"^scenario 'demo': rows = 4096 does not fit$"):
        s.configure({"rows": 4096})
    assert seen[-1] == {"rows": 4096, "pes": 8}
    with pytest.raises(ScenarioError, match="check 3 is not callable"):
        s.check(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("s2ta", {"cin": 12}, "parameter 'cin' = 12 must be a multiple of 8"),
        (
            "eie",
            {"pes": 4, "weight_density": 0.09},
            "matrix words in its fullest PE (118 KiB), more than mat_kb = 64 KiB per PE holds; "
            "set mat_kb=128",
        ),
        ("ndp_gemv", {"n": 2048, "dtype": "fp16"}, "must fit the units' 2048-byte vector"),
        ("sprint", {"lanes": 32, "d": 16, "buffer_kib": 8}, "parameter 'lanes' = 32 exceeds d"),
    ],
)
def test_scenarios_check_combinations_before_a_worker_starts(
    name: str, params: dict[str, object], message: str
) -> None:
    s = load_script(ROOT / "scenarios" / f"{name}.py")
    with pytest.raises(ParameterError) as info:
        s.configure(params)
    assert str(info.value).startswith(f"scenario '{name}': ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_the_eie_check_agrees_with_the_engine_and_the_readme_sweep_fits() -> None:
    from cosim.accel.eie import format as fmt
    from cosim.accel.eie.workload import make_fc_layer

    s = load_script(ROOT / "scenarios" / "eie.py")
    for mat_kb, fits in ((64, False), (128, True)):
        params = {"pes": 4, "weight_density": 0.09, "mat_kb": mat_kb}
        config = s.configure(params) if fits else s.configure({**params, "mat_kb": 128})
        layer = make_fc_layer(
            config.rng(), config.rows, config.cols, config.weight_density, config.act_density
        )
        compressed = fmt.encode(layer.indices, layer.codebook, config.pes)
        geometry = fmt.EieGeometry(pes=4, mat_words=mat_kb * 1024 // 8, act_depth=1024)
        if fits:
            fmt.check_fits(compressed, geometry)
        else:
            with pytest.raises(ParameterError, match="more than mat_words = 8192"):
                fmt.check_fits(compressed, geometry)
            with pytest.raises(ParameterError, match="set mat_kb=128"):
                s.configure(params)
    for pes in (4, 8, 16):  # README's sweep example, as written
        for density in (0.05, 0.09):
            s.configure({"pes": pes, "weight_density": density, "mat_kb": 128})


def test_a_worker_rereading_a_checked_configuration_skips_the_constraints() -> None:
    s = Scenario("demo", "a scenario for tests", params=[Param("n", 8, min=1, max=64)])
    calls = []
    s.check(lambda config: calls.append(config.n))
    config = s.configure({"n": 4})
    assert s.config_from_dict(config.to_dict(), constraints=False) == config
    assert calls == [4]
    s.config_from_dict(config.to_dict())
    assert calls == [4, 4]
