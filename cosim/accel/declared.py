"""An engine's parameters and register map, declared once in Python.

Each engine's package declares one `EngineDeclaration` next to its numpy twin; its
constants, build shapes and drivers read it, and tests/test_engine_declarations.py
parses the engine's SystemVerilog (parameters, register case labels, the register
names of its header comment) and its C++ twin (register constants, the ModelSpec's
parameters) and fails on any difference from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cosim.errors import ParameterError

#: The register header every engine has (docs/accelerators.md, "The engine shape").
HEADER = {"CTRL": 0x00, "STATUS": 0x04, "CYCLES": 0x08, "INFO": 0x0C}
#: Engine registers start here.
ENGINE_BASE = 0x10


@dataclass(frozen=True)
class EngineParam:
    """A build parameter: `name` in Python and in the TLM twin's ModelSpec, `rtl` in the
    SystemVerilog (default: name in upper case), its default and range."""

    name: str
    default: int
    min: int
    max: int
    help: str = ""
    rtl: str = ""

    @property
    def rtl_name(self) -> str:
        return self.rtl or self.name.upper()

    def check(self, engine: str, value: int) -> int:
        if not self.min <= value <= self.max:
            raise ParameterError(f"{engine}: {self.name} = {value} must be {self.min}..{self.max}")
        return value


@dataclass(frozen=True)
class EngineDeclaration:
    """One engine: its RTL module `kind` (rtl/<accelerator>/<kind>.sv unless `rtl`
    says otherwise), its TLM model `<kind>_tlm` (in `tlm`), its build parameters and
    its registers from 0x10 (name -> byte address). `counters` are read-only event
    counters at counter_base + 4 i; `arrays` are register ranges (name -> first
    address) the RTL decodes by range."""

    kind: str
    rtl: str
    tlm: str
    params: tuple[EngineParam, ...]
    registers: dict[str, int]
    counters: tuple[str, ...] = ()
    counter_base: int = 0
    arrays: dict[str, int] = field(default_factory=dict)
    model: str = ""

    def __post_init__(self) -> None:
        for name, addr in self.registers.items():
            if addr < ENGINE_BASE or addr % 4:
                raise ValueError(
                    f"{self.kind}: register {name} at {addr:#x} is not an engine register"
                )

    @property
    def tlm_model(self) -> str:
        return self.model or f"{self.kind}_tlm"

    def register_map(self) -> dict[str, int]:
        """Every register by name: the header, the engine's and the counters."""
        regs = dict(HEADER) | dict(self.registers)
        regs |= {c: self.counter_base + 4 * i for i, c in enumerate(self.counters)}
        return regs

    def param(self, name: str) -> EngineParam:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.kind} has no parameter {name!r}")

    def default(self, name: str) -> int:
        return self.param(name).default

    def tlm_params(self, **values: Any) -> dict[str, Any]:
        """The TLM twin's parameters for `values` (Python names), checked."""
        return {p.name: p.check(self.kind, values[p.name]) for p in self.params if p.name in values}

    def rtl_params(self, **values: Any) -> dict[str, Any]:
        """The SystemVerilog parameters for `values` (Python names), checked."""
        return {
            p.rtl_name: p.check(self.kind, values[p.name]) for p in self.params if p.name in values
        }


__all__ = ["ENGINE_BASE", "HEADER", "EngineDeclaration", "EngineParam"]
