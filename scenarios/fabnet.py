"""FABNet (Fan et al., "Adaptable Butterfly Accelerator for Attention-based NNs via
Hardware and Algorithm Co-design", MICRO 2022): an FNet-style layer (Fourier token mixing)
and a butterfly linear layer on FABNet's butterfly engine, against the same layer dense
(attention and a dense linear layer) on a systolic array of as many multipliers, in one
simulated system.

    .venv/bin/python scenarios/fabnet.py [--set seq=128 --set d=128] [--engine fabnet=tlm]

System (cosim.build_soc): host CPU running the driver (Python, or the C driver on the
RISC-V core with host=riscv), fabric, DMA, scratchpad, HBM2 (`memory`; our reading of
FABNet's FPGA board, a Xilinx VCU128 with HBM2; DDR4 changes the cycles by under 0.1%)
and one accelerator device with both engines (cosim.accel.fabnet.system): the butterfly
engine (`units` butterfly units of 4 int16 multipliers) and the dense int8 systolic array
of cosim.accel.systolic (output stationary, rows x cols = 4 units multipliers), each
numpy, TLM or RTL.

Workload (seeded): int8 activations seq x d. FABNet: Re(FFT2) over hidden and sequence in
fixed point (twiddles Q2.14, 1/N scaling), then a d -> d butterfly linear layer (log2 d
stages of two nonzeros per row). Baseline: attention (Q, K, V and output projections,
Q K^T, softmax, P V) and a dense d x d linear layer (the butterfly's own matrix,
quantised), seven int8 GEMMs. Each run: DMA in, the commands, DMA out, timed end to end.
Golden: FABNet bit-exact against the numpy fixed-point model and within
workload.TOLERANCE of the float64 reference; the dense layer bit-exact against numpy.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.fabnet import butterfly as bf
from cosim.accel.fabnet import engine as be
from cosim.accel.fabnet import workload as wl
from cosim.accel.fabnet.system import ADDS_PER_BUTTERFLY, FabnetAccelerator, dense_work_layout
from cosim.accel.phase import PhaseMeter
from cosim.energy import fmt_energy
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.dma import Descriptor
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host

IMPLS = ("functional", "tlm", "rtl")
#: The engine's build: one RTL build serves every size of the scenario.
MAX_N = 256
#: The dense array of as many multipliers as `units` butterfly units (4 each).
ARRAY_SHAPE = {4: (4, 4), 8: (4, 8), 16: (8, 8), 32: (8, 16)}
DRAM_BYTES = ("dram.bytes_read", "dram.bytes_written")
PAPER = {
    "compute_reduction": "10-66x less compute than a vanilla transformer (Long-Range Arena)",
    "speedup": "14.2-23.2x faster than prior accelerators at the same compute budget",
}

scenario = Scenario(
    "fabnet",
    "FABNet butterfly engine (FFT mixing, butterfly linear) vs dense attention on a systolic array",
    params=[
        Param("seq", 64, min=16, max=256, help="sequence length, a power of two"),
        Param("d", 64, min=16, max=256, help="hidden size, a power of two"),
        Param("units", 16, choices=tuple(ARRAY_SHAPE), help="butterfly units (4 multipliers each)"),
        Param("clock", "1 ns", type="time", min="250 ps", max="20 ns", help="engine clock"),
        Param("memory", "hbm2", choices=("hbm2", "ddr4_2400"), help="DRAM preset"),
        HOST_PARAM,
    ],
    engines={
        "fabnet": Engine(IMPLS, default="rtl", help="the butterfly engine"),
        "baseline": Engine(IMPLS, default="rtl", help="the dense systolic array"),
    },
    seed=1,
)


@scenario.check
def _sizes(cfg: Config) -> str | None:
    for what in ("seq", "d"):
        v = cfg[what]
        if v & (v - 1):
            return f"parameter '{what}' = {v} must be a power of two (16..256)"
        if v < 2 * cfg.units:
            return (
                f"parameter '{what}' = {v} must be at least 2 x units = {2 * cfg.units} "
                "(one butterfly per unit per cycle); lower 'units'"
            )
    return None


def _pages(n: int) -> int:
    return -(-n // 4096) * 4096


def _area(units: int, rows: int, cols: int, spad: int) -> tuple[area.Estimate, area.Estimate]:
    """FABNet's engine and the dense array at 45 nm (cosim.area), each with the shared
    scratchpad. A butterfly unit: 4 int16 multipliers, 6 32-bit adders; the permutation
    buffer two banks of MAX_N 32-bit words (registers); the weight memory an SRAM of
    log2(MAX_N) x MAX_N/2 64-bit entries. A dense PE: int8 multiplier, int32 adder and
    8 + 8 + 32 bits of pipeline registers."""
    sram = {"scratchpad": (1, spad)}
    wbytes = 8 * bf.log2_exact(MAX_N) * MAX_N // 2
    fab = area.estimate(
        ops={"int16_mult": 4 * units, "int32_add": ADDS_PER_BUTTERFLY * units},
        srams={**sram, "weights": (1, wbytes)},
        register_bits=2 * MAX_N * 32,
    )
    pes = rows * cols
    dense = area.estimate(
        ops={"int8_mult": pes, "int32_add": pes}, srams=sram, register_bits=pes * (8 + 8 + 32)
    )
    return fab, dense


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    s, d, units = cfg.seq, cfg.d, cfg.units
    rows, cols = ARRAY_SHAPE[units]
    layer = wl.make_layer(cfg.rng(), s, d)
    images = {
        "x16": layer.x16.view(np.uint8).reshape(-1),
        "tw_d": be.weight_image(bf.twiddles(d)),
        "tw_s": be.weight_image(bf.twiddles(s)),
        "w_bf": be.weight_image(layer.weights),
        "x8": layer.x.view(np.uint8).reshape(-1),
        "w_dense": np.concatenate(
            [layer.w_dense[k].view(np.uint8).reshape(-1) for k in ("q", "k", "v", "o", "linear")]
        ),
    }
    # Scratchpad: FABNet's operands and results, then the dense layer's (one at a time).
    spad_need = {
        "fab": 2 * s * d
        + sum(len(images[k]) for k in ("tw_d", "tw_s", "w_bf"))
        + 4 * s * d
        + 2 * s * d * 2,
        "dense": s * d + len(images["w_dense"]) + dense_work_layout(s, d)["end"] + s * d,
    }
    spad_size = max(256 << 10, 1 << (max(spad_need.values()) + 4096).bit_length())
    soc = cosim.build_soc(sim, memory=cfg.memory, scratchpad={"size": spad_size})
    waves = {
        "bfe" if w == "fabnet" else "sa": f"{w}.fst"
        for w in ("fabnet", "baseline")
        if cfg.wave == w
    }
    acc = FabnetAccelerator(
        sim,
        soc,
        impl=cfg.engines["fabnet"],
        baseline_impl=cfg.engines["baseline"],
        units=units,
        max_n=MAX_N,
        sa_rows=rows,
        sa_cols=cols,
        clock=cfg.clock,
        waves=waves,
    )
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, "fabnet")
    mem = soc.dram.array()
    at: dict[str, int] = {}
    off = soc.DATA - soc.DRAM
    for name, data in (*images.items(), ("y_fab", 2 * s * d), ("y_dense", s * d)):
        at[name] = soc.DRAM + off
        size = data if isinstance(data, int) else len(data)
        if not isinstance(data, int):
            mem[off : off + size] = data
        off += _pages(size)

    def spad_layout(parts: list[tuple[str, int]]) -> dict[str, int]:
        out, p = {}, soc.SPAD
        for name, size in parts:
            out[name] = p
            p += -(-size // 64) * 64
        return out

    fs = spad_layout(
        [
            ("x16", 2 * s * d),
            ("tw_d", len(images["tw_d"])),
            ("tw_s", len(images["tw_s"])),
            ("w_bf", len(images["w_bf"])),
            ("tmp", 4 * s * d),
            ("mix", 2 * s * d),
            ("y", 2 * s * d),
        ]
    )
    ds = spad_layout([("x8", s * d), ("w", len(images["w_dense"])), ("y", s * d), ("work", 0)])
    fig: dict[str, Any] = {}

    async def dma(pairs: list[tuple[int, int, int]]) -> None:
        descs = [Descriptor(src=a, dst=b, row_bytes=n) for a, b, n in pairs]
        await soc.dma_driver.run(descs, at=soc.DESCRIPTORS)

    @sim.process
    async def host() -> None:
        meter = PhaseMeter(sim)
        await dma([(at[k], fs[k], len(images[k])) for k in ("x16", "tw_d", "tw_s", "w_bf")])
        cmd = PhaseMeter(sim)
        fig["job_cycles"] = await acc.layer(fs, s, d)
        fig["fab_cmd"] = cmd.stop()
        await dma([(fs["y"], at["y_fab"], 2 * s * d)])
        fig["fab"] = meter.stop()
        report_progress(1, 2, unit="runs")
        meter = PhaseMeter(sim)
        await dma([(at["x8"], ds["x8"], s * d), (at["w_dense"], ds["w"], len(images["w_dense"]))])
        cmd = PhaseMeter(sim)
        await acc.dense(ds["x8"], ds["w"], ds["work"], ds["y"], s, d)
        fig["dense_cmd"] = cmd.stop()
        await dma([(ds["y"], at["y_dense"], s * d)])
        fig["dense"] = meter.stop()
        report_progress(2, 2, unit="runs")
        if cpu is not None:
            await acc.driver.close()

    sim.run()
    if cpu is not None:
        cpu.check_exit()
    o = at["y_fab"] - soc.DRAM
    y_fab = mem[o : o + 2 * s * d].copy().view("<i2").reshape(s, d)
    o = at["y_dense"] - soc.DRAM
    y_dense = mem[o : o + s * d].copy().view(np.int8).reshape(s, d)
    return _results(cfg, acc, layer, fig, y_fab, y_dense, rows, cols, spad_size)


def _results(cfg, acc, layer, fig, y_fab, y_dense, rows, cols, spad_size) -> dict[str, Any]:
    clock = cfg.clock
    s, d, units = cfg.seq, cfg.d, cfg.units
    f, b = fig["fab"], fig["dense"]
    cycles, base_cycles = round(f.time_ps / clock), round(b.time_ps / clock)
    check = wl.check_outputs(layer, y_fab, y_dense)
    exact, err, dense_ok, golden_ok = check["exact"], check["error"], check["dense_ok"], check["ok"]
    mix_err = wl.relative_error(wl.golden_mixing(layer), wl.reference_fabnet(layer)[0])
    c = acc.counters  # [hidden FFT, sequence FFT, linear]
    mults = [4 * x["BUTTERFLIES"] for x in c]
    dense_counts = acc.sa_counts
    dense_total = sum(x["macs"] for x in dense_counts)
    dense_linear = dense_counts[-1]["macs"]
    expected = [
        be.job_cycles(d, units, s, True),
        be.job_cycles(s, units, d, True),
        be.job_cycles(d, units, s, True),
    ]
    compute_expected = sum(
        n // 2 * bf.log2_exact(n) * count // units for n, count in ((d, s), (s, d), (d, s))
    )
    fab_cmd, fab_cmd_pj = fig["fab_cmd"].time_ps, fig["fab_cmd"].energy_pj
    dense_cmd, dense_cmd_pj = fig["dense_cmd"].time_ps, fig["dense_cmd"].energy_pj
    engine_pj = sum(v for k, v in f.flat().items() if k.startswith(f"{acc.engine.name}."))
    base_engine_pj = sum(v for k, v in b.flat().items() if k.startswith(f"{acc.baseline.name}."))
    metrics = {
        "golden_ok": golden_ok,
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": f.energy_pj,
        "baseline_energy_pj": b.energy_pj,
        "energy_ratio": b.energy_pj / f.energy_pj,
        "dram_bytes": int(f.stats(DRAM_BYTES)),
        "baseline_dram_bytes": int(b.stats(DRAM_BYTES)),
        "engine_cycles": sum(acc.engine_cycles),
        "mixing_engine_cycles": fig["job_cycles"][0],
        "linear_engine_cycles": fig["job_cycles"][1],
        "engine_cycles_expected": sum(expected),
        "compute_cycles_expected": compute_expected,
        "command_cycles": round(fab_cmd / clock),
        "baseline_command_cycles": round(dense_cmd / clock),
        "command_speedup": dense_cmd / fab_cmd,
        "command_energy_ratio": dense_cmd_pj / fab_cmd_pj,
        "engine_energy_pj": engine_pj,
        "baseline_engine_energy_pj": base_engine_pj,
        "butterfly_mults": sum(mults),
        "dense_macs": dense_total,
        "ops_ratio": dense_total / sum(mults),
        "ops_ratio_attention": (dense_total - dense_linear) / (mults[0] + mults[1]),
        "ops_ratio_linear": dense_linear / mults[2],
        "ops_ratio_bound": d / (2 * bf.log2_exact(d)),
        "multipliers": 4 * units,
        "baseline_multipliers": rows * cols,
        "utilisation": sum(x["BUTTERFLIES"] for x in c) / (units * max(1, sum(acc.engine_cycles))),
        "fixed_point_error": err,
        "mixing_fixed_point_error": mix_err,
        "throughput_gops": 2 * sum(mults) / (f.time_ps * 1e-12) / 1e9,
    }
    fab_area, dense_area = _area(units, rows, cols, spad_size)
    metrics["area_mm2"] = fab_area.mm2
    metrics["baseline_area_mm2"] = dense_area.mm2
    digest = hashlib.sha256(y_fab.tobytes() + y_dense.tobytes()).hexdigest()
    extras = {
        "host": cfg.host,
        "area_mm2_by_part": fab_area.by_part_mm2(),
        "baseline_area_mm2_by_part": dense_area.by_part_mm2(),
        "energy_breakdown_pj": cosim.energy.by_component(f.flat()),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(b.flat()),
        "energy_events_pj": f.flat(),
        "baseline_energy_events_pj": b.flat(),
        "counters": {"fabnet": c, "baseline": dense_counts},
        "engine_job_cycles": acc.engine_cycles,
        "engine_job_cycles_expected": expected,
        "output_digest": digest,
        "paper": PAPER,
        "roofline": {
            "peak_gops": 2 * 4 * units / (clock / 1000),
            "peak_gbps": 0.0,
            "ops": 2 * sum(mults),
            "bytes": metrics["dram_bytes"],
            "seconds": f.time_ps * 1e-12,
            "baseline_ops": 2 * dense_total,
            "baseline_bytes": metrics["baseline_dram_bytes"],
            "baseline_seconds": b.time_ps * 1e-12,
        },
    }
    report = _report(cfg, acc, metrics, f, b, exact, dense_ok, rows, cols)
    return {**metrics, "report": report, "extras": extras}


def _report(cfg, acc, m, f, b, exact, dense_ok, rows, cols) -> str:
    ns = cfg.clock / 1000

    def us(c: float) -> str:
        return f"{c * ns / 1000:.2f} us"

    lines = [
        f"FABNet: FNet layer (Re FFT2 over seq {cfg.seq} x hidden {cfg.d}) + {cfg.d}->{cfg.d} "
        f"butterfly linear; {cfg.units} butterfly units ({m['multipliers']} int16 multipliers) "
        f"vs a {rows}x{cols} int8 systolic array ({m['baseline_multipliers']} multipliers) at "
        f"{1000 / ns:.0f} MHz, {cfg.memory}; engines fabnet={acc.engine.impl}, "
        f"baseline={acc.baseline.impl}; host {cfg.host}",
        f"  golden check : FABNet {'bit-exact' if exact else 'MISMATCH'} to the fixed-point "
        f"model, {m['fixed_point_error']:.2%} off the float64 reference (tolerance "
        f"{wl.TOLERANCE:.0%}); dense layer {'OK' if dense_ok else 'MISMATCH'}",
        "",
        f"  {'run':<36}{'cycles':>10}{'time':>11}{'energy':>12}{'DRAM bytes':>12}",
        f"  {'FABNet (DMA in, mix, linear, out)':<36}{m['cycles']:>10,}{us(m['cycles']):>11}"
        f"{fmt_energy(m['energy_pj']):>12}{m['dram_bytes']:>12,}",
        f"  {'dense attention + linear (baseline)':<36}{m['baseline_cycles']:>10,}"
        f"{us(m['baseline_cycles']):>11}{fmt_energy(m['baseline_energy_pj']):>12}"
        f"{m['baseline_dram_bytes']:>12,}",
        "",
        f"  vs baseline: {m['speedup']:.2f}x faster end to end, {m['energy_ratio']:.2f}x less "
        f"energy; commands alone {m['command_speedup']:.2f}x faster, "
        f"{m['command_energy_ratio']:.2f}x less energy",
        f"  multiply-adds: dense {m['dense_macs']:,}, butterfly {m['butterfly_mults']:,}: "
        f"ops_ratio {m['ops_ratio']:.2f}x (attention vs FFT mixing "
        f"{m['ops_ratio_attention']:.2f}x, linear {m['ops_ratio_linear']:.2f}x = bound "
        f"N/(2 log2 N) = {m['ops_ratio_bound']:.2f})",
        f"  engine: {m['engine_cycles']:,} cycles in jobs (expected from its phases "
        f"{m['engine_cycles_expected']:,}; of them (N/2) log2 N / units = "
        f"{m['compute_cycles_expected']:,} computing), unit utilisation {m['utilisation']:.1%}",
        f"  area (45 nm, with the scratchpad): FABNet {m['area_mm2']:.3f} mm2, baseline "
        f"{m['baseline_area_mm2']:.3f} mm2",
        f"  paper: {PAPER['compute_reduction']}; {PAPER['speedup']}",
        "  energy, FABNet run:",
        "    " + cosim.energy.format_breakdown(_nest(f.flat())).replace("\n", "\n    "),
        "  energy, baseline run:",
        "    " + cosim.energy.format_breakdown(_nest(b.flat())).replace("\n", "\n    "),
        "  (control logic, the sequencer's softmax and requantisation are not charged)",
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
