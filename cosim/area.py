"""Silicon area of an accelerator's engines at 45 nm, from what they are built of:
arithmetic units, SRAM macros and registers. Every constant names its source and node
(all 45 nm, so no scaling); docs/studies.md explains the model and its limits.

    from cosim import area
    a = area.estimate(ops={"int16_mult": 8, "int32_add": 8},
                      srams={"spmat": (8, 64 << 10)}, register_bits=8 * 256)
    a.mm2, a.by_part_mm2()      # total, and {"int16_mult": ..., "sram.spmat": ..., ...}

Wires, control and clock tree are not counted (EIE's PE: under 2 % of its area), so
the figures are for comparing designs of one scenario, not for quoting a die size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

NODE_NM = 45

HOROWITZ = "M. Horowitz, 'Computing's energy problem', ISSCC 2014, area table (45 nm)"
EIE_TABLE = "Han et al., EIE, ISCA 2016, Table II: one PE's area by module (45 nm)"
NANGATE = "Nangate FreePDK45 open cell library, DFF_X1 (45 nm)"


@dataclass(frozen=True)
class Constant:
    """One area figure: value in µm², what it is, and where it comes from."""

    um2: float
    what: str
    source: str


def _square_law(bits: int, um2_8b: float) -> float:
    """An array multiplier's area grows with the square of its width (assumption)."""
    return um2_8b * (bits / 8) ** 2


#: Arithmetic units (µm² each at 45 nm).
LOGIC: dict[str, Constant] = {
    "int8_add": Constant(36.0, "8-bit integer adder", HOROWITZ),
    "int16_add": Constant(67.0, "16-bit integer adder", HOROWITZ),
    "int32_add": Constant(137.0, "32-bit integer adder", HOROWITZ),
    "int8_mult": Constant(282.0, "8-bit integer multiplier", HOROWITZ),
    "int16_mult": Constant(
        _square_law(16, 282.0),
        "16-bit integer multiplier",
        f"derived from {HOROWITZ}: 8-bit multiplier 282 µm² x (16/8)^2 (assumption)",
    ),
    "int32_mult": Constant(3495.0, "32-bit integer multiplier", HOROWITZ),
    "fp16_add": Constant(1360.0, "16-bit floating-point adder", HOROWITZ),
    "fp16_mult": Constant(1640.0, "16-bit floating-point multiplier", HOROWITZ),
    "fp32_add": Constant(4184.0, "32-bit floating-point adder", HOROWITZ),
    "fp32_mult": Constant(7700.0, "32-bit floating-point multiplier", HOROWITZ),
}

#: One flip-flop per register bit.
REGISTER_BIT = Constant(4.522, "one register bit (D flip-flop)", NANGATE)

#: SRAM: area = SRAM_KIB_UM2 x (capacity / 1 KiB) ^ SRAM_EXPONENT, a two-point fit to
#: EIE's pointer SRAM (32 KiB, module PtrRead 121,849 µm²) and sparse-matrix SRAM
#: (128 KiB, module SpmatRead 469,412 µm²); the modules include their read logic.
SRAM_POINTS = ((32 << 10, 121_849.0), (128 << 10, 469_412.0))
SRAM_EXPONENT = math.log(SRAM_POINTS[1][1] / SRAM_POINTS[0][1]) / math.log(
    SRAM_POINTS[1][0] / SRAM_POINTS[0][0]
)
SRAM_KIB_UM2 = SRAM_POINTS[0][1] / (SRAM_POINTS[0][0] / 1024) ** SRAM_EXPONENT
SRAM_SOURCE = f"capacity fit to {EIE_TABLE} (PtrRead 32 KiB, SpmatRead 128 KiB)"


def logic_um2(op: str) -> float:
    """Area of one arithmetic unit `op` (a key of LOGIC)."""
    if op not in LOGIC:
        raise KeyError(f"no area figure for '{op}' (known: {', '.join(LOGIC)})")
    return LOGIC[op].um2


def sram_um2(capacity_bytes: int) -> float:
    """Area of one SRAM macro of `capacity_bytes` (the capacity fit above)."""
    if capacity_bytes <= 0:
        raise ValueError(f"SRAM capacity must be > 0 bytes, got {capacity_bytes}")
    return SRAM_KIB_UM2 * (capacity_bytes / 1024) ** SRAM_EXPONENT


def register_um2(bits: int) -> float:
    if bits < 0:
        raise ValueError(f"register bits must be >= 0, got {bits}")
    return REGISTER_BIT.um2 * bits


@dataclass
class Estimate:
    """An engine's area by part (µm²): one entry per arithmetic unit kind, per SRAM
    (`sram.NAME`) and `registers`."""

    parts_um2: dict[str, float] = field(default_factory=dict)
    node_nm: int = NODE_NM

    @property
    def mm2(self) -> float:
        return sum(self.parts_um2.values()) / 1e6

    def by_part_mm2(self) -> dict[str, float]:
        return {k: v / 1e6 for k, v in self.parts_um2.items()}

    def __add__(self, other: Estimate) -> Estimate:
        parts = dict(self.parts_um2)
        for k, v in other.parts_um2.items():
            parts[k] = parts.get(k, 0.0) + v
        return Estimate(parts, self.node_nm)


def estimate(
    ops: Mapping[str, int] | None = None,
    srams: Mapping[str, tuple[int, int]] | None = None,
    register_bits: int = 0,
) -> Estimate:
    """The area of `ops` (unit kind -> how many), `srams` (name -> (macros, bytes per
    macro)) and `register_bits` flip-flops, at 45 nm."""
    parts: dict[str, float] = {}
    for op, count in (ops or {}).items():
        if count < 0:
            raise ValueError(f"count of '{op}' must be >= 0, got {count}")
        if count:
            parts[op] = logic_um2(op) * count
    for name, (macros, nbytes) in (srams or {}).items():
        if macros < 0:
            raise ValueError(f"SRAM '{name}': macros must be >= 0, got {macros}")
        if macros:
            parts[f"sram.{name}"] = macros * sram_um2(nbytes)
    if register_bits:
        parts["registers"] = register_um2(register_bits)
    return Estimate(parts)


def sources() -> list[str]:
    """One line per constant: what, value, source (for docs and reports)."""
    lines = [f"{c.what}: {c.um2:,.0f} µm² ({c.source})" for c in LOGIC.values()]
    lines.append(f"{REGISTER_BIT.what}: {REGISTER_BIT.um2} µm² ({REGISTER_BIT.source})")
    lines.append(f"SRAM: {SRAM_KIB_UM2:,.0f} µm² x (KiB)^{SRAM_EXPONENT:.3f} ({SRAM_SOURCE})")
    return lines
