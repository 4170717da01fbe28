"""Memory-side compute trade-offs: ReRAM crossbar
accuracy against energy as the ADC resolution falls, and near-data (near-bank) GEMV in
HBM against the same GEMV on the host.

    .venv/bin/python scenarios/memory_side_tradeoffs.py [--seed 7] [--set m=256 --set n=512]

(a) ReRAM (cosim.system.reram.Crossbar, ISAAC-style 128x128 arrays, 2 bits per cell,
    bit-serial 1-bit DAC inputs): y = W x for an int8 weight matrix and unsigned 8-bit
    inputs, with the ADC resolution swept from exact (no conversion can clip) down to
    `adc_min` bits, plus one line with device variation, read noise, stuck cells and IR
    drop on. Error is against numpy; energy per MVM is the arrays' ISAAC cost.
(b) Near-data vs host (cosim.system.ndp_system.compare_gemv), all in one simulation: an HBM
    stack with `units_per_channel` units per pseudo channel (8: one per two banks, as in
    Samsung's HBM-PIM) runs y = A x at bank bandwidth; the host streams A over the
    interface and the fabric and computes with its roofline model. An m x n int8 GEMV
    (the headline metrics), the same in fp16, and a small x small int8 one. Every result
    is checked against numpy; time, internal and external bandwidth and energy of both
    paths come from the same run.

The headline metrics: cycles / baseline_cycles are the end-to-end times of the near-data
and host paths of the m x n int8 GEMV in DRAM clock cycles; energy_pj / baseline_energy_pj
their energies (DRAM refresh excluded); dram_bytes / baseline_dram_bytes the bytes each
moved over the HBM interface. The last line printed is one JSON object of the metrics.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

import cosim
from cosim.energy import fmt_energy
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.ndp_system import build_ndp_system, compare_gemv, system_figures
from cosim.system.reram import Crossbar

#: Device non-idealities of the "non-ideal" ReRAM line (relative sigmas, fault rates).
NONIDEAL = {
    "sigma_d2d": 0.05,
    "sigma_read": 0.02,
    "p_stuck_on": 0.001,
    "p_stuck_off": 0.002,
    "ir_drop": 0.05,
}

scenario = Scenario(
    "memory_side_tradeoffs",
    "ReRAM accuracy/energy vs ADC bits; near-data GEMV in HBM vs the host",
    params=[
        Param("m", 1024, min=1, max=1 << 16, help="rows of the main GEMV"),
        Param(
            "n",
            1024,
            min=1,
            max=1024,
            help="columns of the main GEMV (x must fit the units' 2 KiB buffer in fp16)",
        ),
        Param("small", 256, min=0, max=1024, help="edge of the small int8 GEMV (0: none)"),
        Param("memory", "hbm2", choices=("hbm2", "hbm3"), help="HBM preset"),
        Param("units_per_channel", 8, choices=(1, 2, 4, 8, 16), help="units per pseudo channel"),
        Param("reram_rows", 64, min=1, max=1024, help="outputs of the ReRAM weight matrix"),
        Param("reram_inputs", 16, min=1, max=1000, help="input vectors per ADC setting"),
        Param("adc_min", 4, min=1, max=8, unit="bit", help="lowest ADC resolution swept"),
    ],
    engines={
        "units": Engine(
            ("tlm",),
            help="near-bank units: approximately timed C++ (tlm/ndp); their numpy twin "
            "(cosim.system.ndp_layout.reference_*) is the golden model",
        )
    },
)


def exact_adc_bits(rows: int, bits_per_cell: int, dac_bits: int) -> int:
    """ADC bits that hold every column sum of one read: no conversion can clip."""
    return math.ceil(math.log2(rows * ((1 << bits_per_cell) - 1) * ((1 << dac_bits) - 1) + 1))


def reram_tradeoff(
    rng: np.random.Generator, seed: int, outputs: int, inputs: int, adc_min: int
) -> dict[str, Any]:
    """Error against numpy and energy per MVM for each ADC resolution."""
    info = cosim.model_info("reram_tile")
    rows = info.param("rows").default
    w = rng.integers(-127, 128, (outputs, rows))
    xs = [rng.integers(0, 256, rows) for _ in range(inputs)]
    golden = np.stack([w @ x for x in xs]).astype(np.float64)
    exact = exact_adc_bits(
        rows, info.param("bits_per_cell").default, info.param("dac_bits").default
    )

    def run(label: str, **params: Any) -> dict[str, Any]:
        xb = Crossbar(seed=seed, **params)
        xb.program(w)
        ys, energy, adc, latency = [], 0.0, 0.0, 0
        for x in xs:
            ys.append(xb.mvm(x))
            cost = xb.last_cost
            energy += cost["energy_pj"]
            adc += cost["energy_breakdown_pj"]["adc"]
            latency = cost["latency_ps"]
        err = np.stack(ys) - golden
        return {
            "label": label,
            "adc_bits": params["adc_bits"],
            "mean_abs_error": float(np.abs(err).mean()),
            "relative_rms_error": float(np.sqrt((err**2).sum() / (golden**2).sum())),
            "energy_pj_per_mvm": energy / len(xs),
            "adc_share": adc / energy,
            "latency_ps": latency,
        }

    sweep = [run("exact" if b == exact else "", adc_bits=b) for b in range(exact, adc_min - 1, -1)]
    errors = [r["mean_abs_error"] for r in sweep]
    return {
        "shape": [outputs, rows],
        "inputs": inputs,
        "exact_adc_bits": exact,
        "sweep": sweep,
        "nonideal": {**run("non-ideal", adc_bits=exact, **NONIDEAL), "devices": NONIDEAL},
        "exact_ok": errors[0] == 0.0,
        "error_monotone": all(a <= b for a, b in itertools.pairwise(errors)),
    }


def reram_report(r: dict[str, Any]) -> str:
    m, n = r["shape"]
    lines = [
        f"(a) ReRAM crossbar: y = W x, W {m}x{n} int8, {r['inputs']} unsigned 8-bit inputs "
        f"(128x128 arrays, 2 bits/cell, 1-bit DAC; exact at {r['exact_adc_bits']} ADC bits)",
        f"    {'ADC bits':>8}  {'mean |err|':>10}  {'rel. RMS err':>12}  {'energy/MVM':>11}  "
        f"{'ADC share':>9}  {'latency':>8}",
    ]
    for row in [*r["sweep"], r["nonideal"]]:
        tag = f"  {row['label']}" if row["label"] else ""
        lines.append(
            f"    {row['adc_bits']:>8}  {row['mean_abs_error']:>10.2f}  "
            f"{row['relative_rms_error']:>12.2e}  {fmt_energy(row['energy_pj_per_mvm']):>11}  "
            f"{100 * row['adc_share']:>8.1f}%  {cosim.fmt_time(row['latency_ps']):>8}{tag}"
        )
    devices = ", ".join(f"{k} {v:g}" for k, v in r["nonideal"]["devices"].items())
    lines.append(f"    non-ideal: {devices}")
    lines.append(
        f"    golden check (numpy): exact ADC -> {'OK' if r['exact_ok'] else 'MISMATCH'}; "
        f"error {'grows' if r['error_monotone'] else 'does NOT grow'} monotonically as bits fall"
    )
    return "\n".join(lines)


def us(ps: float) -> str:
    return f"{ps / 1e6:.3f} us"


def gemv_report(system: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    lines = [
        f"(b) near-data vs host GEMV on {system['memory']}: {system['units']} units "
        f"({system['units_per_channel']} per pseudo channel), internal peak "
        f"{system['peak_internal_bandwidth'] / 1e9:.0f} GB/s, interface peak "
        f"{system['peak_external_bandwidth'] / 1e9:.0f} GB/s",
        f"    {'GEMV':<15} {'path':<9} {'time':>9} {'kernel':>9} {'internal BW':>12} "
        f"{'external BW':>12} {'energy':>10} {'REF':>3}  golden",
    ]
    channels = system["units"] // system["units_per_channel"]
    for v in runs:
        name = f"{v['m']}x{v['n']} {v['dtype']}"
        for path in ("ndp", "host"):
            f = v[path]
            kernel = us(f["kernel_time_ps"]) if path == "ndp" else "-"
            ok = v["check_ndp" if path == "ndp" else "check_host"]["ok"]
            label = name if path == "ndp" else ""
            who = "near-data" if path == "ndp" else "host"
            bw_in, bw_out = f["internal_bandwidth"] / 1e9, f["external_bandwidth"] / 1e9
            lines.append(
                f"    {label:<15} {who:<9} {us(f['time_ps']):>9} {kernel:>9} "
                f"{bw_in:>7.1f} GB/s {bw_out:>7.1f} GB/s "
                f"{fmt_energy(f['energy_pj']):>10} {f['refreshes'] // channels:>3}  "
                f"{'OK' if ok else 'MISMATCH'}"
            )
        lines.append(
            f"    {'':<15} speed-up {v['speedup']:.2f}x, energy ratio {v['energy_ratio']:.2f}x "
            f"(host / near-data); units' bandwidth during the command "
            f"{v['ndp']['kernel_internal_bandwidth'] / 1e9:.0f} GB/s"
        )
    big = runs[0]
    lines.append(f"    energy by component, {big['m']}x{big['n']} {big['dtype']}:")
    for path in ("ndp", "host"):
        parts = ", ".join(
            f"{c} {fmt_energy(pj)}"
            for c, pj in sorted(big[path]["energy_by_component"].items(), key=lambda kv: -kv[1])
        )
        lines.append(f"      {'near-data' if path == 'ndp' else 'host':<9}: {parts}")
    lines.append(
        "    (end to end: near-data = x to the units + command + y read back by the host;\n"
        "     host = A streamed to the host + compute. REF: all-bank refresh rounds that fell\n"
        "     in the path (each stalls every pseudo channel for tRFC); their energy is excluded.)"
    )
    return "\n".join(lines)


def _run_figures(v: dict[str, Any]) -> dict[str, Any]:
    """A comparison's figures for the extras (plain data)."""
    keep = ("time_ps", "energy_pj", "internal_bandwidth", "external_bandwidth", "refreshes")
    return {
        "m": v["m"],
        "n": v["n"],
        "dtype": v["dtype"],
        "ndp": {k: v["ndp"][k] for k in (*keep, "kernel_time_ps", "kernel_internal_bandwidth")},
        "host": {k: v["host"][k] for k in keep},
        "speedup": v["speedup"],
        "energy_ratio": v["energy_ratio"],
        "golden_ok": v["golden_ok"],
    }


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    rng = cfg.rng()
    reram = reram_tradeoff(rng, cfg.seed, cfg.reram_rows, cfg.reram_inputs, cfg.adc_min)
    system = build_ndp_system(sim, memory=cfg.memory, units_per_channel=cfg.units_per_channel)
    sizes = [(cfg.m, cfg.n, "int8"), (cfg.m, cfg.n, "fp16")]
    if cfg.small:
        sizes.append((cfg.small, cfg.small, "int8"))
    runs: list[dict[str, Any]] = []

    @sim.process
    async def main() -> None:
        for k, (m, n, dtype) in enumerate(sizes):
            runs.append(await compare_gemv(system, m, n, dtype, cfg.seed + k))

    sim.run()
    sysfig = system_figures(system)
    main_run, fp16 = runs[0], runs[1]
    tck = sysfig["tck_ps"]
    cycles = round(main_run["ndp"]["time_ps"] / tck)
    baseline_cycles = round(main_run["host"]["time_ps"] / tck)
    lowest = reram["sweep"][-1]
    metrics: dict[str, Any] = {
        "golden_ok": bool(reram["exact_ok"] and all(v["golden_ok"] for v in runs)),
        "cycles": cycles,
        "baseline_cycles": baseline_cycles,
        "speedup": baseline_cycles / cycles,
        "energy_pj": main_run["ndp"]["energy_pj"],
        "baseline_energy_pj": main_run["host"]["energy_pj"],
        "energy_ratio": main_run["host"]["energy_pj"] / main_run["ndp"]["energy_pj"],
        "dram_bytes": main_run["ndp"]["external_bytes"],
        "baseline_dram_bytes": main_run["host"]["external_bytes"],
        "kernel_cycles": main_run["kernel_cycles"],
        "ndp_internal_bandwidth": main_run["ndp"]["kernel_internal_bandwidth"],
        "host_external_bandwidth": main_run["host"]["external_bandwidth"],
        "fp16_speedup": fp16["speedup"],
        "fp16_energy_ratio": fp16["energy_ratio"],
        "reram_exact_adc_bits": reram["exact_adc_bits"],
        "reram_energy_pj_exact": reram["sweep"][0]["energy_pj_per_mvm"],
        "reram_energy_pj_lowest": lowest["energy_pj_per_mvm"],
        "reram_rel_error_lowest": lowest["relative_rms_error"],
        "reram_rel_error_nonideal": reram["nonideal"]["relative_rms_error"],
        "reram_error_monotone": reram["error_monotone"],
    }
    if cfg.small:
        metrics["small_speedup"] = runs[2]["speedup"]
        metrics["small_energy_ratio"] = runs[2]["energy_ratio"]
    report = "\n".join(
        [
            "cosim memory-side trade-offs (ReRAM crossbars, near-data units in HBM)",
            reram_report(reram),
            gemv_report(sysfig, runs),
        ]
    )
    extras = {
        "reram": {k: v for k, v in reram.items() if k != "nonideal"}
        | {"nonideal": reram["nonideal"]},
        "gemv": [_run_figures(v) for v in runs],
        "energy_breakdown_pj": main_run["ndp"]["energy_by_component"],
        "baseline_energy_breakdown_pj": main_run["host"]["energy_by_component"],
        "system": {k: v for k, v in sysfig.items() if k != "notes"} | {"notes": sysfig["notes"]},
    }
    return {**metrics, "report": report, "extras": extras}


if __name__ == "__main__":
    scenario.main()
