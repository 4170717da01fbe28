"""One elaboration per process: cosim.simulate runs each simulation in a fresh worker
and turns crashes, timeouts and exceptions into errors the caller can act on."""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import time

import pytest

import cosim
from cosim import SimulationCrashed, SimulationTimeout, WorkerError, ns


def small_system(sim: cosim.Simulation, n: int, *, size: int = 8) -> dict[str, object]:
    mem = sim.model("memory", "mem")
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)

    @sim.process
    async def p() -> int:
        for i in range(n):
            await cpu.write(i * size, bytes(size))
        return cosim.now()

    sim.run()
    print(f"wrote {n} blocks")
    return {"end": p.result, "pid": os.getpid()}


def segfaults(sim: cosim.Simulation) -> None:
    print("about to crash", flush=True)
    ctypes.string_at(0)


def aborts(sim: cosim.Simulation) -> None:
    print("about to abort", flush=True)
    os.abort()


def exits(sim: cosim.Simulation) -> None:
    print("bye", flush=True)
    os._exit(3)


def sleeps(sim: cosim.Simulation) -> None:
    print("sleeping", flush=True)
    time.sleep(60)


def sim_hangs(sim: cosim.Simulation) -> None:
    @sim.process(daemon=True)
    async def forever() -> None:
        while True:
            await cosim.delay(ns(1))

    sim.run()


class Unpicklable(Exception):
    def __init__(self, handle: object) -> None:
        super().__init__("cannot travel")
        self.handle = handle

    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise TypeError("no pickling")


def raises_unpicklable(sim: cosim.Simulation) -> None:
    raise Unpicklable(lambda: None)


def returns_unpicklable(sim: cosim.Simulation) -> object:
    return lambda: None


def two_simulations(sim: cosim.Simulation) -> None:
    cosim.Simulation()


def test_result_carries_value_stats_metadata_and_log() -> None:
    r = cosim.simulate(small_system, 5, size=16)
    assert r.value["end"] == 5 * ns(10)
    assert r.value["pid"] != os.getpid()
    assert r.stat("mem.writes") == 5 and r.stat("mem.bytes_written") == 80
    assert r.stat("cpu.latency.mean") == ns(10)
    assert r.stats["mem"]["writes"]["value"] == 5 and r.stats["mem"]["writes"]["unit"] == ""
    assert r.metadata["sim_time_ps"] == 5 * ns(10)
    assert r.metadata["systemc"].startswith("2.3")
    assert r.metadata["python_resumes"] >= 6
    assert "wrote 5 blocks" in r.log
    pickle.loads(pickle.dumps(r))  # results travel between processes (sweeps)
    with pytest.raises(KeyError, match=r"no stat 'mem\.nothing'"):
        r.stat("mem.nothing")


def test_every_call_gets_a_fresh_process() -> None:
    a = cosim.simulate(small_system, 1)
    b = cosim.simulate(small_system, 1)
    assert a.value["pid"] != b.value["pid"]


def test_segfault_becomes_simulation_crashed_with_signal_and_log() -> None:
    with pytest.raises(SimulationCrashed) as info:
        cosim.simulate(segfaults)
    e = info.value
    assert e.signal == signal.SIGSEGV
    assert "killed by SIGSEGV" in str(e)
    assert "about to crash" in e.log_tail
    assert any("Fatal Python error: Segmentation fault" in line for line in e.log_tail)


def test_abort_becomes_simulation_crashed() -> None:
    with pytest.raises(SimulationCrashed, match="SIGABRT") as info:
        cosim.simulate(aborts)
    assert info.value.signal == signal.SIGABRT


def test_exit_without_result_is_a_crash_with_exit_code() -> None:
    with pytest.raises(SimulationCrashed, match="exited with code 3 without a result") as info:
        cosim.simulate(exits)
    assert info.value.exit_code == 3 and "bye" in info.value.log_tail


def test_wall_clock_timeout_kills_the_worker() -> None:
    t0 = time.monotonic()
    with pytest.raises(SimulationTimeout, match=r"did not finish within 1\.5 s") as info:
        cosim.simulate(sleeps, timeout=1.5)
    assert time.monotonic() - t0 < 10
    assert "sleeping" in info.value.log_tail


def test_timeout_also_stops_a_simulation_that_never_ends() -> None:
    with pytest.raises(SimulationTimeout):
        cosim.simulate(sim_hangs, timeout=1.0)


def test_unpicklable_exception_arrives_as_worker_error_with_traceback() -> None:
    with pytest.raises(WorkerError, match="Unpicklable: cannot travel") as info:
        cosim.simulate(raises_unpicklable)
    assert "raise Unpicklable(lambda: None)" in str(info.value.__cause__)


def test_unpicklable_result_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="value returned by the simulation cannot be pickled"):
        cosim.simulate(returns_unpicklable)


def test_unpicklable_function_is_rejected_before_starting() -> None:
    with pytest.raises(TypeError, match=r"define .* at module level"):
        cosim.simulate(lambda sim: None)


def test_one_simulation_per_process() -> None:
    with pytest.raises(cosim.SimulationError, match="cannot elaborate a second one"):
        cosim.simulate(two_simulations)


SCRIPT = """
import cosim

def body(sim, k):
    mem = sim.model("memory", "mem")
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)
    return k * 2

if __name__ == "__main__":
    print("result", cosim.simulate(body, 21).value)
"""


def test_functions_of_a_script_run_as_main_can_be_simulated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "study.py"
    script.write_text(SCRIPT)
    import subprocess

    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == ["result 42"]


# ------------------------------------------------ what the simulated code must not do


def calls_exit(sim: cosim.Simulation, code: int) -> None:
    sys.exit(code)


def raises_keyboard_interrupt(sim: cosim.Simulation) -> None:
    raise KeyboardInterrupt


def test_sys_exit_in_the_simulation_is_an_error_not_an_exit_of_the_caller() -> None:
    for code in (0, 5):
        with pytest.raises(WorkerError, match=rf"calls_exit called sys.exit\({code}\) instead"):
            cosim.simulate(calls_exit, code)


def test_keyboard_interrupt_raised_by_the_simulation_is_not_a_ctrl_c() -> None:
    with pytest.raises(WorkerError, match="raised KeyboardInterrupt \\(not a Ctrl-C"):
        cosim.simulate(raises_keyboard_interrupt)


UNGUARDED = """
import cosim

def body(sim):
    sim.initiator("cpu")
    return 1

print(cosim.simulate(body).value)
"""


def test_simulate_at_the_top_of_a_script_says_to_guard_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("cosim.errors.SimulationError: cosim.simulate() was called while")
    assert 'under `if __name__ == "__main__":`' in last
    assert "__mp_main__" not in out.stderr.replace("(under the name __mp_main__", "")


def test_simulate_of_a_function_typed_on_standard_input_says_what_to_do() -> None:
    import subprocess

    code = UNGUARDED.replace("print(", "if __name__ == '__main__':\n    print(")
    out = subprocess.run(
        [sys.executable, "-"], input=code, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("TypeError: simulate() cannot run __main__.body: it is defined in")
    assert "standard input" in last


# ------------------------------------------------------------ timeouts say where


def test_a_timed_out_simulation_says_its_simulated_time_and_what_waits() -> None:
    with pytest.raises(SimulationTimeout) as info:
        cosim.simulate(sim_hangs, timeout=1.0)
    assert "at simulated time " in str(info.value)
    assert "process 'forever': " in str(info.value)


def test_a_timeout_in_compiled_or_sleeping_code_still_kills() -> None:
    with pytest.raises(SimulationTimeout, match=r"within 1\.0 s"):
        cosim.simulate(sleeps, timeout=1.0)


# ----------------------------------------------------- warm template and cold path


def test_a_crash_loses_one_simulation_and_the_next_one_runs() -> None:
    with pytest.raises(SimulationCrashed):
        cosim.simulate(segfaults)
    assert cosim.simulate(small_system, 2).value["end"] > 0
    with pytest.raises(SimulationCrashed):
        cosim.simulate(aborts)
    assert cosim.simulate(small_system, 3).value["end"] > 0


def test_the_cold_path_gives_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    warm = cosim.simulate(small_system, 4)
    monkeypatch.setenv(cosim.runner.WARM_ENV, "0")
    cold = cosim.simulate(small_system, 4)
    assert cold.value["end"] == warm.value["end"]
    assert cold.flat_stats() == warm.flat_stats()
    with pytest.raises(SimulationCrashed, match="SIGSEGV"):
        cosim.simulate(segfaults)


def reads_env(sim: cosim.Simulation, name: str) -> str | None:
    return os.environ.get(name)


def test_a_worker_sees_the_callers_environment_of_the_moment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cosim.simulate(reads_env, "X")  # the template exists before the variable does
    monkeypatch.setenv("COSIM_TEST_VARIABLE", "now")
    assert cosim.simulate(reads_env, "COSIM_TEST_VARIABLE").value == "now"
    r = cosim.simulate(reads_env, "COSIM_TEST_EXTRA", env={"COSIM_TEST_EXTRA": "given"})
    assert r.value == "given"


def says_something(sim: cosim.Simulation) -> None:
    from cosim.progress import notice

    print("ordinary output", flush=True)
    notice("building something")


def test_notices_of_a_worker_are_shown_without_echo(capfd: pytest.CaptureFixture[str]) -> None:
    cosim.simulate(says_something)
    out, err = capfd.readouterr()
    assert "cosim: building something" in err
    assert "ordinary output" not in out + err


def process_fails(sim: cosim.Simulation) -> str:
    mem = sim.model("memory", "mem", size=64)
    cpu = sim.initiator("cpu")
    sim.bind(cpu, mem)

    @sim.process
    async def p() -> None:
        await cpu.read(1 << 20, 4)  # beyond the memory: a TlmError stops the run

    try:
        sim.run()
    except cosim.TlmError as e:
        return type(e).__name__
    return "no error"


def test_a_run_stopped_by_an_error_prints_no_systemc_stop_banner() -> None:
    r = cosim.simulate(process_fails)
    assert r.value == "TlmError"
    assert not any("stopped by user" in line for line in r.log), r.log
