"""nuQmm (Park et al., "nuQmm: quantized MatMul for efficient inference of large-scale
generative language models", arXiv:2206.09557, 2022): binary-coding-quantised weights
(q bit-planes of +-1, per-row scales) multiplied through lookup tables, against the
same product with FP16 weights on MAC lanes of equal area, in one simulated system.

    .venv/bin/python scenarios/nuqmm.py [--set q=4 --set rows=2048 --set batch=2]
        [--engine nuqmm=tlm] [--set host=riscv]

System (cosim.build_soc): host CPU running the driver, fabric, DMA, scratchpad (a
double buffer the weights stream through), HBM2 (`memory`), and the accelerator
(cosim.accel.nuqmm): a command window, a sequencer, the LUT-GEMV engine (LUT builder,
lookup-accumulate lanes, scale unit) as numpy, TLM or RTL, and the FP16 MAC lanes.

Workload (seeded): a rows x n layer of Gaussian weights fitted by BCQ with q planes
(greedy, then alternating refinement), `batch` Gaussian activation vectors quantised to
int8; GEMV (batch 1) or a small-batch GEMM.

Runs on the same system, each timed from the driver's command to the results in DRAM:
1. nuQmm: activations, weight patterns (q bits a weight) and scales stream into the
engine; 2. the baseline: the BCQ weights dequantised to FP16 (2 bytes a weight) stream
through the MAC lanes, each weight used for every batch column. nuQmm's results are
checked bit-exactly against numpy (int32) and against a float64 reference within a
stated bound; the baseline's against the float64 reference (relative 1e-3).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.nuqmm import format as fmt
from cosim.accel.nuqmm.engine import EngineShape
from cosim.accel.nuqmm.system import CHUNK, NuqmmAccelerator
from cosim.accel.nuqmm.workload import Layer, make_layer
from cosim.accel.phase import PhaseMeter
from cosim.energy import fmt_energy
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host

NAME = "nuqmm"
DRAM_BYTES = ("dram.bytes_read", "dram.bytes_written")
FP16_TOLERANCE = 1e-3  # baseline vs float64: relative to sum |w| |x| per row

scenario = Scenario(
    NAME,
    "nuQmm (BCQ weights, LUT-based GEMV) vs FP16 weights on MAC lanes of equal area",
    params=[
        Param("rows", 1024, choices=(64, 256, 1024, 2048, 4096), help="output rows (m)"),
        Param("n", 1024, choices=(64, 256, 1024, 2048, 4096), help="activations (k)"),
        Param("q", 3, choices=(1, 2, 3, 4), help="bit-planes per weight"),
        Param("mu", 8, choices=(4, 8), help="activations per LUT group"),
        Param("batch", 1, min=1, max=4, help="activation columns (1: GEMV)"),
        Param("lanes", 16, choices=(16, 32, 64), help="lookup-accumulate lanes"),
        Param(
            "clock",
            "1 ns",
            type="time",
            min="500 ps",
            max="10 ns",
            help="accelerator clock (1 GHz: assumption)",
        ),
        Param("memory", "hbm2", choices=("hbm2", "ddr4_2400"), help="DRAM preset"),
        HOST_PARAM,
    ],
    engines={
        NAME: Engine(
            ("functional", "tlm", "rtl"),
            default="rtl",
            help="the LUT builder, lookup-accumulate lanes and scale unit",
        )
    },
    seed=1,
)


def shape_of(cfg: Config) -> EngineShape:
    """One build serves every run of a configuration."""
    return EngineShape(
        mu=cfg.mu, lanes=cfg.lanes, max_q=4, max_rows=1024, max_groups=512, max_batch=4
    )


@scenario.check
def _sizes(cfg: Config) -> str | None:
    if cfg.rows % cfg.lanes:
        return f"rows = {cfg.rows} must be a multiple of lanes = {cfg.lanes}"
    if cfg.n > 512 * cfg.mu:
        return f"n = {cfg.n} must be at most 512 x mu = {512 * cfg.mu} (the engine's groups)"
    return None


def nuqmm_area(shape: EngineShape) -> area.Estimate:
    """At 45 nm (cosim.area): per lane an int32 accumulate adder; the LUT builder (lanes
    entries a cycle, mu-1 16-bit adders each); the LUT (2^mu x 16-bit registers); the
    scale unit (lanes/2 32-bit multipliers, two int32 adders each: the 64-bit sum);
    SRAMs, each for max_batch columns: accumulators (max_rows x max_q x 32 bit), row
    results (max_rows x 64 bit), activations (max_groups x mu bytes); the tables
    (max_batch x 2^mu x 16 bit) in registers. The tables' read ports (every lane reads
    one) are counted as the registers only: their multiplexers are not counted."""
    return area.estimate(
        ops={
            "int32_add": shape.lanes + shape.lanes + shape.lanes,  # lanes, scale sums (x2)
            "int16_add": shape.lanes * (shape.mu - 1),
            "int32_mult": shape.lanes // 2,
        },
        srams={
            "accumulators": (1, 4 * shape.max_rows * shape.max_q * shape.max_batch),
            "row_results": (1, 8 * shape.max_rows * shape.max_batch),
            "activations": (1, shape.max_groups * shape.mu * shape.max_batch),
        },
        register_bits=16 * (1 << shape.mu) * shape.max_batch,
    )


def baseline_area(shape: EngineShape, mac_lanes: int) -> area.Estimate:
    """The FP16 MAC lanes (fp16 multiplier + fp32 adder each), fp32 row accumulators
    (max_rows x 4 B) and fp16 activations (max_groups x mu x 2 B) in SRAM, each for
    max_batch columns."""
    b = shape.max_batch
    return area.estimate(
        ops={"fp16_mult": mac_lanes, "fp32_add": mac_lanes},
        srams={
            "accumulators": (1, 4 * shape.max_rows * b),
            "activations": (1, 2 * shape.max_groups * shape.mu * b),
        },
    )


def equal_area_mac_lanes(shape: EngineShape) -> int:
    """As many FP16 MAC lanes as fit the LUT engine's area (at least one)."""
    target = nuqmm_area(shape).mm2
    lanes = 1
    while baseline_area(shape, lanes + 1).mm2 <= target:
        lanes += 1
    return lanes


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    rng = cfg.rng()
    layer = make_layer(rng, rows=cfg.rows, n=cfg.n, q=cfg.q, mu=cfg.mu, batch=cfg.batch)
    shape = shape_of(cfg)
    mac_lanes = equal_area_mac_lanes(shape)
    soc = cosim.build_soc(sim, memory=cfg.memory)
    waves = f"{NAME}.fst" if cfg.wave == NAME else None
    acc = NuqmmAccelerator(
        sim, soc, impl=cfg.engines[NAME], shape=shape, mac_lanes=mac_lanes,
        clock=cfg.clock, waves=waves,
    )  # fmt: skip
    if soc.scratchpad.size < 2 * CHUNK:
        raise cosim.ParameterError(f"scenario '{NAME}': the double buffer needs 8 KiB")
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, NAME)
    images = {
        "x": layer.x.view(np.uint8),
        "patterns": fmt.weight_image(layer.patterns(), shape.max_rows),
        "scales": fmt.scale_image(layer.alphas_fx, shape.max_rows),
        "x16": (layer.x * layer.x_scale).astype("<f2").view(np.uint8),
        "w16": layer.fp16_weights().astype("<f2").view(np.uint8),
    }
    at: dict[str, int] = {}
    off = soc.DATA - soc.DRAM
    mem = soc.dram.array()
    for name, data in images.items():
        at[name] = soc.DRAM + off
        raw = np.ascontiguousarray(data).reshape(-1)
        mem[off : off + len(raw)] = raw
        off += -(-len(raw) // 4096) * 4096
    for name in ("out", "out16"):
        at[name] = soc.DRAM + off
        off += -(-4 * cfg.rows * cfg.batch // 4096) * 4096

    fig: dict[str, Any] = {
        "weight_bytes": images["patterns"].size,
        "baseline_weight_bytes": images["w16"].size,
    }
    dims = (cfg.rows, cfg.n)

    @sim.process
    async def driver() -> None:
        meter = PhaseMeter(sim)
        await acc.gemv(at["x"], at["patterns"], at["scales"], at["out"], *dims, cfg.q, cfg.batch)
        fig["nuqmm"] = (meter.stop(), acc.records[-1])
        report_progress(1, 2, unit="runs")
        meter = PhaseMeter(sim)
        await acc.fp16(at["x16"], at["w16"], at["out16"], *dims, cfg.batch)
        fig["fp16"] = (meter.stop(), acc.records[-1])
        report_progress(2, 2, unit="runs")
        fig["peak_bandwidth"] = float(sim.stats["dram.peak_bandwidth"])
        if cpu is not None:
            await acc.driver.close()

    sim.run()
    if cpu is not None:
        cpu.check_exit()
    return results(cfg, soc, acc, layer, fig, at, shape)


def check_outputs(layer: Layer, out: np.ndarray, out16: np.ndarray) -> dict[str, Any]:
    """out (batch, rows) int32 from the engine, out16 (batch, rows) float32 from the
    baseline: bit-exact check, float64 bound, baseline tolerance."""
    exact = all(np.array_equal(out[b], layer.golden(b)) for b in range(layer.batch))
    err = max(
        float((np.abs(layer.to_real(out[b]) - layer.reference(b)) / layer.tolerance(b)).max())
        for b in range(layer.batch)
    )
    scale = np.abs(layer.fp16_weights().astype(np.float64)) @ np.abs(
        (layer.x * layer.x_scale).T.astype(np.float64)
    )
    base_err = max(
        float((np.abs(out16[b] - layer.reference(b)) / scale[:, b]).max())
        for b in range(layer.batch)
    )
    return {
        "exact": exact,
        "float_error_vs_bound": err,
        "baseline_rel_error": base_err,
        "ok": exact and err <= 1.0 and base_err <= FP16_TOLERANCE,
    }


def results(cfg, soc, acc, layer: Layer, fig, at, shape: EngineShape) -> dict[str, Any]:
    mem = soc.dram.array()
    nbytes = 4 * cfg.rows * cfg.batch
    o, o16 = at["out"] - soc.DRAM, at["out16"] - soc.DRAM
    out = fmt.results(mem[o : o + nbytes], cfg.rows * cfg.batch).reshape(cfg.batch, cfg.rows)
    out16 = mem[o16 : o16 + nbytes].view("<f4").reshape(cfg.batch, cfg.rows)
    chk = check_outputs(layer, out, out16)
    digest = hashlib.sha256(out.tobytes() + out16.tobytes()).hexdigest()
    ph, ph16 = fig["nuqmm"][0], fig["fp16"][0]
    rec, rec16 = fig["nuqmm"][1], fig["fp16"][1]
    clock = cfg.clock
    cycles = max(1, round(ph.time_ps / clock))
    base_cycles = max(1, round(ph16.time_ps / clock))
    e, e16 = ph.flat(), ph16.flat()
    energy_pj, base_pj = sum(e.values()), sum(e16.values())
    weights = cfg.rows * cfg.n
    lookups_derived = cfg.q * weights // cfg.mu * cfg.batch
    macs_derived = weights * cfg.batch
    a, a16 = nuqmm_area(shape), baseline_area(shape, acc.mac_lanes)
    secs = ph.time_ps * 1e-12
    metrics = {
        "golden_ok": chk["ok"],
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": energy_pj,
        "baseline_energy_pj": base_pj,
        "energy_ratio": base_pj / energy_pj,
        "dram_bytes": int(ph.stats(DRAM_BYTES)),
        "baseline_dram_bytes": int(ph16.stats(DRAM_BYTES)),
        "engine_cycles": rec.engine_cycles,
        "baseline_engine_cycles": rec16.mac_cycles,
        "lookups": rec.counters["lookups"],
        "lookups_derived": lookups_derived,
        "baseline_macs": rec16.macs,
        "baseline_macs_derived": macs_derived,
        "lut_entries": rec.counters["lut_entries"],
        "weight_bytes": fig["weight_bytes"],
        "baseline_weight_bytes": fig["baseline_weight_bytes"],
        "weight_bytes_ratio": fig["baseline_weight_bytes"] / fig["weight_bytes"],
        # 16 bits a weight against q bits (a pattern byte holds mu weights of a plane)
        "weight_bytes_ratio_bound": 16 / (cfg.q * 8 / cfg.mu),
        "mac_lanes": acc.mac_lanes,
        "throughput_gops": 2 * weights * cfg.batch / secs / 1e9 if secs else 0.0,
        "baseline_throughput_gops": 2 * weights * cfg.batch / (ph16.time_ps * 1e-12) / 1e9,
        "float_error_vs_bound": chk["float_error_vs_bound"],
        "baseline_rel_error": chk["baseline_rel_error"],
        "bcq_rel_error": float(
            np.linalg.norm(layer.w - layer.fp16_weights()) / np.linalg.norm(layer.w)
        ),
        "area_mm2": a.mm2,
        "baseline_area_mm2": a16.mm2,
    }
    extras = {
        "host": cfg.host,
        "baseline": f"the BCQ weights dequantised to FP16 on {acc.mac_lanes} MAC lanes (fp16 "
        "multiply, fp32 accumulate) of the LUT engine's area, streamed through the same "
        "double buffer; every weight used for all batch columns",
        "golden": chk,
        "energy_breakdown_pj": cosim.energy.by_component(e),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(e16),
        "energy_events_pj": e,
        "baseline_energy_events_pj": e16,
        "engine_energy_pj": acc.energy.energy_pj(rec.counters),
        "area_mm2_by_part": a.by_part_mm2(),
        "baseline_area_mm2_by_part": a16.by_part_mm2(),
        "counters": rec.counters,
        "roofline": {
            "peak_gbps": fig["peak_bandwidth"] / 1e9,
            "bytes": metrics["dram_bytes"],
            "seconds": secs,
            "baseline_bytes": metrics["baseline_dram_bytes"],
            "baseline_seconds": ph16.time_ps * 1e-12,
        },
        "output_digest": digest,
    }
    report = _report(cfg, acc, metrics, chk, e, e16)
    return {**metrics, "report": report, "extras": extras}


def _report(cfg, acc, m, chk, e, e16) -> str:
    us = cfg.clock / 1e6
    host = (
        "the C driver sw/drivers/accel.c on the RISC-V core drives the command window"
        if cfg.host == "riscv"
        else "the Python driver (host_cpu cost model)"
    )
    lines = [
        f"nuQmm: {cfg.rows}x{cfg.n} layer, batch {cfg.batch}, q = {cfg.q} BCQ planes, mu = "
        f"{cfg.mu}; {cfg.lanes} lookup lanes vs {m['mac_lanes']} FP16 MAC lanes of equal "
        f"area; {1e6 / cfg.clock:.0f} MHz, {cfg.memory}; engine {acc.impl}",
        f"  host         : {host}",
        f"  golden check : {'OK' if chk['exact'] else 'MISMATCH'} bit-exact int32; float64 "
        f"error {chk['float_error_vs_bound']:.2f} of its bound; FP16 baseline relative error "
        f"{chk['baseline_rel_error']:.1e} (tolerance {FP16_TOLERANCE:g})",
        f"  BCQ fit      : relative weight error {m['bcq_rel_error']:.3f} (Gaussian weights)",
        "",
        f"  {'run':<28}{'cycles':>11}{'time':>11}{'energy':>12}{'DRAM bytes':>13}",
    ]
    for name, cyc, pj, nbytes in (
        ("nuQmm (LUT-GEMV)", m["cycles"], m["energy_pj"], m["dram_bytes"]),
        ("FP16 MAC lanes (baseline)", m["baseline_cycles"], m["baseline_energy_pj"],
         m["baseline_dram_bytes"]),
    ):  # fmt: skip
        lines.append(f"  {name:<28}{cyc:>11,}{cyc * us:>9.1f}us{fmt_energy(pj):>12}{nbytes:>13,}")
    lines += [
        "",
        f"  speedup {m['speedup']:.2f}x, energy {m['energy_ratio']:.2f}x less end to end",
        f"  lookups {m['lookups']:,} (q n / mu per output) vs baseline MACs "
        f"{m['baseline_macs']:,} (n per output)",
        f"  weight bytes {m['weight_bytes']:,} vs {m['baseline_weight_bytes']:,}: ratio "
        f"{m['weight_bytes_ratio']:.2f} (bound {m['weight_bytes_ratio_bound']:.2f}: 16 / q "
        "at mu 8; at mu 4 a pattern byte is half empty)",
        f"  area {m['area_mm2']:.3f} vs {m['baseline_area_mm2']:.3f} mm2 at 45 nm",
        "  energy, nuQmm:",
        "    " + cosim.energy.format_breakdown(_nest(e)).replace("\n", "\n    "),
        "  energy, FP16 baseline:",
        "    " + cosim.energy.format_breakdown(_nest(e16)).replace("\n", "\n    "),
        "  (control logic, sequencer and clock tree are not charged)",
    ]
    return "\n".join(lines)


def _nest(parts: dict[str, float]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, pj in parts.items():
        comp, kind = key.rsplit(".", 1)
        out.setdefault(comp, {})[kind] = pj
    return out


if __name__ == "__main__":
    scenario.main()
