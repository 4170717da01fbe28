"""Host CPU baselines as compiled C on the RISC-V core (sw/kernels/baselines.c,
cosim.system.riscv_baseline): each kernel bit-exact against numpy (int32 wrap-around
included) with its operands in a memory behind the bus and the core's data cache, its
cost in instructions and misses as the kernel's loop and the cache model say; and the
scenarios' cpu_baseline=riscv at reduced sizes, with their bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cosim
from cosim.scenario import load_script
from cosim.system import riscv_host
from cosim.system.riscv_baseline import (
    KERNEL_SOURCE,
    KERNELS,
    add_kernels,
    csr_image,
    describe,
    run_kernel,
)
from cosim.system.riscv_host import Board, RiscvHost, build_program

pytestmark = pytest.mark.skipif(
    riscv_host.shutil.which(riscv_host.GCC) is None, reason="needs gcc-riscv64-unknown-elf"
)

REPO = Path(__file__).resolve().parents[1]
MEM, MEM_SIZE = 0x8000_0000, 1 << 20
LINE = 64

DRIVER = """
#include "cosim_kernels.h"
int main(void) {
  cosim_irq_enable((1u << COSIM_IRQ_KERNEL) | (1u << COSIM_IRQ_DONE));
  for (;;) {
    const uint32_t got = cosim_wait_irq((1u << COSIM_IRQ_KERNEL) | (1u << COSIM_IRQ_DONE));
    if (got & (1u << COSIM_IRQ_KERNEL)) {
      cosim_kernel_run();
      cosim_signal(COSIM_KERNEL_SIGNAL);
    }
    if (got & (1u << COSIM_IRQ_DONE)) return 0;
  }
}
"""


def board() -> Board:
    b = Board(regions={"dram": (MEM, MEM_SIZE)}, irqs={"done": 0}, cpu={"clock_hz": 1e9})
    add_kernels(b)
    return b


@pytest.fixture(scope="module")
def elf(tmp_path_factory: pytest.TempPathFactory) -> str:
    src = tmp_path_factory.mktemp("kernels") / "driver.c"
    src.write_text(textwrap.dedent(DRIVER))
    return str(build_program([src, KERNEL_SOURCE], board()))


def run_jobs(sim: cosim.Simulation, elf: str, image: bytes, jobs: list[dict]) -> dict[str, Any]:
    """A memory (no DMI: every line goes over the bus, 10 ns) holding `image` at MEM,
    the core running the kernel driver; each job is run in turn. Returns the memory
    afterwards and each run's figures."""
    host = RiscvHost(sim, board(), elf)
    bus = sim.model("router", "bus", latency=0)
    mem = sim.model(
        "memory", "dram", size=MEM_SIZE, read_latency="10 ns", write_latency="10 ns", dmi=False
    )
    bus.map(mem.port("target"), MEM, MEM_SIZE)
    sim.bind(host.bus, bus.port("target"))
    mem.array()[: len(image)] = np.frombuffer(image, np.uint8)
    out: list[dict[str, Any]] = []

    @sim.process
    async def scenario() -> None:
        for job in jobs:
            try:
                r = await run_kernel(host, **job)
                out.append(
                    {
                        "time_ps": r.time_ps,
                        "instructions": r.instructions,
                        "core_cycles": r.core_cycles,
                        "misses": r.cache_misses,
                    }
                )
            except Exception as e:  # reported to the test
                out.append({"error": str(e)})
        host.model.raise_irq(0)

    sim.run()
    host.check_exit()
    return {"mem": bytes(mem.array()), "runs": out, "core": describe(host)}


def place(*arrays: np.ndarray) -> tuple[bytes, list[int]]:
    image, at = b"", []
    for a in arrays:
        at.append(MEM + len(image))
        raw = np.ascontiguousarray(a).tobytes()
        image += raw + bytes(-len(raw) % 4096)
    return image, at


def wrap32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.int64).astype(np.int32)


def test_kernels_are_bit_exact_with_wraparound_and_odd_sizes(elf: str) -> None:
    rng = np.random.default_rng(7)
    m, n, k = 7, 13, 11  # not multiples of the 4-wide blocking: every remainder path
    w16 = rng.integers(-(1 << 15), 1 << 15, (m, n), dtype=np.int16)
    w16[0, :] = -(1 << 15)  # row 0: 13 x 2^30 wraps around int32
    x16 = rng.integers(-(1 << 15), 1 << 15, n, dtype=np.int16)
    x16[0] = -(1 << 15)
    w8 = rng.integers(-128, 128, (m, n), dtype=np.int8)
    x8 = rng.integers(-128, 128, n, dtype=np.int8)
    a8 = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b8 = rng.integers(-128, 128, (k, n), dtype=np.int8)
    z = np.zeros(m * n, np.int32)
    sparse = np.where(rng.random((m, n)) < 0.3, w16, 0).astype(np.int16)
    sparse[2, :] = 0  # an empty row
    sparse[4, :] = -(1 << 15)  # a full row that wraps around
    csr, nnz = csr_image(sparse)
    image, (pw16, px16, pw8, px8, pa8, pb8, y1, y2, c3, pcsr, y4) = place(
        w16, x16, w8, x8, a8, b8, z, z, z, csr, z
    )
    jobs = [
        {"kernel": "gemv_i16", "a": pw16, "b": px16, "c": y1, "m": m, "n": n},
        {"kernel": "gemv_i8", "a": pw8, "b": px8, "c": y2, "m": m, "n": n},
        {"kernel": "gemm_i8", "a": pa8, "b": pb8, "c": c3, "m": m, "n": n, "k": k},
        {"kernel": "spmv_i16", "a": pcsr, "b": px16, "c": y4, "m": m, "n": n, "k": nnz},
    ]
    r = cosim.simulate(run_jobs, elf, image, jobs).value
    mem = r["mem"]

    def read(addr: int, count: int) -> np.ndarray:
        return np.frombuffer(mem[addr - MEM : addr - MEM + 4 * count], np.int32)

    gold16 = wrap32(w16.astype(np.int64) @ x16.astype(np.int64))
    assert abs(int(w16[0].astype(np.int64) @ x16.astype(np.int64))) > 1 << 31  # it does wrap
    assert np.array_equal(read(y1, m), gold16)
    assert np.array_equal(read(y2, m), wrap32(w8.astype(np.int64) @ x8.astype(np.int64)))
    gemm = wrap32(a8.astype(np.int64) @ b8.astype(np.int64))
    assert np.array_equal(read(c3, m * n).reshape(m, n), gemm)
    spmv = wrap32(sparse.astype(np.int64) @ x16.astype(np.int64))
    assert np.array_equal(read(y4, m), spmv)
    assert all("error" not in run for run in r["runs"])


def test_cost_is_the_loops_instructions_plus_one_fill_per_line(elf: str) -> None:
    """A 64 x 256 int16 GEMV: the inner loop is 58 instructions per 16 multiply-adds
    (docs/riscv-host.md), so between 3.6 and 4.2 instructions per multiply-add with the
    loop set-up; W (32 KiB, as large as the cache) and x are filled once per line; the
    run lasts at least instructions x cpi plus each fill's 10 ns."""
    m, n = 64, 256
    rng = np.random.default_rng(3)
    w = rng.integers(-300, 300, (m, n), dtype=np.int16)
    x = rng.integers(-300, 300, n, dtype=np.int16)
    image, (pw, px, py) = place(w, x, np.zeros(m, np.int32))
    job = {"kernel": "gemv_i16", "a": pw, "b": px, "c": py, "m": m, "n": n}
    r = cosim.simulate(run_jobs, elf, image, [job]).value
    run = r["runs"][0]
    y = np.frombuffer(r["mem"][py - MEM : py - MEM + 4 * m], np.int32)
    assert np.array_equal(y, wrap32(w.astype(np.int64) @ x.astype(np.int64)))
    macs = m * n
    assert 3.6 * macs <= run["instructions"] <= 4.2 * macs
    lines = (w.nbytes + x.nbytes + 4 * m) // LINE
    assert lines <= run["misses"] <= lines + 8  # x's lines may be evicted once by W's
    assert run["time_ps"] >= run["instructions"] * 1000 + lines * 10_000
    assert run["core_cycles"] * 1000 <= run["time_ps"]
    assert "RV64GC" in r["core"] and "32 KiB" in r["core"]


def test_a_corrupted_operand_fails_the_golden_and_bad_jobs_are_refused(elf: str) -> None:
    m, n = 8, 8
    w = np.arange(m * n, dtype=np.int8).reshape(m, n)
    x = np.ones(n, np.int8)
    bad = w.copy()
    bad[3, 5] ^= 1  # one weight bit flipped in DRAM
    image, (pw, px, py) = place(bad, x, np.zeros(m, np.int32))
    jobs = [
        {"kernel": "gemv_i8", "a": pw, "b": px, "c": py, "m": m, "n": n},
        {"kernel": "gemm_i8", "a": pw, "b": px, "c": py, "m": 4, "n": 4, "k": 5000},
    ]
    r = cosim.simulate(run_jobs, elf, image, jobs).value
    y = np.frombuffer(r["mem"][py - MEM : py - MEM + 4 * m], np.int32)
    assert not np.array_equal(y, wrap32(w.astype(np.int64) @ x.astype(np.int64)))
    assert "kernel 'gemm_i8' on the RISC-V core: status" in r["runs"][1]["error"]
    r = cosim.simulate(run_jobs, elf, image, [{**jobs[0], "kernel": "spmv"}]).value
    assert "unknown kernel 'spmv'; the kernels" in r["runs"][0]["error"]
    assert set(KERNELS) == {"gemv_i16", "gemv_i8", "gemm_i8", "spmv_i16"}


# ------------------------------------------------------------------- the scenarios


def _check_riscv_baseline(out: Any, roofline: Any) -> None:
    m = out.metrics
    assert m["golden_ok"]
    assert out.extras["cpu_baseline"] == "riscv" and roofline.extras["cpu_baseline"] == "roofline"
    # the C kernel is the host figure; the roofline is still reported beside it, and
    # a scalar in-order core with one miss in flight is slower than the roofline host
    assert m["host_roofline_cycles"] == roofline.metrics["host_roofline_cycles"]
    assert m["host_cycles"] > m["host_roofline_cycles"]
    assert m["host_riscv_instructions"] > 0 and m["host_riscv_cpi"] >= 1.0
    assert "compiled C" in out.report and "RV64GC" in out.report
    assert "cpu_baseline=roofline" in roofline.report


@pytest.mark.slow
def test_eie_host_gemv_in_c_replaces_the_roofline() -> None:
    s = load_script(REPO / "scenarios" / "eie.py")
    small = {"rows": 192, "cols": 96, "pes": 4, "fifo_depth": 4, "mat_kb": 16, "fifo_sweep": False}
    rv = s.simulate(
        s.configure({**small, "host": "riscv", "cpu_baseline": "riscv"}, {"eie": "tlm"})
    )
    roof = s.simulate(s.configure({**small, "host": "riscv"}, {"eie": "tlm"}))
    _check_riscv_baseline(rv, roof)
    assert rv.extras["output_digest"] == roof.extras["output_digest"]
    # 4 instructions per multiply-add or so, W read once: 192 x 96 x 2 B
    assert 3.6 <= rv.metrics["host_riscv_instructions"] / (192 * 96) <= 4.5
    assert rv.metrics["host_riscv_cache_misses"] >= 192 * 96 * 2 // LINE


def test_the_trace_shows_the_cores_accesses_line_fills_and_interrupts_with_the_engines(
    tmp_path: Path,
) -> None:
    """--trace of EIE with the C driver and the C baseline: on the core's row, its
    register accesses to the command window, the kernel's 64 B line fills from DRAM,
    interrupt lines GO (1), ACCEL (2) and KERNEL (3) and wfi; on the same timeline the
    accelerator's activity."""
    s = load_script(REPO / "scenarios" / "eie.py")
    small = {"rows": 64, "cols": 32, "pes": 4, "fifo_depth": 4, "mat_kb": 16, "fifo_sweep": False}
    cfg = s.configure(
        {**small, "host": "riscv", "cpu_baseline": "riscv"}, {"eie": "tlm"}, trace=True
    )
    s.simulate(cfg, trace_path=tmp_path / "t.json")
    events = json.loads((tmp_path / "t.json").read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    rows = {e["args"]["name"]: e["tid"] for e in events if e.get("name") == "thread_name"}
    cpu = [e for e in events if e.get("tid") == rows["cpu"] and e.get("ph") != "M"]
    names = {e["name"] for e in cpu}
    assert {"irq 1", "irq 2", "irq 3", "wfi"} <= names
    fills = [e for e in cpu if e["name"] == "read" and e["args"]["bytes"] == LINE]
    assert len(fills) >= 64 * 32 * 2 // LINE
    assert all(int(e["args"]["addr"], 16) >= 0x8000_0000 for e in fills)
    window = [e for e in cpu if e["name"] == "write" and e["args"]["bytes"] == 4]
    assert window  # the driver's CMD/ARG writes
    assert {"infer", "dense"} <= {e["name"] for e in events if e.get("tid") == rows["accel"]}


@pytest.mark.slow
def test_s2ta_host_gemm_in_c_replaces_the_roofline() -> None:
    s = load_script(REPO / "scenarios" / "s2ta.py")
    small = {"height": 4, "width": 4, "cin": 16, "cout": 16, "rows": 4, "cols": 4}
    engines = {"s2ta": "tlm", "baseline": "tlm"}
    rv = s.simulate(
        s.configure({**small, "sweep": False, "host": "riscv", "cpu_baseline": "riscv"}, engines)
    )
    roof = s.simulate(s.configure({**small, "sweep": False, "host": "riscv"}, engines))
    _check_riscv_baseline(rv, roof)
    m, k, n = 16, 9 * 16, 16
    assert 2.6 <= rv.metrics["host_riscv_instructions"] / (m * k * n) <= 3.6


@pytest.mark.slow
def test_ndp_gemv_host_path_in_c_replaces_the_roofline() -> None:
    s = load_script(REPO / "scenarios" / "ndp_gemv.py")
    params = {"m": 256, "n": 256, "host": "riscv"}
    rv = s.simulate(s.configure({**params, "cpu_baseline": "riscv"}))
    roof = s.simulate(s.configure(params))
    m = rv.metrics
    assert m["golden_ok"] and rv.extras["cpu_baseline"] == "riscv"
    assert rv.extras["baseline"].startswith("compiled C")
    assert m["host_roofline_cycles"] == roof.metrics["baseline_cycles"]
    assert m["baseline_cycles"] > m["host_roofline_cycles"]  # the C GEMV is the host path
    assert m["baseline_dram_bytes"] >= 256 * 256  # A crossed the interface
    assert m["speedup"] > roof.metrics["speedup"]
    assert "host, roofline model" in rv.report


@pytest.mark.parametrize("script", ["eie.py", "s2ta.py", "ndp_gemv.py"])
def test_cpu_baseline_riscv_needs_the_riscv_host(script: str) -> None:
    s = load_script(REPO / "scenarios" / script)
    with pytest.raises(cosim.ParameterError, match="cpu_baseline=riscv runs on the RISC-V core"):
        s.configure({"cpu_baseline": "riscv"})
    with pytest.raises(cosim.ParameterError, match="'cpu_baseline' = 'arm' is not allowed"):
        s.configure({"cpu_baseline": "arm"})


def test_ndp_gemv_c_baseline_is_int8_only() -> None:
    s = load_script(REPO / "scenarios" / "ndp_gemv.py")
    with pytest.raises(cosim.ParameterError, match="dtype=fp16 has no C kernel"):
        s.configure({"host": "riscv", "cpu_baseline": "riscv", "dtype": "fp16", "n": 512})


def test_missing_picolibc_is_one_line_naming_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(riscv_host, "PICOLIBC_SPECS", Path("/nonexistent/picolibc.specs"))
    with pytest.raises(riscv_host.ToolchainError) as e:
        riscv_host.check_toolchain()
    assert "picolibc-riscv64-unknown-elf" in str(e.value) and "\n" not in str(e.value)


SCENARIO_WITH_A_BROKEN_DRIVER = """
from pathlib import Path
from cosim.scenario import Scenario
from cosim.system.riscv_host import Board, build_program

scenario = Scenario("broken_driver", "a scenario whose C driver does not compile")


@scenario.run
def run(sim, cfg):
    src = Path(__file__).with_name("driver.c")
    build_program([src], Board(regions={}))
    return {"golden_ok": True}


if __name__ == "__main__":
    scenario.main()
"""


def test_a_scenarios_c_driver_that_does_not_compile_exits_2_with_the_compilers_lines(
    tmp_path: Path,
) -> None:
    (tmp_path / "driver.c").write_text("int main(void) {\n  return nope;\n}\n")
    script = tmp_path / "broken_driver.py"
    script.write_text(SCENARIO_WITH_A_BROKEN_DRIVER)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2, r.stderr
    assert "driver.c:2:" in r.stderr and "error: 'nope' undeclared" in r.stderr
    assert "Traceback" not in r.stderr
