"""The hierarchical statistics of a simulation.

Every model registers its counters, averages and histograms under its hierarchical name
("soc.mem0.reads"); Python code adds its own with `sim.stats.counter(...)` etc. After a
run, `sim.stats.tree()` gives the nested record (value, unit, description per stat),
`flat()` a path -> number mapping, `to_json()` the tree as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cosim import _core

_SUMMARY_KEYS = ("count", "mean", "min", "max")


def _flat_items(rec: dict[str, Any]) -> list[tuple[str, float]]:
    path, kind = rec["path"], rec["kind"]
    if kind in ("counter", "value"):
        return [(path, rec["value"])]
    items = [(f"{path}.{k}", rec[k]) for k in _SUMMARY_KEYS]
    if kind == "histogram":
        items += [(f"{path}.{k}", rec[k]) for k in ("p50", "p90", "p99")]
    return items


class Stats:
    """Access to the stats registry of this process's simulation."""

    def counter(self, path: str, desc: str = "", unit: str = "") -> _core.Counter:
        """A counter at `path` (created on first use; shared if it exists)."""
        return _core.stat_counter(path, desc, unit)

    def average(self, path: str, desc: str = "", unit: str = "") -> _core.Average:
        return _core.stat_average(path, desc, unit)

    def histogram(
        self, path: str, lo: float, hi: float, bins: int, desc: str = "", unit: str = ""
    ) -> _core.Histogram:
        return _core.stat_histogram(path, lo, hi, bins, desc, unit)

    def value(self, path: str, desc: str = "", unit: str = "") -> _core.Value:
        return _core.stat_value(path, desc, unit)

    def snapshot(self) -> list[dict[str, Any]]:
        """One record per stat, in path order."""
        return _core.stats_snapshot()

    def flat(self) -> dict[str, float]:
        """path -> number; averages and histograms expand to .count/.mean/.min/.max
        (and .p50/.p90/.p99)."""
        out: dict[str, float] = {}
        for rec in self.snapshot():
            out.update(_flat_items(rec))
        return out

    def tree(self) -> dict[str, Any]:
        """Nested dict following the hierarchy; leaves are the stat records."""
        return tree_from_records(self.snapshot())

    def __getitem__(self, path: str) -> float:
        flat = self.flat()
        if path not in flat:
            raise KeyError(f"no stat '{path}'")
        return flat[path]

    def reset(self) -> None:
        _core.stats_reset()

    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str:
        text = json.dumps(self.tree(), indent=indent, sort_keys=True)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    def table(self, prefix: str = "") -> str:
        """A plain-text table of all stats under `prefix`."""
        return format_table(self.snapshot(), prefix)


def tree_from_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for rec in records:
        parts = rec["path"].split(".")
        node = root
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if "kind" in nxt and "path" in nxt:  # a stat that also has children
                nxt = node[p] = {"_": nxt}
            node = nxt
        leaf = {k: v for k, v in rec.items() if k != "path"}
        if parts[-1] in node:  # children already there
            node[parts[-1]]["_"] = leaf
        else:
            node[parts[-1]] = leaf
    return root


def flatten_tree(tree: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """path -> number from a tree() (for results that crossed a process boundary)."""
    out: dict[str, float] = {}
    for key, node in tree.items():
        path = prefix if key == "_" else (f"{prefix}.{key}" if prefix else key)
        if isinstance(node, dict) and "kind" in node and not isinstance(node.get("kind"), dict):
            out.update(_flat_items({**node, "path": path}))
        elif isinstance(node, dict):
            out.update(flatten_tree(node, path))
    return out


def format_table(records: list[dict[str, Any]], prefix: str = "") -> str:
    rows = []
    for rec in records:
        if not rec["path"].startswith(prefix):
            continue
        if rec["kind"] in ("counter", "value"):
            v = rec["value"]
            shown = f"{v:,}" if isinstance(v, int) else f"{v:,.6g}"
        else:
            shown = (
                f"mean {rec['mean']:,.6g} (n={rec['count']:,}, "
                f"min {rec['min']:,.6g}, max {rec['max']:,.6g})"
            )
        unit = rec["unit"]
        rows.append((rec["path"], f"{shown} {unit}".rstrip(), rec["desc"]))
    if not rows:
        return "(no stats)"
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w0}}  {b:>{w1}}  {c}".rstrip() for a, b, c in rows)
