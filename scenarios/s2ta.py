"""S2TA (Liu et al., "S2TA: Exploiting Structured Sparsity for Energy-Efficient Mobile CNN
Acceleration", HPCA 2022): a conv layer lowered to an int8 GEMM on an array of
time-unrolled DBB tensor PEs, against the same layer on a dense systolic array with
zero-value clock gating (the paper's baseline), in one simulated system.

    .venv/bin/python scenarios/s2ta.py [--set cin=64 --set a_nnz=2] [--engine s2ta=tlm]

System (cosim.build_soc): host CPU running the driver, fabric, DMA, scratchpad (the
accelerator's weight/activation SRAM), LPDDR4 (`memory`), and one accelerator device
with both arrays (cosim.accel.s2ta): the S2TA engine and the dense int8 systolic array
of cosim.accel.systolic (output stationary, rows x cols, as many MACs), each as numpy,
TLM or RTL (`--engine s2ta=... --engine baseline=...`).

Workload (seeded): a 3x3 convolution (stride 1, padding 1) of a height x width x cin
post-ReLU int8 input (`act_density` nonzero) with cout int8 filters pruned offline to
W-DBB `w_nnz`/8, lowered to an M x K x N GEMM (M = height*width, K = 9*cin, N = cout).
The default, 8x8x32 -> 64, is a 64x288x64 GEMM: with K = 72 (cin = 8, a 64x72x64 GEMM)
the per-tile control work (starting the job, moving the result tile: about 45 cycles) is
as long as a tile's computation and hides most of the effect.

Runs, in order, on the same system:
1. S2TA: the host DMAs A (dense) and the W-DBB-compressed weights into the scratchpad,
   runs the GEMM with activations pruned at run time to A-DBB `a_nnz`/8 (top-k per block
   of 8), and DMAs C back to DRAM (the headline);
2. with `sweep`, the GEMM again at A-DBB 8/8, 4/8, 2/8 and 1/8 (data already on chip):
   how speed and energy move with activation density;
3. the baseline: the same flow with the weights dense, the dense array computing the
   exact layer (zero operands clock-gated: energy saved, no cycles);
4. the host CPU: the same GEMM (roofline model), for reference; with cpu_baseline=riscv
   (needs host=riscv) as compiled C on the RISC-V core (sw/kernels/baselines.c) with A,
   W and C in DRAM, checked bit-exactly, and that is the host figure reported.
Every result is checked bit-exactly against numpy (S2TA: its top-k-pruned activations;
the baseline: the exact layer); the report also gives S2TA's approximation error.

Metrics: cycles / baseline_cycles are runs 1 and 3 end to end (host DMA in to C in
DRAM) in clock cycles; energy_pj / baseline_energy_pj all energy charged meanwhile
(arrays, scratchpad, DRAM, fabric, host); dram_bytes the DRAM traffic of run 1.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.phase import PhaseMeter
from cosim.accel.s2ta import format as fmt
from cosim.accel.s2ta.system import (
    Layout,
    S2taAccelerator,
    s2ta_weights,
    sa_weights,
    tiles_to_matrix,
)
from cosim.accel.s2ta.workload import make_conv_gemm
from cosim.energy import fmt_energy
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.dma import Descriptor
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host
from cosim.system.riscv_baseline import describe, kernel_figures, run_kernel

SWEEP = (8, 4, 2, 1)
IMPLS = ("functional", "tlm", "rtl")

scenario = Scenario(
    "s2ta",
    "S2TA DBB tensor-PE array (W-DBB + run-time A-DBB) vs a dense systolic array with zero gating",
    params=[
        Param("height", 8, min=1, max=64, help="input feature map height"),
        Param("width", 8, min=1, max=64, help="input feature map width"),
        Param("cin", 32, min=8, max=256, help="input channels (a multiple of 8)"),
        Param("cout", 64, min=1, max=256, help="output channels"),
        Param("act_density", 0.5, min=0.05, max=1.0, help="nonzero activations before pruning"),
        Param("w_nnz", 4, choices=tuple(range(1, 9)), help="W-DBB: weights kept per block of 8"),
        Param(
            "a_nnz", 4, choices=tuple(range(1, 9)), help="A-DBB: activations kept per block of 8"
        ),
        Param("rows", 8, choices=(2, 4, 8, 16), help="array rows"),
        Param("cols", 8, choices=(2, 4, 8, 16), help="array columns"),
        Param("clock", "1 ns", type="time", min="250 ps", max="20 ns", help="array clock"),
        Param(
            "memory",
            "lpddr4_3200",
            choices=("lpddr4_3200", "ddr4_2400", "hbm2"),
            help="DRAM preset",
        ),
        Param("sweep", True, help="rerun at A-DBB 8/8, 4/8, 2/8, 1/8"),
        HOST_PARAM,
        Param(
            "cpu_baseline",
            "roofline",
            choices=("roofline", "riscv"),
            help="the host's GEMM: the host_cpu roofline, or compiled C on the RISC-V core "
            "against the simulated DRAM (needs host=riscv)",
        ),
    ],
    engines={
        "s2ta": Engine(IMPLS, default="rtl", help="the DBB tensor-PE array and pruners"),
        "baseline": Engine(IMPLS, default="rtl", help="the dense systolic array"),
    },
    seed=1,
)


def _array_area(g: fmt.S2taGeometry) -> tuple[area.Estimate, area.Estimate]:
    """The two arrays alone at 45 nm (cosim.area). A tensor PE: one int8 multiplier and
    32-bit accumulator (one MAC a cycle, time-unrolled), in registers its weight block
    (w_nnz values and an 8-bit mask), an activation block (8 x 8 bit) and the
    accumulator; one activation pruner per row (8 comparators, as 8-bit adds). A dense
    PE: multiplier, accumulator and 8 + 8 + 32 bits of pipeline registers. Both PEs have
    one multiplier, so the iso-PE comparison is also iso-multiplier."""
    pes = g.rows * g.cols
    s2ta = area.estimate(
        ops={"int8_mult": pes, "int32_add": pes, "int8_add": 8 * g.rows},
        register_bits=pes * (8 * g.w_nnz + 8 + 64 + 32),
    )
    dense = area.estimate(
        ops={"int8_mult": pes, "int32_add": pes}, register_bits=pes * (8 + 8 + 32)
    )
    return s2ta, dense


def _area(g: fmt.S2taGeometry, scratchpad_bytes: int) -> tuple[area.Estimate, area.Estimate]:
    """S2TA and the dense baseline at 45 nm: each array (_array_area) with the shared
    scratchpad SRAM."""
    sram = area.estimate(srams={"scratchpad": (1, scratchpad_bytes)})
    s2ta, dense = _array_area(g)
    return s2ta + sram, dense + sram


@scenario.check
def _cin_in_blocks(cfg: Config) -> str | None:
    if cfg.cin % fmt.BLOCK:
        return f"parameter 'cin' = {cfg.cin} must be a multiple of {fmt.BLOCK}"
    return None


@scenario.check
def _cpu_baseline_needs_the_core(cfg: Config) -> str | None:
    if cfg.cpu_baseline == "riscv" and cfg.host != "riscv":
        return "cpu_baseline=riscv runs on the RISC-V core: set host=riscv too"
    return None


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    g = fmt.S2taGeometry(cfg.rows, cfg.cols, cfg.w_nnz)
    layer = make_conv_gemm(
        cfg.rng(), cfg.height, cfg.width, cfg.cin, cfg.cout, cfg.act_density, cfg.w_nnz
    )
    m, k, n = layer.shape
    a_img = layer.a.reshape(-1).view(np.uint8)
    images = {"a": a_img, "w_s2ta": s2ta_weights(layer.w, g), "w_sa": sa_weights(layer.w, g.cols)}
    c_bytes = 4 * (-(-m // g.rows) * g.rows) * (-(-n // g.cols) * g.cols)

    soc = cosim.build_soc(sim, memory=cfg.memory)
    waves = {w: f"{w}.fst" for w in ("s2ta", "baseline") if cfg.wave == w}
    waves = {("sa" if w == "baseline" else w): f for w, f in waves.items()}
    acc = S2taAccelerator(
        sim,
        soc,
        impl=cfg.engines["s2ta"],
        baseline_impl=cfg.engines["baseline"],
        geometry=g,
        clock=cfg.clock,
        waves=waves,
    )
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, "s2ta")
    # DRAM: the operands (put there before the measured runs) and the two results.
    at: dict[str, int] = {}
    off = soc.DATA - soc.DRAM
    mem = soc.dram.array()
    for name, data in (*images.items(), ("c_s2ta", None), ("c_sa", None)):
        at[name] = soc.DRAM + off
        size = c_bytes if data is None else len(data)
        if data is not None:
            mem[off : off + size] = data
        off += -(-size // 4096) * 4096
    if cfg.cpu_baseline == "riscv":  # the C GEMM's operands: W row-major int8 (A is a_img), C
        w_raw = np.ascontiguousarray(layer.w, dtype=np.int8).view(np.uint8).reshape(-1)
        at["host_w"] = soc.DRAM + off
        mem[off : off + len(w_raw)] = w_raw
        off += -(-len(w_raw) // 4096) * 4096
        at["host_c"] = soc.DRAM + off
        off += -(-4 * m * n // 4096) * 4096
    # Scratchpad: A, the weights (either form), C.
    spad_a = soc.SPAD
    spad_w = spad_a + -(-len(a_img) // 64) * 64
    spad_c = spad_w + -(-max(len(images["w_s2ta"]), len(images["w_sa"])) // 64) * 64
    if spad_c + c_bytes > soc.SPAD + soc.scratchpad.size:
        raise cosim.ParameterError(
            f"scenario 's2ta': the layer needs {(spad_c + c_bytes - soc.SPAD) >> 10} KiB of "
            f"scratchpad, more than its {soc.scratchpad.size >> 10} KiB; use a smaller layer"
        )
    lay = Layout(m, k, n, spad_a, spad_w, spad_c)
    sweep = [x for x in SWEEP if x != cfg.a_nnz] if cfg.sweep else []
    steps = 3 + len(sweep)
    fig: dict[str, Any] = {"sweep": {}}

    dram_bytes = ("dram.bytes_read", "dram.bytes_written")

    def spad_c_now() -> np.ndarray:
        raw = soc.scratchpad.array()[spad_c - soc.SPAD : spad_c - soc.SPAD + c_bytes]
        return tiles_to_matrix(raw.copy(), m, n, g.rows, g.cols)

    async def layer_run(w_name: str, gemm: Any, c_name: str) -> dict[str, Any]:
        meter = PhaseMeter(sim)
        ins = [
            Descriptor(src=at["a"], dst=spad_a, row_bytes=len(a_img)),
            Descriptor(src=at[w_name], dst=spad_w, row_bytes=len(images[w_name])),
        ]
        await soc.dma_driver.run(ins, at=soc.DESCRIPTORS)
        cmd_meter = PhaseMeter(sim)
        await gemm()
        p = cmd_meter.stop()
        cmd = (p.time_ps, p.flat())
        await soc.dma_driver.run(
            [Descriptor(src=spad_c, dst=at[c_name], row_bytes=c_bytes)], at=soc.DESCRIPTORS
        )
        p = meter.stop()
        return {"time": p.time_ps, "dram": int(p.stats(dram_bytes)), "energy": p.flat(), "cmd": cmd}

    @sim.process
    async def driver() -> None:
        fig["s2ta"] = await layer_run("w_s2ta", lambda: acc.gemm_s2ta(lay, cfg.a_nnz), "c_s2ta")
        fig["s2ta_counters"] = acc.counters[-1]
        report_progress(1, steps, unit="runs")
        for i, a_nnz in enumerate(sweep):
            meter = PhaseMeter(sim)
            await acc.gemm_s2ta(lay, a_nnz)
            p = meter.stop()
            fig["sweep"][a_nnz] = {
                "time": p.time_ps,
                "energy": p.flat(),
                "counters": acc.counters[-1],
                "ok": bool(np.array_equal(spad_c_now(), fmt.golden(layer.a, layer.w, a_nnz))),
            }
            report_progress(2 + i, steps, unit="runs")
        fig["sa"] = await layer_run("w_sa", lambda: acc.gemm_sa(lay), "c_sa")
        fig["sa_counts"] = acc.sa_counts[-1]
        report_progress(2 + len(sweep), steps, unit="runs")
        meter = PhaseMeter(sim)
        await soc.host.run_kernel(flops=2.0 * m * k * n, bytes=float(m * k + k * n + 4 * m * n))
        p = meter.stop()
        fig["host"] = (p.time_ps, p.flat())
        if cfg.cpu_baseline == "riscv":
            a, w, c = at["a"], at["host_w"], at["host_c"]
            fig["host_riscv"] = await run_kernel(cpu, "gemm_i8", a=a, b=w, c=c, m=m, n=n, k=k)
        report_progress(steps, steps, unit="runs")
        if cpu is not None:
            await acc.driver.close()  # the C driver exits: the run ends

    sim.run()
    if cpu is not None:
        cpu.check_exit()

    def result(name: str) -> np.ndarray:
        o = at[name] - soc.DRAM
        return tiles_to_matrix(mem[o : o + c_bytes], m, n, g.rows, g.cols)

    c_s2ta, c_sa = result("c_s2ta"), result("c_sa")
    exact = layer.exact()
    s2ta_ok = bool(np.array_equal(c_s2ta, fmt.golden(layer.a, layer.w, cfg.a_nnz)))
    sa_ok = bool(np.array_equal(c_sa, exact))
    sweep_ok = all(v["ok"] for v in fig["sweep"].values())
    if "host_riscv" in fig:  # the C GEMM's C, bit-exact against the exact layer
        o = at["host_c"] - soc.DRAM
        host_c = mem[o : o + 4 * m * n].copy().view(np.int32).reshape(m, n)
        sa_ok = sa_ok and bool(np.array_equal(host_c, exact))
    digest = hashlib.sha256(c_s2ta.tobytes() + c_sa.tobytes()).hexdigest()
    return _results(cfg, acc, layer, fig, s2ta_ok, sa_ok, sweep_ok, c_s2ta, exact, digest)


def _rel_error(approx: np.ndarray, exact: np.ndarray) -> float:
    e = np.asarray(exact, np.float64)
    return float(np.linalg.norm(np.asarray(approx, np.float64) - e) / max(np.linalg.norm(e), 1e-9))


def _results(cfg, acc, layer, fig, s2ta_ok, sa_ok, sweep_ok, c_s2ta, exact, digest):
    clock = cfg.clock
    g = acc.geometry
    m, k, n = layer.shape
    s, b = fig["s2ta"], fig["sa"]
    cycles, base_cycles = round(s["time"] / clock), round(b["time"] / clock)
    energy, base_energy = sum(s["energy"].values()), sum(b["energy"].values())
    cmd_cycles, base_cmd_cycles = round(s["cmd"][0] / clock), round(b["cmd"][0] / clock)
    cmd_energy, base_cmd_energy = sum(s["cmd"][1].values()), sum(b["cmd"][1].values())
    sc, bc = fig["s2ta_counters"], fig["sa_counts"]
    engine_pj = acc.energy_pj(acc.s2ta_events(sc))
    base_engine_pj = acc.energy_pj(acc.sa_events(bc))
    d_w, d_a = layer.weight_density, layer.act_density
    s2ta_array, dense_array = _array_area(g)
    area_ratio = s2ta_array.mm2 / dense_array.mm2
    rows = {cfg.a_nnz: (cmd_cycles, cmd_energy, sc)}
    for a_nnz, v in fig["sweep"].items():
        rows[a_nnz] = (round(v["time"] / clock), sum(v["energy"].values()), v["counters"])
    table = {
        str(a): {
            "cycles": cyc,
            "energy_pj": pj,
            "speedup": base_cmd_cycles / cyc,
            "energy_ratio": base_cmd_energy / pj,
            "mac_utilisation": c["macs"] / max(1, c["issues"] * g.rows * g.cols),
            "approx_error": _rel_error(fmt.golden(layer.a, layer.w, a), exact),
        }
        for a, (cyc, pj, c) in sorted(rows.items(), reverse=True)
    }
    roofline_cycles = round(fig["host"][0] / clock)
    host_cycles, host_energy = roofline_cycles, sum(fig["host"][1].values())
    core = None
    if "host_riscv" in fig:  # compiled C on the RISC-V core replaces the roofline
        core = kernel_figures(fig["host_riscv"], clock)
        host_cycles = core["cycles"]
        host_energy = sum(fig["host_riscv"].phase.flat().values())
    metrics = {
        "golden_ok": s2ta_ok and sa_ok and sweep_ok,
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": energy,
        "baseline_energy_pj": base_energy,
        "energy_ratio": base_energy / energy,
        "dram_bytes": s["dram"],
        "baseline_dram_bytes": b["dram"],
        "array_cycles": cmd_cycles,
        "baseline_array_cycles": base_cmd_cycles,
        "array_speedup": base_cmd_cycles / cmd_cycles,
        "array_energy_ratio": base_cmd_energy / cmd_energy,
        "engine_energy_pj": engine_pj,
        "baseline_engine_energy_pj": base_engine_pj,
        "engine_energy_ratio": base_engine_pj / max(engine_pj, 1e-9),
        "bound_speedup": fmt.BLOCK / cfg.a_nnz,
        # Iso-area: the dense array the S2TA array's silicon would hold has
        # area_ratio times its PEs (weight DBB shrinks a tensor PE's weight registers),
        # so per unit of array area S2TA's speed is divided by that ratio. The bound:
        # a block takes A_NNZ cycles instead of 8, whatever the weights, at iso-area.
        "array_area_ratio": area_ratio,
        "speedup_iso_area": base_cycles / cycles / area_ratio,
        "array_speedup_iso_area": base_cmd_cycles / cmd_cycles / area_ratio,
        "bound_joint": fmt.BLOCK / cfg.a_nnz / area_ratio,
        "weight_density": d_w,
        "act_density": d_a,
        "utilisation": sc["macs"] / max(1, sc["issues"] * g.rows * g.cols),
        "baseline_utilisation": bc["macs"] / max(1, bc["beats"] * g.rows * g.cols),
        "pruned_fraction": 1 - sc["act_issued"] / max(1, sc["act_nonzeros"]),
        "approx_error": _rel_error(c_s2ta, exact),
        "host_cycles": host_cycles,
        "host_energy_pj": host_energy,
        "host_roofline_cycles": roofline_cycles,
        "throughput_gops": 2 * m * k * n / (s["time"] * 1e-12) / 1e9,
    }
    silicon, base_silicon = _area(g, acc.soc.scratchpad.size)
    metrics["area_mm2"] = silicon.mm2
    metrics["baseline_area_mm2"] = base_silicon.mm2
    extras = {
        "area_mm2_by_part": silicon.by_part_mm2(),
        "host": cfg.host,
        "baseline_host": "compiled C on the RISC-V core (riscv_cpu)"
        if cfg.cpu_baseline == "riscv"
        else "roofline (host_cpu)",
        "cpu_baseline": cfg.cpu_baseline,
        "energy_breakdown_pj": cosim.energy.by_component(s["energy"]),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(b["energy"]),
        "energy_events_pj": s["energy"],
        "baseline_energy_events_pj": b["energy"],
        "a_dbb_sweep": table,
        "counters": {"s2ta": sc, "baseline": bc},
        "output_digest": digest,
        "gemm": {"m": m, "k": k, "n": n},
        "roofline": {
            "peak_gops": 2 * g.rows * g.cols / (clock / 1000),
            "peak_gbps": 0.0,
            "ops": 2 * sc["macs"],
            "bytes": s["dram"],
            "seconds": s["time"] * 1e-12,
            "baseline_ops": 2 * bc["macs"],
            "baseline_bytes": b["dram"],
            "baseline_seconds": b["time"] * 1e-12,
        },
    }
    if core is not None:
        metrics["host_riscv_instructions"] = core["instructions"]
        metrics["host_riscv_cpi"] = core["cpi"]
        metrics["host_riscv_cache_misses"] = core["cache_misses"]
        extras["cpu_core"] = describe(acc.driver.cpu)
    report = _report(cfg, acc, layer, metrics, table, s, b, s2ta_ok, sa_ok, sweep_ok)
    return {**metrics, "report": report, "extras": extras}


def _report(cfg, acc, layer, m_, table, s, b, s2ta_ok, sa_ok, sweep_ok) -> str:
    g = acc.geometry
    m, k, n = layer.shape
    ns = cfg.clock / 1000

    def us(c: float) -> str:
        return f"{c * ns / 1000:.2f} us"

    lines = [
        f"S2TA: conv 3x3 {cfg.height}x{cfg.width}x{cfg.cin} -> {cfg.cout} as a {m}x{k}x{n} "
        f"int8 GEMM; W-DBB {cfg.w_nnz}/8 (weights {layer.weight_density:.1%} nonzero), "
        f"A-DBB {cfg.a_nnz}/8 at run time (activations {layer.act_density:.1%} nonzero before "
        f"pruning); {g.rows}x{g.cols} arrays at {1000 / ns:.0f} MHz, {cfg.memory}; engines "
        f"s2ta={acc.engine.impl}, baseline={acc.baseline.impl}",
        "  host         : "
        + (
            "the C driver sw/drivers/accel.c on the RISC-V core (riscv_cpu) drives the "
            "command window; DMA staging by the Python driver"
            if cfg.host == "riscv"
            else "the Python driver (host_cpu cost model)"
        )
        + (
            "; the host GEMM is compiled C on that core (sw/kernels/baselines.c; "
            "cpu_baseline=riscv)"
            if cfg.cpu_baseline == "riscv"
            else "; the host GEMM baseline is the roofline model (host_cpu; cpu_baseline=roofline)"
        ),
        f"  golden check : S2TA {'OK' if s2ta_ok else 'MISMATCH'} (A-DBB pruned), baseline "
        f"{'OK' if sa_ok else 'MISMATCH'} (exact"
        + (", with the host's C GEMM" if cfg.cpu_baseline == "riscv" else "")
        + f"), sweep {'OK' if sweep_ok else 'MISMATCH'}",
        f"  A-DBB pruning drops {m_['pruned_fraction']:.1%} of the nonzero activations; "
        f"S2TA's result is {m_['approx_error']:.2%} off the exact layer (relative L2)",
        "",
        f"  {'run':<34}{'cycles':>10}{'time':>11}{'energy':>12}{'DRAM bytes':>12}",
        f"  {'S2TA (DMA in, GEMM, DMA out)':<34}{m_['cycles']:>10,}{us(m_['cycles']):>11}"
        f"{fmt_energy(m_['energy_pj']):>12}{m_['dram_bytes']:>12,}",
        f"  {'dense SA + zero gating (baseline)':<34}{m_['baseline_cycles']:>10,}"
        f"{us(m_['baseline_cycles']):>11}{fmt_energy(m_['baseline_energy_pj']):>12}"
        f"{m_['baseline_dram_bytes']:>12,}",
        f"  {'host CPU (' + _host_kind(cfg) + ')':<34}{m_['host_cycles']:>10,}"
        f"{us(m_['host_cycles']):>11}{fmt_energy(m_['host_energy_pj']):>12}",
    ]
    if cfg.cpu_baseline == "riscv":
        lines += [
            f"  {'  (roofline)':<34}{m_['host_roofline_cycles']:>10,}"
            f"{us(m_['host_roofline_cycles']):>11}",
            f"  the C GEMM: {m_['host_riscv_instructions']:,} instructions, "
            f"{m_['host_riscv_cache_misses']:,} cache misses, {m_['host_riscv_cpi']:.2f} core "
            f"cycles per instruction on {describe(acc.driver.cpu)}",
        ]
    lines += [
        "",
        f"  vs baseline: {m_['speedup']:.2f}x faster end to end, {m_['energy_ratio']:.2f}x less "
        f"energy; the GEMM alone {m_['array_speedup']:.2f}x faster, "
        f"{m_['array_energy_ratio']:.2f}x less energy (arrays alone "
        f"{m_['engine_energy_ratio']:.2f}x)",
        f"  iso-PE = iso-multiplier (one int8 multiplier per PE in both arrays); iso-area: the "
        f"S2TA array is {m_['array_area_ratio']:.2f}x the dense array's silicon, so per mm2 "
        f"it is {m_['speedup_iso_area']:.2f}x end to end, the GEMM alone "
        f"{m_['array_speedup_iso_area']:.2f}x",
        f"  bounds: 8/A_NNZ = {m_['bound_speedup']:.1f}x cycles iso-PE (a block takes A_NNZ "
        f"cycles, whatever the weights), {m_['bound_joint']:.2f}x iso-area; 1/(dW dA) = "
        f"{fmt.BLOCK**2 / (cfg.w_nnz * cfg.a_nnz):.1f}x is MAC work, not reachable: "
        f"weight sparsity gates MACs and shrinks weight traffic, it takes no cycles off; MAC "
        f"utilisation S2TA {m_['utilisation']:.1%}, baseline {m_['baseline_utilisation']:.1%}",
        "  by activation density (GEMM command, data on chip, vs the baseline's GEMM):",
        f"    {'A-DBB':>6}{'cycles':>10}{'speedup':>9}{'energy':>12}{'less':>8}{'MAC util':>10}"
        f"{'error':>8}",
    ]
    for a, r in table.items():
        pj = fmt_energy(r["energy_pj"])
        lines.append(
            f"    {a + '/8':>6}{r['cycles']:>10,}{r['speedup']:>8.2f}x{pj:>12}"
            f"{r['energy_ratio']:>7.2f}x{r['mac_utilisation']:>10.1%}{r['approx_error']:>8.2%}"
        )
    lines += [
        "  (weight density is a build parameter: sweep it with "
        "`cosim sweep s2ta --grid w_nnz=2,4,8`)",
        "  energy, S2TA run:",
        "    " + cosim.energy.format_breakdown(_nest(s["energy"])).replace("\n", "\n    "),
        "  energy, baseline run:",
        "    " + cosim.energy.format_breakdown(_nest(b["energy"])).replace("\n", "\n    "),
        "  (control logic, sequencer and clock tree are not charged)",
    ]
    return "\n".join(lines)


def _host_kind(cfg: Config) -> str:
    return "C on the RISC-V core" if cfg.cpu_baseline == "riscv" else "roofline"


def _nest(parts: dict[str, float]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, pj in parts.items():
        comp, kind = key.rsplit(".", 1)
        out.setdefault(comp, {})[kind] = pj
    return out


if __name__ == "__main__":
    scenario.main()
