"""Energy figures accelerator models charge, and the bookkeeping of energy by phase.

Engines count events (their RTL, TLM and numpy twins expose the same event counters);
the accelerator's energy model turns counts into energy through the shared energy table
(cosim.energy, `sim.energy`), so every figure has a source and can be overridden:

    define_entries(sim)                                    # the entries below, once
    key = define_sram(sim, "eie.spmat", width_bits=64, capacity_bytes=64 << 10)
    cosim.energy.charge(sim, "eie", "spmat_read", key, words_read)  # count x entry

Memories, the host and the DRAM already charge their own events (tlm/); per-phase energy
is the difference of two snapshots of the whole breakdown (cosim.accel.phase).
"""

from __future__ import annotations

import math
from typing import Any

from cosim.energy import RELATIVE_ACCESS_COST_65NM

HOROWITZ = "M. Horowitz, 'Computing's energy problem', ISSCC 2014 (45 nm)"

#: Horowitz's 64-bit cache access energies: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ. They
#: grow about with the square root of the capacity (10 pJ x sqrt(C / 8 KB) gives 20 pJ
#: at 32 KB and 113 pJ at 1 MB), the fit used for any SRAM size (an assumption).
SRAM_64B_8KB_PJ = 10.0
SRAM_REFERENCE_BYTES = 8 << 10

#: One MAC of an int8 datapath (8-bit multiply + 8-bit add, Horowitz), the unit of the
#: Eyeriss relative data-movement costs.
INT8_MAC_PJ = 0.2 + 0.03

ENTRIES: dict[str, tuple[float, str, str, str]] = {
    # key: (pJ per unit, unit, source, what)
    "rf_access_32b": (
        1.0,
        "32-bit access",
        f"{HOROWITZ}, as tabulated in Han et al., EIE, ISCA 2016, Table I (32-bit register "
        "file 1 pJ)",
        "a 32-bit register-file read or write",
    ),
    "int16_mult": (
        0.8,
        "op",
        f"derived from {HOROWITZ}: 8-bit multiply 0.2 pJ, 32-bit 3.1 pJ; an array "
        "multiplier's energy grows with the square of its width, 0.2 x (16/8)^2 = 0.8 pJ "
        "(assumption)",
        "16-bit integer multiply",
    ),
    "pe_hop_bit": (
        RELATIVE_ACCESS_COST_65NM["pe_to_pe"] * INT8_MAC_PJ / 8,
        "bit",
        "Eyeriss relative costs (Chen et al., ISCA 2016; Sze et al., Proc. IEEE 2017): moving "
        "an operand to a neighbouring PE costs 2x a MAC; applied to Horowitz's int8 MAC "
        "(0.23 pJ) per 8 bits (assumption)",
        "one bit moved between neighbouring PEs (a pipeline register of a systolic array)",
    ),
}


def sram_access_pj(width_bits: int, capacity_bytes: int) -> float:
    """Energy of one access of `width_bits` to an SRAM of `capacity_bytes` (Horowitz's
    64-bit cache figures, square-root fit in capacity, linear in width: assumptions)."""
    if width_bits <= 0 or capacity_bytes <= 0:
        raise ValueError(f"SRAM width and capacity must be > 0, got {width_bits}, {capacity_bytes}")
    return SRAM_64B_8KB_PJ * (width_bits / 64) * math.sqrt(capacity_bytes / SRAM_REFERENCE_BYTES)


def define_entries(sim: Any) -> None:
    """Add the entries of ENTRIES to the simulation's energy table (idempotent)."""
    for key, (pj, unit, source, doc) in ENTRIES.items():
        sim.energy.define(key, pj, unit, source=source, doc=doc)


def define_sram(sim: Any, name: str, *, width_bits: int, capacity_bytes: int) -> str:
    """An energy-table entry for accesses of one SRAM; returns its key."""
    key = f"{name}.sram_{width_bits}b_{capacity_bytes // 1024}kb"
    sim.energy.define(
        key,
        sram_access_pj(width_bits, capacity_bytes),
        f"{width_bits}-bit access",
        source=f"{HOROWITZ}: 64-bit cache access 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ; "
        f"fit 10 pJ x sqrt(capacity / 8 KB) x width / 64 for {capacity_bytes // 1024} KB "
        "(assumption)",
        doc=f"one {width_bits}-bit access of a {capacity_bytes // 1024} KB SRAM",
    )
    return key
