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
import difflib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cosim.errors import CosimError
from cosim.scenario import REQUIRED_METRICS, ScenarioError, load_script
from cosim.studies.explore import stored_spec, stored_trials
from cosim.studies.pareto import Objective, pareto_front
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
        self.defaults: dict[str, Any] = {}
        if declared is not None:
            order = list(declared.params)
            self.defaults = {p.name: p.default for p in declared.params.values()}
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
    # A parameter and a metric may share a name (EIE's weight_density: the one asked
    # for and the one the workload got): such parameters get the prefix "param.".
    clash = set(metrics)
    header = [
        "point_id",
        "status",
        *(f"param.{k}" if k in clash else k for k in study.param_names),
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


def _plain_tick(value: float, _pos: Any = None) -> str:
    """A tick label without powers: 6, 0.25, 1,024, 2e+10 (only beyond a billion)."""
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e9:
        return f"{int(value):,}"
    return f"{value:.3g}"


def _plain_log(ax: Any, which: str = "y") -> None:
    """Plain labels on a log axis (matplotlib's default reads '6 x 10^0'): the decades,
    and 2 and 5 between them when the axis spans less than a factor of 30. Call after
    the data are drawn."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis = ax.yaxis if which == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    axis.set_major_formatter(FuncFormatter(_plain_tick))
    if lo > 0 and hi / lo < 30:
        axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(FuncFormatter(_plain_tick))
    else:
        axis.set_minor_formatter(NullFormatter())


def _log_if_wide(ax: Any, values: Sequence[float]) -> None:
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 20:
        ax.set_yscale("log")
        _plain_log(ax, "y")


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
    elif ax.get_xscale() == "log":
        _plain_log(ax, "x")


#: More settings of the other swept values than this: points instead of lines.
MAX_LINE_GROUPS = 10

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
        # Scattered points (an explore): one colour, markers only.
        scattered = len(groups) > MAX_LINE_GROUPS
        if scattered:
            groups = {"default": list(study.ran)}
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
                    "o" if scattered else "o-",
                    color=color,
                    label=f"accelerator{suffix}",
                )
                if members and all(base in r.metrics for r in members):
                    ax.plot(
                        x,
                        [r.metrics[base] / factor for r in members],
                        "s" if scattered else "s--",
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
        how = "circles" if scattered else "solid"
        base_how = "squares" if scattered else "dashed"
        fig.suptitle(
            f"{study.scenario}: {names} vs {key} ({how}: accelerator, {base_how}: baseline)"
        )
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
    """Left: energy per run of the accelerator and its baseline (log axis, so the
    smaller bar stays visible), with their ratio; right: where each one's energy goes,
    as shares of its total (stacked to 100 %)."""
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
    totals = [sum(p.values()) for _, p, _ in bars]
    factor, unit = _scale(totals, _ENERGY_UNITS)
    width = max(11.0, 1.6 * len(rows) + 7)
    fig, (ax_total, ax_share) = plt.subplots(1, 2, figsize=(width, 5.2))
    positions = [b[0] for b in bars]
    ax_total.bar(
        positions,
        [t / factor for t in totals],
        color=["0.75" if b[2] else "C0" for b in bars],
        hatch=["//" if b[2] else "" for b in bars],
        edgecolor="white",
    )
    for i, r in enumerate(rows):
        m = r.metrics
        if "baseline_energy_pj" in m and m.get("energy_pj"):
            top = max(m["energy_pj"], m["baseline_energy_pj"]) / factor
            ax_total.annotate(
                f"{m['baseline_energy_pj'] / m['energy_pj']:.2g}x",
                (ticks[i], top),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=8,
            )
    ax_total.set_yscale("log")
    low, high = min(totals) / factor, max(totals) / factor
    ax_total.set_ylim(low / 3, high * 3)
    _plain_log(ax_total, "y")
    ax_total.bar([0], [0], color="C0", label="accelerator")
    if any(b[2] for b in bars):
        ax_total.bar([0], [0], color="0.75", hatch="//", edgecolor="white", label="baseline")
    ax_total.legend(fontsize=8, loc="upper left")
    ax_total.set_ylabel(f"energy per run ({unit}, log axis)")
    ax_total.set_title("energy per run (label: baseline / accelerator)")
    ax_total.grid(True, axis="y", which="both", alpha=0.3)
    bottom = [0.0] * len(bars)
    for i, comp in enumerate(components):
        heights = [
            100 * parts.get(comp, 0.0) / total if total else 0.0
            for (_, parts, _), total in zip(bars, totals, strict=True)
        ]
        ax_share.bar(
            positions,
            heights,
            bottom=bottom,
            color=f"C{i % 10}",
            hatch=["//" if b[2] else "" for b in bars],
            edgecolor="white",
            label=comp,
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax_share.set_ylim(0, 100)
    ax_share.set_ylabel("share of the run's energy (%)")
    ax_share.set_title("where it goes (hatched: baseline)")
    ax_share.legend(title="component", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    labels = [study.label(r) for r in rows]
    for ax in (ax_total, ax_share):
        _tick_labels(ax, ticks, labels)
    fig.suptitle(f"{study.scenario}: energy, accelerator (left bar) and baseline (right bar)")
    fig.tight_layout()
    return _save(fig, out, "energy_breakdown")


def roofline_figure(study: _Study, out: Path) -> list[Path]:
    """Every point and its baseline under the roofs. Performance counts dense-equivalent
    operations (the work of the layer computed densely: extras["roofline"]["dense_ops"],
    else the baseline's ops, as the baseline computes the same layer densely), so a
    sparse accelerator is compared on the same work as its baseline and may sit above
    its roof; its useful operations are shown too (hollow marker)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    # label, colour index, (intensity, GOP/s) of: dense-equivalent, useful, baseline
    entries: list[tuple[str, int, Any, Any, Any]] = []
    roofs: set[tuple[float, float]] = set()
    for r in study.ran:
        rf = (r.extras or {}).get("roofline")
        if not isinstance(rf, dict):
            continue
        try:
            roofs.add((float(rf["peak_gops"]), float(rf["peak_gbps"])))

            def point(ops: Any, nbytes: Any, secs: Any) -> tuple[float, float] | None:
                if ops and nbytes and secs:
                    return (ops / nbytes, ops / secs / 1e9)
                return None

            ops, nbytes, secs = rf.get("ops"), rf.get("bytes"), rf.get("seconds")
            dense = rf.get("dense_ops") or rf.get("baseline_ops")
            useful = point(ops, nbytes, secs)
            dense_eq = point(dense, nbytes, secs) if dense else None
            if dense_eq is not None and useful is not None and math.isclose(dense, ops):
                dense_eq = None
            base = point(
                rf.get("baseline_ops"), rf.get("baseline_bytes"), rf.get("baseline_seconds")
            )
            if useful or base:
                entries.append((study.label(r), len(entries), dense_eq, useful, base))
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue
    xy = [p for e in entries for p in e[2:] if p is not None]
    if not xy or not roofs:
        return []
    ridges = [g / b for g, b in roofs if b > 0]
    lo = min([p[0] for p in xy] + ridges) / 4
    hi = max([p[0] for p in xy] + ridges) * 4
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    fig, ax = plt.subplots(figsize=(9.5, 5.5))
    handles: list[Any] = []
    for i, (gops, gbps) in enumerate(sorted(roofs)):
        (line,) = ax.plot(
            grid,
            [min(gops, x * gbps) if gbps > 0 else gops for x in grid],
            color="0.35",
            linestyle=("-", "--", ":", "-.")[i % 4],
            linewidth=1.5,
            label=f"roof: {gops:,.3g} GOP/s peak"
            + (f", {gbps:,.3g} GB/s DRAM" if gbps > 0 else ""),
        )
        handles.append(line)
    per_point = len(entries) <= MAX_LINE_GROUPS
    for label, i, dense_eq, useful, base in entries:
        color = f"C{i % 10}"
        main = dense_eq or useful
        if main is not None:
            ax.plot(*main, "o", color=color, markersize=7)
        if dense_eq is not None and useful is not None:
            ax.plot(*useful, "o", color=color, markersize=7, markerfacecolor="none")
            ax.plot(*zip(dense_eq, useful, strict=True), ":", color=color, linewidth=1)
        if base is not None:
            ax.plot(*base, "x", color=color, markersize=8, markeredgewidth=2)
        if per_point:
            handles.append(Line2D([], [], color=color, marker="s", linestyle="none", label=label))
    dense_shown = any(e[2] is not None for e in entries)
    kinds = [
        (
            "o",
            "black",
            "accelerator (dense-equivalent ops)" if dense_shown else "accelerator",
            "black",
        )
    ]
    if dense_shown:
        kinds.append(("o", "none", "accelerator (useful ops)", "black"))
    if any(e[4] is not None for e in entries):
        kinds.append(("x", "black", "baseline (dense ops)", "black"))
    for marker, face, name, edge in kinds:
        handles.append(
            Line2D(
                [],
                [],
                marker=marker,
                color=edge,
                markerfacecolor=face,
                linestyle="none",
                label=name,
            )
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log(ax, "x")
    _plain_log(ax, "y")
    ax.set_xlabel("operational intensity (ops per byte of DRAM traffic)")
    ax.set_ylabel("performance (dense-equivalent GOP/s)")
    ax.set_title(f"{study.scenario}: roofline")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _save(fig, out, "roofline")


# ------------------------------------------------------------------- Pareto fronts


def _reference(study: _Study, trials: Sequence[str]) -> PointRecord | None:
    """The scenario's default configuration (the paper's): an explore's trial 0, else
    the point whose parameters are all the declared defaults."""
    by_id = {r.point_id: r for r in study.ran}
    if trials:
        return by_id.get(trials[0])
    if study.defaults:
        for r in study.ran:
            if all(r.params.get(k) == v for k, v in study.defaults.items()):
                return r
    return None


def _parse_pareto(text: str, spec: Any, known: Sequence[str], scenario: str) -> list[Objective]:
    objectives = []
    directions = {o.metric: o.direction for o in spec.objectives} if spec else {}
    for item in text.split(","):
        name, _, how = item.strip().partition(":")
        if how not in ("", "min", "max"):
            raise ReportError(
                f"--pareto {text}: '{item}' should be METRIC, METRIC:min or METRIC:max"
            )
        if name not in known:
            raise ReportError(_no_metric(name, known, scenario))
        direction = {"min": "minimize", "max": "maximize"}.get(
            how, directions.get(name, "minimize")
        )
        objectives.append(Objective(name, direction))
    if not 1 <= len(objectives) <= 3 or len({o.metric for o in objectives}) != len(objectives):
        raise ReportError(f"--pareto {text}: name one, two or three different metrics")
    return objectives


def _values(r: PointRecord) -> dict[str, Any]:
    return {**r.params, **(r.metrics or {})}


def pareto_report(
    study: _Study,
    out: Path,
    objectives: Sequence[Objective],
    constraints: Sequence[Any],
    trials: Sequence[str],
) -> list[Path]:
    """pareto_<a>_<b>[_<c>].png/.svg and .md: every point that ran, the feasible ones,
    the non-dominated ones (the front, joined), the default configuration (the paper's)
    and its baseline (baseline_<metric>, where the scenario reports it)."""
    import matplotlib.pyplot as plt

    ok = [r for r in study.ran if r.status == "ok"]
    points = [_values(r) for r in ok]
    front = pareto_front(points, objectives, constraints)
    feasible = [i for i, p in enumerate(points) if all(c.met(p) for c in constraints)]
    ref = _reference(study, trials)
    names = [o.metric for o in objectives]
    stem = "pareto_" + "_".join(names)
    pairs = [(0, 1)] if len(names) == 2 else [(0, 1), (0, 2), (1, 2)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(6.2 * len(pairs) + 1, 5.2), squeeze=False)
    for ax, (a, b) in zip(axes[0], pairs, strict=True):
        ma, mb = names[a], names[b]

        def xy(idx: Sequence[int], ma: str = ma, mb: str = mb) -> tuple[list[float], list[float]]:
            return [points[i][ma] for i in idx], [points[i][mb] for i in idx]

        infeasible = [i for i in range(len(points)) if i not in set(feasible)]
        if infeasible:
            ax.plot(*xy(infeasible), "x", color="C3", alpha=0.5, label="fails a constraint")
        ax.plot(*xy(feasible), "o", color="0.7", markersize=5, label="feasible design")
        line = sorted(front, key=lambda i: (points[i][ma], points[i][mb]))
        ax.plot(
            *xy(line),
            "o-" if len(names) == 2 else "o",
            color="C0",
            markersize=7,
            label="Pareto front" if len(names) == 2 else "Pareto front (all three metrics)",
        )
        if ref is not None and all(m in (ref.metrics or {}) for m in (ma, mb)):
            ax.plot(
                ref.metrics[ma],
                ref.metrics[mb],
                "*",
                color="C1",
                markersize=16,
                markeredgecolor="black",
                label="default configuration (the paper's)",
            )
            bx, by = (ref.metrics.get(f"baseline_{m}") for m in (ma, mb))
            if isinstance(bx, int | float) and isinstance(by, int | float):
                ax.plot(
                    bx,
                    by,
                    "P",
                    color="black",
                    markersize=11,
                    label="its baseline (its baseline_<metric> values)",
                )
        for metric, setter, which in ((ma, ax.set_xscale, "x"), (mb, ax.set_yscale, "y")):
            vals = [p[metric] for p in points if isinstance(p.get(metric), int | float)]
            base = (ref.metrics or {}).get(f"baseline_{metric}") if ref is not None else None
            if isinstance(base, int | float):
                vals.append(base)  # a distant baseline would squash the front on a linear axis
            positive = [v for v in vals if v > 0]
            if positive and len(positive) == len(vals) and max(positive) / min(positive) > 10:
                setter("log")
                _plain_log(ax, which)
        arrow = {
            o.metric: "lower is better" if o.sign > 0 else "higher is better" for o in objectives
        }
        ax.set_xlabel(f"{ma} ({arrow[ma]})")
        ax.set_ylabel(f"{mb} ({arrow[mb]})")
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=8)
    fig.suptitle(
        f"{study.scenario}: Pareto front of {', '.join(str(o) for o in objectives)} "
        f"({len(front)} of {len(points)} designs)"
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    paths = _save(fig, out, stem)
    keys = [k for k in study.swept if not k.startswith("engine.") and k != "seed"]
    head = [*keys, *names]
    lines = [
        f"# {study.scenario}: Pareto front of {', '.join(str(o) for o in objectives)}",
        "",
        f"{len(front)} non-dominated of {len(feasible)} feasible designs ({len(points)} ran)"
        + (f"; constraints: {', '.join(c.text for c in constraints)}" if constraints else ""),
        "",
        "| design | " + " | ".join(head) + " |",
        "|" + "---|" * (len(head) + 1),
    ]
    for i in front:
        mark = "front" + (" (default)" if ref is not None and ok[i] is ref else "")
        lines.append("| " + " | ".join([mark, *(_fmt(points[i].get(k, "-")) for k in head)]) + " |")
    if ref is not None:
        m = ref.metrics or {}
        lines.append(
            "| default (the paper's) | "
            + " | ".join(
                _fmt(ref.params.get(k, "-")) if k in keys else _fmt(m.get(k, "-")) for k in head
            )
            + " |"
        )
        lines.append(
            "| its baseline | "
            + " | ".join("" if k in keys else _fmt(m.get(f"baseline_{k}", "-")) for k in head)
            + " |"
        )
    md = out / f"{stem}.md"
    md.write_text("\n".join(lines) + "\n")
    return [*paths, md]


def convergence_report(
    study: _Study,
    out: Path,
    objective: Objective,
    constraints: Sequence[Any],
    trials: Sequence[str],
) -> list[Path]:
    """convergence_<metric>.png/.svg: the metric of every trial (in trial order for an
    explore, else in the order points finished) and the best so far."""
    import matplotlib.pyplot as plt

    by_id = {r.point_id: r for r in study.records}
    order = [by_id[p] for p in trials if p in by_id] if trials else list(study.records)
    if not trials:
        order.sort(key=lambda r: r.finished_at)
    xs, ys, best_x, best_y = [], [], [], []
    best: float | None = None
    for n, r in enumerate(order):
        values = _values(r)
        v = (r.metrics or {}).get(objective.metric) if r.status == "ok" else None
        if not isinstance(v, int | float) or not all(c.met(values) for c in constraints):
            continue
        xs.append(n)
        ys.append(v)
        if best is None or objective.sign * v < objective.sign * best:
            best = v
        best_x.append(n)
        best_y.append(best)
    if not xs:
        return []
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ax.plot(xs, ys, "o", color="0.6", markersize=5, label="trial (feasible)")
    ax.step(best_x, best_y, where="post", color="C0", linewidth=2, label="best so far")
    positive = [v for v in ys if v > 0]
    if len(positive) == len(ys) and max(ys) / min(ys) > 20:
        ax.set_yscale("log")
        _plain_log(ax, "y")
    ax.set_xlabel("trial" if trials else "point (in the order they finished)")
    ax.set_ylabel(f"{objective.metric} ({objective.direction})")
    ax.set_title(f"{study.scenario}: {objective} against trials (best {_fmt(best)})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out, f"convergence_{objective.metric}")


class ReportError(CosimError):
    """A report was asked for something the results do not hold."""


def _no_metric(metric: str, known: Sequence[str], scenario: str) -> str:
    close = difflib.get_close_matches(metric, known, n=1, cutoff=0.75)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return (
        f"no metric '{metric}' in the results of {scenario}{hint} "
        f"(metrics: {', '.join(known) or 'none'})"
    )


def write_report(
    folder: str | Path,
    out: str | Path | None = None,
    metrics: Sequence[str] = (),
    pareto: Sequence[str] = (),
) -> list[Path]:
    """Write the tables and figures of the study in `folder` (plus `<metric>_vs_<param>`
    figures of further `metrics`, and the Pareto front of each `pareto` item, "a,b" or
    "a,b,c", or the convergence of a single metric; an explore's folder gets those of
    its objectives by default); returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "cosim"
    with ResultStore(folder) as store:
        study = _Study(store.records(), store.meta())
        spec = stored_spec(store)
        trials = stored_trials(store)
    known = sorted({k for r in study.ran for k in r.metrics})
    for metric in metrics:
        if metric not in known:
            raise ReportError(_no_metric(metric, known, study.scenario))
    if not pareto and spec is not None:
        pareto = [",".join(o.metric for o in spec.objectives[:3])]
    fronts = [_parse_pareto(text, spec, known, study.scenario) for text in pareto]
    constraints = spec.constraints if spec is not None else []
    target = Path(out) if out is not None else Path(folder) / "report"
    target.mkdir(parents=True, exist_ok=True)
    paths = write_tables(study, target)
    paths += line_figures(study, target)
    paths += ratio_figure(study, target)
    paths += energy_figure(study, target)
    paths += roofline_figure(study, target)
    paths += metric_figures(study, target, metrics)
    for objectives in fronts:
        if len(objectives) == 1:
            paths += convergence_report(study, target, objectives[0], constraints, trials)
        else:
            paths += pareto_report(study, target, objectives, constraints, trials)
    return paths
