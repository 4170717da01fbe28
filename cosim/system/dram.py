"""The DRAM/HBM presets of the 'dram' model, figures derived from them, and the
configuration files of other simulators read into its parameters.

`presets()` lists DDR4-2400, LPDDR4-3200, HBM2 (pseudo-channel and legacy mode) and HBM3
with organisation, JEDEC timing (clock cycles), per-command energies and the source of
each figure. `load_config(path)` reads a DRAMsim3 .ini file or a DRAMSys JSON memspec
into the model's parameters: `sim.model("dram", name, **cosim.system.dram.load_config(path))`.
Formats and field mappings: docs/dram.md.
"""

from __future__ import annotations

from typing import Any

from cosim import _core


def presets() -> dict[str, dict[str, Any]]:
    """Every preset by name: title, standard, source, org, timing, energy, peak."""
    return {p["name"]: p for p in _core.dram_presets()}


def preset_info(name: str) -> dict[str, Any]:
    """One preset; ValueError naming the known presets otherwise."""
    known = presets()
    if name not in known:
        raise ValueError(f"unknown DRAM preset '{name}' (known: {', '.join(known)})")
    return known[name]


def peak_bandwidth(name: str, channels: int | None = None) -> float:
    """Peak data-bus bandwidth in bytes/s of `channels` channels of preset `name`
    (default: the preset's channel count)."""
    p = preset_info(name)
    n = p["org"]["channels"] if channels is None else channels
    return p["peak_bytes_per_s_per_channel"] * n


def summary(stats: dict[str, float], name: str) -> dict[str, float]:
    """Headline figures of dram model `name` from a flat stats dict (sim.stats.flat()
    or SimResult.flat_stats()): bandwidth and its share of peak, row-hit rate per burst
    and per request, mean and p99 read latency (from issue; mean also from acceptance),
    command counts, energy by command and energy per bit moved."""
    g = stats.get
    bits = 8 * (g(f"{name}.bytes_read", 0) + g(f"{name}.bytes_written", 0))
    energy = sum(v for k, v in stats.items() if k.startswith(f"{name}.energy_pj."))
    peak = g(f"{name}.peak_bandwidth", 0.0)
    return {
        "bandwidth": g(f"{name}.bandwidth", 0.0),
        "bandwidth_pct_of_peak": 100.0 * g(f"{name}.bandwidth", 0.0) / peak if peak else 0.0,
        "row_hit_rate": g(f"{name}.row_hit_rate", 0.0),
        "request_row_hit_rate": g(f"{name}.request_row_hit_rate", 0.0),
        "read_latency_mean_ns": g(f"{name}.read_latency.mean", 0.0),
        "read_latency_p99_ns": g(f"{name}.read_latency.p99", 0.0),
        "read_latency_accepted_mean_ns": g(f"{name}.read_latency_accepted.mean", 0.0),
        **{f"cmd_{c}": g(f"{name}.cmd.{c}", 0) for c in ("act", "pre", "rd", "wr", "ref")},
        **{
            f"energy_pj_{c}": g(f"{name}.energy_pj.{c}", 0.0)
            for c in ("act", "rd", "wr", "ref", "io")
        },
        "energy_pj": energy,
        "energy_pj_per_bit": energy / bits if bits else 0.0,
    }


# Configuration files of other simulators (cosim.system.dram_config), re-exported here.
from cosim.system.dram_config import (  # noqa: E402
    CONFIG_DIR,
    DramConfig,
    load_config,
    read_config,
)

__all__ = [
    "CONFIG_DIR",
    "DramConfig",
    "load_config",
    "peak_bandwidth",
    "preset_info",
    "presets",
    "read_config",
    "summary",
]
