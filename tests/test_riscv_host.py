"""The RISC-V host core (riscv_cpu) running compiled C: console and exit, the timing
model (instructions x cpi, uncached accesses, interrupts), DMI, wfi, crashes and bad
input. Core at 1 GHz (1 ns cycles) unless a test says otherwise; expected times come
from the parameters, never from a previous run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import cosim
from cosim.errors import SimulationError
from cosim.system import riscv_host
from cosim.system.riscv_host import (
    Board,
    ProgramBuildError,
    RiscvHost,
    ToolchainError,
    build_program,
)

pytestmark = pytest.mark.skipif(
    riscv_host.shutil.which(riscv_host.GCC) is None, reason="needs gcc-riscv64-unknown-elf"
)

MEM = 0x8000_0000  # a plain memory behind a router; the region the core sees is larger,
MEM_SIZE = 1 << 20  # so an access past the memory is answered by the router with an error
BOARD = Board(regions={"mem": (MEM, 2 * MEM_SIZE)}, irqs={"dev": 0}, cpu={"clock_hz": 1e9})


def program(tmp_path: Path, source: str, board: Board = BOARD, name: str = "prog.c") -> Path:
    src = tmp_path / name
    src.write_text(textwrap.dedent(source))
    return build_program([src], board)


def system(
    sim: cosim.Simulation, elf: Path, *, dmi: bool = False, latency: str = "10 ns", **cpu: Any
):
    host = RiscvHost(sim, BOARD, elf, **cpu)
    bus = sim.model("router", "bus", latency=0)
    mem = sim.model(
        "memory", "mem", size=MEM_SIZE, read_latency=latency, write_latency=latency, dmi=dmi
    )
    bus.map(mem.port("target"), MEM, MEM_SIZE)
    sim.bind(host.bus, bus.port("target"))
    return host, mem


def run_plain(sim: cosim.Simulation, elf: str, **kw: Any) -> dict[str, Any]:
    host, _ = system(sim, Path(elf), **kw)
    sim.run()
    return {"exit": host.exit_code, "exited": host.exited, "console": host.console, "now": sim.now}


# ----------------------------------------------------------------- console and exit

HELLO = """
    #include <stdio.h>
    #include "cosim.h"
    int main(void) {
      printf("hello %d\\n", 42);
      printf("second line");
      return 7;
    }
"""


def test_console_lines_carry_simulated_time_and_exit_code_ends_the_run(tmp_path: Path) -> None:
    r = cosim.simulate(run_plain, str(program(tmp_path, HELLO)))
    v = r.value
    assert v["exited"] and v["exit"] == 7
    assert [line for _, line in v["console"]] == ["hello 42", "second line"]
    t0, t1 = v["console"][0][0], v["console"][1][0]
    assert 0 < t0 < t1 <= v["now"]
    assert any("hello 42" in line and "cpu" in line for line in r.log)


# ----------------------------------------------------------------------- timing

TIMING = """
    #include <stdio.h>
    #include "cosim.h"
    int main(void) {
      volatile uint32_t *m = (volatile uint32_t *)(uintptr_t)COSIM_MEM_BASE;
      uint64_t c0 = cosim_cycles(), i0 = cosim_instret();
      __asm__ volatile(".rept 1000\\n addi x0, x0, 0\\n .endr");
      uint64_t c1 = cosim_cycles(), i1 = cosim_instret();
      for (int k = 0; k < 100; ++k) (void)m[k];
      uint64_t c2 = cosim_cycles(), i2 = cosim_instret();
      m[3] = 0x1234abcd;
      printf("%llu %llu %llu %llu %u\\n", (unsigned long long)(c1 - c0),
             (unsigned long long)(i1 - i0), (unsigned long long)(c2 - c1),
             (unsigned long long)(i2 - i1), m[3]);
      return 0;
    }
"""


def timing_run(sim: cosim.Simulation, elf: str, dmi: bool, cpi: float) -> dict[str, Any]:
    host, mem = system(sim, Path(elf), dmi=dmi, cpi=cpi, access_cycles=20)
    sim.run()
    line = host.console[0][1].split()
    return {
        "numbers": [int(x) for x in line],
        "exit": host.exit_code,
        "mem_reads": sim.stats.flat().get("mem.reads"),
        "word3": int.from_bytes(bytes(mem.array()[12:16]), "little"),
    }


def test_time_is_instructions_times_cpi_plus_uncached_access_latency(tmp_path: Path) -> None:
    elf = str(program(tmp_path, TIMING))
    v = cosim.simulate(timing_run, elf, False, 2.0).value
    dc, di, dc_mmio, di_mmio, word = v["numbers"]
    assert v["exit"] == 0
    # 1000 nops plus the few instructions around them, at 2 cycles each
    assert 1000 <= di <= 1010
    assert dc == pytest.approx(2 * di, abs=2 * 16)  # charged per basic block
    # 100 uncached loads: 10 ns memory + 20 access cycles each, on top of the loop's
    # instructions at cpi 2 (1 ns cycles)
    assert dc_mmio == pytest.approx(100 * (10 + 20) + 2 * di_mmio, rel=0.02)
    assert word == 0x1234ABCD
    assert v["mem_reads"] >= 100


def test_dmi_memory_is_mapped_into_the_core_no_bus_transactions(tmp_path: Path) -> None:
    elf = str(program(tmp_path, TIMING))
    v = cosim.simulate(timing_run, elf, True, 1.0).value
    _, _, dc_mmio, di_mmio, word = v["numbers"]
    assert word == 0x1234ABCD  # the store reached the memory model's storage
    assert v["mem_reads"] == 0
    assert dc_mmio == pytest.approx(di_mmio, abs=16)  # cached: instructions only


CACHED = """
    #include <stdio.h>
    #include "cosim.h"
    int main(void) {
      volatile uint64_t *m = (volatile uint64_t *)(uintptr_t)COSIM_MEM_BASE;
      uint64_t s = 0, c0 = cosim_cycles();
      for (int i = 0; i < 512; ++i) s += m[i];              /* 4 KiB: 64 line fills */
      uint64_t c1 = cosim_cycles();
      for (int i = 0; i < 512; ++i) s += m[i];              /* all hits */
      uint64_t c2 = cosim_cycles();
      m[0] = 5;                                              /* dirty in the cache only */
      cosim_signal(1);                                       /* Python looks at memory */
      cosim_cache_flush();
      cosim_signal(2);
      s += m[1];                                             /* refilled: sees Python's 9 */
      printf("%llu %llu %llu\\n", (unsigned long long)(c1 - c0), (unsigned long long)(c2 - c1),
             (unsigned long long)s);
      return 0;
    }
"""


def cached_run(sim: cosim.Simulation, elf: str) -> dict[str, Any]:
    board = Board(regions=BOARD.regions, irqs=BOARD.irqs, cpu=BOARD.cpu, cached={"mem"})
    host = RiscvHost(sim, board, Path(elf), dcache_bytes=8192, dcache_line=64, access_cycles=20)
    bus = sim.model("router", "bus", latency=0)
    mem = sim.model(
        "memory", "mem", size=MEM_SIZE, read_latency="10 ns", write_latency="10 ns", dmi=False
    )
    bus.map(mem.port("target"), MEM, MEM_SIZE)
    sim.bind(host.bus, bus.port("target"))
    seen = []

    @sim.process
    async def watch() -> None:
        await host.model.event("signal")
        seen.append(int(mem.array()[0]))
        await host.model.event("signal")
        seen.append(int(mem.array()[0]))
        mem.array()[8] = 9  # m[1] changes behind the (now empty) cache

    sim.run()
    flat = sim.stats.flat()
    return {
        "numbers": [int(x) for x in host.console[0][1].split()],
        "seen": seen,
        "misses": flat["cpu.dcache_misses"],
        "hits": flat["cpu.dcache_hits"],
        "writebacks": flat["cpu.dcache_writebacks"],
    }


def test_data_cache_fills_lines_hits_and_is_flushed_by_the_driver(tmp_path: Path) -> None:
    v = cosim.simulate(cached_run, str(program(tmp_path, CACHED, board=BOARD))).value
    first, second, total = v["numbers"]
    # first pass: 64 misses, each a 64-byte fill (10 ns memory + 20 access cycles at 1 ns),
    # plus the loop's instructions; second pass: instructions only
    assert 64 * 30 <= first <= 64 * 30 + 512 * 8
    assert second <= 512 * 8 and first - second >= 64 * 30 - 512 * 8
    assert v["misses"] == 64 + 1  # and m[1]'s line again after the flush
    assert v["hits"] >= 512 + 511
    assert v["seen"] == [0, 5]  # the store reaches memory only when flushed
    assert v["writebacks"] == 1
    assert total == 9  # after the flush the core sees what was written behind it


# ------------------------------------------------------------------ interrupts, wfi

WFI = """
    #include <stdio.h>
    #include "cosim.h"
    static volatile int handled;
    void cosim_irq_handler(uint32_t pending) {
      handled += 1;
      cosim_write32(COSIM_BOARD_IRQ_PENDING, pending);
    }
    int main(void) {
      cosim_irq_enable(1u << COSIM_IRQ_DEV);
      uint32_t got = cosim_wait_irq(1u << COSIM_IRQ_DEV);   /* MIE off: wfi wakes, no trap */
      uint64_t woke = cosim_cycles();
      cosim_interrupts(1);                                     /* second one via the handler */
      while (!handled) __asm__ volatile("wfi");
      printf("%u %llu %d\\n", got, (unsigned long long)woke, handled);
      return 0;
    }
"""


def wfi_run(sim: cosim.Simulation, elf: str) -> dict[str, Any]:
    host, _ = system(sim, Path(elf))

    @sim.process
    async def device() -> None:
        await cosim.delay(cosim.us(5))
        host.model.raise_irq(0)
        await cosim.delay(cosim.us(5))
        host.model.raise_irq(0)

    sim.run()
    return {
        "line": host.console[0][1],
        "exit": host.exit_code,
        "wfi_time": sim.stats["cpu.wfi_time"],
        "irqs": sim.stats["cpu.irqs"],
        "instructions": sim.stats["cpu.instructions"],
        "now": sim.now,
    }


def test_wfi_sleeps_until_the_interrupt_and_the_handler_runs(tmp_path: Path) -> None:
    v = cosim.simulate(wfi_run, str(program(tmp_path, WFI))).value
    got, woke, handled = (int(x) for x in v["line"].split())
    assert v["exit"] == 0 and got == 1 and handled == 1
    assert 5000 <= woke <= 5100  # woke at 5 us (1 ns cycles), a few instructions later
    assert v["irqs"] == 1  # only the second interrupt was taken as a trap
    # waiting is not executing: ~10 us asleep, a few hundred instructions in all
    assert v["wfi_time"] >= 9_500_000
    assert v["instructions"] < 5_000
    # ends after the second interrupt (10 us) by at most every instruction's 1 ns
    assert 10_000_000 <= v["now"] <= 10_000_000 + v["instructions"] * 1000 + 10 * 1000


SPIN = """
    #include "cosim.h"
    int main(void) {
      volatile uint32_t *flag = (volatile uint32_t *)(uintptr_t)COSIM_MEM_BASE;
      while (*flag == 0) { }
      return (int)*flag;
    }
"""


def spin_run(sim: cosim.Simulation, elf: str, quantum: str) -> dict[str, Any]:
    host, mem = system(sim, Path(elf), quantum=quantum)

    @sim.process
    async def device() -> None:
        await cosim.delay(cosim.us(20))
        mem.array()[0] = 9

    sim.run()
    return {"exit": host.exit_code, "now": sim.now, "syncs": sim.stats["cpu.syncs"]}


def test_spinning_on_a_register_lets_the_rest_of_the_system_run(tmp_path: Path) -> None:
    elf = str(program(tmp_path, SPIN))
    v = cosim.simulate(spin_run, elf, "1 us").value
    assert v["exit"] == 9
    # seen within one quantum plus one poll (10 ns memory + 20 cycles + loop) of 20 us
    assert 20_000_000 <= v["now"] <= 21_100_000
    assert v["syncs"] >= 15  # synchronised about once per quantum while spinning


# --------------------------------------------------------------------------- crashes

CRASH_ILLEGAL = """
    #include "cosim.h"
    __attribute__((noinline)) void crash_here(void) { __asm__ volatile(".word 0xffffffff"); }
    int main(void) { crash_here(); return 0; }
"""
CRASH_UNMAPPED = """
    #include "cosim.h"
    __attribute__((noinline)) int poke_nowhere(void) { return *(volatile int *)0x30000010; }
    int main(void) { return poke_nowhere(); }
"""
CRASH_TLM = """
    #include "cosim.h"
    __attribute__((noinline)) int read_past_memory(volatile uint32_t *p) { return p[0]; }
    int main(void) {
      return read_past_memory((volatile uint32_t *)(uintptr_t)(COSIM_MEM_BASE + 0x100010));
    }
"""


def crash_run(sim: cosim.Simulation, elf: str) -> None:
    system(sim, Path(elf))
    sim.run()


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (CRASH_ILLEGAL, ["illegal instruction", "crash_here", "instruction 0xffffffff"]),
        (
            CRASH_UNMAPPED,
            ["unmapped address 0x30000010", "poke_nowhere", "faulting address 0x30000010"],
        ),
        (CRASH_TLM, ["ADDRESS_ERROR", "read_past_memory", "faulting address 0x80100010"]),
    ],
    ids=["illegal", "unmapped", "tlm_error"],
)
def test_a_crash_names_pc_instruction_address_and_symbol(
    tmp_path: Path, source: str, words: list[str]
) -> None:
    elf = program(tmp_path, source)
    with pytest.raises(SimulationError) as e:
        cosim.simulate(crash_run, str(elf))
    msg = str(e.value)
    assert "pc 0x" in msg and "instruction 0x" in msg
    for w in words:
        assert w in msg, msg


# ------------------------------------------------------------------------ bad input


def test_missing_toolchain_is_one_line_naming_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(riscv_host, "GCC", "riscv64-unknown-elf-gcc-not-installed")
    with pytest.raises(ToolchainError) as e:
        program(tmp_path, HELLO)
    assert "gcc-riscv64-unknown-elf" in str(e.value) and "\n" not in str(e.value)


def test_c_that_does_not_compile_gives_the_compilers_error_lines(tmp_path: Path) -> None:
    with pytest.raises(ProgramBuildError) as e:
        program(tmp_path, "int main(void) {\n  return undefined_name;\n}\n", name="broken.c")
    assert e.value.diagnostics and all(
        "broken.c:2:" in d and "error" in d for d in e.value.diagnostics
    )
    assert "broken.c:2:" in str(e.value)
    with pytest.raises(ProgramBuildError) as e:  # compiles, does not link
        program(tmp_path, "int helper(void);\nint main(void) { return helper(); }\n", name="l.c")
    assert any("undefined reference to `helper'" in d for d in e.value.diagnostics)


def load_only(sim: cosim.Simulation, elf: str) -> None:
    RiscvHost(sim, BOARD, elf)


def test_an_elf_for_another_architecture_is_refused_before_the_run(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match=r"machine 62 \(x86-64\), not RISC-V"):
        cosim.simulate(load_only, sys.executable if Path(sys.executable).is_file() else "/bin/true")
    src = tmp_path / "rv32.c"
    src.write_text("int main(void) { return 0; }\n")
    rv32 = tmp_path / "rv32.elf"
    subprocess.run(
        [
            riscv_host.GCC,
            "-march=rv32imac",
            "-mabi=ilp32",
            "-nostdlib",
            "-nostartfiles",
            "-e",
            "main",
            str(src),
            "-o",
            str(rv32),
        ],
        check=True,
    )
    with pytest.raises(SimulationError, match="32-bit ELF"):
        cosim.simulate(load_only, str(rv32))
    text = tmp_path / "not.elf"
    text.write_text("hello")
    with pytest.raises(SimulationError, match="not an ELF"):
        cosim.simulate(load_only, str(text))


# ------------------------------------------------------------- builds and the board


def test_builds_are_cached_by_content(tmp_path: Path) -> None:
    a = program(tmp_path, HELLO)
    mtime = a.stat().st_mtime_ns
    assert program(tmp_path, HELLO) == a and a.stat().st_mtime_ns == mtime
    moved = Board(
        regions={"mem": (MEM + 0x1000_0000, 2 * MEM_SIZE)}, irqs={"dev": 0}, cpu={"clock_hz": 1e9}
    )
    assert program(tmp_path, HELLO, board=moved) != a  # another memory map, another build
    assert program(tmp_path, HELLO.replace("42", "43")) != a


def soc_board(sim: cosim.Simulation) -> dict[str, Any]:
    from cosim.system.soc import build_soc

    soc = build_soc(sim)
    return {"map": soc.address_map, "header": Board.for_soc(soc).header()}


def test_board_header_addresses_are_the_python_systems(tmp_path: Path) -> None:
    from cosim.system import dma

    v = cosim.simulate(soc_board).value
    defs = {}
    for line in v["header"].splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#define" and parts[2].startswith("0x"):
            defs[parts[1]] = int(parts[2].rstrip("ul"), 16)
    for name, (base, size) in v["map"].items():
        assert defs[f"COSIM_{name.upper()}_BASE"] == base
        assert defs[f"COSIM_{name.upper()}_SIZE"] == size
    for reg, off in dma.REGISTERS.items():
        assert defs[f"COSIM_DMA_{reg}"] == off


# ------------------------------------------------------------- on the standard SoC

SW = Path(__file__).resolve().parent.parent / "sw"


def soc_dma_run(sim: cosim.Simulation, trace: str) -> dict[str, Any]:
    from cosim.system.soc import build_soc

    soc = build_soc(sim)
    board = Board.for_soc(soc)
    host = RiscvHost.on_soc(sim, soc, board, build_program([SW / "examples" / "dma_copy.c"], board))
    sim.trace.enable()
    sim.run()
    sim.trace.export(trace)
    return {"exit": host.exit_code, "console": host.console, "dma_bytes": sim.stats["dma.bytes"]}


def test_c_driver_runs_the_socs_dma_with_its_interrupt_and_traces_it(tmp_path: Path) -> None:
    trace = tmp_path / "t.json"
    v = cosim.simulate(soc_dma_run, str(trace)).value
    assert v["exit"] == 0, v["console"]
    assert "dma copied 4096 bytes" in v["console"][-1][1]
    assert v["dma_bytes"] >= 4096
    events = json.loads(trace.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    names = {e.get("name", "") for e in events}
    assert any(n.startswith("irq 0") for n in names)  # the DMA's interrupt on the core's row
    assert "wfi" in names
    mmio_to_dma = [e for e in events if e.get("ph") == "X" and "0x4000" in json.dumps(e)]
    assert len(mmio_to_dma) >= 3


# -------------------------------------------------------------------------- the CLI


def test_cli_runs_a_c_file_and_exits_with_its_code(tmp_path: Path) -> None:
    src = tmp_path / "seven.c"
    src.write_text(textwrap.dedent(HELLO))
    r = subprocess.run(
        [sys.executable, "-m", "cosim.system.riscv_host", str(src)], capture_output=True, text=True
    )
    assert r.returncode == 7, r.stderr
    assert "hello 42" in r.stdout
    bad = tmp_path / "bad.c"
    bad.write_text("int main(void) { return nope; }\n")
    r = subprocess.run(
        [sys.executable, "-m", "cosim.system.riscv_host", str(bad)], capture_output=True, text=True
    )
    assert r.returncode == 2
    assert "bad.c:1:" in r.stderr and "error" in r.stderr


# ------------------------------------------- an accelerator's command window from C


def accel_run(sim: cosim.Simulation) -> dict[str, Any]:
    from cosim.accel.device import Accelerator, AcceleratorError
    from cosim.system.riscv_accel import RiscvAcceleratorDriver, riscv_accel_host
    from cosim.system.soc import build_soc

    soc = build_soc(sim)
    dev = Accelerator(sim, soc, "acc", base=0x5000_0000, clock="1 ns")

    @dev.command(1, "add")
    async def add(seq: Any) -> list[int]:  # the sum of its two arguments, after 2 us
        await cosim.delay(cosim.us(2))
        return [seq.args[0] + seq.args[1]]

    cpu = riscv_accel_host(sim, soc, dev)
    drv = RiscvAcceleratorDriver(cpu, "acc")
    out: dict[str, Any] = {}

    @sim.process
    async def main() -> None:
        t0 = cosim.now()
        out["sum"] = await drv.run(1, 40, 2, results=1)
        out["elapsed"] = cosim.now() - t0
        try:
            await drv.run(7)
        except AcceleratorError as e:
            out["error"] = str(e)
        await drv.close()

    sim.run()
    return {**out, "exit": cpu.exit_code, "commands": dev.commands_run}


def test_c_driver_runs_an_accelerators_commands_and_reports_errors() -> None:
    v = cosim.simulate(accel_run).value
    assert v["sum"] == [42] and v["exit"] == 0
    assert v["elapsed"] >= 2_000_000  # the command's own 2 us, then the interrupt
    assert "command 7 failed" in v["error"]
