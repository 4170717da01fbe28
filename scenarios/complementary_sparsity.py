"""Complementary sparsity (Hunter, Spracklen and Ahmad, "Two sparsities are better than
one: unlocking the performance benefits of sparse-sparse networks", Neuromorphic
Computing and Engineering 2022): N sparse kernels with disjoint nonzeros packed into one
dense kernel plus routing ids, k-WTA activations; against the same convolution dense on
MAC lanes of the same multiplier count, in one simulated system.

    .venv/bin/python scenarios/complementary_sparsity.py [--set n=4 --set k=8]
        [--engine complementary_sparsity=tlm] [--set host=riscv]

System (cosim.build_soc): host CPU running the driver, fabric, DMA, scratchpad (the
on-chip activation and result buffer), DDR (`memory`), and the accelerator
(cosim.accel.complementary_sparsity): a command window, a sequencer moving data between
DRAM, the scratchpad and the engine, and the engine (k-WTA unit, select, multiply, route
by id, accumulate) as numpy, TLM or RTL.

Workload (seeded): a valid 3x3 convolution of a height x width x channels int8 map to
`outputs` channels; the kernels come in packs of n with complementary masks (a seeded
permutation deals each pack's positions to its kernels), k-WTA keeps k channels per pixel.

Runs on the same system, each timed from the driver's first command to the results in
DRAM (weight load included): 1. complementary sparsity: the packs (weights + ids) into
the weight buffer, then the convolution; 2. the baseline: the dense kernels (weights
only) into the weight buffer, then the same convolution with every channel multiplied
(the k-WTA'd map, zeros included) on the same lanes. Both outputs are checked bit-exactly
against numpy (int32).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.complementary_sparsity import format as fmt
from cosim.accel.complementary_sparsity.engine import EngineShape
from cosim.accel.complementary_sparsity.system import CsAccelerator, WeightBuffer, spad_bytes
from cosim.accel.complementary_sparsity.workload import TAPS, ConvLayer, make_conv_layer
from cosim.accel.phase import Phase, PhaseMeter
from cosim.energy import fmt_energy
from cosim.models import model_info
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host

NAME = "complementary_sparsity"
DRAM_BYTES = ("dram.bytes_read", "dram.bytes_written")

scenario = Scenario(
    NAME,
    "Complementary sparsity (packed sparse kernels x k-WTA activations) vs the dense conv "
    "on equal MAC lanes",
    params=[
        Param("height", 10, min=3, max=64, help="input map rows (valid 3x3 conv: height-2 out)"),
        Param("width", 10, min=3, max=64, help="input map columns"),
        Param("channels", 64, choices=(16, 32, 64, 128), help="input channels (vector length)"),
        Param("outputs", 64, choices=(16, 32, 64, 128), help="output channels (kernels)"),
        Param("n", 8, choices=(1, 2, 4, 8, 16), help="kernels per pack (weight density 1/n)"),
        Param("k", 16, min=1, max=128, help="k-WTA winners per pixel (at most channels)"),
        Param("lanes", 16, choices=(4, 8, 16, 32, 64), help="multipliers (both designs)"),
        Param(
            "clock",
            "5 ns",
            type="time",
            min="1 ns",
            max="20 ns",
            help="engine clock (200 MHz, an FPGA fabric clock: assumption)",
        ),
        Param("memory", "ddr4_2400", choices=("ddr4_2400", "lpddr4_3200"), help="DRAM preset"),
        HOST_PARAM,
    ],
    engines={
        NAME: Engine(
            ("functional", "tlm", "rtl"),
            default="rtl",
            help="the k-WTA unit and select/multiply/route/accumulate datapath",
        )
    },
    seed=1,
)


def _shape(cfg: Config) -> EngineShape:
    """One build serves both runs: weight rows for the dense kernels, accumulators for
    every output, routing ids up to 16 kernels."""
    return EngineShape(
        channels=cfg.channels,
        lanes=cfg.lanes,
        max_kernels=16,
        max_outputs=cfg.outputs,
        max_taps=TAPS,
        weight_rows=cfg.outputs * TAPS,
    )


@scenario.check
def _sizes(cfg: Config) -> str | None:
    if cfg.k > cfg.channels:
        return f"k = {cfg.k} winners must be at most channels = {cfg.channels}"
    if cfg.n > cfg.outputs:
        return f"n = {cfg.n} kernels per pack must be at most outputs = {cfg.outputs}"
    if cfg.lanes > cfg.channels:
        return f"lanes = {cfg.lanes} must be at most channels = {cfg.channels}"
    need = spad_bytes(cfg.height, cfg.width, cfg.channels, cfg.outputs)
    size = next(p.default for p in model_info("scratchpad").params if p.name == "size")
    if need > size:
        return (
            f"a {cfg.height}x{cfg.width}x{cfg.channels} map and its results need {need:,} B "
            f"of scratchpad, more than its {size:,} B; lower height or width"
        )
    return None


def _area(shape: EngineShape, buf: WeightBuffer, outputs: int) -> area.Estimate:
    """At 45 nm (cosim.area): `lanes` int8 multipliers; the routing adders (one int32
    adder per lane and kernel of a pack) or, dense, one adder per lane; the k-WTA rank
    network (channels*(channels-1)/2 8-bit comparators, as int8 adders); the weight
    buffer the run keeps on chip; accumulators and the k-WTA'd vector in registers."""
    c = shape.channels
    kernels = max(1, 2**buf.id_bits)
    return area.estimate(
        ops={
            "int8_mult": shape.lanes,
            "int32_add": shape.lanes * kernels,
            "int8_add": c * (c - 1) // 2,
        },
        srams={"weights": (1, buf.capacity_bytes)},
        register_bits=32 * outputs + 8 * c,
    )


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    rng = cfg.rng()
    layer = make_conv_layer(
        rng,
        height=cfg.height,
        width=cfg.width,
        channels=cfg.channels,
        outputs=cfg.outputs,
        n=cfg.n,
        k=cfg.k,
    )
    packs = cfg.outputs // cfg.n
    packed = fmt.packed_image(layer.packed, layer.ids)
    dense = fmt.dense_image(layer.dense_weights())
    shape = _shape(cfg)
    oh, ow = layer.out_hw
    out_bytes = oh * ow * shape.out_beats(cfg.outputs, 1) * cfg.channels

    soc = cosim.build_soc(sim, memory=cfg.memory)
    waves = f"{NAME}.fst" if cfg.wave == NAME else None
    acc = CsAccelerator(sim, soc, impl=cfg.engines[NAME], shape=shape, clock=cfg.clock, waves=waves)
    if spad_bytes(cfg.height, cfg.width, cfg.channels, cfg.outputs) > soc.scratchpad.size:
        raise cosim.ParameterError(f"scenario '{NAME}': the map does not fit the scratchpad")
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, NAME)
    # Initial DRAM contents (what the loader put there before the measured runs).
    at: dict[str, int] = {}
    off = soc.DATA - soc.DRAM
    mem = soc.dram.array()
    for name, data in (("x", layer.x.view(np.uint8)), ("packed", packed), ("dense", dense)):
        at[name] = soc.DRAM + off
        raw = np.ascontiguousarray(data).reshape(-1)
        mem[off : off + len(raw)] = raw
        off += -(-len(raw) // 4096) * 4096
    for name in ("out", "out_dense"):
        at[name] = soc.DRAM + off
        off += -(-out_bytes // 4096) * 4096

    fig: dict[str, Any] = {}
    hw = (cfg.height, cfg.width)

    @sim.process
    async def driver() -> None:
        meter = PhaseMeter(sim)
        await acc.load(at["packed"], TAPS, packs, cfg.n, ids=True)
        fig["load"] = acc.records[-1]
        await acc.conv(at["x"], at["out"], *hw, packs, cfg.n, cfg.k, dense=False)
        fig["sparse"] = (meter.stop(), acc.records[-1], acc.buffer)
        report_progress(1, 2, unit="runs")
        meter = PhaseMeter(sim)
        await acc.load(at["dense"], TAPS, cfg.outputs, 1, ids=False)
        fig["dense_load"] = acc.records[-1]
        await acc.conv(at["x"], at["out_dense"], *hw, cfg.outputs, 1, cfg.k, dense=True)
        fig["dense"] = (meter.stop(), acc.records[-1], acc.buffer)
        report_progress(2, 2, unit="runs")
        fig["peak_bandwidth"] = float(sim.stats["dram.peak_bandwidth"])
        if cpu is not None:
            await acc.driver.close()  # the C driver exits: the run ends

    sim.run()
    if cpu is not None:
        cpu.check_exit()
    return _results(cfg, soc, acc, layer, fig, at, shape)


def _results(cfg, soc, acc, layer: ConvLayer, fig, at, shape: EngineShape) -> dict[str, Any]:
    mem = soc.dram.array()
    oh, ow = layer.out_hw
    pixels = oh * ow
    packs = cfg.outputs // cfg.n

    def output(name: str, p: int, n: int) -> np.ndarray:
        nbytes = pixels * shape.out_beats(p, n) * cfg.channels
        off = at[name] - soc.DRAM
        return fmt.results(mem[off : off + nbytes], pixels, cfg.outputs, cfg.channels)

    golden = layer.golden().reshape(pixels, cfg.outputs)
    out_cs, out_dense = output("out", packs, cfg.n), output("out_dense", cfg.outputs, 1)
    cs_ok = bool(np.array_equal(out_cs, golden))
    dense_ok = bool(np.array_equal(out_dense, golden))
    digest = hashlib.sha256(out_cs.tobytes() + out_dense.tobytes()).hexdigest()

    ph_cs: Phase = fig["sparse"][0]
    ph_dn: Phase = fig["dense"][0]
    rec_cs, rec_dn = fig["sparse"][1], fig["dense"][1]
    buf_cs, buf_dn = fig["sparse"][2], fig["dense"][2]
    clock = cfg.clock
    cycles = max(1, round(ph_cs.time_ps / clock))
    base_cycles = max(1, round(ph_dn.time_ps / clock))
    e_cs, e_dn = ph_cs.flat(), ph_dn.flat()
    energy, base_energy = sum(e_cs.values()), sum(e_dn.values())
    macs, base_macs = rec_cs.counters["macs"], rec_dn.counters["macs"]
    eng = rec_cs.engine_cycles + fig["load"].engine_cycles
    base_eng = rec_dn.engine_cycles + fig["dense_load"].engine_cycles
    secs = ph_cs.time_ps * 1e-12
    dense_ops = 2 * layer.dense_macs()
    a_cs = _area(shape, buf_cs, cfg.outputs)
    a_dn = _area(shape, buf_dn, cfg.outputs)
    m = acc.energy
    engine_pj = {
        "complementary_sparsity": m.energy_pj(rec_cs.counters, buf_cs)
        + m.energy_pj(fig["load"].counters, buf_cs),
        "dense": m.energy_pj(rec_dn.counters, buf_dn)
        + m.energy_pj(fig["dense_load"].counters, buf_dn),
    }
    metrics = {
        "golden_ok": cs_ok and dense_ok,
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": energy,
        "baseline_energy_pj": base_energy,
        "energy_ratio": base_energy / energy,
        "dram_bytes": int(ph_cs.stats(DRAM_BYTES)),
        "baseline_dram_bytes": int(ph_dn.stats(DRAM_BYTES)),
        "engine_cycles": eng,
        "baseline_engine_cycles": base_eng,
        "engine_speedup": base_eng / max(1, eng),
        "conv_engine_cycles": rec_cs.engine_cycles,
        "baseline_conv_engine_cycles": rec_dn.engine_cycles,
        "macs": macs,
        "baseline_macs": base_macs,
        "mac_reduction": base_macs / max(1, macs),
        "mac_reduction_bound": cfg.n * cfg.channels / cfg.k,
        "engine_energy_pj": engine_pj["complementary_sparsity"],
        "baseline_engine_energy_pj": engine_pj["dense"],
        "engine_energy_ratio": engine_pj["dense"] / max(engine_pj["complementary_sparsity"], 1e-9),
        "utilisation": macs / max(1, cfg.lanes * rec_cs.engine_cycles),
        "baseline_utilisation": base_macs / max(1, cfg.lanes * rec_dn.engine_cycles),
        "throughput_gops": dense_ops / secs / 1e9 if secs else 0.0,
        "baseline_throughput_gops": dense_ops / (ph_dn.time_ps * 1e-12) / 1e9,
        "weight_density": 1 / cfg.n,
        "act_density": cfg.k / cfg.channels,
        "area_mm2": a_cs.mm2,
        "baseline_area_mm2": a_dn.mm2,
    }
    extras = {
        "host": cfg.host,
        "baseline": "the same conv dense on the same lanes: dense kernels (weights only) "
        "in the weight buffer, every channel of the k-WTA'd map multiplied",
        "energy_breakdown_pj": cosim.energy.by_component(e_cs),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(e_dn),
        "energy_events_pj": e_cs,
        "baseline_energy_events_pj": e_dn,
        "engine_energy_pj": engine_pj,
        "area_mm2_by_part": a_cs.by_part_mm2(),
        "baseline_area_mm2_by_part": a_dn.by_part_mm2(),
        "counters": {
            "load": fig["load"].counters,
            "conv": rec_cs.counters,
            "dense_load": fig["dense_load"].counters,
            "dense_conv": rec_dn.counters,
        },
        "roofline": {
            "peak_gops": 2 * cfg.lanes / (clock / 1000),
            "peak_gbps": fig["peak_bandwidth"] / 1e9,
            "ops": 2 * macs,
            "bytes": metrics["dram_bytes"],
            "seconds": secs,
            "baseline_ops": 2 * base_macs,
            "baseline_bytes": metrics["baseline_dram_bytes"],
            "baseline_seconds": ph_dn.time_ps * 1e-12,
        },
        "weight_buffer_bytes": {"packed": buf_cs.capacity_bytes, "dense": buf_dn.capacity_bytes},
        "output_digest": digest,
    }
    report = _report(cfg, acc, layer, metrics, e_cs, e_dn, cs_ok, dense_ok, buf_cs, buf_dn)
    return {**metrics, "report": report, "extras": extras}


def _report(cfg, acc, layer, m, e_cs, e_dn, cs_ok, dense_ok, buf_cs, buf_dn) -> str:
    us = cfg.clock / 1e6
    oh, ow = layer.out_hw
    host = (
        "the C driver sw/drivers/accel.c on the RISC-V core drives the command window"
        if cfg.host == "riscv"
        else "the Python driver (host_cpu cost model)"
    )
    lines = [
        f"Complementary sparsity: {cfg.height}x{cfg.width}x{cfg.channels} -> "
        f"{oh}x{ow}x{cfg.outputs}, 3x3 valid; n = {cfg.n} kernels per pack "
        f"({cfg.outputs // cfg.n} packs, weight density 1/{cfg.n}), k-WTA k = {cfg.k} of "
        f"{cfg.channels}; {cfg.lanes} multipliers, {1e6 / cfg.clock:.0f} MHz, {cfg.memory}; "
        f"engine {acc.impl}",
        f"  host         : {host}",
        f"  golden check : complementary sparsity {'OK' if cs_ok else 'MISMATCH'}, dense "
        f"baseline {'OK' if dense_ok else 'MISMATCH'} (bit-exact int32)",
        f"  weight buffer: packed {buf_cs.capacity_bytes:,} B (8-bit weight + {buf_cs.id_bits}"
        f"-bit id per position), dense {buf_dn.capacity_bytes:,} B",
        "",
        f"  {'run':<34}{'cycles':>10}{'time':>11}{'energy':>12}{'DRAM bytes':>12}{'MACs':>11}",
    ]
    for name, cyc, pj, nbytes, macs in (
        ("complementary sparsity", m["cycles"], m["energy_pj"], m["dram_bytes"], m["macs"]),
        (
            "dense, same lanes (baseline)",
            m["baseline_cycles"],
            m["baseline_energy_pj"],
            m["baseline_dram_bytes"],
            m["baseline_macs"],
        ),
    ):
        lines.append(
            f"  {name:<34}{cyc:>10,}{cyc * us:>9.1f}us{fmt_energy(pj):>12}{nbytes:>12,}{macs:>11,}"
        )
    lines += [
        "",
        f"  MAC reduction {m['mac_reduction']:.1f}x (bound n * channels / k = "
        f"{m['mac_reduction_bound']:.1f}x)",
        f"  speedup {m['speedup']:.1f}x end to end (engine alone {m['engine_speedup']:.1f}x; "
        f"lane utilisation {m['utilisation']:.0%} vs dense {m['baseline_utilisation']:.0%})",
        f"  energy {m['energy_ratio']:.1f}x less end to end (engine alone "
        f"{m['engine_energy_ratio']:.1f}x); area {m['area_mm2']:.3f} vs "
        f"{m['baseline_area_mm2']:.3f} mm2 at 45 nm",
        f"  effective throughput {m['throughput_gops']:.1f} vs {m['baseline_throughput_gops']:.1f}"
        " GOPS (dense-equivalent ops)",
        "  energy, complementary sparsity:",
        "    " + cosim.energy.format_breakdown(_nest(e_cs)).replace("\n", "\n    "),
        "  energy, dense baseline:",
        "    " + cosim.energy.format_breakdown(_nest(e_dn)).replace("\n", "\n    "),
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
