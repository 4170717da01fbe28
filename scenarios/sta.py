"""STA: a transformer encoder layer on an N:M sparse engine with an on-chip streaming
softmax, against the same engine running the layer dense (Fang, Zhou and Wang, "An
Algorithm-Hardware Co-Optimized Framework for Accelerating N:M Sparse Transformers",
IEEE TVLSI 30(11), 2022).

One run, one system (cosim.build_soc: host CPU, fabric, DMA, scratchpad, DRAM, plus the
accelerator of cosim.accel.sta.system: the N:M engine, the softmax unit, and DFX's vector
unit for residual + LayerNorm, each functional, TLM or RTL): the host rings the
accelerator once per pass and waits for its interrupt. Passes:
  1. the chosen N:M pattern, softmax on chip (the accelerator);
  2. dense weights on the same engine, softmax on chip (the baseline: the dense engine);
  3. the chosen pattern with the attention scores and probabilities going through DRAM
     (what the on-chip softmax saves);
  4. with compare=true, the other patterns of the paper's study (2:4, 1:4, 2:8).
Every intermediate of every pass is checked against numpy: QKV, the attention output
and the FFN hidden layer bit for bit against the integer model; both LayerNorm outputs
against LayerNorm in float64 within sta.LN_TOLERANCE_LSB (the stages after a LayerNorm
start from the accelerator's LayerNorm output); the result in DRAM against the last
LayerNorm output. The float64 version of the layer is reported as the integer pipeline's distance
from real arithmetic. Cycles, DRAM traffic and energy come from the simulation (engine
jobs, DMA, DRAM commands, scratchpad words, energy-table events).

    python scenarios/sta.py [--set pattern=1:4] [--engine engine=rtl --engine softmax=rtl]
"""

from __future__ import annotations

from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.device import AcceleratorDriver
from cosim.accel.sta import nm_sparse as nm
from cosim.accel.sta import system as sta
from cosim.energy import by_component, format_breakdown
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario

PAPER_PATTERNS = ("2:4", "1:4", "2:8")


def _ratio(a: float, b: float) -> float:
    """a / b, or 0 when b is 0 (the untimed functional engines take no cycles)."""
    return a / b if b else 0.0


scenario = Scenario(
    "sta",
    "STA N:M sparse transformer encoder layer with on-chip softmax vs the dense engine",
    params=[
        Param(
            "pattern",
            "2:4",
            choices=("2:4", "1:4", "2:8", "1:2", "4:8", "1:8"),
            help="N:M weight pattern of the accelerator pass",
        ),
        Param("compare", True, help="also run the paper's other patterns (2:4, 1:4, 2:8)"),
        Param("d", 64, choices=(32, 64, 128), help="model width"),
        Param("heads", 2, choices=(1, 2, 4), help="attention heads"),
        Param("seq", 16, choices=(8, 16, 32, 64), unit="tokens", help="sequence length"),
        Param("ffn", 128, choices=(64, 128), help="feed-forward width"),
        Param("lanes", 16, choices=(8, 16), help="engine lanes (output rows in parallel)"),
        Param("slots", 4, choices=(2, 4), help="multipliers per lane"),
        Param(
            "clock",
            "5 ns",
            type="time",
            min="1 ns",
            max="100 ns",
            help="accelerator clock (200 MHz: assumption, an FPGA prototype's clock)",
        ),
        Param(
            "memory",
            "ddr4_2400",
            choices=("ddr4_2400", "lpddr4_3200", "hbm2"),
            help="DRAM preset (the paper's FPGA board has DDR4)",
        ),
    ],
    engines={
        "engine": Engine(
            ("functional", "tlm", "rtl"), default="tlm", help="N:M select-and-MAC engine"
        ),
        "softmax": Engine(
            ("functional", "tlm", "rtl"), default="tlm", help="streaming softmax unit"
        ),
        "norm": Engine(
            ("functional", "tlm", "rtl"),
            default="tlm",
            help="residual + LayerNorm on DFX's vector unit (rtl/dfx/vector_unit.sv)",
        ),
    },
    seed=1,
)


def _passes(cfg: Config) -> list[sta.PassConfig]:
    main = nm.NMPattern.parse(cfg.pattern)
    out = [
        sta.PassConfig(f"sparse {main}", main),
        sta.PassConfig("dense", nm.NMPattern(1, 1)),
        sta.PassConfig(f"sparse {main}, softmax via DRAM", main, onchip_softmax=False),
    ]
    if cfg.compare:
        for text in PAPER_PATTERNS:
            if text != cfg.pattern:
                p = nm.NMPattern.parse(text)
                out.append(sta.PassConfig(f"sparse {p}", p))
    return out


def _area(lanes: int, slots: int, softmax_lanes: int, scratchpad_bytes: int) -> area.Estimate:
    """The engine at 45 nm (cosim.area): lanes x slots int8 multipliers, a 32-bit
    accumulator per lane and a weight beat of registers (lanes x slots x 8 bit); the
    softmax unit's lanes (a 16-bit multiplier and a 32-bit adder each); the scratchpad.
    The dense baseline runs on the same engine, so has the same area."""
    return area.estimate(
        ops={
            "int8_mult": lanes * slots,
            "int32_add": lanes + softmax_lanes,
            "int16_mult": softmax_lanes,
        },
        srams={"scratchpad": (1, scratchpad_bytes)},
        register_bits=lanes * slots * 8 + lanes * 32,
    )


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    dims = sta.EncoderDims(cfg.d, cfg.heads, cfg.seq, cfg.ffn)
    shape = nm.EngineShape(lanes=cfg.lanes, slots=cfg.slots, t_max=max(16, cfg.seq))
    soc = cosim.build_soc(
        sim,
        memory=cfg.memory,
        dma={"lanes": 8, "burst_bytes": 128},
        scratchpad={"size": 256 << 10},
    )
    acc = sta.StaAccelerator(
        sim,
        soc,
        dims,
        engine_impl=cfg.engines["engine"],
        softmax_impl=cfg.engines["softmax"],
        norm_impl=cfg.engines["norm"],
        clock=cfg.clock,
        shape=shape,
        wave=cfg.wave,
    )
    rng = cfg.rng()
    x, dense_w = sta.make_workload(rng, dims)
    passes = _passes(cfg)
    installed = []
    golden = []
    for p in passes:
        w = dense_w.pruned(p.pattern)
        q = sta.calibrate(x, w, dims)
        installed.append((p, w, q))
        golden.append(sta.encoder_golden(x, w, q, dims))
    acc.install(x, installed)
    in_dram: list[np.ndarray] = []

    driver = AcceleratorDriver(soc.host, acc.window)

    @sim.process
    async def host_driver() -> None:
        for i in range(len(passes)):
            await driver.run(sta.RUN_PASS, i)
            raw = await soc.host.read(acc.out_at, dims.seq * dims.d)
            in_dram.append(np.asarray(raw).view(np.int8).reshape(dims.seq, dims.d).copy())
            report_progress(i + 1, len(passes), unit="passes")

    sim.run()
    results = acc.results

    checks, ln_errors = [], []
    for res, (_, w, q), out in zip(results, installed, in_dram, strict=True):
        errors = sta.check_outputs(res.outputs, x, w, q, dims)
        ln_errors.append(max(errors["x1"], errors["x2"]))
        checks.append(sta.outputs_ok(errors) and np.array_equal(out, res.outputs["x2"]))
    main, base, spill = results[0], results[1], results[2]
    clock = cfg.clock
    cycles = round(main.time_ps / clock)
    base_cycles = round(base.time_ps / clock)
    mm_keys = ("qkv", "o", "w1", "w2")
    mm = sum(main.engine_cycles[k] for k in mm_keys)
    base_mm = sum(base.engine_cycles[k] for k in mm_keys)
    pattern = nm.NMPattern.parse(cfg.pattern)
    ideal = sta.matmul_cycles_ideal(dims, shape, pattern)
    ideal_dense = sta.matmul_cycles_ideal(dims, shape, nm.NMPattern(1, 1))
    float_diff = np.abs(
        golden[0]["x2"] - sta.encoder_float(x, dense_w.pruned(pattern), acc.quant[0], dims)
    )
    float_err, float_mean = float(float_diff.max()), float(float_diff.mean())
    macs_per_cycle = cfg.lanes * cfg.slots
    peak_gops = 2 * macs_per_cycle / (clock / 1000)
    peak_gbps = sim.stats["dram.peak_bandwidth"] / 1e9
    useful_macs = int(
        sum(int(np.count_nonzero(m)) for m in dense_w.pruned(pattern).matrices().values()) * cfg.seq
    )
    attn_macs = 2 * cfg.heads * cfg.seq * cfg.seq * dims.dh
    dense_macs = sum(m.size for m in dense_w.matrices().values()) * cfg.seq

    rows = []
    for res in results:
        c = round(res.time_ps / clock)
        mmc = sum(res.engine_cycles[k] for k in mm_keys)
        rows.append(
            f"  {res.name:<32} {c:>8,} {_ratio(base_cycles, c):>6.2f}x {mmc:>8,}"
            f" {res.engine_cycles.get('softmax', 0):>7,} {res.weight_bytes:>8,}"
            f" {res.dram_bytes:>8,} {res.energy_pj / 1e6:>8.3f}"
            f" {base.energy_pj / res.energy_pj:>6.2f}x"
        )
    saved = spill.dram_bytes - main.dram_bytes
    report = "\n".join(
        [
            f"STA encoder layer d={cfg.d} heads={cfg.heads} seq={cfg.seq} ffn={cfg.ffn}, engine "
            f"{cfg.lanes} lanes x {cfg.slots} slots ({cfg.engines['engine']}), softmax "
            f"({cfg.engines['softmax']}), {cfg.memory}, clock {cosim.fmt_time(clock)}",
            f"  golden check (every intermediate, every pass, and the result in DRAM): "
            f"{'OK' if all(checks) else 'MISMATCH ' + str(checks)}; integer stages exact, "
            f"LayerNorm vs float64 within {max(ln_errors):.2f} LSB (tolerance "
            f"{sta.LN_TOLERANCE_LSB:g})",
            f"  integer pipeline vs float64 layer: |error| max {float_err:.2f}, "
            f"mean {float_mean:.2f} (int8 LSB of the output, scale 2^{sta.LN_OUT_FRAC})",
            "",
            f"  {'pass':<32} {'cycles':>8} {'speed':>7} {'matmul':>8} {'softmax':>7} {'weights':>8}"
            f" {'DRAM B':>8} {'uJ':>8} {'energy':>7}",
            *rows,
            "",
            f"  weight products: {mm:,} cycles vs {base_mm:,} dense = {_ratio(mm, base_mm):.3f} "
            f"(N/M = {pattern.density:.3f}; engine bound {ideal:,} / {ideal_dense:,} cycles)",
            f"  weight traffic: {main.weight_bytes:,} B vs {base.weight_bytes:,} B dense = "
            f"{main.weight_bytes / base.weight_bytes:.3f} (N/M values + log2 M index bits: "
            f"{pattern.density * (8 + pattern.index_bits) / 8:.3f})",
            f"  on-chip softmax: scores and probabilities stay on chip; through DRAM the same "
            f"pass moves {saved:,} B more ({spill.dram_bytes:,} vs {main.dram_bytes:,}) and takes "
            f"{round(spill.time_ps / clock):,} cycles",
            f"  whole layer: {_ratio(base_cycles, cycles):.2f}x faster, "
            f"{base.energy_pj / main.energy_pj:.2f}x less energy than the dense engine (paper: "
            "the sparse products speed up by M/N; softmax, attention and LayerNorm are not sparse)",
            "",
            "  energy of the accelerator pass:",
            "    " + format_breakdown(main.energy).replace("\n", "\n    "),
        ]
    )

    metrics: dict[str, Any] = {
        "golden_ok": all(checks),
        "layernorm_error_lsb": max(ln_errors),
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": main.energy_pj,
        "baseline_energy_pj": base.energy_pj,
        "energy_ratio": base.energy_pj / main.energy_pj,
        "dram_bytes": main.dram_bytes,
        "baseline_dram_bytes": base.dram_bytes,
        "weight_bytes": main.weight_bytes,
        "baseline_weight_bytes": base.weight_bytes,
        "weight_traffic_ratio": main.weight_bytes / base.weight_bytes,
        "matmul_cycles": mm,
        "baseline_matmul_cycles": base_mm,
        "matmul_speedup": _ratio(base_mm, mm),
        "softmax_cycles": main.engine_cycles.get("softmax", 0),
        "offchip_softmax_cycles": round(spill.time_ps / clock),
        "offchip_softmax_dram_bytes": spill.dram_bytes,
        "dram_bytes_saved_by_onchip_softmax": saved,
        "utilisation": (useful_macs + attn_macs) / (macs_per_cycle * cycles),
        "float_max_abs_error": float_err,
        "float_mean_abs_error": float_mean,
        "time_us": main.time_ps / 1e6,
    }
    for res in results[3:] if cfg.compare else []:
        key = res.pattern.replace(":", "_")
        metrics[f"speedup_{key}"] = _ratio(base.time_ps, res.time_ps)
        metrics[f"energy_ratio_{key}"] = base.energy_pj / res.energy_pj
        metrics[f"weight_bytes_{key}"] = res.weight_bytes
    silicon = _area(cfg.lanes, cfg.slots, 16, soc.scratchpad.size)
    metrics["area_mm2"] = silicon.mm2
    metrics["baseline_area_mm2"] = silicon.mm2
    metrics["report"] = report
    metrics["extras"] = {
        "energy_breakdown_pj": by_component(main.energy),
        "baseline_energy_breakdown_pj": by_component(base.energy),
        "passes": [
            {
                "name": r.name,
                "pattern": r.pattern,
                "onchip_softmax": r.onchip_softmax,
                "cycles": round(r.time_ps / clock),
                "engine_cycles": r.engine_cycles,
                "weight_bytes": r.weight_bytes,
                "dram_bytes": r.dram_bytes,
                "energy_pj": r.energy_pj,
                "golden_ok": ok,
            }
            for r, ok in zip(results, checks, strict=True)
        ],
        "roofline": {
            "peak_gops": peak_gops,
            "peak_gbps": peak_gbps,
            "ops": 2 * (useful_macs + attn_macs),
            "bytes": main.dram_bytes,
            "seconds": main.time_ps * 1e-12,
            "baseline_ops": 2 * (dense_macs + attn_macs),
            "baseline_bytes": base.dram_bytes,
            "baseline_seconds": base.time_ps * 1e-12,
        },
    }
    return metrics


if __name__ == "__main__":
    scenario.main()
