"""Host CPU baselines as compiled C on the RISC-V core (sw/kernels/baselines.c): dense
int16/int8 GEMV, int16 CSR SpMV and int8 GEMM reading their operands from the simulated
DRAM through the core's data cache, so the memory system's timing counts. A scenario
with cpu_baseline=riscv runs them instead of the host_cpu roofline.

    add_kernels(board)                               # before build_program: job, codes, line
    elf = build_program([driver, KERNEL_SOURCE], board)
    run = await run_kernel(cpu, "gemv_i16", a=w_addr, b=x_addr, c=y_addr, m=rows, n=cols)

The core model behind the figures (docs/riscv-host.md): one in-order hart, `cpi` cycles
per instruction at `clock_hz`, a write-back data cache of CACHE_BYTES with one miss in
flight and no prefetcher.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.accel.phase import Phase, PhaseMeter
from cosim.errors import SimulationError
from cosim.system.riscv_host import SW_DIR, Board, RiscvHost

#: The C source of the kernels; programs that take kernel jobs link it.
KERNEL_SOURCE = SW_DIR / "kernels" / "baselines.c"
#: struct cosim_kernel_job (generated into the board header), at the mailbox's last 256 B.
KERNEL_JOB = (
    ("kernel", 4),
    ("status", 4),
    ("m", 4),
    ("n", 4),
    ("k", 4),
    ("reserved", 4),
    ("a", 8),
    ("b", 8),
    ("c", 8),
    ("instructions", 8),
    ("cycles", 8),
)
_JOB = struct.Struct("<6I5Q")
#: Kernel codes: name -> (code, what it computes).
KERNELS = {
    "gemv_i16": (1, "c[m] = a[m][n] b[n]; int16 operands, int32 (wrapping) results"),
    "gemv_i8": (2, "c[m] = a[m][n] b[n]; int8 operands, int32 (wrapping) results"),
    "gemm_i8": (3, "c[m][n] = a[m][k] b[k][n]; int8 operands, int32 (wrapping) results"),
    "spmv_i16": (4, "c[m] = A b, A in CSR at a (see csr_image), k nonzeros; int16, int32 out"),
}
STATUS_DONE, STATUS_UNKNOWN = 1, 2
#: The value the driver writes to SIGNAL after a kernel ('KERN').
SIGNAL = 0x4B45_524E
#: Interrupt line that hands the driver a kernel job (lines 0-2 are the DMA's and the
#: drivers' own).
KERNEL_LINE = 3
#: The core's L1 data cache for the baselines: 32 KiB, 4 ways, 64 B lines (the
#: riscv_cpu defaults for ways and line), the size of an application core's L1D
#: (SiFive U54: 32 KiB).
CACHE_BYTES = 32 << 10


def csr_image(dense: np.ndarray) -> tuple[np.ndarray, int]:
    """The CSR form spmv_i16 reads (row pointers and column indices uint32, values
    int16, one after the other) of an int16 matrix, and its count of nonzeros."""
    rows, cols = np.nonzero(dense)
    ptr = np.zeros(dense.shape[0] + 1, np.uint32)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=ptr[1:])
    vals = dense[rows, cols].astype(np.int16)
    parts = (ptr.view(np.uint8), cols.astype(np.uint32).view(np.uint8), vals.view(np.uint8))
    return np.concatenate(parts), len(vals)


def job_address(board: Board) -> int:
    base, size = board.mailbox
    return base + size - 256


def add_kernels(board: Board) -> None:
    """Give `board` what a program linking KERNEL_SOURCE needs: the job's layout and
    address, kernel codes, line KERNEL, and DRAM through a data cache."""
    if "kernel" not in board.irqs and KERNEL_LINE in board.irqs.values():
        raise ValueError(f"interrupt line {KERNEL_LINE} is taken: {board.irqs}")
    board.irqs["kernel"] = KERNEL_LINE
    board.structs["kernel_job"] = KERNEL_JOB
    board.constants["KERNEL_JOB"] = job_address(board)
    board.constants.update({f"KERNEL_{name}": code for name, (code, _) in KERNELS.items()})
    board.constants.update(
        {"KERNEL_STATUS_DONE": STATUS_DONE, "KERNEL_STATUS_UNKNOWN": STATUS_UNKNOWN}
    )
    board.constants["KERNEL_SIGNAL"] = SIGNAL
    board.cpu.setdefault("dcache_bytes", CACHE_BYTES)
    board.cached.add("dram")


@dataclass(frozen=True)
class KernelRun:
    """One kernel on the core: the phase (time, energy, stats), and what the program
    counted between its two cache flushes."""

    kernel: str
    phase: Phase
    instructions: int
    core_cycles: int
    cache_misses: int

    @property
    def time_ps(self) -> int:
        return self.phase.time_ps

    @property
    def cpi(self) -> float:
        """Core cycles per instruction, memory stalls included."""
        return self.core_cycles / max(1, self.instructions)


async def run_kernel(
    cpu: RiscvHost, kernel: str, *, a: int, b: int, c: int, m: int, n: int, k: int = 0
) -> KernelRun:
    """Run `kernel` on the core (its driver must link KERNEL_SOURCE): a, b, c are the
    bus addresses of the operands and the result. Time is measured from handing over
    the job to the driver's signal."""
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel '{kernel}'; the kernels: {sorted(KERNELS)}")
    board = cpu.board
    off = job_address(board) - int(board.param("ram_base"))
    ram = cpu.model.ram_view()
    code = KERNELS[kernel][0]
    ram[off : off + _JOB.size] = np.frombuffer(
        _JOB.pack(code, 0, m, n, k, 0, a, b, c, 0, 0), np.uint8
    )
    misses = f"{cpu.model.name}.dcache_misses"
    meter = PhaseMeter(cpu.sim)
    cpu.model.raise_irq(board.irqs["kernel"])
    await cpu.model.event("signal")
    phase = meter.stop()
    _, status, *_, instructions, cycles = _JOB.unpack(bytes(ram[off : off + _JOB.size]))
    if status != STATUS_DONE:
        raise SimulationError(f"kernel '{kernel}' on the RISC-V core: status {status}")
    return KernelRun(kernel, phase, instructions, cycles, int(phase.stat(misses)))


def describe(cpu: RiscvHost) -> str:
    """The core model in one line, for reports."""
    p = cpu.board.param
    return (
        f"RV64GC, 1 hart at {float(p('clock_hz')) / 1e9:g} GHz, cpi {float(p('cpi')):g}, "
        f"{int(p('dcache_bytes')) >> 10} KiB {int(p('dcache_ways'))}-way write-back data "
        f"cache ({int(p('dcache_line'))} B lines, one miss in flight, no prefetch)"
    )


def kernel_figures(run: KernelRun, clock_ps: float) -> dict[str, Any]:
    """What a scenario reports of a kernel run, in its own clock."""
    return {
        "cycles": round(run.time_ps / clock_ps),
        "core_cycles": run.core_cycles,
        "instructions": run.instructions,
        "cpi": run.cpi,
        "cache_misses": run.cache_misses,
    }
