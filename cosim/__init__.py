"""cosim: full-system co-simulation of ML accelerators.

SystemC TLM-2.0 models (host, memory, interconnect, ...) and Verilated RTL blocks,
composed and driven from Python. One SystemC kernel owns time; Python processes are
`async def` coroutines that the kernel resumes at transaction granularity.

Start with `Simulation` (build and run one system in this process) and `simulate`
(run a build-and-run function in a fresh worker process). Time is integer picoseconds:
see `ns`, `us`, `fmt_time`.

System models are in `cosim.system` (host, DMA, DRAM/HBM, the standard SoC, link,
ReRAM, near-data units); `cosim.energy` is the per-event energy table (also `sim.energy`);
accelerators are in `cosim.accel.<name>`.
"""

from __future__ import annotations

import os as _os

# SystemC prints a banner when its kernel starts unless told not to.
_os.environ.setdefault("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1")

if _os.environ.get("COSIM_CORE_LIBRARY"):  # another build of the extension (make sanitize)
    import importlib.util as _util
    import sys as _sys

    _spec = _util.spec_from_file_location("cosim._core", _os.environ["COSIM_CORE_LIBRARY"])
    if _spec is None or _spec.loader is None:
        raise ImportError(f"COSIM_CORE_LIBRARY={_os.environ['COSIM_CORE_LIBRARY']} is no extension")
    _sys.modules["cosim._core"] = _util.module_from_spec(_spec)
    _spec.loader.exec_module(_sys.modules["cosim._core"])

from cosim import _core, energy
from cosim._core import (
    Command,
    DmiRegion,
    Event,
    Model,
    Payload,
    Port,
    Process,
    PythonTarget,
    Response,
    Socket,
    all_of,
    any_of,
    delay,
    sync,
)
from cosim.energy import Energy
from cosim.errors import (
    BindingError,
    CosimError,
    DeadlockError,
    ParameterError,
    RemoteTraceback,
    SimulationCrashed,
    SimulationError,
    SimulationTimeout,
    TlmError,
    WorkerError,
)
from cosim.models import ModelInfo, ParamInfo, PortInfo, model_info, models
from cosim.runner import SimResult, simulate
from cosim.simulation import Simulation, current_simulation, now, spawn
from cosim.system import dma, dram, host, soc
from cosim.system.dma import Descriptor, DmaDriver
from cosim.system.host import HostCpu, InterruptLine
from cosim.system.soc import Soc, build_soc
from cosim.tlm import Dmi
from cosim.units import MS, NS, PS, US, fmt_time, ms, ns, parse_time, period, ps, sec, us

__version__ = "0.1.0"
SYSTEMC_VERSION: str = _core.SYSTEMC_VERSION

__all__ = [
    "MS",
    "NS",
    "PS",
    "US",
    "BindingError",
    "Command",
    "CosimError",
    "DeadlockError",
    "Descriptor",
    "DmaDriver",
    "Dmi",
    "DmiRegion",
    "Energy",
    "Event",
    "HostCpu",
    "InterruptLine",
    "Model",
    "ModelInfo",
    "ParamInfo",
    "ParameterError",
    "Payload",
    "Port",
    "PortInfo",
    "Process",
    "PythonTarget",
    "RemoteTraceback",
    "Response",
    "SimResult",
    "Simulation",
    "SimulationCrashed",
    "SimulationError",
    "SimulationTimeout",
    "Soc",
    "Socket",
    "TlmError",
    "WorkerError",
    "all_of",
    "any_of",
    "build_soc",
    "current_simulation",
    "delay",
    "dma",
    "dram",
    "energy",
    "fmt_time",
    "host",
    "model_info",
    "models",
    "ms",
    "now",
    "ns",
    "parse_time",
    "period",
    "ps",
    "sec",
    "simulate",
    "soc",
    "spawn",
    "sync",
    "us",
]
