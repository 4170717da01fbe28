"""Reports of a study: tables and matplotlib figures from its results store.

`write_report(DIR)` writes into DIR/report/ (or `out`):

- results.csv: every point, one row each (status, parameters, engines, seed, metrics,
  wall time, error), and results.md: the same as a Markdown table of the main metrics;
- lines_<param>.png/.svg for each swept parameter: cycles, energy and DRAM traffic
  against it, the accelerator solid and its baseline dashed, one colour per setting
  of the other swept values;
- ratios.png/.svg: speedup and energy ratio of every point as bars, 1x marked;
- energy_breakdown.png/.svg: stacked energy per component, accelerator and baseline,
  from extras["energy_breakdown_pj"] and extras["baseline_energy_breakdown_pj"];
- roofline.png/.svg: every point (and its baseline) under the roofs given by
  extras["roofline"] = {peak_gops, peak_gbps, ops, bytes, seconds, and optionally
  baseline_ops, baseline_bytes, baseline_seconds};
- <metric>_vs_<param>.png/.svg for each further metric asked for (utilisation, ...),
  with its baseline when the scenario reports baseline_<metric>.

Only points whose run completed are plotted; the tables list failed points too.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cosim.errors import CosimError
from cosim.scenario import REQUIRED_METRICS, ScenarioError, load_script
from cosim.studies.store import PointRecord, ResultStore

FIGURE_FORMATS = ("png", "svg")

_ENERGY_UNITS = (("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3), ("pJ", 1.0))
_BYTE_UNITS = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10), ("B", 1))


def _scale(values: Sequence[float], units: Sequence[tuple[str, float]]) -> tuple[float, str]:
    top = max((abs(v) for v in values), default=0.0)
    for unit, factor in units:
        if top >= factor:
            return factor, unit
    return units[-1][1], units[-1][0]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:.4g}"
    return str(value)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


class _Study:
    """The records of a store and what varies across them."""

    def __init__(self, records: list[PointRecord], meta: dict[str, str]) -> None:
        self.scenario = meta.get("scenario") or (records[0].scenario if records else "?")
        self.units: dict[str, str] = {}
        order: list[str] = []
        try:
            declared = load_script(meta["script"]) if "script" in meta else None
        except ScenarioError:
            declared = None
        if declared is not None:
            order = list(declared.params)
            for p in declared.params.values():
                self.units[p.name] = "ps" if p.type == "time" else p.unit
        present = {k for r in records for k in r.params}
        self.param_names = [k for k in order if k in present] + sorted(present - set(order))
        self.engine_names = sorted({k for r in records for k in r.engines})
        self.records = records
        self.swept = [k for k in self.param_names if len(self._values(k)) > 1]
        self.swept += [
            f"engine.{k}" for k in self.engine_names if len(self._values(f"engine.{k}")) > 1
        ]
        if len(self._values("seed")) > 1:
            self.swept.append("seed")
        self.records = sorted(
            records, key=lambda r: [_sort_key(self.value(r, k)) for k in self.swept]
        )
        self.ran = [r for r in self.records if r.ran and r.metrics]

    def value(self, r: PointRecord, key: str) -> Any:
        if key == "seed":
            return r.seed
        if key.startswith("engine."):
            return r.engines.get(key[len("engine.") :])
        return r.params.get(key)

    def _values(self, key: str) -> set[str]:
        return {repr(self.value(r, key)) for r in self.records}

    def label(self, r: PointRecord, keys: Sequence[str] | None = None) -> str:
        keys = self.swept if keys is None else keys
        return ", ".join(f"{k}={self.value(r, k)}" for k in keys) or "default"

    def axis_label(self, key: str) -> str:
        unit = self.units.get(key, "")
        return f"{key} ({unit})" if unit else key


# ------------------------------------------------------------------------- tables


def _metric_names(records: Sequence[PointRecord]) -> list[str]:
    extra = sorted({k for r in records for k in (r.metrics or {})} - set(REQUIRED_METRICS))
    return [*REQUIRED_METRICS, *extra]


def write_tables(study: _Study, out: Path) -> list[Path]:
    metrics = _metric_names(study.records)
    header = [
        "point_id",
        "status",
        *study.param_names,
        *(f"engine.{e}" for e in study.engine_names),
        "seed",
        *metrics,
        "wall_s",
        "sim_time_ps",
        "finished_at",
        "error",
    ]
    csv_path = out / "results.csv"
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in study.records:
            m = r.metrics or {}
            w.writerow(
                [
                    r.point_id,
                    r.status,
                    *(r.params.get(k, "") for k in study.param_names),
                    *(r.engines.get(e, "") for e in study.engine_names),
                    r.seed,
                    *(m.get(k, "") for k in metrics),
                    f"{r.wall_s:.3f}",
                    "" if r.sim_time_ps is None else r.sim_time_ps,
                    r.finished_at,
                    (r.error or "").strip().splitlines()[0] if r.error else "",
                ]
            )
    keys = study.swept or study.param_names
    shown = ["speedup", "energy_ratio", "cycles", "baseline_cycles", "energy_pj", "dram_bytes"]
    lines = [
        f"# {study.scenario}: {len(study.records)} points, "
        f"{sum(r.status == 'ok' for r in study.records)} ok",
        "",
        "| " + " | ".join([*keys, "status", "golden", *shown]) + " |",
        "|" + "---|" * (len(keys) + 2 + len(shown)),
    ]
    for r in study.records:
        m = r.metrics or {}
        cells = [_fmt(study.value(r, k)) for k in keys] + [r.status]
        cells.append(_fmt(m["golden_ok"]) if "golden_ok" in m else "-")
        cells += [_fmt(m[k]) if k in m else "-" for k in shown]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in study.records if not r.ran]
    if failed:
        lines += ["", "## Failed points", ""]
        for r in failed:
            why = (r.error or "").strip().splitlines()
            lines.append(f"- {study.label(r, keys)}: {r.status}: {why[0] if why else ''}")
    md_path = out / "results.md"
    md_path.write_text("\n".join(lines) + "\n")
    return [csv_path, md_path]


# ------------------------------------------------------------------------ figures


def _save(fig: Any, out: Path, stem: str) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = []
    for fmt in FIGURE_FORMATS:
        path = out / f"{stem}.{fmt}"
        svg_meta = {"Date": None} if fmt == "svg" else None
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata=svg_meta)
        paths.append(path)
    plt.close(fig)
    return paths


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _log_if_wide(ax: Any, values: Sequence[float]) -> None:
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 20:
        ax.set_yscale("log")


def _x_axis(ax: Any, xs: Sequence[Any], numeric: bool, categories: Sequence[str]) -> None:
    """Categorical ticks, or numeric ticks at the swept values (log scale when they span
    a factor of 8 or more, base 2 for powers of two)."""
    if not numeric:
        ax.set_xticks(range(len(categories)), categories)
        return
    values = sorted({float(x) for x in xs})
    if values[0] > 0 and values[-1] / values[0] >= 8:
        powers_of_two = all(v.is_integer() and int(v) & (int(v) - 1) == 0 for v in values)
        ax.set_xscale("log", base=2 if powers_of_two else 10)
    if len(values) <= 12:
        ax.set_xticks(values, [_fmt(int(v) if v.is_integer() else v) for v in values])
        ax.minorticks_off()


Panel = tuple[str, str, str, Sequence[tuple[str, float]] | None]  # metric, baseline, title, units
MAIN_PANELS: list[Panel] = [
    ("cycles", "baseline_cycles", "cycles", None),
    ("energy_pj", "baseline_energy_pj", "energy per run", _ENERGY_UNITS),
    ("dram_bytes", "baseline_dram_bytes", "DRAM traffic", _BYTE_UNITS),
]


def line_figures(
    study: _Study, out: Path, panels: Sequence[Panel] = MAIN_PANELS, stem: str = "lines"
) -> list[Path]:
    """One figure per swept parameter with one panel per metric against it: the
    accelerator solid, its baseline (the metric `baseline_<name>`, when present)
    dashed, one colour per setting of the other swept values."""
    import matplotlib.pyplot as plt

    paths: list[Path] = []
    for key in study.swept:
        xs_all = [study.value(r, key) for r in study.ran]
        if not xs_all:
            continue
        others = [k for k in study.swept if k != key]
        groups: dict[str, list[PointRecord]] = {}
        for r in study.ran:
            groups.setdefault(study.label(r, others), []).append(r)
        numeric = _numeric(xs_all)
        categories = sorted({str(x) for x in xs_all}, key=lambda c: _sort_key(c))

        def x_of(
            r: PointRecord, key: str = key, numeric: bool = numeric, cats: list[str] = categories
        ) -> Any:
            v = study.value(r, key)
            return v if numeric else cats.index(str(v))

        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels) + 1, 4.8), squeeze=False)
        for ax, (metric, base, title, units) in zip(axes[0], panels, strict=True):
            values = [r.metrics[k] for r in study.ran for k in (metric, base) if k in r.metrics]
            factor, unit = _scale(values, units) if units else (1.0, "")
            for i, (label, members) in enumerate(groups.items()):
                members = sorted((r for r in members if metric in r.metrics), key=x_of)
                x = [x_of(r) for r in members]
                color = f"C{i % 10}"
                suffix = "" if label == "default" else f", {label}"
                ax.plot(
                    x,
                    [r.metrics[metric] / factor for r in members],
                    "o-",
                    color=color,
                    label=f"accelerator{suffix}",
                )
                if members and all(base in r.metrics for r in members):
                    ax.plot(
                        x,
                        [r.metrics[base] / factor for r in members],
                        "s--",
                        color=color,
                        alpha=0.6,
                        label=f"baseline{suffix}",
                    )
            _x_axis(ax, xs_all, numeric, categories)
            _log_if_wide(ax, [v / factor for v in values])
            ax.set_xlabel(study.axis_label(key))
            ax.set_ylabel(f"{title} ({unit})" if unit else title)
            ax.set_title(title)
            ax.grid(True, alpha=0.3)
        handles, labels = axes[0][0].get_legend_handles_labels()
        columns = max(1, min(4, len(labels)))
        fig.legend(handles, labels, loc="lower center", ncol=columns, fontsize=8)
        names = ", ".join(p[2] for p in panels)
        fig.suptitle(f"{study.scenario}: {names} vs {key} (solid: accelerator, dashed: baseline)")
        rows = math.ceil(len(labels) / columns)
        fig.tight_layout(rect=(0, 0.06 + 0.04 * rows, 1, 1))
        paths += _save(fig, out, f"{stem}_{key.replace('.', '_')}")
    return paths


def metric_figures(study: _Study, out: Path, metrics: Sequence[str]) -> list[Path]:
    """`<metric>_vs_<param>` figures for further metrics (cosim report --metric)."""
    paths: list[Path] = []
    for metric in metrics:
        panel: Panel = (metric, f"baseline_{metric}", metric, None)
        paths += line_figures(study, out, [panel], stem=f"{metric}_vs")
    return paths


def _tick_labels(ax: Any, positions: Sequence[float], labels: Sequence[str]) -> None:
    crowded = len(labels) > 4 or max((len(x) for x in labels), default=0) > 24
    ax.set_xticks(
        list(positions),
        labels,
        rotation=30 if crowded else 0,
        ha="right" if crowded else "center",
        fontsize=8,
    )


def ratio_figure(study: _Study, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    if not study.ran:
        return []
    labels = [study.label(r) for r in study.ran]
    x = list(range(len(labels)))
    width = 0.4
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(labels) + 2), 5))
    speedups = [r.metrics["speedup"] for r in study.ran]
    ratios = [r.metrics["energy_ratio"] for r in study.ran]
    ax.bar([i - width / 2 for i in x], speedups, width, label="speedup (baseline cycles / cycles)")
    ax.bar(
        [i + width / 2 for i in x],
        ratios,
        width,
        label="energy ratio (baseline energy / energy)",
    )
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="baseline (1x)")
    _tick_labels(ax, x, labels)
    ax.set_ylabel("improvement over the baseline (x)")
    ax.set_title(f"{study.scenario}: speedup and energy ratio per point")
    ax.set_ylim(0, max([*speedups, *ratios, 1.0]) * 1.45)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, out, "ratios")


def energy_figure(study: _Study, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    rows = [r for r in study.ran if isinstance((r.extras or {}).get("energy_breakdown_pj"), dict)]
    if not rows:
        return []
    bars: list[tuple[float, dict[str, float], bool]] = []  # position, parts, is baseline
    ticks: list[float] = []
    for i, r in enumerate(rows):
        bars.append((3 * i, r.extras["energy_breakdown_pj"], False))
        base = r.extras.get("baseline_energy_breakdown_pj")
        if isinstance(base, dict):
            bars.append((3 * i + 1, base, True))
        ticks.append(3 * i + (0.5 if isinstance(base, dict) else 0))
    components = sorted({c for _, parts, _ in bars for c in parts})
    factor, unit = _scale([sum(p.values()) for _, p, _ in bars], _ENERGY_UNITS)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) + 3), 5))
    bottom = [0.0] * len(bars)
    for i, comp in enumerate(components):
        heights = [parts.get(comp, 0.0) / factor for _, parts, _ in bars]
        ax.bar(
            [b[0] for b in bars],
            heights,
            bottom=bottom,
            color=f"C{i % 10}",
            hatch=["//" if b[2] else "" for b in bars],
            edgecolor="white",
            label=comp,
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    if any(b[2] for b in bars):
        ax.bar([0], [0], color="white", edgecolor="grey", hatch="//", label="(hatched: baseline)")
    _tick_labels(ax, ticks, [study.label(r) for r in rows])
    ax.set_ylabel(f"energy per run ({unit})")
    ax.set_title(f"{study.scenario}: energy breakdown, accelerator (left) and baseline (right)")
    ax.legend(title="component", fontsize=8, loc="upper left")
    ax.set_ylim(0, max(bottom) * 1.3)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, out, "energy_breakdown")


def roofline_figure(study: _Study, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    points: list[tuple[str, float, float, bool]] = []  # label, intensity, GOP/s, baseline
    roofs: set[tuple[float, float]] = set()
    for r in study.ran:
        rf = (r.extras or {}).get("roofline")
        if not isinstance(rf, dict):
            continue
        try:
            roofs.add((float(rf["peak_gops"]), float(rf["peak_gbps"])))
            for prefix, base in (("", False), ("baseline_", True)):
                ops, nbytes, secs = (rf.get(prefix + k) for k in ("ops", "bytes", "seconds"))
                if ops and nbytes and secs:
                    points.append((study.label(r), ops / nbytes, ops / secs / 1e9, base))
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue
    if not points or not roofs:
        return []
    ridges = [g / b for g, b in roofs if b > 0]
    lo = min([p[1] for p in points] + ridges) / 4
    hi = max([p[1] for p in points] + ridges) * 4
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for i, (gops, gbps) in enumerate(sorted(roofs)):
        ax.plot(
            grid,
            [min(gops, x * gbps) for x in grid],
            "-",
            color=f"C{i % 10}",
            linewidth=1.5,
            label=f"roof: {gops:,.3g} GOP/s peak, {gbps:,.3g} GB/s DRAM",
        )
    for base, marker, name in ((False, "o", "accelerator"), (True, "x", "baseline")):
        chosen = [p for p in points if p[3] == base]
        if chosen:
            ax.plot(
                [p[1] for p in chosen],
                [p[2] for p in chosen],
                marker,
                color="black" if base else "C3",
                markersize=7,
                linestyle="none",
                label=f"{name} points",
            )
    if len(points) <= 8:
        for label, intensity, perf, base in points:
            ax.annotate(
                f"{'baseline' if base else 'accel.'} {label}",
                (intensity, perf),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=7,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (ops per byte of DRAM traffic)")
    ax.set_ylabel("performance (GOP/s)")
    ax.set_title(f"{study.scenario}: roofline")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _save(fig, out, "roofline")


class ReportError(CosimError):
    """A report was asked for something the results do not hold."""


def write_report(
    folder: str | Path, out: str | Path | None = None, metrics: Sequence[str] = ()
) -> list[Path]:
    """Write the tables and figures of the study in `folder` (plus `<metric>_vs_<param>`
    figures of further `metrics`); returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "cosim"
    with ResultStore(folder) as store:
        study = _Study(store.records(), store.meta())
    known = sorted({k for r in study.ran for k in r.metrics})
    for metric in metrics:
        if metric not in known:
            raise ReportError(
                f"no metric '{metric}' in the results of {study.scenario} "
                f"(metrics: {', '.join(known) or 'none'})"
            )
    target = Path(out) if out is not None else Path(folder) / "report"
    target.mkdir(parents=True, exist_ok=True)
    paths = write_tables(study, target)
    paths += line_figures(study, target)
    paths += ratio_figure(study, target)
    paths += energy_figure(study, target)
    paths += roofline_figure(study, target)
    paths += metric_figures(study, target, metrics)
    return paths
