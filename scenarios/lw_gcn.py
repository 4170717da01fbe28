"""LW-GCN: a 2-layer GCN on a PE array whose sparse product reads the adjacency in PCOO
(rows grouped so the PEs balance, nonzeros interleaved so accumulation has no
read-after-write hazard) vs the same PEs reading plain CSR.

    .venv/bin/python scenarios/lw_gcn.py
    .venv/bin/python scenarios/lw_gcn.py --set nodes=1024 --set pes=8 --engine pe_array=tlm

System (cosim.build_soc): host CPU running the driver, fabric, DMA, scratchpad (holds
X W), board DDR4, and the accelerator behind its command window
(cosim.accel.lw_gcn.system). Workload: a seeded citation graph with Cora's statistics
(or an edge-list file, `graph`), features_in-wide node features after a dense first
projection, Y = A relu(A X W1) W2 with 16 hidden and output features. Both products
of each layer run on the same PE array: X W with X's entries as slots against W's rows,
then A (X W) with the adjacency's nonzeros against X W's rows. Runs, in one simulation:

1. LW-GCN: the adjacency's PCOO image (the scenario's `cycles`, `energy_pj`, ...);
2. the baseline: the same layers with the adjacency in CSR row blocks (the hazard
   stalls and the PE imbalance of the plain format); X W is the same in both.

Each run is timed from the host's first command to the outputs in DRAM; outputs are
checked bit-exactly against a numpy GCN on dense matrices. utilisation = adjacency
nonzeros / (PEs x sparse-product engine cycles, loading X W and draining included);
pe_utilisation = the same over the cycles the array issued or stalled on slot beats (the
counters BEATS + STALLS); sdmm_speedup_bound = the baseline's
sparse-product cycles / (load beats + ceil(nnz / PEs) + nodes) per layer (no format takes
the features, issues the nonzeros and gives the rows faster than one beat per cycle each).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.lw_gcn import format as fmt
from cosim.accel.lw_gcn.engine import ArrayShape
from cosim.accel.lw_gcn.graph import citation_graph, read_edge_list
from cosim.accel.lw_gcn.system import LwGcnAccelerator
from cosim.accel.lw_gcn.workload import Gcn, make_gcn
from cosim.accel.phase import PhaseMeter
from cosim.energy import fmt_energy
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host

DRAM_BYTES = ("dram.bytes_read", "dram.bytes_written")
REPO = Path(__file__).resolve().parents[1]
HIDDEN = 16

scenario = Scenario(
    "lw_gcn",
    "LW-GCN: 2-layer GCN on a PE array, adjacency in PCOO vs plain CSR on the same PEs",
    params=[
        Param("nodes", 2708, min=16, max=4096, help="nodes of the synthetic citation graph"),
        Param(
            "graph",
            "",
            type="str",
            help="edge-list file ('src dst' per line, '#' comments) instead",
        ),
        Param(
            "features_in", 64, min=4, max=128, help="node features after the dense first projection"
        ),
        Param("pes", 4, choices=(1, 2, 4, 8, 16), help="PEs of the array"),
        Param("acc_lat", 4, min=2, max=16, help="accumulation latency (cycles)"),
        Param("clock", "5 ns", type="time", min="1 ns", max="20 ns", help="array clock"),
        Param(
            "memory", "ddr4_2400", choices=("ddr4_2400", "lpddr4_3200", "hbm2"), help="DRAM preset"
        ),
        HOST_PARAM,
    ],
    engines={"pe_array": Engine(("functional", "tlm", "rtl"), default="rtl", help="the PE array")},
    seed=1,
)


def graph_path(name: str) -> Path:
    p = Path(name).expanduser()
    return p if p.is_absolute() or p.exists() or not (REPO / p).exists() else REPO / p


@scenario.check
def _graph_fits(cfg: Config) -> str | None:
    """A graph file is read (and its errors reported) before simulation; it must fit."""
    if cfg.graph:
        n = read_edge_list(graph_path(cfg.graph)).nodes
        if n > 4096:
            return f"graph {cfg.graph} has {n} nodes, the PE array's buffers hold 4096"
    return None


def workload(cfg: Config) -> Gcn:
    rng = cfg.rng()
    g = read_edge_list(graph_path(cfg.graph)) if cfg.graph else citation_graph(rng, cfg.nodes)
    return make_gcn(rng, g, cfg.features_in, HIDDEN)


def shape(cfg: Config) -> ArrayShape:
    return ArrayShape(
        pes=cfg.pes, lanes=HIDDEN, acc_lat=cfg.acc_lat, max_rows=min(4096, 8192 // cfg.pes)
    )


def _area(s: ArrayShape, spad_bytes: int) -> area.Estimate:
    """The array at 45 nm: PES x LANES int16 multipliers and int32 adders, the feature
    buffer, one accumulator bank per PE, the pipeline registers; the scratchpad. The
    baseline runs on the same array: same area."""
    return area.estimate(
        ops={"int16_mult": s.pes * s.lanes, "int32_add": s.pes * s.lanes},
        srams={
            "feature_buffer": (1, 2 * s.lanes * s.max_feat),
            "accumulators": (s.pes, 4 * s.lanes * s.max_rows),
            "scratchpad": (1, spad_bytes),
        },
        register_bits=s.pes * (s.lanes * 32 * (s.acc_lat - 1) + 64),
    )


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    gcn = workload(cfg)
    s = shape(cfg)
    soc = cosim.build_soc(sim, memory=cfg.memory)
    acc = LwGcnAccelerator(sim, soc, cfg.engines["pe_array"], shape=s, clock=f"{cfg.clock} ps")
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, "lw_gcn")
    n, lanes = gcn.nodes, HIDDEN
    images = {f: fmt.encode(*gcn.adj, n, s.pes, f, s.acc_lat) for f in fmt.FORMATS}
    # Initial DRAM contents (what the loader put there).
    mem, off, at = soc.dram.array(), soc.DATA - soc.DRAM, {}
    blobs = {
        "x": gcn.x.view(np.uint8).reshape(-1),
        "w1": gcn.w1.view(np.uint8).reshape(-1),
        "w2": gcn.w2.view(np.uint8).reshape(-1),
        **{f"adj_{f}": img.image() for f, img in images.items()},
        **{f"{b}_{f}": np.zeros(2 * n * lanes, np.uint8) for b in ("h", "y") for f in fmt.FORMATS},
    }
    for name, data in blobs.items():
        at[name] = soc.DRAM + off
        mem[off : off + len(data)] = data
        off += -(-len(data) // 4096) * 4096
    runs: dict[str, Any] = {}

    @sim.process
    async def host() -> None:
        for f in fmt.FORMATS:
            first = len(acc.records)
            meter = PhaseMeter(sim)
            img, adj = images[f], at[f"adj_{f}"]
            await acc.run_layer(at["x"], at["w1"], adj, at[f"h_{f}"], n, cfg.features_in, img, True)
            await acc.run_layer(at[f"h_{f}"], at["w2"], adj, at[f"y_{f}"], n, HIDDEN, img, False)
            runs[f] = (meter.stop(), acc.records[first:])
            report_progress(len(runs), len(fmt.FORMATS), unit="runs")
        if cpu is not None:
            await acc.driver.close()

    sim.run()
    if cpu is not None:
        cpu.check_exit()
    return _results(cfg, soc, s, gcn, images, runs, at)


def _results(cfg, soc, s, gcn, images, runs, at) -> dict[str, Any]:
    mem, clock, n = soc.dram.array(), cfg.clock, gcn.nodes
    golden = gcn.golden()
    ok, digest, per = True, hashlib.sha256(), {}
    for f in fmt.FORMATS:
        for b, key in (("h", "h"), ("y", "y")):
            a = at[f"{b}_{f}"] - soc.DRAM
            got = mem[a : a + 2 * n * HIDDEN].view("<i2").reshape(n, HIDDEN)
            ok &= bool(np.array_equal(got, golden[key]))
            digest.update(got.tobytes())
        phase, recs = runs[f]
        sd = [r for r in recs if r.phase == "sdmm"]
        dm = [r for r in recs if r.phase == "dmm"]
        img = images[f]
        per[f] = {
            "cycles": round(phase.time_ps / clock),
            "energy_pj": phase.energy_pj,
            "dram_bytes": int(phase.stats(DRAM_BYTES)),
            "sdmm_cycles": sum(r.cycles for r in sd),
            "dmm_cycles": sum(r.cycles for r in dm),
            "stall_cycles": sum(r.counters["stalls"] for r in sd + dm),
            "issue_cycles": sum(r.counters["beats"] + r.counters["stalls"] for r in sd),
            "nnz": sum(r.counters["nnz"] for r in sd),
            "slot_beats": len(img.beats),
            "empty_slots": s.pes * len(img.beats) - img.nnz,
            "ideal_feed": dict(
                zip(("cycles", "stalls"), fmt.ideal_issue(img, s.acc_lat), strict=True)
            ),
            "energy_events_pj": phase.flat(),
            "counters": [r.counters for r in recs],
            "phase_cycles": [(r.phase, r.cycles) for r in recs],
        }
    p, b = per["pcoo"], per["csr"]
    nnz2 = 2 * gcn.nnz  # the adjacency's nonzeros, both layers
    # No format beats: every feature beat, one nonzero per PE per cycle, one row per cycle.
    ideal = 2 * (-(-n * HIDDEN // (4 * s.pes)) + -(-gcn.nnz // s.pes) + n)
    silicon = _area(s, soc.scratchpad.size)

    def util(c: int) -> float:
        return nnz2 / (s.pes * c) if c else 0.0

    m: dict[str, Any] = {
        "golden_ok": ok,
        "counters_ok": p["nnz"] == b["nnz"] == nnz2,
        "cycles": p["cycles"],
        "baseline_cycles": b["cycles"],
        "speedup": b["cycles"] / p["cycles"],
        "energy_pj": p["energy_pj"],
        "baseline_energy_pj": b["energy_pj"],
        "energy_ratio": b["energy_pj"] / p["energy_pj"],
        "dram_bytes": p["dram_bytes"],
        "baseline_dram_bytes": b["dram_bytes"],
        "engine_cycles": p["sdmm_cycles"] + p["dmm_cycles"],
        "baseline_engine_cycles": b["sdmm_cycles"] + b["dmm_cycles"],
        "sdmm_cycles": p["sdmm_cycles"],
        "baseline_sdmm_cycles": b["sdmm_cycles"],
        "sdmm_speedup": b["sdmm_cycles"] / p["sdmm_cycles"] if p["sdmm_cycles"] else 0.0,
        "sdmm_speedup_bound": b["sdmm_cycles"] / ideal,
        "utilisation": util(p["sdmm_cycles"]),
        "baseline_utilisation": util(b["sdmm_cycles"]),
        "utilisation_bound": 1.0,
        "pe_utilisation": nnz2 / (s.pes * p["issue_cycles"]) if p["issue_cycles"] else 0.0,
        "baseline_pe_utilisation": nnz2 / (s.pes * b["issue_cycles"]) if b["issue_cycles"] else 0.0,
        "stall_cycles": p["stall_cycles"],
        "baseline_stall_cycles": b["stall_cycles"],
        "empty_slots": p["empty_slots"],
        "baseline_empty_slots": b["empty_slots"],
        "nodes": n,
        "edges": len(gcn.graph.edges),
        "adjacency_nnz": gcn.nnz,
        "max_degree": int(gcn.graph.degrees().max()),
        "throughput_gops": 2
        * HIDDEN
        * (nnz2 + n * (cfg.features_in + HIDDEN))
        / (p["cycles"] * clock * 1e-3),
        "area_mm2": silicon.mm2,
        "baseline_area_mm2": silicon.mm2,
    }
    m["report"] = _report(cfg, s, m, per)
    m["extras"] = {
        "host": cfg.host,
        "formats": per,
        "energy_breakdown_pj": cosim.energy.by_component(p["energy_events_pj"]),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(b["energy_events_pj"]),
        "area_mm2_by_part": silicon.by_part_mm2(),
        "output_digest": digest.hexdigest(),
        "roofline": {
            "peak_gops": 2 * s.pes * s.lanes / (clock / 1000),
            "ops": 2 * HIDDEN * (nnz2 + n * (cfg.features_in + HIDDEN)),
            "bytes": p["dram_bytes"],
            "seconds": p["cycles"] * clock * 1e-12,
        },
    }
    return m


def _report(cfg, s, m, per) -> str:
    src = f"graph {cfg.graph}" if cfg.graph else "synthetic citation graph"
    lines = [
        f"LW-GCN: {s.pes} PEs x {s.lanes} lanes, accumulation latency {s.acc_lat}; {src}: "
        f"{m['nodes']} nodes, {m['edges']} edges (max degree {m['max_degree']}), "
        f"{cfg.features_in} -> {HIDDEN} -> {HIDDEN}; host: "
        + ("the C driver on the RISC-V core" if cfg.host == "riscv" else "the Python driver"),
        f"  {'format':6} {'cycles':>9} {'A(XW) cyc':>10} {'XW cyc':>9} {'stalls':>8} {'empty':>7} "
        f"{'util':>6} {'energy':>10} {'DRAM B':>9}",
    ]
    for f, v in per.items():
        u = m["utilisation"] if f == "pcoo" else m["baseline_utilisation"]
        lines.append(
            f"  {f:6} {v['cycles']:9d} {v['sdmm_cycles']:10d} {v['dmm_cycles']:9d} "
            f"{v['stall_cycles']:8d} {v['empty_slots']:7d} {u:6.3f} "
            f"{fmt_energy(v['energy_pj']):>10} {v['dram_bytes']:9d}"
        )
    lines += [
        f"  end to end {m['speedup']:.2f}x faster, {m['energy_ratio']:.2f}x less energy; "
        f"sparse product {m['sdmm_speedup']:.2f}x (bound {m['sdmm_speedup_bound']:.2f}x = "
        "CSR cycles / (load + ceil(nnz / PEs) + nodes))",
        f"  PE utilisation while issuing slots: PCOO {m['pe_utilisation']:.3f}, CSR "
        f"{m['baseline_pe_utilisation']:.3f}; area {m['area_mm2']:.3f} mm2 (both)",
        "  energy (PCOO): "
        + ", ".join(f"{k} {fmt_energy(v)}" for k, v in m_breakdown(per["pcoo"]).items()),
        "  energy (CSR): "
        + ", ".join(f"{k} {fmt_energy(v)}" for k, v in m_breakdown(per["csr"]).items()),
        "  control logic and static power are not charged energy; golden "
        + ("OK" if m["golden_ok"] else "FAILED"),
    ]
    return "\n".join(lines)


def m_breakdown(v: dict[str, Any]) -> dict[str, float]:
    return cosim.energy.by_component(v["energy_events_pj"])


if __name__ == "__main__":
    scenario.main()
