"""SPRINT: Yazdanbakhsh, Moradifirouzabadi, Li and
Kang, "Sparse Attention Acceleration with Synergistic In-Memory Pruning and On-Chip
Recomputation", MICRO 2022 (arXiv 2209.00606), against dense attention on the same system.

    .venv/bin/python scenarios/sprint.py [--set seq_len=256] [--engine recompute=rtl]

One attention head (L = seq_len queries and keys, head dimension d, int8 Q, K, V):
- the keys' `analog_bits` most significant bits sit in ReRAM crossbars (a reram_tile);
  each query drives them with its own MSBs and the in-array comparators return the mask
  of keys whose analog score reaches the threshold (calibrated offline to keep `keep` of
  the keys);
- the fetch filter lists the survivors with their slot in the 16 KB on-chip K/V buffer;
  only those not already on chip are fetched from DRAM;
- the recompute engine recomputes their scores exactly (int8) and folds them into a
  fixed-point online softmax and weighted sum of their V rows (Q8.8 outputs).
Dense attention runs the same controller, filter and buffer with every key surviving and
no ReRAM access, query-tiled: `dense_tile` queries share each fetched K/V batch, on as
many recompute engines of lanes / dense_tile lanes (the same multipliers, one softmax
state per query of the tile). Both run in one simulation (cosim.accel.sprint.system); every
mask, filter entry and output is checked against its numpy twin (the crossbar twin
cosim.system.reram.Crossbar, cosim.accel.sprint.engines.FetchFilterModel,
cosim.accel.online_softmax: bit-exact), and the dense output against exact attention on
the same int8 data within the fixed point's stated tolerance.

The report gives speed-up and energy against dense attention, the K/V records fetched,
and the output error against exact attention (float64 on the float inputs) as the
threshold and the ReRAM non-idealities vary (a sweep computed with the crossbar twin).
Energies exclude DRAM refresh (background, reported separately). The workload is
synthetic and seeded (cosim.accel.sprint.workload: topic clusters, persistent query focus).
The last line printed is one JSON object of the metrics.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.online_softmax import attend
from cosim.accel.phase import PhaseMeter
from cosim.accel.sprint.engines import FetchFilterModel
from cosim.accel.sprint.system import RunRecord, build_sprint_system, run_figures
from cosim.accel.sprint.workload import (
    DEVICE_CASES,
    RERAM_T_READ_SOURCE,
    Attention,
    calibrate_threshold,
    crossbar_params,
    exact_attention,
    generate,
    masked_attention,
    prepare,
    relative_error,
    topics,
)
from cosim.energy import fmt_energy
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.reram import Crossbar

#: Keep fractions of the accuracy sweep.
SWEEP_KEEP = (0.1, 0.2, 0.3)
#: Tolerance of the fixed-point output against exact attention on the same int8 data, in
#: units of v: 0.2% of the largest |v| plus half an LSB of Q8.8 (cosim.accel.online_softmax)
FIXED_POINT_TOLERANCE = 0.002 * 128 + 1 / 256
MAX_KEYS = 1024

scenario = Scenario(
    "sprint",
    "SPRINT: ReRAM in-memory key pruning + on-chip recompute vs dense attention",
    params=[
        Param("seq_len", 128, min=16, max=MAX_KEYS, help="queries and keys of the head (L)"),
        Param("d", 64, choices=(16, 32, 64), help="head dimension"),
        Param(
            "keep", 0.2, min=0.02, max=1.0, help="fraction of keys the threshold keeps (calibrated)"
        ),
        Param("analog_bits", 4, min=2, max=8, unit="bit", help="MSBs of q and k in the ReRAM"),
        Param("buffer_kib", 16, choices=(2, 4, 8, 16, 32), unit="KiB", help="on-chip K/V buffer"),
        Param("lanes", 16, choices=(1, 2, 4, 8, 16, 32, 64), help="recompute engine MAC lanes"),
        Param(
            "dense_tile",
            4,
            choices=(1, 2, 4, 8),
            help="dense attention: queries per tile, each K/V batch fetched once for the tile "
            "(as many engines of lanes/dense_tile lanes; at most lanes)",
        ),
        Param("clock", "1 ns", type="time", min="100 ps", max="100 ns", help="accelerator clock"),
        Param(
            "memory", "ddr4_2400", choices=("ddr4_2400", "lpddr4_3200", "hbm2"), help="DRAM preset"
        ),
        Param("fetch_streams", 4, min=1, max=64, help="K/V record reads in flight"),
        Param("clusters", 8, min=1, max=64, help="workload: topics the keys belong to"),
        Param("run", 8.0, min=1.0, max=1024.0, help="workload: mean queries per topic run"),
        Param("sharpness", 6.0, min=0.5, max=20.0, help="workload: logit of a matching key"),
        Param("sigma_d2d", 0.0, min=0.0, max=1.0, help="ReRAM device-to-device variation (run)"),
        Param("sigma_read", 0.0, min=0.0, max=1.0, help="ReRAM read noise (run)"),
        Param("p_stuck", 0.0, min=0.0, max=0.5, help="ReRAM cells stuck on and off, each (run)"),
        Param("sigma_cmp", 0.0, min=0.0, max=1e4, help="comparator offset, product steps (run)"),
        Param("sweep", True, help="also sweep keep x ReRAM non-idealities (crossbar twin)"),
    ],
    engines={
        "recompute": Engine(
            ("functional", "tlm", "rtl"),
            default="tlm",
            help="digital recompute + online softmax (rtl/sprint/sprint_recompute.sv)",
        ),
        "filter": Engine(
            ("functional", "tlm", "rtl"),
            default="tlm",
            help="fetch filter of the K/V buffer (rtl/sprint/sprint_fetch_filter.sv)",
        ),
    },
)


def devices(cfg: Config) -> dict[str, float]:
    """The run's ReRAM non-idealities (those that are on)."""
    out = {
        "sigma_d2d": cfg.sigma_d2d,
        "sigma_read": cfg.sigma_read,
        "p_stuck_on": cfg.p_stuck,
        "p_stuck_off": cfg.p_stuck,
        "sigma_cmp": cfg.sigma_cmp,
    }
    return {k: v for k, v in out.items() if v}


def check_buffer(cfg: Config) -> int:
    slots = cfg.buffer_kib * 1024 // (2 * cfg.d)
    if slots > 256:
        raise cosim.ParameterError(
            f"scenario 'sprint': parameter 'buffer_kib' = {cfg.buffer_kib} with d = {cfg.d} "
            f"gives {slots} records; the fetch filter tracks at most 256 (allowed buffer_kib <= "
            f"{256 * 2 * cfg.d // 1024} for d = {cfg.d})"
        )
    if cfg.lanes > cfg.d:
        raise cosim.ParameterError(
            f"scenario 'sprint': parameter 'lanes' = {cfg.lanes} exceeds d = {cfg.d}"
        )
    return slots


scenario.check(check_buffer)  # before a worker starts, too


# ----------------------------------------------------------------- golden checks
def check_run(att: Attention, record: RunRecord, slots: int) -> dict[str, Any]:
    """Filter entries against the model, outputs bit-exact against the numpy twin."""
    model = FetchFilterModel(slots)
    mult, shift = att.softmax_constants()
    entries_ok = outputs_ok = True
    for i in range(att.length):
        survivors = np.flatnonzero(record.masks[i])
        if i % record.tile == 0:  # one filter query per tile of queries
            expected = model.query(survivors)
        entries_ok &= record.entries[i] == expected
        k = att.ki[survivors].astype(np.int64)
        y, _ = attend(k @ att.qi[i].astype(np.int64), att.vi[survivors], mult, shift)
        outputs_ok &= bool(np.array_equal(y, record.outputs[i]))
    return {"entries_ok": bool(entries_ok), "outputs_ok": outputs_ok}


def twin_masks(att: Attention, threshold: int, params: dict[str, Any]) -> np.ndarray:
    """The masks the crossbar twin gives for the same operations in the same order."""
    xb = Crossbar(**{k: v for k, v in params.items() if k != "t_read"})
    xb.program(att.ka)
    return np.array([xb.threshold(att.qa[i], threshold) for i in range(att.length)])


def accuracy_sweep(att: Attention, cal: Attention, seed: int) -> list[dict[str, Any]]:
    """Output error against exact attention as keep and the non-idealities vary (float
    attention over each query's survivors: the fixed point's own error is measured by
    the run)."""
    exact = exact_attention(att)
    rows = []
    for keep in SWEEP_KEEP:
        threshold = calibrate_threshold(cal, keep)
        for name, dev in DEVICE_CASES.items():
            masks = twin_masks(att, threshold, crossbar_params(att.analog_bits, dev, seed))
            y = masked_attention(att, masks)
            rows.append(
                {
                    "keep": keep,
                    "devices": name,
                    "kept": float(masks.mean()),
                    "empty_queries": int((masks.sum(axis=1) == 0).sum()),
                    "error": relative_error(y, exact),
                }
            )
    return rows


# ------------------------------------------------------------------------ report
def us(ps: float) -> str:
    return f"{ps / 1e6:.2f} us"


def report(cfg: Config, f: dict[str, Any]) -> str:
    s, b = f["sprint"], f["dense"]
    lines = [
        f"cosim SPRINT: one attention head, L = {cfg.seq_len}, d = {cfg.d}, int8 Q/K/V on "
        f"{cfg.memory}",
        f"  keys' {cfg.analog_bits} MSBs in ReRAM ({f['arrays']} arrays of 128x128, "
        f"{f['reram_reads']:g} reads of {f['t_read_ns']:.0f} ns per query); threshold "
        f"{f['threshold']} calibrated to keep {cfg.keep:.0%}; {cfg.buffer_kib} KiB K/V buffer "
        f"({f['slots']} records); recompute engine {cfg.lanes} lanes at "
        f"{1e3 / cfg.clock:.2g} GHz ({cfg.engines['recompute']}), filter ({cfg.engines['filter']})",
        f"  {'':<8} {'time':>10} {'cycles':>9} {'DRAM bytes':>11} {'K/V fetched':>12} "
        f"{'pairs':>7} {'energy':>10}",
    ]
    for name, r in (("SPRINT", s), ("dense", b)):
        lines.append(
            f"  {name:<8} {us(r['time_ps']):>10} {r['cycles']:>9,} {r['dram_bytes']:>11,} "
            f"{r['fetched']:>12,} {r['pairs']:>7,} {fmt_energy(r['energy_pj']):>10}"
        )
    lines += [
        f"  SPRINT: {f['speedup']:.2f}x faster, {f['energy_ratio']:.2f}x less energy, "
        f"{f['traffic_ratio']:.2f}x less DRAM traffic than dense attention",
        f"  survivors per query: mean {f['survivors_mean']:.1f} ({f['keep_fraction']:.1%} of the "
        f"keys; {f['survivors_min']} .. {f['survivors_max']}), adjacent queries share "
        f"{f['adjacent_overlap']:.0%} of them, {f['empty_queries']} queries kept none",
        f"  K/V records fetched: SPRINT {s['fetched']:,} = {f['kv_fetch_fraction']:.1%} of "
        f"dense's {b['fetched']:,}; without the fetch filter SPRINT would fetch "
        f"{s['pairs']:,} (filter hits {f['filter_hit_rate']:.1%})",
        f"  output error against exact attention (float64): SPRINT {f['output_error']:.2%}, "
        f"dense {f['dense_output_error']:.2%} (int8 + fixed point); dense vs exact on its int8 "
        f"data: max {f['dense_fixed_point_error']:.3f} (tolerance {FIXED_POINT_TOLERANCE:.3f}) in "
        "units of v",
    ]
    if f["kv_fits"]:
        lines.append(
            f"  (K and V of all {cfg.seq_len} keys fit the buffer, so dense attention also fetches "
            "each record once: SPRINT's gain here is the pruned compute; its fetch savings grow "
            "once the sequence outgrows the buffer, e.g. --set seq_len=512)"
        )
    lines.append(
        f"  ReRAM programming of K (set-up, not in the runs): {us(f['program_ps'])}, "
        f"{fmt_energy(f['program_pj'])}; DRAM refresh excluded: SPRINT "
        f"{fmt_energy(s['refresh_pj'])}, dense {fmt_energy(b['refresh_pj'])}"
    )
    lines.append("  energy by component:")
    for name, r in (("SPRINT", s), ("dense", b)):
        parts = ", ".join(
            f"{c} {fmt_energy(pj)}"
            for c, pj in sorted(r["energy_by_component"].items(), key=lambda kv: -kv[1])
        )
        lines.append(f"    {name:<7}: {parts}")
    if f["sweep"]:
        lines.append(
            "  accuracy sweep (crossbar twin; error of float attention over the survivors "
            "vs exact):"
        )
        lines.append(f"    {'keep':>5} {'devices':<15} {'kept':>6} {'empty':>5} {'error':>7}")
        for row in f["sweep"]:
            lines.append(
                f"    {row['keep']:>5.0%} {row['devices']:<15} {row['kept']:>6.1%} "
                f"{row['empty_queries']:>5} {row['error']:>7.2%}"
            )
    lines.append(f"  golden: {f['golden_detail']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- run
@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    slots = check_buffer(cfg)
    rng = cfg.rng()
    centres = topics(rng, cfg.clusters, cfg.d)
    att = prepare(*generate(rng, centres, cfg.seq_len, cfg.run, cfg.sharpness), cfg.analog_bits)
    cal = prepare(*generate(rng, centres, cfg.seq_len, cfg.run, cfg.sharpness), cfg.analog_bits)
    threshold = calibrate_threshold(cal, cfg.keep)
    reram = crossbar_params(cfg.analog_bits, devices(cfg), cfg.seed)
    system = build_sprint_system(
        sim,
        memory=cfg.memory,
        d=cfg.d,
        max_keys=MAX_KEYS,
        buffer_bytes=cfg.buffer_kib * 1024,
        engines=dict(cfg.engines),
        clock=cfg.clock,
        reram=reram,
        fetch_streams=cfg.fetch_streams,
        lanes=cfg.lanes,
        waves={cfg.wave: f"sprint_{cfg.wave}.fst"} if cfg.wave else None,
        dense_tile=cfg.dense_tile,
    )
    # Q, K/V records (K row then V row per key) and the outputs in DRAM, put there through
    # the backdoor: the previous layer left them (set-up, not measured)
    mem = system.soc.dram.array()
    base = system.soc.DATA - system.soc.DRAM
    records = att.records()
    q_at, kv_at = base, base + ((att.qi.nbytes + 4095) // 4096) * 4096
    out_at = kv_at + ((records.nbytes + 4095) // 4096) * 4096
    mem[q_at : q_at + att.qi.nbytes] = att.qi.view(np.uint8).ravel()
    mem[kv_at : kv_at + records.nbytes] = records.view(np.uint8).ravel()
    runs: dict[str, dict[str, Any]] = {}
    program: dict[str, Any] = {}

    @sim.process
    async def host() -> None:
        meter = PhaseMeter(sim)
        await system.driver.program_keys(att)
        program.update(run_figures(system, meter.stop()))
        for k, mode in enumerate(("sprint", "dense")):
            meter = PhaseMeter(sim)
            rec = await system.driver.attend(att, threshold, mode, (q_at, kv_at, out_at))
            runs[mode] = {**run_figures(system, meter.stop()), "record": rec}
            report_progress(k + 1, 2, unit="runs")

    sim.run()
    s, b = runs["sprint"], runs["dense"]
    rs, rb = s["record"], b["record"]
    # ---- golden checks
    checks = {mode: check_run(att, runs[mode]["record"], slots) for mode in runs}
    twin = twin_masks(att, threshold, reram)
    masks_ok = bool(np.array_equal(twin, rs.masks))
    if not devices(cfg):
        masks_ok &= bool(np.array_equal(rs.masks, att.qa @ att.ka.T >= threshold))
    dense_mask_ok = bool(rb.masks.all())
    exact_q = exact_attention(att, quantised=True) / att.scales[2]
    fixed_point_err = float(np.abs(rb.outputs / 256 - exact_q).max())
    golden = (
        masks_ok
        and dense_mask_ok
        and all(c["entries_ok"] and c["outputs_ok"] for c in checks.values())
        and fixed_point_err <= FIXED_POINT_TOLERANCE
    )
    same = {True: "=", False: "!="}
    entries_ok = all(c["entries_ok"] for c in checks.values())
    outputs_ok = all(c["outputs_ok"] for c in checks.values())
    detail = (
        f"masks {same[masks_ok]} crossbar twin; filter entries {same[entries_ok]} model; "
        f"outputs {same[outputs_ok]} numpy twin (bit-exact); dense within tolerance: "
        f"{fixed_point_err <= FIXED_POINT_TOLERANCE}"
    )
    # ---- figures
    exact = exact_attention(att)
    sv = att.scales[2]
    survivors = rs.masks.sum(axis=1)
    shared = (rs.masks[1:] & rs.masks[:-1]).sum() / max(1, rs.masks[1:].sum())
    for r, rec in ((s, rs), (b, rb)):
        r["cycles"] = round(r["time_ps"] / cfg.clock)
        r["fetched"] = rec.fetched_records
        r["pairs"] = rec.engine["pairs"]
    hits, misses = rs.filter["hits"], rs.filter["misses"]
    arrays = system.tile.arrays_used
    reads_per_query = sim.stats[f"{system.tile.name}.array_reads"] / cfg.seq_len / arrays
    f: dict[str, Any] = {
        "sprint": s,
        "dense": b,
        "threshold": threshold,
        "slots": slots,
        "arrays": arrays,
        "reram_reads": reads_per_query,
        "t_read_ns": reram["t_read"] / 1e3,
        "speedup": b["cycles"] / s["cycles"],
        "energy_ratio": b["energy_pj"] / s["energy_pj"],
        "traffic_ratio": b["dram_bytes"] / s["dram_bytes"],
        "survivors_mean": float(survivors.mean()),
        "survivors_min": int(survivors.min()),
        "survivors_max": int(survivors.max()),
        "keep_fraction": float(rs.masks.mean()),
        "adjacent_overlap": float(shared),
        "empty_queries": int((survivors == 0).sum()),
        # K/V records SPRINT fetched over those dense attention fetched on the same
        # buffer (not over L^2 pairs: a record fetched once serves every query after it).
        "kv_fetch_fraction": rs.fetched_records / max(1, rb.fetched_records),
        "filter_hit_rate": hits / max(1, hits + misses),
        "output_error": relative_error(rs.outputs / 256 * sv, exact),
        "dense_output_error": relative_error(rb.outputs / 256 * sv, exact),
        "dense_fixed_point_error": fixed_point_err,
        "kv_fits": cfg.seq_len <= slots,
        "program_ps": program["time_ps"],
        "program_pj": program["energy_pj"],
        "sweep": accuracy_sweep(att, cal, cfg.seed) if cfg.sweep else [],
        "golden_detail": detail,
    }
    silicon = area.estimate(  # the digital side at 45 nm (the ReRAM tiles are not counted)
        ops={"int8_mult": cfg.lanes, "int32_add": cfg.lanes + 1, "int16_mult": 1},
        srams={"kv_buffer": (1, cfg.buffer_kib * 1024)},
        register_bits=cfg.lanes * 32 + cfg.d * 8,
    )
    metrics: dict[str, Any] = {
        "area_mm2": silicon.mm2,
        "golden_ok": golden,
        "cycles": s["cycles"],
        "baseline_cycles": b["cycles"],
        "speedup": b["cycles"] / s["cycles"],
        "energy_pj": s["energy_pj"],
        "baseline_energy_pj": b["energy_pj"],
        "energy_ratio": b["energy_pj"] / s["energy_pj"],
        "dram_bytes": s["dram_bytes"],
        "baseline_dram_bytes": b["dram_bytes"],
        "kv_fetched": s["fetched"],
        "baseline_kv_fetched": b["fetched"],
        "kv_fetch_fraction": f["kv_fetch_fraction"],
        "keep_fraction": f["keep_fraction"],
        "adjacent_overlap": f["adjacent_overlap"],
        "filter_hit_rate": f["filter_hit_rate"],
        "empty_queries": f["empty_queries"],
        "output_error": f["output_error"],
        "dense_output_error": f["dense_output_error"],
        "dense_fixed_point_error": fixed_point_err,
        "pairs": s["pairs"],
        "baseline_pairs": b["pairs"],
        "engine_cycles": rs.engine["cycles"],
        "baseline_engine_cycles": rb.engine["cycles"],
        "threshold": threshold,
        "reram_energy_pj": s["energy_by_component"].get(system.tile.name, 0.0),
        "refresh_pj": s["refresh_pj"],
        "baseline_refresh_pj": b["refresh_pj"],
    }
    extras = {
        "area_mm2_by_part": silicon.by_part_mm2(),
        "energy_breakdown_pj": s["energy_by_component"],
        "baseline_energy_breakdown_pj": b["energy_by_component"],
        "sweep": f["sweep"],
        "survivors_per_query": survivors.tolist(),
        "notes": {
            "reram_t_read": RERAM_T_READ_SOURCE,
            "workload": (
                "synthetic (cosim.accel.sprint.workload): topic clusters, persistent query focus"
            ),
        },
    }
    return {**metrics, "report": report(cfg, f), "extras": extras}


if __name__ == "__main__":
    scenario.main()
