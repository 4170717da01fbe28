"""Dense systolic array: int8 GEMMs, or every conv layer of a SCALE-Sim topology file, on a
rows x cols array (output-, weight- or input-stationary) in the full system, with a
per-layer table in the shape of SCALE-Sim's COMPUTE_REPORT (Samajdar et al., ISPASS 2020).

    .venv/bin/python scenarios/systolic.py [--set dataflow=ws --set m=100]
    .venv/bin/python scenarios/systolic.py --set topology=scenarios/topologies/tiny_cnn.csv

System (cosim.build_soc): host CPU running the driver, fabric, DMA, scratchpad (the
array's operand and result SRAM), DRAM (`memory`) and one accelerator device holding the
array (cosim.accel.systolic; numpy, TLM or RTL: `--engine array=...`).

Workload (seeded): without `topology`, one GEMM C = A (m x k) B (k x n) of random int8;
with it, every layer of the file (columns: layer name, IFMAP height, width, filter
height, width, channels, filters, strides), each a convolution without padding lowered to
a GEMM (M = output pixels, K = filter height x width x channels, N = filters). A malformed
row stops the run before anything is simulated, naming the file, row and column.

Per layer: the host DMAs A and B from DRAM into the scratchpad and starts the device; the
sequencer reads them, streams the operand beats of every fold as one job of the array
(cosim.accel.systolic.tiling) while the data mover takes its result rows (the output
accumulator sums WS/IS partial sums), stores C in the scratchpad; the host DMAs C back.
Every C is checked bit-exactly against numpy (a direct convolution for conv layers).
The baseline is the host CPU running the same GEMMs (roofline model).

Columns of the table, per layer: total cycles (the array's job, start to done: its
CYCLES register), stall cycles (of those, the cycles beyond the array's own schedule at
full rate: waiting for operands or the reader), overall utilisation (MACs / (total
cycles x PEs)), mapping efficiency (PEs holding part of the GEMM, mean over folds),
compute utilisation (MACs / ((total - stall) x PEs)), the analytical model's cycles
(SCALE-Sim), end-to-end cycles (DMA in to C in DRAM), DRAM bytes and energy.

Metrics: cycles = the array's cycles summed over layers, total_cycles the end-to-end
cycles including memory; speedup = host cycles / cycles (end_to_end_speedup: / total);
model_cycles and model_error against the analytical model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel import costs
from cosim.accel.device import Accelerator, AcceleratorDriver, Sequencer, split64
from cosim.accel.engine import EnginePorts
from cosim.accel.phase import PhaseMeter
from cosim.accel.systolic import (
    REGISTERS,
    Mapping,
    gemm_job,
    gemm_result,
    golden_matmul,
    job_cycles,
    systolic_array,
)
from cosim.accel.systolic.topology import ConvLayer, read_topology
from cosim.energy import fmt_energy
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.dma import Descriptor

IMPLS = ("functional", "tlm", "rtl")
ACCEL_BASE = 0x5000_0000
CMD_GEMM = 1


REPO = Path(__file__).resolve().parents[1]


def topology_path(name: str) -> Path:
    """A topology file as given, or relative to the repository (as in the usage lines)."""
    p = Path(name).expanduser()
    return p if p.is_absolute() or p.exists() or not (REPO / p).exists() else REPO / p


class _SystolicScenario(Scenario):
    """Reads the topology file while the options are validated, so a malformed row is a
    usage error (one line, exit 2) before any simulation."""

    def configure(self, *args: Any, **kwargs: Any) -> Config:
        config = super().configure(*args, **kwargs)
        if config.topology:
            read_topology(topology_path(config.topology))
        return config


scenario = _SystolicScenario(
    "systolic",
    "Dense int8 systolic array (OS/WS/IS) on GEMMs or a SCALE-Sim topology, per-layer report",
    params=[
        Param("rows", 8, min=1, max=64, help="array rows"),
        Param("cols", 8, min=1, max=64, help="array columns"),
        Param("dataflow", "os", choices=("os", "ws", "is"), help="what stays in the PEs"),
        Param("m", 64, min=1, max=4096, help="GEMM rows of A and C (without topology)"),
        Param("n", 48, min=1, max=4096, help="GEMM columns of B and C (without topology)"),
        Param("k", 72, min=1, max=4096, help="GEMM inner dimension (without topology)"),
        Param("topology", "", type="str", help="SCALE-Sim topology CSV: run all its layers"),
        Param("clock", "1 ns", type="time", min="250 ps", max="20 ns", help="array clock"),
        Param("memory", "lpddr4_3200", choices=("lpddr4_3200", "ddr4_2400", "hbm2"), help="DRAM"),
    ],
    engines={"array": Engine(IMPLS, default="rtl", help="the systolic array")},
    seed=1,
)


class _Layer:
    """One layer of the run: its GEMM operands and the golden result."""

    def __init__(self, name: str, a: np.ndarray, b: np.ndarray, golden: np.ndarray) -> None:
        self.name, self.a, self.b, self.golden = name, a, b, golden
        self.m, self.k = a.shape
        self.n = b.shape[1]


def _layers(cfg: Config) -> list[_Layer]:
    rng = cfg.rng()
    if not cfg.topology:
        a = rng.integers(-128, 128, (cfg.m, cfg.k), dtype=np.int8)
        b = rng.integers(-128, 128, (cfg.k, cfg.n), dtype=np.int8)
        return [_Layer("gemm", a, b, golden_matmul(a, b))]
    out = []
    for layer in read_topology(topology_path(cfg.topology)):
        conv: ConvLayer = layer
        x, w = conv.operands(rng)
        a, b = conv.lower(x, w)
        out.append(_Layer(conv.name, a, b, conv.golden(x, w)))
    return out


def _array_events(mp: Mapping, rows: int, cols: int) -> dict[str, tuple[str, float]]:
    """Energy events of one GEMM on the array (cosim.accel.costs entries): the useful
    MACs (padding PEs see zeros and are clock-gated), operand and partial-sum bits moved
    between neighbouring PEs, and result rows read out."""
    pes = rows * cols
    t, f = mp.temporal, mp.folds
    if mp.dataflow == "OS":
        hops = f * t * pes * 16  # an int8 right and an int8 down per PE per beat
        results = f * pes
    else:
        hops = f * (t * pes * (8 + 32) + rows * pes * 8)  # streamed int8, psum, tile load
        results = f * t * cols
    return {
        "mult": ("int8_mult", mp.macs),
        "add": ("int32_add", mp.macs),
        "pe_hops": ("pe_hop_bit", hops),
        "result_read": ("rf_access_32b", results),
    }


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    dataflow = cfg.dataflow.upper()
    layers = _layers(cfg)
    soc = cosim.build_soc(sim, memory=cfg.memory)
    costs.define_entries(sim)
    waves = {"waves": "array.fst"} if cfg.wave == "array" else {}
    sa = systolic_array(
        sim,
        "array",
        impl=cfg.engines["array"],
        rows=cfg.rows,
        cols=cfg.cols,
        dataflow=dataflow,
        clock=cfg.clock,
        **waves,
    )
    lay = sa.layout
    engine = EnginePorts(
        "array", sa.impl, {"csr": sa.csr, "in": sa.data_in, "out": sa.data_out}, sa.done, sa.model
    )
    device = Accelerator(sim, soc, "accel", base=ACCEL_BASE, clock=cfg.clock)
    device.attach(engine, streams=("in", "out"))
    driver = AcceleratorDriver(soc.host, device)
    csr, port_in, port_out = (device.address(engine, p) for p in ("csr", "in", "out"))

    @device.command(CMD_GEMM, "gemm")
    async def gemm(seq: Sequencer) -> list[int]:
        m, n, k = seq.args[:3]
        a_at, b_at, c_at = seq.arg64(3), seq.arg64(5), seq.arg64(7)
        a = (await seq.read(a_at, m * k)).view(np.int8).reshape(m, k)
        b = (await seq.read(b_at, k * n)).view(np.int8).reshape(k, n)
        job = gemm_job(lay, a, b)  # the operand formatter
        await seq.write32(csr + REGISTERS["DEPTH"], job.depth)
        await seq.write32(csr + REGISTERS["FOLDS"], job.folds)
        await seq.write32(csr + REGISTERS["CTRL"], 1)
        rows: list[np.ndarray] = []

        async def take_results() -> None:
            rows.append(await seq.mover.read(port_out, job.result_rows * lay.row_bytes))

        reader = cosim.spawn(take_results())
        await seq.send(port_in, job.beats, chunk=len(job.beats), beat=lay.beat_bytes)
        await reader
        c = gemm_result(lay, job, lay.results(rows[0]))  # the output accumulator
        await seq.write(c_at, np.ascontiguousarray(c).view(np.uint8).reshape(-1))
        for kind, (key, count) in _array_events(job.mapping, lay.rows, lay.cols).items():
            cosim.energy.charge(sim, "array", kind, key, count)
        return [await seq.read32(csr + REGISTERS["CYCLES"])]

    # DRAM: every layer's A, B and C; the scratchpad holds one layer at a time.
    def pages(size: int) -> int:
        return -(-size // 4096) * 4096

    mem = soc.dram.array()
    placed = []
    off = soc.DATA - soc.DRAM
    for ly in layers:
        at = {}
        for name, data in (("a", ly.a), ("b", ly.b), ("c", None)):
            size = ly.m * ly.n * 4 if data is None else data.size
            at[name] = soc.DRAM + off
            if data is not None:
                mem[off : off + size] = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
            off += pages(size)
        placed.append(at)
        need = pages(ly.a.size) + pages(ly.b.size) + ly.m * ly.n * 4
        if need > soc.scratchpad.size:
            raise cosim.ParameterError(
                f"scenario 'systolic': layer '{ly.name}' ({ly.m}x{ly.k}x{ly.n}) needs "
                f"{need >> 10} KiB of scratchpad, more than its {soc.scratchpad.size >> 10} KiB"
            )
    figs: list[dict[str, Any]] = []
    fig: dict[str, Any] = {}

    @sim.process
    async def host_program() -> None:
        for i, (ly, at) in enumerate(zip(layers, placed, strict=True)):
            spad_a = soc.SPAD
            spad_b = spad_a + pages(ly.a.size)
            spad_c = spad_b + pages(ly.b.size)
            meter = PhaseMeter(sim)
            await soc.dma_driver.run(
                [
                    Descriptor(src=at["a"], dst=spad_a, row_bytes=ly.a.size),
                    Descriptor(src=at["b"], dst=spad_b, row_bytes=ly.b.size),
                ],
                at=soc.DESCRIPTORS,
            )
            args = [ly.m, ly.n, ly.k, *split64(spad_a), *split64(spad_b), *split64(spad_c)]
            (array_cycles,) = await driver.run(CMD_GEMM, *args, results=1)
            await soc.dma_driver.run(
                [Descriptor(src=spad_c, dst=at["c"], row_bytes=ly.m * ly.n * 4)],
                at=soc.DESCRIPTORS,
            )
            p = meter.stop()
            figs.append(
                {
                    "array_cycles": array_cycles,
                    "time": p.time_ps,
                    "energy": p.flat(),
                    "dram": int(p.stats(("dram.bytes_read", "dram.bytes_written"))),
                }
            )
            report_progress(i + 1, len(layers) + 1, unit="layers")
        meter = PhaseMeter(sim)
        for ly in layers:
            await soc.host.run_kernel(
                flops=2.0 * ly.m * ly.n * ly.k, bytes=float(ly.a.size + ly.b.size + 4 * ly.m * ly.n)
            )
        p = meter.stop()
        fig["host"] = (p.time_ps, sum(p.flat().values()))
        report_progress(len(layers) + 1, len(layers) + 1, unit="layers")

    sim.run()
    results = []
    for ly, at in zip(layers, placed, strict=True):
        o = at["c"] - soc.DRAM
        results.append(mem[o : o + ly.m * ly.n * 4].copy().view("<i4").reshape(ly.m, ly.n))
    out = _results(cfg, layers, figs, fig["host"], results)
    # The array at 45 nm (cosim.area): per PE an int8 multiplier and a 32-bit adder, in
    # registers its operand pipeline (8 + 8 bits) and its accumulator (output stationary:
    # the accumulator and the copy that drains while the next fold runs), and the
    # scratchpad the layers are staged in. The baseline is the host CPU (no area here).
    pes = cfg.rows * cfg.cols
    silicon = area.estimate(
        ops={"int8_mult": pes, "int32_add": pes},
        srams={"scratchpad": (1, soc.scratchpad.size)},
        register_bits=pes * (16 + (64 if cfg.dataflow.upper() == "OS" else 32)),
    )
    out["area_mm2"] = silicon.mm2
    out["extras"]["area_mm2_by_part"] = silicon.by_part_mm2()
    return out


def _results(
    cfg: Config,
    layers: list[_Layer],
    figs: list[dict[str, Any]],
    host: tuple[int, float],
    results: list[np.ndarray],
) -> dict[str, Any]:
    r, c, clock = cfg.rows, cfg.cols, cfg.clock
    pes = r * c
    table = []
    for ly, f, res in zip(layers, figs, results, strict=True):
        mp = Mapping(cfg.dataflow.upper(), r, c, ly.m, ly.n, ly.k)
        total = f["array_cycles"]
        schedule = job_cycles(mp.dataflow, r, c, mp.temporal, mp.folds)
        stall = max(total - schedule, 0)
        table.append(
            {
                "layer": ly.name,
                "gemm": f"{ly.m}x{ly.k}x{ly.n}",
                "folds": mp.folds,
                "total_cycles": total,
                "stall_cycles": stall,
                "overall_util": mp.macs / (total * pes),
                "mapping_efficiency": mp.mapping_efficiency,
                "compute_util": mp.macs / (max(total - stall, 1) * pes),
                "model_cycles": mp.scalesim_cycles(),
                "end_to_end_cycles": round(f["time"] / clock),
                "dram_bytes": f["dram"],
                "energy_pj": sum(f["energy"].values()),
                "golden_ok": bool(np.array_equal(res, ly.golden)),
                "macs": mp.macs,
            }
        )
    cycles = sum(t["total_cycles"] for t in table)
    total_cycles = sum(t["end_to_end_cycles"] for t in table)
    model = sum(t["model_cycles"] for t in table)
    macs = sum(t["macs"] for t in table)
    energy = sum(t["energy_pj"] for t in table)
    host_cycles, host_energy = round(host[0] / clock), host[1]
    used = sum(t["mapping_efficiency"] * t["folds"] for t in table)
    metrics = {
        "golden_ok": all(t["golden_ok"] for t in table),
        "cycles": cycles,
        "total_cycles": total_cycles,
        "baseline_cycles": host_cycles,
        "speedup": host_cycles / cycles,
        "end_to_end_speedup": host_cycles / total_cycles,
        "energy_pj": energy,
        "baseline_energy_pj": host_energy,
        "energy_ratio": host_energy / energy,
        "dram_bytes": sum(t["dram_bytes"] for t in table),
        "model_cycles": model,
        "model_error": cycles / model - 1,
        "stall_cycles": sum(t["stall_cycles"] for t in table),
        "utilisation": macs / (cycles * pes),
        "mapping_efficiency": used / sum(t["folds"] for t in table),
        "layers": len(table),
        "macs": macs,
    }
    digest = hashlib.sha256(b"".join(x.tobytes() for x in results)).hexdigest()
    extras = {"layers": table, "output_digest": digest}
    return {**metrics, "report": _report(cfg, metrics, table), "extras": extras}


def _report(cfg: Config, m: dict[str, Any], table: list[dict[str, Any]]) -> str:
    what = f"topology {cfg.topology}" if cfg.topology else f"GEMM {cfg.m}x{cfg.k}x{cfg.n}"
    lines = [
        f"Systolic array {cfg.rows}x{cfg.cols} {cfg.dataflow.upper()}, {what}, "
        f"{1e6 / cfg.clock:.0f} MHz, {cfg.memory}; engine array={cfg.engines['array']}",
        f"  golden check : {'OK' if m['golden_ok'] else 'MISMATCH'} "
        f"({sum(t['golden_ok'] for t in table)} of {len(table)} layers bit-exact vs numpy)",
        "",
        f"  {'layer':<10}{'GEMM MxKxN':>15}{'folds':>7}{'total cyc':>11}{'stall':>8}"
        f"{'overall':>9}{'mapping':>9}{'compute':>9}{'model cyc':>11}{'end2end':>10}"
        f"{'DRAM B':>10}{'energy':>11}",
    ]
    for t in table:
        lines.append(
            f"  {t['layer']:<10}{t['gemm']:>15}{t['folds']:>7}{t['total_cycles']:>11,}"
            f"{t['stall_cycles']:>8,}{t['overall_util']:>9.1%}{t['mapping_efficiency']:>9.1%}"
            f"{t['compute_util']:>9.1%}{t['model_cycles']:>11,}{t['end_to_end_cycles']:>10,}"
            f"{t['dram_bytes']:>10,}{fmt_energy(t['energy_pj']):>11}"
        )
    lines += [
        "",
        f"  array cycles {m['cycles']:,} vs the analytical model's {m['model_cycles']:,} "
        f"({m['model_error']:+.1%}); end to end with DMA {m['total_cycles']:,} cycles; "
        f"utilisation {m['utilisation']:.1%}, mapping efficiency {m['mapping_efficiency']:.1%}",
        f"  host CPU (roofline) {m['baseline_cycles']:,} cycles, "
        f"{fmt_energy(m['baseline_energy_pj'])}: the array computes {m['speedup']:.2f}x faster "
        f"({m['end_to_end_speedup']:.2f}x end to end), {m['energy_ratio']:.2f}x less energy",
        "  (stall = cycles beyond the array's own schedule; control logic not charged)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    scenario.main()
