"""Energy accounting: the per-event energy table and the energy breakdown of a run.

Every model counts its events; energy = counts x per-event energies from one named,
overridable table (C++: cosim/energy.h). Defaults are Horowitz's 45 nm figures (ISSCC
2014) and the DRAM interface energies of docs/energy.md; models add their own
entries (the DRAM presets' per-command energies, for example), each with its source.

    sim.energy.set("fp32_mult", 2.0)        # override a figure (pJ at its reference node)
    sim.energy.set_node(7)                  # scale logic/SRAM entries to 7 nm
    ev = sim.energy.event("host.sw", "flop", "fp32_mult", "software multiplies")
    ev.add(1000)                            # Python-side models count like C++ ones
    ...
    sim.run()
    print(sim.energy.report())              # breakdown by component and event kind

A run's energy travels with its stats (<component>.energy_pj.<kind>), so
`cosim.energy.breakdown(result)` works on a SimResult returned by cosim.simulate().
Overrides and the node may change after a run too: every figure is recomputed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cosim import _core
from cosim.stats import flatten_tree

#: Relative energy of a data access, normalised to one MAC (Eyeriss, 65 nm: Chen et al.,
#: ISCA 2016, and the Sze et al. tutorial, Proc. IEEE 2017). Multiply by the energy of
#: the MAC a design uses to get a per-access figure for its register file, inter-PE
#: network, global buffer and DRAM.
RELATIVE_ACCESS_COST_65NM: dict[str, float] = {
    "register_file": 1.0,
    "pe_to_pe": 2.0,
    "global_buffer": 6.0,
    "dram": 200.0,
}

_PJ_MARK = ".energy_pj."
_EVENTS_MARK = ".energy_events."


@dataclass(frozen=True)
class EnergyEntry:
    """One entry of the energy table. `pj` is what the simulation charges per unit: the
    override or default at `node_nm`, times `scale_factor` for the target node."""

    key: str
    pj: float
    default_pj: float
    reference_pj: float
    overridden: bool
    unit: str
    node_nm: float
    scaling: str  # "logic" (scales with the technology node) or "fixed"
    scale_factor: float
    source: str
    doc: str


def _entry(d: dict[str, Any]) -> EnergyEntry:
    return EnergyEntry(**d)


def table() -> dict[str, EnergyEntry]:
    """Every entry of the energy table of this process, by key."""
    return {d["key"]: _entry(d) for d in _core.energy_entries()}


def entry(key: str) -> EnergyEntry:
    """One entry; ValueError naming similar keys if it does not exist."""
    return _entry(_core.energy_entry(key))


class Energy:
    """The energy table and breakdown of the simulation in this process (`sim.energy`)."""

    def __getitem__(self, key: str) -> float:
        """The energy per unit (pJ) the simulation charges for entry `key`."""
        return _core.energy_pj(key)

    def table(self) -> dict[str, EnergyEntry]:
        return table()

    def entry(self, key: str) -> EnergyEntry:
        return entry(key)

    def set(self, key: str, pj: float) -> None:
        """Override entry `key`: `pj` per unit at the entry's reference node (node
        scaling still applies to logic entries)."""
        _core.energy_set(key, float(pj))

    def reset(self, key: str | None = None) -> None:
        """Drop the override of `key` (of every entry without a key)."""
        _core.energy_reset(key or "")

    def define(
        self,
        key: str,
        pj: float,
        unit: str,
        *,
        source: str,
        node_nm: float = 45.0,
        scaling: str = "logic",
        doc: str = "",
    ) -> None:
        """Add an entry (for a model written in Python, or a figure a scenario brings).
        `scaling` is 'logic' (CMOS logic/SRAM, scaled with the node) or 'fixed'."""
        if not source:
            raise ValueError(f"energy entry '{key}': give the source of the figure")
        _core.energy_define(key, float(pj), unit, float(node_nm), scaling, source, doc)

    @property
    def node_nm(self) -> float:
        """Target technology node of logic entries (45 nm unless set)."""
        return _core.energy_node()[0]

    @property
    def vdd(self) -> float:
        return _core.energy_node()[1]

    def set_node(self, node_nm: float, vdd: float | None = None) -> None:
        """Scale logic entries to `node_nm` (supply `vdd`, nominal by default) with the
        Stillmaker & Baas 2017 energy fits. Supported nodes: scaling_nodes()."""
        _core.energy_set_node(float(node_nm), 0.0 if vdd is None else float(vdd))

    @staticmethod
    def scaling_nodes() -> list[float]:
        return list(_core.energy_scaling_nodes())

    def event(self, component: str, kind: str, key: str, desc: str = "") -> _core.EnergyEvent:
        """An event counter for a Python-side component; `ev.add(n)` charges n units of
        entry `key`. It shows in the stats and the breakdown like a C++ model's."""
        return _core.energy_event(component, kind, key, desc or kind)

    def events(self) -> list[dict[str, Any]]:
        """Every event: component, kind, key, count, pj_per_unit, energy_pj, unit."""
        return list(_core.energy_events())

    def breakdown(self) -> dict[str, dict[str, float]]:
        """pJ by component and event kind, for the run so far."""
        out: dict[str, dict[str, float]] = {}
        for e in _core.energy_events():
            out.setdefault(e["component"], {})[e["kind"]] = e["energy_pj"]
        return out

    def total_pj(self) -> float:
        return sum(sum(kinds.values()) for kinds in self.breakdown().values())

    def report(self) -> str:
        return format_breakdown(self.breakdown())


def _flat(source: Any) -> dict[str, float]:
    stats = getattr(source, "stats", source)
    if hasattr(stats, "flat") and callable(stats.flat):
        return stats.flat()
    if isinstance(stats, dict) and all(not isinstance(v, dict) for v in stats.values()):
        return stats
    return flatten_tree(stats)


def breakdown(source: Any) -> dict[str, dict[str, float]]:
    """pJ by component and event kind from a SimResult, a stats tree, a flat stats dict
    or a Simulation's `sim.stats`."""
    out: dict[str, dict[str, float]] = {}
    for path, value in _flat(source).items():
        i = path.rfind(_PJ_MARK)
        if i < 0:
            continue
        out.setdefault(path[:i], {})[path[i + len(_PJ_MARK) :]] = float(value)
    return out


def event_counts(source: Any) -> dict[str, dict[str, int]]:
    """Event counts by component and kind (same sources as breakdown())."""
    out: dict[str, dict[str, int]] = {}
    for path, value in _flat(source).items():
        i = path.rfind(_EVENTS_MARK)
        if i < 0:
            continue
        out.setdefault(path[:i], {})[path[i + len(_EVENTS_MARK) :]] = int(value)
    return out


def total_pj(source: Any) -> float:
    """Total energy (pJ) of a breakdown or of anything breakdown() accepts."""
    b = source if _is_breakdown(source) else breakdown(source)
    return sum(sum(kinds.values()) for kinds in b.values())


def charge(
    sim: Any, component: str, kind: str, key: str, count: float, description: str = ""
) -> None:
    """Count `count` events of `kind` for `component`, each charged at table entry `key`:
    the one way Python-side models charge energy (C++ models use cosim/energy.h)."""
    n = round(count)
    if n < 0:
        raise ValueError(f"energy event {component}.{kind}: count must be >= 0, got {count}")
    if n:
        sim.energy.event(component, kind, key, description or kind.replace("_", " ")).add(n)


def by_component(source: Any, group: Callable[[str], str] | None = None) -> dict[str, float]:
    """Total pJ per component of a breakdown ({component: {kind: pJ}}), of a flat one
    ({"component.kind": pJ}, as Phase.flat gives) or of anything breakdown() accepts.
    `group` maps a component's name to the name it is reported under (components that
    map to one name are added)."""
    if isinstance(source, dict) and all(isinstance(v, int | float) for v in source.values()):
        totals: dict[str, float] = {}
        for key, pj in source.items():
            comp = key.rsplit(".", 1)[0]
            totals[comp] = totals.get(comp, 0.0) + float(pj)
    else:
        b = source if _is_breakdown(source) else breakdown(source)
        totals = {c: sum(k.values()) for c, k in b.items()}
    if group is None:
        return totals
    out: dict[str, float] = {}
    for comp, pj in totals.items():
        name = group(comp)
        out[name] = out.get(name, 0.0) + pj
    return out


def _is_breakdown(x: Any) -> bool:
    return isinstance(x, dict) and all(
        isinstance(v, dict) and all(isinstance(e, float) for e in v.values()) for v in x.values()
    )


def format_breakdown(b: dict[str, dict[str, float]]) -> str:
    """A text table: one line per component and event kind, with shares of the total."""
    total = sum(sum(k.values()) for k in b.values())
    if total == 0:
        return "(no energy charged)"
    rows = []
    for comp in sorted(b, key=lambda c: -sum(b[c].values())):
        ctot = sum(b[comp].values())
        rows.append((comp, "", ctot))
        for kind in sorted(b[comp], key=lambda k: -b[comp][k]):
            rows.append(("", kind, b[comp][kind]))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{'component':<{w0}}  {'event':<{w1}}  {'energy':>12}  share"]
    for comp, kind, pj in rows:
        lines.append(f"{comp:<{w0}}  {kind:<{w1}}  {fmt_energy(pj):>12}  {100 * pj / total:5.1f}%")
    lines.append(f"{'total':<{w0}}  {'':<{w1}}  {fmt_energy(total):>12}")
    return "\n".join(lines)


def fmt_energy(pj: float) -> str:
    """Format picojoules with a readable unit."""
    for unit, scale in (("J", 1e12), ("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= scale:
            return f"{pj / scale:.4g} {unit}"
    return f"{pj:.4g} pJ"
