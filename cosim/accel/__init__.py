"""Accelerator compute engines with interchangeable implementations (functional numpy,
approximately-timed TLM, cycle-exact RTL) behind one interface per engine, and what puts
an accelerator on a SoC (docs/accelerators.md):

- cosim.accel.systolic: the dense int8 systolic array package (its engine exported here);
- cosim.accel.engine: build_engine, one engine with its three twins (every engine,
  the stream-shaped ones and the systolic array included, is built through it);
- cosim.accel.device: Accelerator (control registers, sequencer, local bus, interrupt)
  and the host's AcceleratorDriver;
- cosim.accel.costs: shared per-event energies;
- cosim.accel.phase: energy, stats and time of a phase of a run (every scenario);
- cosim.accel.eie, cosim.accel.s2ta: the EIE and S2TA accelerators;
- cosim.accel.declared: EngineDeclaration, an engine's parameters and registers declared
  once (checked against its RTL and C++ twin);
- cosim.accel.stream_engine: the engine shape (register header, the generic driver's
  register part, the two-stream engines); cosim.accel.control: the controller pieces of
  STA and DFX (docs/accelerators/sta.md, dfx.md).
"""

from __future__ import annotations

from cosim.accel.engine import IMPLEMENTATIONS
from cosim.accel.systolic import (
    REGISTERS,
    SystolicArray,
    SystolicDriver,
    SystolicLayout,
    golden_matmul,
    systolic_array,
)

__all__ = [
    "IMPLEMENTATIONS",
    "REGISTERS",
    "SystolicArray",
    "SystolicDriver",
    "SystolicLayout",
    "golden_matmul",
    "systolic_array",
]
