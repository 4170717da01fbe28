"""EIE (Han et al., "EIE: Efficient Inference Engine on Compressed Deep Neural Network",
ISCA 2016): a compressed sparse fully connected layer on a PE array, against the same
layer dense on the same PEs and against the host CPU, in one simulated system.

    .venv/bin/python scenarios/eie.py [--set rows=1024 --set pes=16] [--engine eie=tlm]

System (cosim.build_soc): host CPU running the driver, fabric, DMA, scratchpad, DRAM
(`memory`), and the EIE accelerator (cosim.accel.eie): control registers and a sequencer
that streams data between DRAM and the engine, and the engine itself, the PE array with
its activation broadcast, as numpy, TLM or RTL (`--engine eie=...`).

Workload (seeded): a rows x cols FC layer pruned to `weight_density` and weight-shared to
16 int16 values (4-bit indices), and a ReLU-sparse int16 input at `act_density`.

Runs, in order, on the same system:
1. the baseline: the same layer dense on the same PEs (every weight as a 4-bit index,
   every activation). When the dense layer fits each PE's matrix memory its weights are
   resident (loaded before, unmeasured, as EIE's model is); otherwise the DMA streams
   them from DRAM block by block (its read and write channels overlapped, so at the
   slower of the memory and the engine's 8-byte load port) into half of each PE's
   matrix memory while the other half computes, the first block beside the activation
   transfer. It runs first so that nothing it measures depends on the runs below;
2. model load: the compressed model (CSC pointers, 8-bit entries with padding, codebook)
   from DRAM into the PEs' SRAMs, once (reported, not part of the inference);
3. EIE inference: activations in, every nonzero broadcast, results to DRAM (the headline);
4. the same layer without zero-skipping (every activation broadcast): the skip factor;
5. with `fifo_sweep`, the layer again with activation queues limited to 1, 2, 4, ...,
   fifo_depth entries: PE load balance as the queue depth varies;
6. the host CPU: the layer as a dense int16 GEMV and as a CSR SpMV (roofline model);
   with cpu_baseline=riscv (needs host=riscv) both also run as compiled C on the
   RISC-V core (sw/kernels/baselines.c) with W (dense and CSR) and a in DRAM, and those
   are the host figures reported.
Both accelerator outputs (and the C kernels') are checked bit-exactly against numpy
(int32, wrapping).

Metrics: cycles / baseline_cycles are the end-to-end times of runs 3 and 1 (driver
command to results in DRAM) in clock cycles; energy_pj / baseline_energy_pj everything
charged meanwhile (engine, DRAM, fabric, host); dram_bytes the DRAM traffic of run 3.
The energy factors the paper attributes to sparsity, weight sharing, zero-skipping and
SRAM vs DRAM are derived from the event counts of runs 3, 4 and 1 and the energy table.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.eie import format as fmt
from cosim.accel.eie.engine import config_word
from cosim.accel.eie.system import EieAccelerator, dense_images, dense_plan, energy_factors
from cosim.accel.eie.workload import make_fc_layer
from cosim.accel.phase import Phase, PhaseMeter
from cosim.energy import fmt_energy
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host
from cosim.system.riscv_baseline import csr_image, describe, kernel_figures, run_kernel

scenario = Scenario(
    "eie",
    "EIE sparse FC (CSC, 4-bit shared weights, LNZD) vs the same layer dense and the host",
    params=[
        Param("rows", 4096, min=16, max=1 << 15, help="output neurons (rows of W)"),
        Param("cols", 1024, min=16, max=4096, help="input activations (columns of W)"),
        Param("weight_density", 0.09, min=0.005, max=1.0, help="fraction of weights kept"),
        Param("act_density", 0.35, min=0.01, max=1.0, help="fraction of nonzero activations"),
        Param("pes", 8, choices=(1, 2, 4, 8, 16, 32), help="processing elements"),
        Param("fifo_depth", 8, choices=(1, 2, 4, 8, 16, 32, 64), help="activation queue depth"),
        Param(
            "mat_kb",
            64,
            choices=(16, 32, 64, 128, 256),
            unit="KiB",
            help="sparse-matrix SRAM per PE",
        ),
        Param(
            "clock",
            "1.25 ns",
            type="time",
            min="250 ps",
            max="20 ns",
            help="engine clock (EIE: 800 MHz)",
        ),
        Param(
            "memory", "ddr4_2400", choices=("ddr4_2400", "lpddr4_3200", "hbm2"), help="DRAM preset"
        ),
        Param("relu", True, help="apply ReLU to the outputs"),
        Param("fifo_sweep", True, help="rerun at every queue depth 1, 2, 4 .. fifo_depth"),
        HOST_PARAM,
        Param(
            "cpu_baseline",
            "roofline",
            choices=("roofline", "riscv"),
            help="the host's dense GEMV baseline: the host_cpu roofline, or compiled C on the "
            "RISC-V core against the simulated DRAM (needs host=riscv)",
        ),
    ],
    engines={
        "eie": Engine(
            ("functional", "tlm", "rtl"),
            default="rtl",
            help="the PE array and activation broadcast: numpy (untimed), TLM, or RTL",
        )
    },
    seed=1,
)


def _pow2_at_least(n: int, lo: int = 16) -> int:
    return max(lo, 1 << math.ceil(math.log2(max(n, 1))))


def _geometry(cfg: Config) -> fmt.EieGeometry:
    return fmt.EieGeometry(
        pes=cfg.pes,
        fifo_depth=cfg.fifo_depth,
        act_depth=_pow2_at_least(cfg.cols),
        mat_words=cfg.mat_kb * 1024 // 8,
        rows_max=_pow2_at_least(-(-cfg.rows // cfg.pes)),
    )


def _area(geo: fmt.EieGeometry) -> area.Estimate:
    """The PE array at 45 nm (cosim.area): per PE a 16-bit multiplier, a 32-bit
    accumulating adder, the sparse-matrix SRAM (mat_words x 64 bit), the pointer SRAM
    (act_depth + 1 32-bit pointers), the accumulators (rows_max x 32 bit) and in
    registers the activation queue (fifo_depth x 16-bit value and 16-bit index) and the
    16 x 16-bit codebook; one activation buffer (act_depth x 16 bit) for the array. The
    dense baseline runs on the same PEs, so has the same area."""
    pes = geo.pes
    return area.estimate(
        ops={"int16_mult": pes, "int32_add": pes},
        srams={
            "spmat": (pes, 8 * geo.mat_words),
            "pointers": (pes, 4 * (geo.act_depth + 1)),
            "accumulators": (pes, 4 * geo.rows_max),
            "activations": (1, 2 * geo.act_depth),
        },
        register_bits=pes * (geo.fifo_depth * 32 + 16 * 16),
    )


@scenario.check
def _layer_fits(cfg: Config) -> str | None:
    """The compressed layer (and the dense baseline's column) must fit the matrix SRAM
    that mat_kb gives each PE: checked before a worker starts, naming mat_kb."""
    geo = _geometry(cfg)
    layer = make_fc_layer(cfg.rng(), cfg.rows, cfg.cols, cfg.weight_density, cfg.act_density)
    worst = max(s.words for s in fmt.encode(layer.indices, layer.codebook, cfg.pes).slices)
    dense_words = 2 * -(-geo.local_rows(cfg.rows) // fmt.DENSE_ENTRIES_PER_WORD)
    need = max(worst, dense_words)
    if need <= geo.mat_words:
        return None
    kb = -(-need * 8 // 1024)
    fits = [c for c in scenario.params["mat_kb"].choices if c >= kb]
    fix = f"set mat_kb={fits[0]}" if fits else "use more pes"
    what = (
        f"the compressed layer needs {worst} matrix words in its fullest PE"
        if worst >= dense_words
        else f"a dense column of the baseline needs {dense_words} matrix words"
    )
    return (
        f"{what} ({kb} KiB), more than mat_kb = {cfg.mat_kb} KiB per PE holds; {fix}, or "
        "lower weight_density or rows"
    )


@scenario.check
def _cpu_baseline_needs_the_core(cfg: Config) -> str | None:
    if cfg.cpu_baseline == "riscv" and cfg.host != "riscv":
        return "cpu_baseline=riscv runs on the RISC-V core: set host=riscv too"
    return None


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    rng = cfg.rng()
    geo = _geometry(cfg)
    layer = make_fc_layer(rng, cfg.rows, cfg.cols, cfg.weight_density, cfg.act_density)
    compressed = fmt.encode(layer.indices, layer.codebook, cfg.pes)
    model = fmt.model_image(compressed, geo)  # ParameterError if it does not fit
    acts = fmt.activation_image(layer.activations)
    plan = dense_plan(cfg.rows, cfg.cols, geo)
    dense_w, block_bytes = dense_images(layer.indices, cfg.pes, plan)
    local = geo.local_rows(cfg.rows)
    out_bytes = 4 * local * cfg.pes

    soc = cosim.build_soc(sim, memory=cfg.memory)
    waves = "eie.fst" if cfg.wave == "eie" else None
    acc = EieAccelerator(
        sim, soc, impl=cfg.engines["eie"], geometry=geo, clock=cfg.clock, waves=waves
    )
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, "eie")
    # Initial DRAM contents (put there before the measured runs, e.g. by the OS loader).
    at: dict[str, int] = {}
    off = soc.DATA - soc.DRAM
    mem = soc.dram.array()
    codebook = np.concatenate(fmt.codebook_packet(layer.codebook)).astype("<u8").view(np.uint8)
    images = (("model", model), ("acts", acts), ("dense", dense_w), ("codebook", codebook))
    for name, data in images:
        at[name] = soc.DRAM + off
        mem[off : off + len(data)] = data
        off += -(-len(data) // 4096) * 4096
    for name in ("out", "out_dense"):
        at[name] = soc.DRAM + off
        off += -(-out_bytes // 4096) * 4096
    csr, csr_nnz = csr_image(layer.weights()) if cfg.cpu_baseline == "riscv" else (None, 0)
    if csr is not None:  # the C kernels' operands: W row-major int16, W in CSR, a, y
        for name, data in (
            ("host_w", layer.weights()),
            ("host_csr", csr),
            ("host_x", layer.activations),
        ):
            raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
            at[name] = soc.DRAM + off
            if off + len(raw) <= len(mem):
                mem[off : off + len(raw)] = raw
            off += -(-len(raw) // 4096) * 4096
        for name in ("host_y", "host_y_sparse"):
            at[name] = soc.DRAM + off
            off += -(-4 * cfg.rows // 4096) * 4096
    if off > soc.dram.capacity:
        raise cosim.ParameterError(
            f"scenario 'eie': the workload needs {off >> 20} MiB of DRAM, more than the "
            f"{soc.dram.capacity >> 20} MiB of '{cfg.memory}'"
        )

    # Balance runs (no drain): every queue depth 1, 2, 4 .. fifo_depth, or just fifo_depth.
    depths = [d for d in (1, 2, 4, 8, 16, 32, 64) if d <= cfg.fifo_depth]
    sweep = depths if cfg.fifo_sweep else [cfg.fifo_depth]
    steps = 5 + len(sweep)
    fig: dict[str, Any] = {"sweep": {}}

    def measured(p: Phase) -> tuple[int, int, dict[str, float]]:
        """Time, DRAM bytes and energy by 'component.kind' of one phase."""
        return p.time_ps, int(p.stats(("dram.bytes_read", "dram.bytes_written"))), p.flat()

    @sim.process
    async def driver() -> None:
        host = soc.host
        # The baseline first, so that nothing it measures depends on the EIE runs (nor
        # on fifo_sweep); its codebook and resident weights are loaded before it,
        # unmeasured, as EIE's compressed model is.
        await acc.load_model(at["codebook"], len(codebook))
        if plan.resident:
            await acc.load_model(at["dense"], block_bytes)
        meter = PhaseMeter(sim)
        await acc.dense(
            at["dense"],
            0 if plan.resident else block_bytes,
            plan.blocks,
            plan.block_cols,
            cfg.cols,
            local,
            plan.half_words,
            at["acts"],
            len(acts),
            at["out_dense"],
        )
        fig["dense"] = measured(meter.stop())
        fig["dense_record"] = acc.records[-1]

        meter = PhaseMeter(sim)
        await acc.load_model(at["model"], len(model))
        fig["load"] = measured(meter.stop())
        report_progress(1, steps, unit="runs")

        cfg_word = config_word(skip=True, relu=cfg.relu)
        meter = PhaseMeter(sim)
        await acc.infer(at["acts"], len(acts), cfg.cols, local, cfg_word, at["out"])
        fig["eie"] = measured(meter.stop())
        fig["eie_record"] = acc.records[-1]
        report_progress(2, steps, unit="runs")

        await acc.run(cfg.cols, local, config_word(skip=False, drain=False))
        fig["noskip_record"] = acc.records[-1]
        report_progress(3, steps, unit="runs")

        for i, depth in enumerate(sweep):
            await acc.run(cfg.cols, local, config_word(skip=True, drain=False, fifo_limit=depth))
            fig["sweep"][depth] = acc.records[-1]
            report_progress(4 + i, steps, unit="runs")
        report_progress(4 + len(sweep), steps, unit="runs")

        # The host CPU: dense int16 GEMV and CSR SpMV (16-bit values, 32-bit column
        # indices, 32-bit row pointers), roofline time, charged by the host model.
        n, m, nnz = cfg.cols, cfg.rows, compressed.nonzeros
        for name, flops, nbytes in (
            ("host_dense", 2.0 * m * n, 2.0 * m * n + 2 * n + 4 * m),
            ("host_sparse", 2.0 * nnz, 6.0 * nnz + 4 * (m + 1) + 2 * n + 4 * m),
        ):
            meter = PhaseMeter(sim)
            await host.run_kernel(flops=flops, bytes=nbytes)
            p = meter.stop()
            fig[name] = (p.time_ps, int(nbytes), p.flat())
        if cfg.cpu_baseline == "riscv":
            a, x, y = at["host_w"], at["host_x"], at["host_y"]
            fig["host_riscv"] = await run_kernel(
                cpu, "gemv_i16", a=a, b=x, c=y, m=cfg.rows, n=cfg.cols
            )
            a, y = at["host_csr"], at["host_y_sparse"]
            fig["host_riscv_sparse"] = await run_kernel(
                cpu, "spmv_i16", a=a, b=x, c=y, m=cfg.rows, n=cfg.cols, k=csr_nnz
            )
        report_progress(steps, steps, unit="runs")
        fig["peak_bandwidth"] = float(sim.stats["dram.peak_bandwidth"])
        if cpu is not None:
            await acc.driver.close()  # the C driver exits: the run ends

    sim.run()
    if cpu is not None:
        cpu.check_exit()
    return _results(cfg, soc, acc, layer, compressed, fig, at, local, plan)


def _results(cfg, soc, acc, layer, compressed, fig, at, local, plan):
    clock, pes = cfg.clock, cfg.pes
    mem = soc.dram.array()
    out_bytes = 4 * local * pes

    def output(name: str) -> np.ndarray:
        off = at[name] - soc.DRAM
        return fmt.results(mem[off : off + out_bytes], cfg.rows, pes)

    golden = layer.golden(relu=cfg.relu)
    out_eie, out_dense = output("out"), output("out_dense")
    eie_ok = bool(np.array_equal(out_eie, golden))
    dense_ok = bool(np.array_equal(out_dense, layer.golden(relu=False)))
    if "host_riscv" in fig:  # the C GEMV's and SpMV's y, bit-exact
        for name in ("host_y", "host_y_sparse"):
            o = at[name] - soc.DRAM
            host_y = mem[o : o + 4 * cfg.rows].copy().view(np.int32)
            dense_ok = dense_ok and bool(np.array_equal(host_y, layer.golden(relu=False)))
    digest = hashlib.sha256(out_eie.tobytes() + out_dense.tobytes()).hexdigest()

    t_eie, dram_eie, e_eie = fig["eie"]
    t_dense, dram_dense, e_dense = fig["dense"]
    cycles = max(1, round(t_eie / clock))
    base_cycles = max(1, round(t_dense / clock))
    energy, base_energy = sum(e_eie.values()), sum(e_dense.values())
    rec, noskip, dense = fig["eie_record"], fig["noskip_record"], fig["dense_record"]
    dw, da = layer.weight_density, layer.activation_density

    # Energy factors (the paper's: pruning, weight sharing, zero-skipping, SRAM vs DRAM),
    # from counted events and the energy table.
    em = acc.energy
    engine_pj = {
        "eie": em.energy_pj(rec.counters),
        "noskip": em.energy_pj(noskip.counters),
        "dense": em.energy_pj(dense.counters),
    }
    # DRAM energy per bit as the model load (a pure DRAM-to-SRAM stream) measured it.
    _, load_bytes, e_load = fig["load"]
    dram_pj = sum(v for k, v in e_load.items() if k.startswith("dram."))
    factors = energy_factors(
        em, rec.counters, noskip.counters, dense.counters, dram_pj / (8 * max(1, load_bytes))
    )

    # Load balance (runs without the drain): mean PE work over the job's busy cycles.
    def balance(r) -> tuple[float, float]:
        work = np.array(r.work, dtype=float)
        eff = work.mean() / r.engine_cycles if r.engine_cycles else 0.0
        return eff, work.max() / work.mean() if work.mean() else 1.0

    sweep = {d: balance(r) for d, r in fig["sweep"].items()}
    eff, imbalance = sweep[cfg.fifo_depth]
    host = {k: fig[k] for k in ("host_dense", "host_sparse")}
    roofline_cycles = round(host["host_dense"][0] / clock)
    sparse_roofline_cycles = round(host["host_sparse"][0] / clock)
    host_cycles, sparse_cycles = roofline_cycles, sparse_roofline_cycles
    host_energy = sum(host["host_dense"][2].values())
    core = None
    if "host_riscv" in fig:  # compiled C on the RISC-V core replaces the roofline
        core = kernel_figures(fig["host_riscv"], clock)
        host_cycles = core["cycles"]
        host_energy = sum(fig["host_riscv"].phase.flat().values())
        sparse_cycles = kernel_figures(fig["host_riscv_sparse"], clock)["cycles"]
    secs = t_eie * 1e-12
    ops_dense = 2 * cfg.rows * cfg.cols

    metrics = {
        "golden_ok": eie_ok and dense_ok,
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": energy,
        "baseline_energy_pj": base_energy,
        "energy_ratio": base_energy / energy,
        "dram_bytes": dram_eie,
        "baseline_dram_bytes": dram_dense,
        "engine_cycles": rec.engine_cycles,
        "baseline_engine_cycles": dense.engine_cycles,
        "engine_speedup": dense.engine_cycles / max(1, rec.engine_cycles),
        "ideal_speedup": 1 / (dw * da),
        "weight_density": dw,
        "act_density": da,
        "padding_fraction": compressed.padding_entries / max(1, compressed.stored_entries),
        "utilisation": eff,
        "load_imbalance": imbalance,
        "host_cycles": host_cycles,
        "host_speedup": host_cycles / cycles,
        "host_energy_pj": host_energy,
        "host_energy_ratio": host_energy / energy,
        "host_roofline_cycles": roofline_cycles,
        "host_sparse_cycles": sparse_cycles,
        "host_sparse_roofline_cycles": sparse_roofline_cycles,
        "throughput_gops": ops_dense / secs / 1e9 if secs else 0.0,
        "model_load_cycles": round(fig["load"][0] / clock),
        **{f"factor_{k}": v for k, v in factors.items()},
    }
    g = acc.geometry
    silicon = _area(g)
    metrics["area_mm2"] = silicon.mm2
    metrics["baseline_area_mm2"] = silicon.mm2
    extras = {
        "area_mm2_by_part": silicon.by_part_mm2(),
        "host": cfg.host,
        "baseline_host": "compiled C on the RISC-V core (riscv_cpu)"
        if cfg.cpu_baseline == "riscv"
        else "roofline (host_cpu)",
        "cpu_baseline": cfg.cpu_baseline,
        "energy_breakdown_pj": cosim.energy.by_component(e_eie),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(e_dense),
        "energy_events_pj": e_eie,
        "baseline_energy_events_pj": e_dense,
        "engine_energy_pj": engine_pj,
        "energy_factors": factors,
        "fifo_sweep": {str(d): {"utilisation": u, "imbalance": i} for d, (u, i) in sweep.items()},
        "fifo_sweep_cycles": {str(d): r.engine_cycles for d, r in fig["sweep"].items()},
        "counters": {"eie": rec.counters, "noskip": noskip.counters, "dense": dense.counters},
        "work_per_pe": rec.work,
        "roofline": {
            "peak_gops": 2 * pes / (clock / 1000),
            "peak_gbps": fig["peak_bandwidth"] / 1e9,
            "ops": 2 * rec.counters["entries"],
            "bytes": dram_eie,
            "seconds": secs,
            "baseline_ops": 2 * dense.counters["entries"],
            "dense_ops": ops_dense,
            "baseline_bytes": dram_dense,
            "baseline_seconds": t_dense * 1e-12,
        },
        "output_digest": digest,
        "geometry": {
            "pes": g.pes,
            "fifo_depth": g.fifo_depth,
            "act_depth": g.act_depth,
            "mat_words": g.mat_words,
            "rows_max": g.rows_max,
        },
        "dense_blocks": {
            "blocks": plan.blocks,
            "block_cols": plan.block_cols,
            "resident": plan.resident,
        },
    }
    if core is not None:
        metrics["host_riscv_instructions"] = core["instructions"]
        metrics["host_riscv_cpi"] = core["cpi"]
        metrics["host_riscv_cache_misses"] = core["cache_misses"]
        extras["cpu_core"] = describe(acc.driver.cpu)
    report = _report(
        cfg, acc, layer, compressed, metrics, fig, factors, sweep, e_eie, e_dense, eie_ok, dense_ok
    )
    return {**metrics, "report": report, "extras": extras}


def _report(
    cfg, acc, layer, compressed, m, fig, factors, sweep, e_eie, e_dense, eie_ok, dense_ok
) -> str:
    clock_ns = cfg.clock / 1000
    g = acc.geometry
    timed = acc.impl != "functional"

    def us(cycles: float) -> str:
        return f"{cycles * clock_ns / 1000:.1f} us"

    lines = [
        f"EIE: {cfg.rows}x{cfg.cols} FC layer, weight density {layer.weight_density:.3f}, "
        f"activation density {layer.activation_density:.3f}; {g.pes} PEs, queues of "
        f"{g.fifo_depth}, {cfg.mat_kb} KiB matrix SRAM per PE, {1000 / clock_ns:.0f} MHz, "
        f"{cfg.memory}; engine {acc.impl}",
        f"  compressed model : {compressed.stored_entries:,} entries ({compressed.nonzeros:,} "
        f"weights + {compressed.padding_entries:,} padding, {m['padding_fraction']:.1%}), "
        f"loaded once in {us(m['model_load_cycles'])}",
        "  host             : "
        + (
            "the C driver sw/drivers/accel.c on the RISC-V core (riscv_cpu) drives the "
            "command window"
            if cfg.host == "riscv"
            else "the Python driver (host_cpu cost model)"
        )
        + (
            "; the host dense GEMV and CSR SpMV are compiled C on that core "
            "(sw/kernels/baselines.c; cpu_baseline=riscv)"
            if cfg.cpu_baseline == "riscv"
            else "; the host FC baselines are the roofline model (host_cpu; cpu_baseline=roofline)"
        ),
        f"  golden check     : EIE {'OK' if eie_ok else 'MISMATCH'}, dense baseline "
        f"{'OK' if dense_ok else 'MISMATCH'}"
        + (" (with the host's C GEMV and SpMV)" if "host_riscv" in fig else "")
        + " (bit-exact int32)",
        "",
        f"  {'run':<28}{'cycles':>12}{'time':>11}{'energy':>12}{'DRAM bytes':>13}",
    ]
    rows = [
        ("EIE (sparse, zero-skip)", m["cycles"], m["energy_pj"], m["dram_bytes"]),
        (
            "dense, same PEs (baseline)",
            m["baseline_cycles"],
            m["baseline_energy_pj"],
            m["baseline_dram_bytes"],
        ),
        (
            "host CPU, dense GEMV" + (" (C)" if "host_riscv" in fig else ""),
            m["host_cycles"],
            m["host_energy_pj"],
            int(fig["host_riscv"].phase.stats(("dram.bytes_read", "dram.bytes_written")))
            if "host_riscv" in fig
            else fig["host_dense"][1],
        ),
    ]
    if "host_riscv" in fig:
        sp = fig["host_riscv_sparse"].phase
        rows.append(
            (
                "host CPU, CSR SpMV (C)",
                m["host_sparse_cycles"],
                sum(sp.flat().values()),
                int(sp.stats(("dram.bytes_read", "dram.bytes_written"))),
            )
        )
        roof, roof_sp = fig["host_dense"], fig["host_sparse"]
        rows.append(
            ("  (roofline dense GEMV)", m["host_roofline_cycles"], sum(roof[2].values()), roof[1])
        )
        rows.append(
            (
                "  (roofline CSR SpMV)",
                m["host_sparse_roofline_cycles"],
                sum(roof_sp[2].values()),
                roof_sp[1],
            )
        )
    else:
        rows.append(
            (
                "host CPU, CSR SpMV",
                m["host_sparse_cycles"],
                sum(fig["host_sparse"][2].values()),
                fig["host_sparse"][1],
            )
        )
    for name, cyc, pj, nbytes in rows:
        lines.append(f"  {name:<28}{cyc:>12,}{us(cyc):>11}{fmt_energy(pj):>12}{nbytes:>13,}")
    if "host_riscv" in fig:
        lines.append(
            f"  the C GEMV: {m['host_riscv_instructions']:,} instructions, "
            f"{m['host_riscv_cache_misses']:,} cache misses, {m['host_riscv_cpi']:.2f} core "
            f"cycles per instruction on {describe(acc.driver.cpu)}"
        )
    lines += [
        "",
        f"  vs dense : {m['speedup']:.1f}x faster end to end (engine alone "
        f"{m['engine_speedup']:.1f}x; bound 1/(dW dA) = {m['ideal_speedup']:.1f}x), "
        f"{m['energy_ratio']:.1f}x less energy",
        f"  vs host  : {m['host_speedup']:.1f}x faster than the dense GEMV, "
        f"{m['host_energy_ratio']:.0f}x less energy",
        "  energy factors (from counted events and the energy table):",
        f"    sparsity (pruned weights only)   {factors['sparsity']:6.1f}x  (paper: ~10x)",
        f"    zero-skipping (nonzero acts)     {factors['zero_skipping']:6.1f}x  (paper: ~3x)",
        f"    weight sharing (16-bit -> index) {factors['weight_sharing']:6.1f}x  "
        "(paper: 8x, from 32-bit weights)",
        f"    SRAM vs DRAM per weight bit      {factors['sram_vs_dram']:6.1f}x  (paper: ~120x)",
    ]
    if timed:
        lines.append(
            f"  PE balance (mean work / busy cycles): {m['utilisation']:.1%} with queues of "
            f"{g.fifo_depth}, busiest PE {m['load_imbalance']:.2f}x the mean work"
        )
        if len(sweep) > 1:
            lines.append(
                "    by queue depth: " + ", ".join(f"{d}: {u:.1%}" for d, (u, _) in sweep.items())
            )
    else:
        lines.append("  PE balance: not measured (the functional engine is untimed)")
    lines += [
        "  energy, EIE inference:",
        "    " + cosim.energy.format_breakdown(_nest(e_eie)).replace("\n", "\n    "),
        "  energy, dense baseline:",
        "    " + cosim.energy.format_breakdown(_nest(e_dense)).replace("\n", "\n    "),
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
