"""The `cosim` command line: list, run, doctor, help texts, and one clear line with a
non-zero exit status for every kind of bad input. Sweeps and reports are covered in
test_studies.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import AXPY, FIXTURES, cli_env, cosim_cli, last_json


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "cosim"
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for command in ("list", "run", "sweep", "report", "doctor", "examples:"):
        assert command in r.stdout


def test_list_shows_scenarios_with_summaries(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('missing dependency')\n")
    (tmp_path / "_helper.py").write_text("X = 1\n")
    env = cli_env(COSIM_SCENARIO_PATH=os.pathsep.join([str(FIXTURES), str(tmp_path)]))
    r = cosim_cli("list", "-v", env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(
        line.startswith("axpy_offload") and "tiled engine vs the host loop" in line
        for line in lines
    )
    assert any(line.startswith("stream_fill") for line in lines)
    assert str(AXPY) in r.stdout
    assert any(
        line.startswith("broken ") and "(cannot load: cannot load scenario script" in line
        for line in lines
    )
    assert "missing dependency" in r.stdout and "_helper" not in r.stdout


def test_run_prints_report_and_metrics_json_last(tmp_path: Path) -> None:
    r = cosim_cli("run", "axpy_offload", "--set", "n=1024", "--seed", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    metrics = last_json(r.stdout)
    assert metrics["golden_ok"] is True and metrics["dram_bytes"] == 3 * 1024 * 4
    assert "axpy_offload: n=1024" in r.stdout and "(seed 2; engines: engine=tlm)" in r.stdout
    assert r.stderr == ""  # quiet: no progress when stderr is not a terminal


def test_run_accepts_a_script_path() -> None:
    r = cosim_cli("run", str(AXPY), "--set", "n=64", env={**os.environ})
    assert r.returncode == 0, r.stderr
    assert last_json(r.stdout)["golden_ok"] is True


def test_run_trace_writes_a_perfetto_timeline(tmp_path: Path) -> None:
    r = cosim_cli("run", "axpy_offload", "--set", "n=256", "--trace", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    trace = tmp_path / "axpy_offload.trace.json"
    events = json.loads(trace.read_text())["traceEvents"]
    tracks = {e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert {"host", "engine_dma", "axpy_engine"} <= tracks
    assert any(e["ph"] == "X" and e["name"] == "tile 0" for e in events)
    assert f"trace: {len([e for e in events if e['ph'] != 'M']):,} events" in r.stdout


def test_run_help_shows_the_scenarios_parameters() -> None:
    r = cosim_cli("run", "axpy_offload", "--help")
    assert r.returncode == 0
    assert "--engine COMPONENT=IMPL" in r.stdout and "--wave BLOCK" in r.stdout
    assert "burst (int, default 64 B; allowed 8, 16, 32, 64, 128, 256)" in r.stdout
    r = cosim_cli("run", "--help")
    assert r.returncode == 0 and "cosim run SCENARIO --help" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "axpy_ofload"],
            "cosim run: error: unknown scenario 'axpy_ofload'; did you mean 'axpy_offload'?",
        ),
        (
            ["run", "axpy_offload", "--set", "lane=4"],
            "unknown parameter 'lane'; did you mean 'lanes'?",
        ),
        (
            ["run", "axpy_offload", "--set", "n=8"],
            "parameter 'n' = 8 is out of range; allowed 16 .. 1048576 elements",
        ),
        (["run", "axpy_offload", "--set", "n=1.5"], "parameter 'n' expects an integer, got '1.5'"),
        (
            ["run", "axpy_offload", "--set", "tile=100"],
            "parameter 'tile' = 100 is not allowed; choose one of 64, 128, 256, 512, 1024, 2048",
        ),
        (
            ["run", "axpy_offload", "--set", "clock=1"],
            "parameter 'clock' expects a time like '2.5 ns', got '1'",
        ),
        (["run", "axpy_offload", "--set", "n"], "--set expects NAME=VALUE, got 'n'"),
        (
            ["run", "axpy_offload", "--engine", "engine=rtl"],
            "engine 'engine' = 'rtl' is not available; choose one of 'tlm', 'functional'",
        ),
        (["run", "axpy_offload", "--engine", "pe=tlm"], "unknown engine 'pe' (known: engine)"),
        (["run", "axpy_offload", "--seed", "x"], "seed expects an integer, got 'x'"),
        (["run", "axpy_offload", "--wave", "engine"], "waveforms come from RTL engines"),
        (["run"], "cosim run: error: name a scenario"),
        (["sweep", "axpy_offload", "--grid", "n=16,x"], "parameter 'n' expects an integer"),
        (["sweep", "axpy_offload", "--grid", "n="], "--grid expects NAME=V1,V2,..."),
        (
            ["sweep", "axpy_offload", "--grid", "n=16", "--grid", "n=32"],
            "--grid names 'n' more than once",
        ),
        (
            ["sweep", "axpy_offload", "--grid", "engine.engine=tlm,rtl"],
            "engine 'engine' = 'rtl' is not available",
        ),
        (["sweep", "axpy_offload", "--workers", "0"], "--workers must be >= 1, got 0"),
        (
            ["sweep", "axpy_offload", "--address", "tcp://127.0.0.1:1"],
            "--address needs --backend dask or ray",
        ),
        (["sweep", "nope"], "unknown scenario 'nope'"),
        (["report", "no/such/dir"], "cosim report: error: no results in no/such/dir"),
        (
            ["run", "axpy_offload", "--trace", "/nonexistent/dir/x.json"],
            "--trace /nonexistent/dir/x.json: folder /nonexistent/dir does not exist",
        ),
        (["run", "axpy_offload", "--trace", "."], "--trace .: is a folder; name a file"),
        (
            ["sweep", "axpy_offload", "--grid", "n=16,64", "--set", "n=32"],
            "'n' is both a --grid axis and fixed by --set n=32; give it once",
        ),
        (
            ["sweep", "axpy_offload", "--grid", "engine.engine=tlm", "--engine", "engine=tlm"],
            "'engine.engine' is both a --grid axis and fixed by --engine engine=tlm",
        ),
        (
            ["run", "s2ta", "--set", "cin=12"],
            "scenario 's2ta': parameter 'cin' = 12 must be a multiple of 8",
        ),
        (
            ["run", "eie", "--set", "pes=4"],
            "more than mat_kb = 64 KiB per PE holds; set mat_kb=128",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(
    args: list[str], message: str, tmp_path: Path
) -> None:
    r = cosim_cli(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert message in lines[0]
    assert lines[0].startswith("cosim ")


def test_unknown_command_and_option_are_usage_errors() -> None:
    r = cosim_cli("frobnicate")
    assert r.returncode == 2 and "invalid choice: 'frobnicate'" in r.stderr
    r = cosim_cli("sweep", "axpy_offload", "--backend", "mpi")
    assert r.returncode == 2 and "invalid choice: 'mpi'" in r.stderr


def test_failing_runs_exit_with_1_and_say_why() -> None:
    r = cosim_cli("run", "stream_fill", "--set", "fault=segfault")
    assert r.returncode == 1
    assert "cosim run: error: scenario 'stream_fill' crashed" in r.stderr
    assert "SIGSEGV" in r.stderr and "dereferencing NULL as asked" in r.stderr
    r = cosim_cli("run", "stream_fill", "--set", "fault=error")
    assert r.returncode == 1
    assert "stream_fill.py" in r.stderr  # the worker's traceback points at the script
    assert r.stderr.strip().splitlines()[-1] == (
        "cosim run: error: scenario 'stream_fill' failed: RuntimeError: stream_fill: "
        "failing on purpose (fault=error)"
    )
    r = cosim_cli("run", "stream_fill", "--set", "fault=missing_metric")
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "cosim run: error: scenario 'stream_fill' failed: ScenarioError: scenario "
        "'stream_fill': the result lacks required metric 'dram_bytes' (every scenario returns "
        "golden_ok, cycles, baseline_cycles, speedup, energy_pj, baseline_energy_pj, "
        "energy_ratio, dram_bytes)"
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("exit", "the run function exited (sys.exit(0)) without returning a result"),
        ("interrupt", "raised KeyboardInterrupt (not a Ctrl-C"),
    ],
)
def test_a_run_function_that_exits_or_interrupts_is_a_failure(fault: str, message: str) -> None:
    r = cosim_cli("run", "stream_fill", "--set", f"fault={fault}")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "interrupted" not in r.stderr
    assert message in r.stderr.strip().splitlines()[-1]
    direct = subprocess.run(
        [sys.executable, str(FIXTURES / "stream_fill.py"), "--set", f"fault={fault}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert direct.returncode == 1 and message in direct.stderr


def test_wave_line_names_the_files_the_run_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cosim.scenario.command import _wave_line

    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.fst").write_text("x")
    os.utime(tmp_path / "old.fst", (1, 1))
    assert "wrote no .fst or .vcd file in" in _wave_line("eie", since=1000.0)
    (tmp_path / "eie.fst").write_text("x")
    line = _wave_line("eie", since=os.path.getmtime(tmp_path / "eie.fst"))
    assert line == f"waveform of eie: {tmp_path / 'eie.fst'} (open with GTKWave or Surfer)"


def test_run_timeout_kills_the_worker() -> None:
    r = cosim_cli("run", "stream_fill", "--set", "passes=100000", "--timeout", "0.5")
    assert r.returncode == 1
    assert "timed out" in r.stderr and "within 0.5 s" in r.stderr


def test_doctor_checks_the_installation() -> None:
    r = cosim_cli("doctor")
    assert r.returncode == 0, r.stdout + r.stderr
    status = {line.split()[1]: line.split()[0] for line in r.stdout.splitlines()}
    for check in ("python", "extension", "systemc", "compiler", "cache", "simulation"):
        assert status[check] == "ok", r.stdout
    assert status["verilator"] in ("ok", "warn")
    assert status["riscv"] in ("ok", "warn")  # the RISC-V host's toolchain is optional
    # a script in scenarios/ that breaks the contract is a warning, not a failure
    assert status["scenarios"] in ("ok", "warn") and "tests/scenarios" in r.stdout


def test_doctor_fails_when_the_cache_is_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = cosim_cli("doctor", env=cli_env(COSIM_CACHE_DIR=str(blocker / "cache")))
    assert r.returncode == 1
    assert any(
        line.startswith("FAIL") and " cache " in line and "COSIM_CACHE_DIR" in line
        for line in r.stdout.splitlines()
    )
