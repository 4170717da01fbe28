"""End to end: the main demo and the benchmarks run as a user runs them and print their
JSON summary as the last line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def last_json(out: str) -> dict[str, object]:
    return json.loads(out.strip().splitlines()[-1])


def test_demo_runs_and_passes_its_golden_check(tmp_path: Path) -> None:
    trace = tmp_path / "demo.json"
    r = run(["-m", "cosim.demo", "--n", "1000", "--scale", "-2", "--trace", str(trace)])
    assert r.returncode == 0, r.stdout + r.stderr
    summary = last_json(r.stdout)
    assert summary["golden_ok"] is True and summary["n"] == 1000
    assert summary["dram_bytes"] >= 2 * 4000  # input written, read, result written
    assert "golden check OK" in r.stdout and "stats:" in r.stdout
    events = json.loads(trace.read_text())["traceEvents"]
    assert any(e.get("name") == "write" for e in events)


def test_demo_is_deterministic_for_a_seed() -> None:
    a = last_json(run(["-m", "cosim.demo", "--n", "300", "--seed", "5"]).stdout)
    b = last_json(run(["-m", "cosim.demo", "--n", "300", "--seed", "5"]).stdout)
    for key in ("device_time_ps", "sim_time_ps", "dram_bytes", "bus_transactions"):
        assert a[key] == b[key]


def test_demo_rejects_bad_arguments() -> None:
    r = run(["-m", "cosim.demo", "--n", "0"])
    assert r.returncode == 2 and "--n must be between 1 and" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("bench", sorted(p.name for p in (ROOT / "bench").glob("*.py")))
def test_benchmark_runs_in_quick_mode(bench: str) -> None:
    r = run([f"bench/{bench}", "--quick"], timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    figures = last_json(r.stdout)
    assert figures["quick"] is True


def test_readme_example_runs() -> None:
    text = (ROOT / "README.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    r = run(["-c", code])
    assert r.returncode == 0, r.stdout + r.stderr
    first = r.stdout.splitlines()[0].split()
    # write 10 ns (default) + 2 ns router, read 45 ns + 2 ns, then 100 ns
    assert first == [str(sum(range(64))), "159", "ns"]
    assert "dram.reads" in r.stdout
