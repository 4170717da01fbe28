"""SmartDeal (Chen et al., "SmartDeal: Re-Modeling Deep Network Weights for Efficient
Inference and Training", IEEE TNNLS 2022): a 3x3 convolution whose weights sit in DRAM as
W = Ce x B (3x3 int8 basis per filter, structured-sparse power-of-two coefficients) and
are rebuilt on chip by shift-add, against the same layer with int8 weights fetched from
DRAM, on the same MAC array in one simulated system.

    .venv/bin/python scenarios/smartdeal.py [--set cin=64 --set cout=64] [--engine mac=tlm]

System (cosim.build_soc): host CPU running the driver, fabric, DMA, scratchpad (feature
map, weight and output buffers), DDR4-2400 DRAM by default (`memory`; its energy per bit
makes DRAM the largest part of the layer's energy, as in the paper's accounting;
LPDDR4-3200 on request), and one accelerator (cosim.accel.smartdeal) with the rebuild
engine and an 8x8 int8 MAC array, each as numpy, TLM or RTL (`--engine rebuild=...`,
`--engine mac=...`).

Workload (seeded): height x width x cin post-ReLU int8 activations, cout Gaussian filters
(int8 units); the decomposition is fitted in code (cosim.accel.smartdeal.workload:
structured row pruning of Ce at `coef_sparsity`, alternating least squares with
power-of-two rounding).

Runs, in order, each from the host's first action to the output in DRAM:
1. SmartDeal: the DMA brings the feature map on chip; command 1 rebuilds the weights tile
   by tile from their DRAM image while the MAC array computes; the DMA takes the output out;
2. the baseline: the same with command 2, int8 weights copied from DRAM tile by tile at
   DRAM speed, overlapped with computing and kept on chip (fetched once).
Both outputs are checked bit-exactly against a numpy convolution (SmartDeal's with the
rebuilt weights); the report gives the decomposition's error against the original weights.

Metrics: cycles / baseline_cycles (clock cycles of runs 1 and 2), energy_pj /
baseline_energy_pj (all energy charged meanwhile), dram_bytes, weight_dram_bytes (DRAM
bytes read during the command: the weights alone) and their ratio against the baseline
with its bound from the storage format, the energy split into DRAM, rebuild and MAC.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.phase import PhaseMeter
from cosim.accel.smartdeal import format as fmt
from cosim.accel.smartdeal import workload as wl
from cosim.accel.smartdeal.system import ConvArgs, SmartdealAccelerator, weight_tiles
from cosim.energy import fmt_energy
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.dma import Descriptor
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host

IMPLS = ("functional", "tlm", "rtl")
DRAM_BYTES = ("dram.bytes_read", "dram.bytes_written")

scenario = Scenario(
    "smartdeal",
    "SmartDeal weights W = Ce x B rebuilt on chip by shift-add vs int8 weights from DRAM",
    params=[
        Param("height", 8, min=1, max=32, help="input feature map height"),
        Param("width", 8, min=1, max=32, help="input feature map width"),
        Param("cin", 16, min=1, max=64, help="input channels (the paper's layers: 16 to 64)"),
        Param("cout", 16, min=1, max=128, help="output channels (filters)"),
        Param(
            "coef_sparsity",
            0.5,
            min=0.0,
            max=0.95,
            help="fraction of Ce rows that are zero (structured sparsity, every filter alike)",
        ),
        Param("act_density", 0.5, min=0.05, max=1.0, help="nonzero input activations"),
        Param("rows", 8, choices=(2, 4, 8, 16), help="MAC array rows (output pixels a job)"),
        Param("cols", 8, choices=(2, 4, 8, 16), help="MAC array columns (filters a job)"),
        Param("clock", "1 ns", type="time", min="250 ps", max="20 ns", help="accelerator clock"),
        Param("memory", "ddr4_2400", choices=("ddr4_2400", "lpddr4_3200"), help="DRAM preset"),
        HOST_PARAM,
    ],
    engines={
        "rebuild": Engine(IMPLS, default="rtl", help="the shift-add weight rebuild engine"),
        "mac": Engine(IMPLS, default="rtl", help="the int8 MAC array (both runs)"),
    },
    seed=1,
)


def job_beats(cin: int, cols: int) -> int:
    """The rebuild engine's job buffer for `cols` filters of `cin` channels at worst."""
    rows = fmt.TAPS * cin
    return cols * (fmt.BASIS_BEATS + fmt.mask_beats(rows) + fmt.code_beats(rows))


def _area(cfg: Config, spad: int, max_beats: int) -> tuple[area.Estimate, area.Estimate]:
    """At 45 nm (cosim.area). MAC array: per PE an int8 multiplier, an int32 accumulator
    adder and register; operand registers per row and column. Rebuild engine: per tap 3
    shifters, 2 adders and a rounding adder (16-bit adders), the basis registers (72 bits),
    the job buffer (SRAM). Both: the scratchpad."""
    pes = cfg.rows * cfg.cols
    mac = area.estimate(
        ops={"int8_mult": pes, "int32_add": pes},
        srams={"scratchpad": (1, spad)},
        register_bits=32 * pes + 8 * (cfg.rows + cfg.cols),
    )
    rebuild = area.estimate(
        ops={"int16_add": 3 * 6}, srams={"rebuild_buffer": (1, 6 * max_beats)}, register_bits=72
    )
    return mac + rebuild, mac


@scenario.check
def _fits(cfg: Config) -> str | None:
    h, w, cin, cout = cfg.height, cfg.width, cfg.cin, cfg.cout
    nt = -(-cout // cfg.cols)
    mt = -(-(h * w) // cfg.rows)
    need = h * w * cin + nt * 9 * cin * cfg.cols + nt * mt * cfg.rows * cfg.cols + 3 * 64
    if need > 256 << 10:
        return (
            f"parameters 'height', 'width', 'cin', 'cout': the layer needs {need >> 10} KiB of "
            "scratchpad, more than its 256 KiB; use a smaller layer"
        )
    if job_beats(cin, cfg.cols) > 4095:
        return (
            f"parameter 'cols' = {cfg.cols}: a rebuild job of {cfg.cols} filters of {cin} "
            "channels does not fit the engine's largest buffer (4095 beats)"
        )
    return None


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    layer = wl.make_layer(
        cfg.rng(), cfg.height, cfg.width, cfg.cin, cfg.cout, cfg.coef_sparsity, cfg.act_density
    )
    h, w, cin, cout = layer.shape
    dec = layer.dec
    images = {"w_sd": dec.image(), "w_int8": weight_tiles(layer.w8, cfg.cols)}
    nt, mt = -(-cout // cfg.cols), -(-(h * w) // cfg.rows)
    out_bytes = nt * mt * cfg.rows * cfg.cols
    max_beats = max(512, job_beats(cin, cfg.cols))

    soc = cosim.build_soc(sim, memory=cfg.memory)
    waves = {e: f"{e}.fst" for e in ("rebuild", "mac") if cfg.wave == e}
    acc = SmartdealAccelerator(
        sim,
        soc,
        rebuild_impl=cfg.engines["rebuild"],
        mac_impl=cfg.engines["mac"],
        rows=cfg.rows,
        cols=cfg.cols,
        max_beats=max_beats,
        clock=cfg.clock,
        waves=waves,
    )
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, "smartdeal")

    at: dict[str, int] = {}
    off = soc.DATA - soc.DRAM
    mem = soc.dram.array()
    x_img = layer.x.reshape(-1).view(np.uint8)
    for name, data in (
        ("x", x_img),
        *images.items(),
        ("out_sd", np.zeros(out_bytes, np.uint8)),
        ("out_int8", np.zeros(out_bytes, np.uint8)),
    ):
        at[name] = soc.DRAM + off
        mem[off : off + len(data)] = data
        off += -(-len(data) // 4096) * 4096
    spad_x = soc.SPAD
    spad_w = spad_x + -(-len(x_img) // 64) * 64
    spad_out = spad_w + -(-len(images["w_int8"]) // 64) * 64

    def args(weights: str) -> ConvArgs:
        return ConvArgs(
            h, w, cin, cout, spad_x, at[weights], spad_w, spad_out, layer.out_shift,
            dec.shift, dec.kept,
        )  # fmt: skip

    fig: dict[str, Any] = {}

    async def layer_run(weights: str, command: Any, out: str) -> dict[str, Any]:
        meter = PhaseMeter(sim)
        await soc.dma_driver.run(
            [Descriptor(src=at["x"], dst=spad_x, row_bytes=len(x_img))], at=soc.DESCRIPTORS
        )
        cmd_meter = PhaseMeter(sim)
        await command(args(weights))
        cmd = cmd_meter.stop()
        await soc.dma_driver.run(
            [Descriptor(src=spad_out, dst=at[out], row_bytes=out_bytes)], at=soc.DESCRIPTORS
        )
        p = meter.stop()
        return {
            "time": p.time_ps,
            "dram": int(p.stats(DRAM_BYTES)),
            "weight_dram": int(cmd.stat("dram.bytes_read")),
            "cmd_time": cmd.time_ps,
            "energy": p.flat(),
        }

    @sim.process
    async def driver() -> None:
        fig["sd"] = await layer_run("w_sd", acc.conv_smartdeal, "out_sd")
        report_progress(1, 2, unit="runs")
        fig["int8"] = await layer_run("w_int8", acc.conv_baseline, "out_int8")
        report_progress(2, 2, unit="runs")
        if cpu is not None:
            await acc.driver.close()

    sim.run()
    if cpu is not None:
        cpu.check_exit()

    def result(name: str) -> np.ndarray:
        o = at[name] - soc.DRAM
        t = mem[o : o + out_bytes].view(np.int8).reshape(nt, mt * cfg.rows, cfg.cols)
        y = t.transpose(1, 0, 2).reshape(mt * cfg.rows, nt * cfg.cols)[: h * w, :cout]
        return y.reshape(h, w, cout)

    y_sd, y_int8 = result("out_sd"), result("out_int8")
    w_rebuilt = dec.weights()
    sd_ok = bool(np.array_equal(y_sd, wl.golden(layer.x, w_rebuilt, layer.out_shift)))
    int8_ok = bool(np.array_equal(y_int8, wl.golden(layer.x, layer.w8, layer.out_shift)))
    digest = hashlib.sha256(y_sd.tobytes() + y_int8.tobytes()).hexdigest()
    return _results(cfg, acc, layer, fig, sd_ok, int8_ok, digest, soc.scratchpad.size, max_beats)


def _split(energy: dict[str, float]) -> dict[str, float]:
    """DRAM, rebuild, MAC and the rest (scratchpad, fabric, DMA, host) in pJ."""
    comp = cosim.energy.by_component(energy)
    dram = sum(v for k, v in comp.items() if k.split(".")[0] == "dram")
    rebuild, mac = comp.get("rebuild", 0.0), comp.get("mac", 0.0)
    return {
        "dram": dram,
        "rebuild": rebuild,
        "mac": mac,
        "other": sum(comp.values()) - dram - rebuild - mac,
    }


def _results(cfg, acc, layer, fig, sd_ok, int8_ok, digest, spad_bytes, max_beats):
    clock = cfg.clock
    h, w, cin, cout = layer.shape
    s, b = fig["sd"], fig["int8"]
    cycles, base_cycles = round(s["time"] / clock), round(b["time"] / clock)
    energy, base_energy = sum(s["energy"].values()), sum(b["energy"].values())
    split, base_split = _split(s["energy"]), _split(b["energy"])
    dec = layer.dec
    w_rebuilt = dec.weights()
    pruned = layer.w_float.reshape(cout, 3 * cin, 3) * dec.mask[:, :, None]
    acc_exact = wl.conv_acc(layer.x, np.round(layer.w_float).astype(np.int64))
    rc, mc = acc.counters["rebuild"][-1], acc.counters["mac"][-1]
    bound = fmt.traffic_ratio_bound(cin, cout, dec.kept)
    macs = h * w * cout * 9 * cin
    metrics = {
        "golden_ok": sd_ok and int8_ok,
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": energy,
        "baseline_energy_pj": base_energy,
        "energy_ratio": base_energy / energy,
        "dram_bytes": s["dram"],
        "baseline_dram_bytes": b["dram"],
        "weight_dram_bytes": s["weight_dram"],
        "baseline_weight_dram_bytes": b["weight_dram"],
        "weight_traffic_ratio": b["weight_dram"] / max(1, s["weight_dram"]),
        "weight_traffic_ratio_bound": bound,
        "dram_energy_pj": split["dram"],
        "rebuild_energy_pj": split["rebuild"],
        "mac_energy_pj": split["mac"],
        "other_energy_pj": split["other"],
        "baseline_dram_energy_pj": base_split["dram"],
        "baseline_mac_energy_pj": base_split["mac"],
        "baseline_other_energy_pj": base_split["other"],
        "dram_energy_ratio": base_split["dram"] / max(split["dram"], 1e-9),
        "dram_energy_share": split["dram"] / energy,
        "baseline_dram_energy_share": base_split["dram"] / base_energy,
        "approx_error": wl.rel_error(w_rebuilt, layer.w_float),
        "prune_only_error": wl.rel_error(pruned, layer.w_float.reshape(cout, 3 * cin, 3)),
        "int8_error": wl.rel_error(layer.w8, layer.w_float),
        "output_error": wl.rel_error(wl.conv_acc(layer.x, w_rebuilt), acc_exact),
        "coef_sparsity": 1 - dec.kept / (3 * cin),
        "command_cycles": round(s["cmd_time"] / clock),
        "baseline_command_cycles": round(b["cmd_time"] / clock),
        "utilisation": macs / max(1, mc["beats"] * cfg.rows * cfg.cols),
        "throughput_gops": 2 * macs / (s["time"] * 1e-12) / 1e9,
    }
    silicon, base_silicon = _area(cfg, spad_bytes, max_beats)
    metrics["area_mm2"] = silicon.mm2
    metrics["baseline_area_mm2"] = base_silicon.mm2
    extras = {
        "area_mm2_by_part": silicon.by_part_mm2(),
        "host": cfg.host,
        "energy_breakdown_pj": cosim.energy.by_component(s["energy"]),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(b["energy"]),
        "energy_events_pj": s["energy"],
        "baseline_energy_events_pj": b["energy"],
        "counters": {"rebuild": rc, "mac": mc, "baseline_mac": acc.counters["mac"][0]},
        "output_digest": digest,
        "roofline": {
            "peak_gops": 2 * cfg.rows * cfg.cols / (clock / 1000),
            "peak_gbps": 0.0,
            "ops": 2 * macs,
            "bytes": s["dram"],
            "seconds": s["time"] * 1e-12,
            "baseline_ops": 2 * macs,
            "baseline_bytes": b["dram"],
            "baseline_seconds": b["time"] * 1e-12,
        },
    }
    report = _report(cfg, acc, layer, metrics, s, b, sd_ok, int8_ok)
    return {**metrics, "report": report, "extras": extras}


def _report(cfg, acc, layer, m_, s, b, sd_ok, int8_ok) -> str:
    h, w, cin, cout = layer.shape
    ns = cfg.clock / 1000

    def us(c: float) -> str:
        return f"{c * ns / 1000:.2f} us"

    dec = layer.dec
    lines = [
        f"SmartDeal: conv 3x3 {h}x{w}x{cin} -> {cout}; W = Ce x B per filter (3x3 int8 basis, "
        f"{dec.kept} of {3 * cin} Ce rows stored: coefficient sparsity {m_['coef_sparsity']:.0%}, "
        f"power-of-two codes, rebuild shift {dec.shift}); {cfg.rows}x{cfg.cols} MAC array at "
        f"{1000 / ns:.0f} MHz, {cfg.memory}; engines rebuild={acc.rebuild.impl}, "
        f"mac={acc.mac.impl}",
        "  host         : "
        + (
            "the C driver sw/drivers/accel.c on the RISC-V core drives the command window; "
            "DMA staging by the Python driver"
            if cfg.host == "riscv"
            else "the Python driver (host_cpu cost model)"
        ),
        f"  golden check : SmartDeal {'OK' if sd_ok else 'MISMATCH'} (rebuilt weights), "
        f"baseline {'OK' if int8_ok else 'MISMATCH'} (int8 weights)",
        f"  decomposition: rebuilt weights {m_['approx_error']:.1%} off the original (relative "
        f"L2; pruning the same rows alone {m_['prune_only_error']:.1%}, int8 rounding "
        f"{m_['int8_error']:.1%}); layer output {m_['output_error']:.1%} off (no retraining)",
        "",
        f"  {'run':<36}{'cycles':>9}{'time':>10}{'energy':>11}{'DRAM B':>9}{'weight B':>10}",
        f"  {'SmartDeal (DMA in, conv, DMA out)':<36}{m_['cycles']:>9,}{us(m_['cycles']):>10}"
        f"{fmt_energy(m_['energy_pj']):>11}{m_['dram_bytes']:>9,}{m_['weight_dram_bytes']:>10,}",
        f"  {'int8 weights (baseline)':<36}{m_['baseline_cycles']:>9,}"
        f"{us(m_['baseline_cycles']):>10}{fmt_energy(m_['baseline_energy_pj']):>11}"
        f"{m_['baseline_dram_bytes']:>9,}{m_['baseline_weight_dram_bytes']:>10,}",
        "",
        f"  vs baseline: {m_['speedup']:.2f}x the speed, {m_['energy_ratio']:.2f}x less energy; "
        f"weight traffic {m_['weight_traffic_ratio']:.2f}x less (format bound "
        f"{m_['weight_traffic_ratio_bound']:.2f}x), DRAM energy "
        f"{m_['dram_energy_ratio']:.2f}x less",
        f"  energy split  {'DRAM':>10}{'rebuild':>10}{'MAC':>10}{'other':>10}",
        f"  SmartDeal     {fmt_energy(m_['dram_energy_pj']):>10}"
        f"{fmt_energy(m_['rebuild_energy_pj']):>10}{fmt_energy(m_['mac_energy_pj']):>10}"
        f"{fmt_energy(m_['other_energy_pj']):>10}",
        f"  baseline      {fmt_energy(m_['baseline_dram_energy_pj']):>10}{'-':>10}"
        f"{fmt_energy(m_['baseline_mac_energy_pj']):>10}"
        f"{fmt_energy(m_['baseline_other_energy_pj']):>10}",
        f"  (DRAM is {m_['dram_energy_share']:.0%} of SmartDeal's energy, "
        f"{m_['baseline_dram_energy_share']:.0%} of the baseline's; other = scratchpad, "
        "fabric, DMA, host)",
        "  energy, SmartDeal run:",
        "    " + cosim.energy.format_breakdown(_nest(s["energy"])).replace("\n", "\n    "),
        "  energy, baseline run:",
        "    " + cosim.energy.format_breakdown(_nest(b["energy"])).replace("\n", "\n    "),
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
