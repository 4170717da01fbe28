"""Memory-side compute trade-offs (issue 5; ACCELERATORS.md row 11): ReRAM crossbar
accuracy against energy as the ADC resolution falls, and near-data (near-bank) GEMV in
HBM against the same GEMV on the host.

    .venv/bin/python scenarios/memory_side_tradeoffs.py [--quick] [--seed N]

(a) ReRAM (cosim.reram.Crossbar, ISAAC-style 128x128 arrays, 2 bits per cell,
    bit-serial 1-bit DAC inputs): y = W x for an int8 weight matrix and unsigned 8-bit
    inputs, with the ADC resolution swept from exact (no conversion can clip) down to 4
    bits, plus one line with device variation, read noise, stuck cells and IR drop on.
    Error is against numpy; energy per MVM is the array's ISAAC cost (ADC-dominated).
(b) Near-data vs host (cosim.ndp_system.ndp_vs_host, one simulation per size): an HBM2
    stack with 8 units per pseudo channel (one per two banks, as in Samsung's HBM-PIM)
    runs y = A x at bank bandwidth; the host streams A over the interface and the fabric
    and computes with its roofline model. Both results are checked against numpy; time,
    internal and external bandwidth and energy come from the same run.

Deterministic for a seed; the last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from typing import Any

import numpy as np

import cosim
from cosim.energy import fmt_energy
from cosim.ndp_system import ndp_vs_host
from cosim.reram import Crossbar

# (a) the ReRAM workload: W (outputs x inputs) int8, inputs unsigned 8-bit.
RERAM_SHAPE = (64, 128)
RERAM_INPUTS = 16
NONIDEAL = {
    "sigma_d2d": 0.05,
    "sigma_read": 0.02,
    "p_stuck_on": 0.001,
    "p_stuck_off": 0.002,
    "ir_drop": 0.05,
}
# (b) the GEMV sizes (rows, columns, dtype).
GEMV_SIZES = [(1024, 1024, "int8"), (1024, 1024, "fp16"), (256, 256, "int8")]
QUICK_GEMV_SIZES = [(256, 512, "int8"), (128, 256, "fp16")]


def exact_adc_bits(rows: int, bits_per_cell: int, dac_bits: int) -> int:
    """ADC bits that hold every column sum of one read: no conversion can clip."""
    return math.ceil(math.log2(rows * ((1 << bits_per_cell) - 1) * ((1 << dac_bits) - 1) + 1))


def reram_tradeoff(seed: int, shape: tuple[int, int], inputs: int) -> dict[str, Any]:
    """Error against numpy and energy per MVM for each ADC resolution."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, shape)
    xs = [rng.integers(0, 256, shape[1]) for _ in range(inputs)]
    golden = np.stack([w @ x for x in xs]).astype(np.float64)
    defaults = {
        p: cosim.model_info("reram_tile").param(p).default
        for p in ("rows", "bits_per_cell", "dac_bits")
    }
    exact = exact_adc_bits(defaults["rows"], defaults["bits_per_cell"], defaults["dac_bits"])

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

    sweep = [run("exact" if b == exact else "", adc_bits=b) for b in range(exact, 3, -1)]
    nonideal = run("non-ideal", adc_bits=exact, **NONIDEAL)
    errors = [r["mean_abs_error"] for r in sweep]
    return {
        "shape": list(shape),
        "inputs": inputs,
        "exact_adc_bits": exact,
        "sweep": sweep,
        "nonideal": {**nonideal, "devices": NONIDEAL},
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


def gemv_comparison(sizes: list[tuple[int, int, str]], seed: int) -> list[dict[str, Any]]:
    out = []
    for m, n, dtype in sizes:
        v = cosim.simulate(ndp_vs_host, m, n, dtype, seed=seed, timeout=300).value
        out.append(v)
    return out


def gemv_report(runs: list[dict[str, Any]]) -> str:
    first = runs[0]
    lines = [
        f"(b) near-data vs host GEMV on {first['memory']}: {first['units']} units "
        f"({first['units_per_channel']} per pseudo channel), internal peak "
        f"{first['peak_internal_bandwidth'] / 1e9:.0f} GB/s, interface peak "
        f"{first['peak_external_bandwidth'] / 1e9:.0f} GB/s",
        f"    {'GEMV':<15} {'path':<9} {'time':>9} {'kernel':>9} {'internal BW':>12} "
        f"{'external BW':>12} {'energy':>10}  golden",
    ]
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
                f"{fmt_energy(f['energy_pj']):>10}  {'OK' if ok else 'MISMATCH'}"
            )
        kernel_bw = (
            v["command"]["internal_read_bytes"] + v["command"]["internal_written_bytes"]
        ) / (v["ndp"]["kernel_time_ps"] * 1e-12)
        lines.append(
            f"    {'':<15} speed-up {v['speedup']:.2f}x, energy ratio {v['energy_ratio']:.2f}x "
            f"(host / near-data); units' bandwidth during the command {kernel_bw / 1e9:.0f} GB/s"
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
        "    (end-to-end: near-data = x to the units + command + y read back by the host; "
        "host = A streamed to the host + compute. DRAM refresh energy is excluded from both.)"
    )
    return "\n".join(lines)


def summary(
    reram: dict[str, Any], runs: list[dict[str, Any]], seed: int, quick: bool
) -> dict[str, Any]:
    return {
        "scenario": "memory_side_tradeoffs",
        "seed": seed,
        "quick": quick,
        "reram": {
            "exact_adc_bits": reram["exact_adc_bits"],
            "sweep": [
                {
                    k: row[k]
                    for k in (
                        "adc_bits",
                        "mean_abs_error",
                        "relative_rms_error",
                        "energy_pj_per_mvm",
                    )
                }
                for row in reram["sweep"]
            ],
            "nonideal": {
                k: reram["nonideal"][k]
                for k in ("adc_bits", "mean_abs_error", "relative_rms_error", "energy_pj_per_mvm")
            },
        },
        "gemv": [
            {
                "m": v["m"],
                "n": v["n"],
                "dtype": v["dtype"],
                "ndp_time_ps": v["ndp"]["time_ps"],
                "ndp_kernel_ps": v["ndp"]["kernel_time_ps"],
                "host_time_ps": v["host"]["time_ps"],
                "ndp_internal_bw": v["ndp"]["internal_bandwidth"],
                "ndp_external_bw": v["ndp"]["external_bandwidth"],
                "host_external_bw": v["host"]["external_bandwidth"],
                "ndp_energy_pj": v["ndp"]["energy_pj"],
                "host_energy_pj": v["host"]["energy_pj"],
                "speedup": v["speedup"],
                "energy_ratio": v["energy_ratio"],
            }
            for v in runs
        ],
        "golden_ok": bool(reram["exact_ok"] and all(v["golden_ok"] for v in runs)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ReRAM ADC trade-off and near-data vs host GEMV")
    ap.add_argument("--quick", action="store_true", help="smaller workloads (for tests)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    shape = (32, 128) if args.quick else RERAM_SHAPE
    reram = reram_tradeoff(args.seed, shape, 4 if args.quick else RERAM_INPUTS)
    runs = gemv_comparison(QUICK_GEMV_SIZES if args.quick else GEMV_SIZES, args.seed)
    print("cosim memory-side trade-offs (ReRAM crossbars, near-data units in HBM)")
    print(reram_report(reram))
    print(gemv_report(runs))
    s = summary(reram, runs, args.seed, args.quick)
    print(json.dumps(s))
    return 0 if s["golden_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
