"""Phantom-2D: sparse convolutions and an FC layer on a 2-D mesh of Phantom cores (mask
AND, lookahead, dispatch of valid pairs to MAC threads) vs the same cores dense.

System (cosim.build_soc): host CPU running the driver, fabric, DMA, scratchpad (the
global buffer), DRAM, and the accelerator behind its command window
(cosim.accel.phantom.system). Workload: a 3x3 convolution cin -> cout on size x size at
stride 1, the same at stride 2 and an FC layer fc_in -> fc_out, with seeded unstructured
sparsity (weight_density, act_density). Runs, in one simulation, per layer:

1. Phantom: the layer's images in Phantom's format (mask + nonzeros) from DRAM, valid
   pairs only (the scenario's `cycles`, `energy_pj`, `dram_bytes`: the sums over layers);
2. the baseline: the same mesh, cores and threads without sparsity handling (dense
   images, every pair issued, the multiplier gated on zero operands).

Each run is timed from the host's command to the outputs in DRAM; outputs are checked
bit-exactly against numpy. useful_mac_fraction = valid pairs / dense pairs, counted in
numpy from the tensors' masks and checked against the cores' VALID counters;
speedup_bound = 1 / useful_mac_fraction (every pair the baseline issues, the sparse core
issues only the valid ones at the same thread rate).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.phantom import format as fmt
from cosim.accel.phantom.engine import CoreShape
from cosim.accel.phantom.system import BALANCE, OPERAND_BUFFER_BYTES, PhantomAccelerator
from cosim.accel.phantom.workload import Layer, conv_layer, fc_layer
from cosim.accel.phase import PhaseMeter
from cosim.energy import fmt_energy
from cosim.models import model_info
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host

DRAM_BYTES = ("dram.bytes_read", "dram.bytes_written")

scenario = Scenario(
    "phantom",
    "Phantom-2D: mask AND, lookahead and thread dispatch on a core mesh vs the same cores dense",
    params=[
        Param("channels", 8, min=1, max=64, help="conv input and output channels"),
        Param("size", 8, min=2, max=32, help="conv input height and width"),
        Param("fc_in", 256, min=8, max=4096, help="FC layer inputs"),
        Param("fc_out", 64, min=1, max=1024, help="FC layer outputs"),
        Param("weight_density", 0.3, min=0.0, max=1.0, help="fraction of nonzero weights"),
        Param("act_density", 0.5, min=0.0, max=1.0, help="fraction of nonzero activations"),
        Param("window", 8, choices=(8, 16), help="lookahead window (positions per beat)"),
        Param("threads", 2, choices=(1, 2, 4, 8), help="MAC threads per core"),
        Param("max_outs", 64, min=2, max=255, help="outputs per core job (result buffer)"),
        Param("mesh_rows", 2, min=1, max=4, help="rows of the core mesh"),
        Param("mesh_cols", 2, min=1, max=4, help="columns of the core mesh"),
        Param("balance", "balanced", choices=BALANCE, help="mesh-level load balancing"),
        Param("clock", "2 ns", type="time", min="500 ps", max="20 ns", help="core clock"),
        Param(
            "memory", "ddr4_2400", choices=("ddr4_2400", "lpddr4_3200", "hbm2"), help="DRAM preset"
        ),
        HOST_PARAM,
    ],
    engines={
        "phantom": Engine(
            ("functional", "tlm", "rtl"),
            default="rtl",
            help="every core of the mesh: numpy (untimed), TLM or RTL",
        )
    },
    seed=1,
)


@scenario.check
def _whole_windows(cfg: Config) -> str | None:
    """Every output's pairs fill whole windows, so the dense core issues exactly the
    layer's MACs (no padding pairs that would flatter the sparse core)."""
    for name, k in (("channels", 9 * cfg.channels), ("fc_in", cfg.fc_in)):
        if k % cfg.window:
            what = "9 x channels" if name == "channels" else "fc_in"
            return f"{what} = {k} must be a multiple of window = {cfg.window}; change {name}"
    return None


@scenario.check
def _fits_the_global_buffer(cfg: Config) -> str | None:
    """The largest layer's dense tensors and outputs must fit the scratchpad."""
    size = int(model_info("scratchpad").param("size").default)
    c, s, n_in, n_out = cfg.channels, cfg.size, cfg.fc_in, cfg.fc_out
    need = max(
        9 * c * c + c * s * s + 4 * c * s * s + 128,
        n_in * n_out + n_in + 4 * n_out + 128,
    )
    if need > size:
        return (
            f"the largest layer needs {need} B of global buffer, more than the "
            f"scratchpad's {size} B; lower channels, size, fc_in or fc_out"
        )
    return None


def layers(cfg: Config) -> list[Layer]:
    """The workload: conv stride 1, conv stride 2, FC (seeded from cfg.rng())."""
    rng = cfg.rng()
    c, s, dw, da = cfg.channels, cfg.size, cfg.weight_density, cfg.act_density
    return [
        conv_layer(rng, c, c, s, 1, dw, da, "conv_s1"),
        conv_layer(rng, c, c, s, 2, dw, da, "conv_s2"),
        fc_layer(rng, cfg.fc_in, cfg.fc_out, dw, da),
    ]


def _area(cfg: Config, spad_bytes: int) -> area.Estimate:
    """The mesh at 45 nm: per core THREADS int8 multipliers and int32 adders (plus the
    accumulator's adder), the operand buffer and the result buffer; per core in
    registers the held window (2 x window bytes, masks) and the accumulator; one global
    buffer (the scratchpad). The dense baseline runs on the same cores: same area."""
    cores = cfg.mesh_rows * cfg.mesh_cols
    return area.estimate(
        ops={"int8_mult": cores * cfg.threads, "int32_add": cores * (cfg.threads + 1)},
        srams={
            "operand_buffer": (cores, OPERAND_BUFFER_BYTES),
            "result_buffer": (cores, 4 * cfg.max_outs),
            "global_buffer": (1, spad_bytes),
        },
        register_bits=cores * (16 * cfg.window + 2 * cfg.window + 64),
    )


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    work = layers(cfg)
    soc = cosim.build_soc(sim, memory=cfg.memory)
    shape = CoreShape(window=cfg.window, threads=cfg.threads, max_outs=cfg.max_outs)
    acc = PhantomAccelerator(
        sim,
        soc,
        cfg.engines["phantom"],
        shape=shape,
        mesh=(cfg.mesh_rows, cfg.mesh_cols),
        clock=f"{cfg.clock} ps",
        balance=cfg.balance,
    )
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, "phantom")
    # Initial DRAM contents (what the loader put there): per layer, both image kinds.
    mem, off, at = soc.dram.array(), soc.DATA - soc.DRAM, {}
    for i, layer in enumerate(work):
        acc.add_layer(i, layer)
        images = {
            "w_sparse": fmt.encode(layer.weights),
            "a_sparse": fmt.encode(layer.activations),
            "w_dense": layer.weights.reshape(-1).view(np.uint8),
            "a_dense": layer.activations.reshape(-1).view(np.uint8),
            "out_sparse": np.zeros(4 * layer.outputs, np.uint8),
            "out_dense": np.zeros(4 * layer.outputs, np.uint8),
        }
        for name, data in images.items():
            at[(i, name)] = (soc.DRAM + off, len(data))
            mem[off : off + len(data)] = data
            off += -(-len(data) // 4096) * 4096
    runs: dict[tuple[int, str], Any] = {}

    @sim.process
    async def host() -> None:
        for i in range(len(work)):
            for kind in ("sparse", "dense"):
                (w, wl), (a, al) = at[(i, f"w_{kind}")], at[(i, f"a_{kind}")]
                meter = PhaseMeter(sim)
                await acc.run_layer(i, w, wl, a, al, at[(i, f"out_{kind}")][0], kind == "dense")
                runs[(i, kind)] = (meter.stop(), acc.records[-1])
                report_progress(len(runs), 2 * len(work), unit="runs")
        if cpu is not None:
            await acc.driver.close()

    sim.run()
    if cpu is not None:
        cpu.check_exit()
    return _results(cfg, soc, acc, work, runs, at)


def _results(cfg, soc, acc, work, runs, at) -> dict[str, Any]:
    mem, clock = soc.dram.array(), cfg.clock
    ok, digest, per_layer = True, hashlib.sha256(), {}
    counters_ok = True
    cycles = base_cycles = 0
    energy = base_energy = 0.0
    dram = base_dram = 0
    e_sparse: dict[str, float] = {}
    e_dense: dict[str, float] = {}
    valid_total = dense_pairs = issued = slots = 0
    for i, layer in enumerate(work):
        golden = layer.golden().reshape(-1)
        row = {}
        for kind in ("sparse", "dense"):
            addr, n = at[(i, f"out_{kind}")]
            got = mem[addr - soc.DRAM : addr - soc.DRAM + n].view("<i4")
            ok &= bool(np.array_equal(got, golden))
            digest.update(got.tobytes())
            phase, rec = runs[(i, kind)]
            row[kind] = (phase, rec)
        (ps, rs), (pd, rd) = row["sparse"], row["dense"]
        useful = layer.useful_pairs()  # numpy, from the tensors' masks
        pairs = layer.outputs * layer.k
        counters_ok &= rs.totals["valid"] == useful and rd.totals["valid"] == useful
        c_s, c_d = round(ps.time_ps / clock), round(pd.time_ps / clock)
        cycles, base_cycles = cycles + c_s, base_cycles + c_d
        energy, base_energy = energy + ps.energy_pj, base_energy + pd.energy_pj
        dram += int(ps.stats(DRAM_BYTES))
        base_dram += int(pd.stats(DRAM_BYTES))
        for tgt, ph in ((e_sparse, ps), (e_dense, pd)):
            for k, v in ph.flat().items():
                tgt[k] = tgt.get(k, 0.0) + v
        valid_total += useful
        dense_pairs += pairs
        issued += rs.totals["issued"]
        slots += cfg.threads * rs.totals["issue_cycles"]
        u = useful / pairs
        per_layer[layer.name] = {
            "cycles": c_s,
            "baseline_cycles": c_d,
            "speedup": c_d / c_s,
            "engine_cycles": rs.cycles,
            "baseline_engine_cycles": rd.cycles,
            "engine_speedup": rd.cycles / max(rs.cycles, 1),  # 0/1 when untimed
            "useful_mac_fraction": u,
            "speedup_bound": pairs / max(useful, 1),
            "thread_utilisation": rs.totals["issued"] / (cfg.threads * rs.totals["issue_cycles"]),
            "core_balance": float(np.mean(rs.core_cycles) / max(max(rs.core_cycles), 1)),
            "energy_pj": ps.energy_pj,
            "baseline_energy_pj": pd.energy_pj,
            "dram_bytes": int(ps.stats(DRAM_BYTES)),
            "baseline_dram_bytes": int(pd.stats(DRAM_BYTES)),
            "core_cycles": rs.core_cycles,
            "counters": rs.totals,
            "baseline_counters": rd.totals,
        }
    useful_fraction = valid_total / dense_pairs
    silicon = _area(cfg, soc.scratchpad.size)
    cores = cfg.mesh_rows * cfg.mesh_cols
    engine_cycles = sum(v["engine_cycles"] for v in per_layer.values())
    m: dict[str, Any] = {
        "golden_ok": ok,
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": energy,
        "baseline_energy_pj": base_energy,
        "energy_ratio": base_energy / energy,
        "dram_bytes": dram,
        "baseline_dram_bytes": base_dram,
        "engine_cycles": engine_cycles,
        "baseline_engine_cycles": sum(v["baseline_engine_cycles"] for v in per_layer.values()),
        "useful_mac_fraction": useful_fraction,
        "speedup_bound": dense_pairs / max(valid_total, 1),
        "counters_ok": counters_ok,
        "thread_utilisation": issued / slots if slots else 0.0,
        "utilisation": valid_total / (cores * cfg.threads * max(engine_cycles, 1)),
        "throughput_gops": 2 * valid_total / (cycles * clock * 1e-3),
        "area_mm2": silicon.mm2,
        "baseline_area_mm2": silicon.mm2,
    }
    m["engine_speedup"] = m["baseline_engine_cycles"] / max(engine_cycles, 1)
    for name, v in per_layer.items():
        for key in ("speedup", "speedup_bound", "thread_utilisation", "useful_mac_fraction"):
            m[f"{name}_{key}"] = v[key]
    m["report"] = _report(cfg, m, per_layer, e_sparse, e_dense)
    m["extras"] = {
        "host": cfg.host,
        "layers": per_layer,
        "energy_breakdown_pj": cosim.energy.by_component(e_sparse),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(e_dense),
        "energy_events_pj": e_sparse,
        "baseline_energy_events_pj": e_dense,
        "area_mm2_by_part": silicon.by_part_mm2(),
        "output_digest": digest.hexdigest(),
        "roofline": {
            "peak_gops": 2 * cores * cfg.threads / (clock / 1000),
            "ops": 2 * valid_total,
            "bytes": dram,
            "seconds": cycles * clock * 1e-12,
            "baseline_ops": 2 * dense_pairs,
            "baseline_bytes": base_dram,
            "baseline_seconds": base_cycles * clock * 1e-12,
        },
    }
    return m


def _report(cfg, m, per_layer, e_sparse, e_dense) -> str:
    lines = [
        f"Phantom-2D: {cfg.mesh_rows}x{cfg.mesh_cols} cores, {cfg.threads} threads, window "
        f"{cfg.window}; weight density {cfg.weight_density}, activation density "
        f"{cfg.act_density}; host: "
        + ("the C driver on the RISC-V core" if cfg.host == "riscv" else "the Python driver"),
        f"  {'layer':8} {'cycles':>8} {'dense':>8} {'speedup':>8} {'bound':>7} "
        f"{'engine x':>8} {'threads':>8} {'balance':>8} {'energy':>10} {'dense E':>10}",
    ]
    for name, v in per_layer.items():
        lines.append(
            f"  {name:8} {v['cycles']:8d} {v['baseline_cycles']:8d} {v['speedup']:7.2f}x "
            f"{v['speedup_bound']:6.2f}x {v['engine_speedup']:7.2f}x "
            f"{v['thread_utilisation']:8.2f} {v['core_balance']:8.2f} "
            f"{fmt_energy(v['energy_pj']):>10} {fmt_energy(v['baseline_energy_pj']):>10}"
        )
    lines += [
        f"  all     : {m['speedup']:.2f}x faster (bound {m['speedup_bound']:.2f}x, engines "
        f"{m['engine_speedup']:.2f}x), {m['energy_ratio']:.2f}x less energy, DRAM "
        f"{m['dram_bytes']} B vs {m['baseline_dram_bytes']} B",
        f"  useful MAC fraction {m['useful_mac_fraction']:.3f} (numpy, from the masks; the "
        f"cores' counters {'agree' if m['counters_ok'] else 'DISAGREE'}); thread "
        f"utilisation {m['thread_utilisation']:.2f}; area {m['area_mm2']:.3f} mm2",
        "  energy (Phantom): "
        + ", ".join(f"{k} {fmt_energy(v)}" for k, v in cosim.energy.by_component(e_sparse).items()),
        "  energy (dense)  : "
        + ", ".join(f"{k} {fmt_energy(v)}" for k, v in cosim.energy.by_component(e_dense).items()),
        "  control logic is not charged energy; golden " + ("OK" if m["golden_ok"] else "FAILED"),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    scenario.main()
