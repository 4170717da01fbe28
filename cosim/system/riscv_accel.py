"""An accelerator's command window driven by compiled C on the RISC-V host
(sw/drivers/accel.c): the same interface as cosim.accel.device.AcceleratorDriver, so a
scenario with host=riscv swaps one object and keeps its flow.

    cpu = riscv_accel_host(sim, soc, acc.device)     # the core, built and wired
    acc.driver = RiscvAcceleratorDriver(cpu)         # every command now goes through C
    ...
    await acc.driver.close()                         # the program exits: the run ends
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from cosim.accel import device as acc_regs
from cosim.accel.device import AcceleratorError
from cosim.params import Param
from cosim.system.riscv_baseline import KERNEL_SOURCE, add_kernels
from cosim.system.riscv_host import SW_DIR, Board, RiscvHost, build_program

#: The scenario parameter that picks who drives an accelerator's command window; every
#: scenario whose device is a `cosim.accel.device.Accelerator` declares it.
HOST_PARAM = Param(
    "host",
    "python",
    choices=("python", "riscv"),
    help="who drives the command window: the Python driver, or the C driver "
    "sw/drivers/accel.c compiled for the RISC-V core",
)

#: struct cosim_accel_job at the mailbox's base (generated into the board header);
#: arguments and results follow at the offsets below.
ACCEL_JOB = (("cmd", 4), ("nargs", 4), ("nresults", 4), ("status", 4))
JOB_ARGS = 16
JOB_RESULTS = JOB_ARGS + 4 * acc_regs.N_ARGS
_HEAD = struct.Struct("<IIII")


def accel_board(soc: Any, device: Any, **cpu: Any) -> Board:
    """The standard SoC's board plus one accelerator's command window (region 'accel',
    its register table and codes from cosim.accel.device), the job layout and two
    interrupt lines: GO (the scenario hands the driver a job) and ACCEL (the device)."""
    board = Board.for_soc(soc, **cpu)
    board.regions["accel"] = (device.base, device.window.size)
    board.registers["accel"] = dict(acc_regs.REGISTERS)
    board.constants.update({f"ACCEL_{k}": v for k, v in acc_regs.CODES.items()})
    board.constants.update({"ACCEL_JOB_ARGS": JOB_ARGS, "ACCEL_JOB_RESULTS": JOB_RESULTS})
    board.structs["accel_job"] = ACCEL_JOB
    board.irqs.update({"go": 1, "accel": 2})
    return board


def riscv_accel_host(sim: Any, soc: Any, device: Any, **cpu: Any) -> RiscvHost:
    """The RISC-V core on `soc` running sw/drivers/accel.c for `device`, with the
    device's interrupt on line ACCEL; it also runs the host CPU baselines
    (cosim.system.riscv_baseline) on line KERNEL, with DRAM behind its data cache (the
    driver itself never touches DRAM)."""
    board = accel_board(soc, device, echo=False, **cpu)
    add_kernels(board)
    elf = build_program([SW_DIR / "drivers" / "accel.c", KERNEL_SOURCE], board)
    host = RiscvHost.on_soc(sim, soc, board, elf)
    host.connect_event("accel", device.irq)
    return host


class RiscvAcceleratorDriver:
    """AcceleratorDriver.run() carried out by the C driver on `cpu`: the job goes into
    the mailbox, line GO starts it, the driver's SIGNAL ends it."""

    def __init__(self, cpu: RiscvHost, name: str = "accelerator") -> None:
        self.cpu = cpu
        self.name = name
        self.commands = 0
        base, size = cpu.board.mailbox
        self._off = base - int(cpu.board.param("ram_base"))
        if size < JOB_RESULTS + 4 * acc_regs.N_RESULTS:
            raise AcceleratorError(f"the core's mailbox ({size} B) cannot hold a job")

    async def run(self, command: int, *args: int, results: int = 0) -> list[int]:
        if len(args) > acc_regs.N_ARGS or results > acc_regs.N_RESULTS:
            raise AcceleratorError(
                f"accelerator '{self.name}': at most {acc_regs.N_ARGS} arguments and "
                f"{acc_regs.N_RESULTS} results"
            )
        if command == 0:
            raise AcceleratorError("command 0 ends the C driver; use close()")
        ram, off = self.cpu.model.ram_view(), self._off
        ram[off : off + _HEAD.size] = np.frombuffer(
            _HEAD.pack(command, len(args), results, 0), np.uint8
        )
        words = np.array([int(a) & 0xFFFF_FFFF for a in args], dtype=np.uint32).view(np.uint8)
        ram[off + JOB_ARGS : off + JOB_ARGS + len(words)] = words
        self.cpu.model.raise_irq(self.cpu.board.irqs["go"])
        await self.cpu.model.event("signal")
        self.commands += 1
        status = _HEAD.unpack(bytes(ram[off : off + _HEAD.size]))[3]
        if status & acc_regs.STATUS_ERROR:
            raise AcceleratorError(
                f"accelerator '{self.name}': command {command} failed (STATUS {status:#x}: "
                "unknown command or started while busy)"
            )
        out = ram[off + JOB_RESULTS : off + JOB_RESULTS + 4 * results].copy().view(np.uint32)
        return [int(v) for v in out]

    async def close(self) -> None:
        """Hand the driver command 0: the program exits and the run ends."""
        ram, off = self.cpu.model.ram_view(), self._off
        ram[off : off + _HEAD.size] = np.frombuffer(_HEAD.pack(0, 0, 0, 0), np.uint8)
        self.cpu.model.raise_irq(self.cpu.board.irqs["go"])
