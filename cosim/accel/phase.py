"""Energy, stats and time of one phase of a run (an accelerator pass, a baseline, a
host path), measured as the difference of two snapshots of the whole simulation.

    meter = PhaseMeter(sim)            # snapshot now
    ...                                # the phase
    p = meter.stop()                   # a Phase: p.time_ps, p.energy, p.energy_pj,
                                       # p.background_pj, p.stat("dram.bytes_read"), ...

or, for phases that follow each other, `s0 = snapshot(sim)` ... `between(s0, s1)`.

One policy for every scenario: the event kinds of BACKGROUND_KINDS (DRAM refresh) are
kept out of a phase's energy and reported on their own (`background`, `background_pj`).
The dram model charges refresh when the next request reaches a channel after an idle
period, so a phase would otherwise pay for refreshes due during whatever came before it
(an idle gap, the previous phase), and background energy (standby, leakage) is not
modelled either, so refresh alone would be a one-sided share of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import cosim
from cosim import energy

#: Event kinds that are background energy, not the work of a phase: DRAM refresh.
BACKGROUND_KINDS: tuple[str, ...] = ("ref",)

Breakdown = dict[str, dict[str, float]]  # pJ by component, then event kind


@dataclass(frozen=True)
class Snapshot:
    """The simulated time, the energy breakdown and every stat at one moment."""

    time_ps: int
    energy: Breakdown
    stats: dict[str, float]


def snapshot(sim: Any) -> Snapshot:
    """Time, energy breakdown and stats of `sim` now."""
    return Snapshot(
        cosim.now(),
        {c: dict(k) for c, k in sim.energy.breakdown().items()},
        dict(sim.stats.flat()),
    )


@dataclass(frozen=True)
class Phase:
    """What happened between two snapshots. `energy` holds the phase's own energy (pJ by
    component and kind, background kinds left out, unchanged entries dropped);
    `background` the background kinds charged meanwhile."""

    time_ps: int
    energy: Breakdown
    background: Breakdown
    _stats0: dict[str, float] = field(repr=False)
    _stats1: dict[str, float] = field(repr=False)

    @property
    def energy_pj(self) -> float:
        return sum((sum(k.values()) for k in self.energy.values()), 0.0)

    @property
    def background_pj(self) -> float:
        return sum((sum(k.values()) for k in self.background.values()), 0.0)

    def by_component(self) -> dict[str, float]:
        """The phase's energy summed per component (pJ)."""
        return energy.by_component(self.energy)

    def flat(self) -> dict[str, float]:
        """The phase's energy by 'component.kind' (pJ)."""
        return {f"{c}.{kind}": pj for c, k in self.energy.items() for kind, pj in k.items()}

    def stat(self, path: str) -> float:
        """Increase of one stat over the phase."""
        return self._stats1.get(path, 0.0) - self._stats0.get(path, 0.0)

    def stats(self, paths: Iterable[str]) -> float:
        """Increase of the sum of several stats over the phase."""
        return sum(self.stat(p) for p in paths)


def between(
    before: Snapshot, after: Snapshot, background: tuple[str, ...] = BACKGROUND_KINDS
) -> Phase:
    """The Phase from `before` to `after`; `background` names the event kinds reported
    apart from the phase's energy."""
    own: Breakdown = {}
    bg: Breakdown = {}
    for comp, kinds in after.energy.items():
        prior = before.energy.get(comp, {})
        for kind, pj in kinds.items():
            d = pj - prior.get(kind, 0.0)
            if d > 1e-9:
                (bg if kind in background else own).setdefault(comp, {})[kind] = d
    return Phase(after.time_ps - before.time_ps, own, bg, before.stats, after.stats)


class PhaseMeter:
    """Measures one phase: created at its start, `stop()` at its end returns the Phase."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.start = snapshot(sim)

    def stop(self) -> Phase:
        return between(self.start, snapshot(self.sim))


__all__ = ["BACKGROUND_KINDS", "Phase", "PhaseMeter", "Snapshot", "between", "snapshot"]
