"""magicube: SpMM of a vector-sparse int8/int4 A (M x K) by a dense B (K x N), or SDDMM (Q K^T
at a vector-sparse mask), on an MMA tile fed by a gather unit (Magicube, Li et al., SC
2022), against the dense product on the same tile and a scalar sparse engine of equal
multipliers, on one system (host, fabric, DMA, scratchpad, HBM2). Outputs checked
bit-exactly against numpy. docs/accelerators/magicube.md."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel import magicube
from cosim.accel.magicube import format as fmt
from cosim.accel.magicube import system as msys
from cosim.accel.magicube.workload import generate, generate_sddmm, golden, sddmm_golden
from cosim.accel.phase import PhaseMeter
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host

CLOCK_PS = 1000  # the engine clock, 1 GHz (cosim.accel.magicube.system.CLOCK)
DRAM_BYTES = ("dram.bytes_read", "dram.bytes_written")

scenario = Scenario(
    "magicube",
    "Magicube vector-sparse SpMM on an int8/int4 MMA tile vs dense on the tile and scalar CSR",
    params=[
        Param("m", 256, min=16, max=1024, help="rows of A and C (a multiple of 16)"),
        Param("k", 256, min=16, max=1024, help="columns of A, rows of B (a multiple of 16)"),
        Param("n", 256, min=16, max=1024, help="columns of B and C (a multiple of 16)"),
        Param("sparsity", 0.9, min=0.0, max=0.99, help="fraction of A's v-long vectors zero"),
        Param("v", 8, choices=(2, 4, 8), help="vector length (rows of a nonzero vector)"),
        Param("bits", 8, choices=(8, 4), help="operand precision: int8 or int4"),
        Param(
            "kernel",
            "spmm",
            choices=("spmm", "sddmm"),
            help="spmm: C = A B with A vector-sparse (m x k) and B dense (k x n); sddmm: the "
            "scores Q K^T (Q m x n, K k x n) at a vector-sparse m x k mask",
        ),
        Param("memory", "hbm2", choices=("hbm2", "ddr4_2400"), help="DRAM preset"),
        HOST_PARAM,
    ],
    engines={
        "magicube": Engine(
            ("functional", "tlm", "rtl"), default="rtl", help="gather unit + MMA tile"
        )
    },
    seed=1,
)


def silicon() -> area.Estimate:
    """The MMA tile (512 int8 multipliers and 32-bit adders), the gather buffer (1024 B
    rows of 16 bytes) and the 8 x 16 int32 accumulators, at 45 nm (cosim.area). The
    scalar CSR baseline has equal multipliers, adders and buffer, so the same area."""
    return area.estimate(
        ops={"int8_mult": msys.MULTS, "int32_add": msys.MULTS},
        srams={"gather_buffer": (1, 16 * magicube.engine.MAX_K)},
        register_bits=fmt.TILE_ROWS * fmt.LANES * 32,
    )


def csr(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(a)
    ptr = np.zeros(a.shape[0] + 1, "<u4")
    np.cumsum(np.bincount(rows, minlength=a.shape[0]), out=ptr[1:])
    return ptr, cols.astype("<u2"), a[rows, cols].astype(np.int8)


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    for name in ("m", "k", "n"):
        if getattr(cfg, name) % 16:
            raise cosim.ParameterError(f"{name} = {getattr(cfg, name)}: must be a multiple of 16")
    m, k, v, bits = cfg.m, cfg.k, cfg.v, cfg.bits
    soc = cosim.build_soc(sim, memory=cfg.memory)
    acc = msys.MagicubeAccelerator(sim, soc, cfg.engines["magicube"])
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, "magicube")

    plan = spmm_plan(cfg) if cfg.kernel == "spmm" else sddmm_plan(cfg)
    sp, blobs = plan["sparse"], plan["blobs"]
    at: dict[str, int] = {}
    off, mem = soc.DATA - soc.DRAM, soc.dram.array()
    for name, data in blobs.items():
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        at[name] = soc.DRAM + off
        mem[off : off + len(raw)] = raw
        off += -(-max(len(raw), 1) // 4096) * 4096
    for name in ("c_sparse", "c_dense", "c_scalar"):
        at[name] = soc.DRAM + off
        off += -(-4 * plan["out_words"] // 4096) * 4096
    if off > soc.dram.capacity:
        raise cosim.ParameterError(f"the workload needs {off >> 20} MiB of DRAM, too much")
    runs: dict[str, Any] = {}
    res: dict[str, int] = {}

    @sim.process
    async def host() -> None:
        for run_name, (cmd, operand, *args) in plan["commands"].items():
            meter = PhaseMeter(sim)
            flat = [x for a in args for x in (split(at[a]) if isinstance(a, str) else (a,))]
            res[run_name] = await acc.run(cmd, at[operand], at[f"c_{run_name}"], *flat)
            runs[run_name] = meter.stop()
        if cpu is not None:
            await acc.driver.close()

    sim.run()
    if cpu is not None:
        cpu.check_exit()
    outs = {r: plan["read"](r, mem, at[f"c_{r}"] - soc.DRAM) for r in runs}
    ok = {r: bool(np.array_equal(c, plan["golden"])) for r, c in outs.items()}
    s, d, c = runs["sparse"], runs["dense"], runs["scalar"]
    cycles, dense_cycles, scalar_cycles = (round(p.time_ps / CLOCK_PS) for p in (s, d, c))
    density = sp.vectors / (m // v * k)
    silicon_est = silicon()
    res["mma_ops"], res["dense_mma_ops"] = res["sparse"], res["dense"]
    useful = sp.vectors * v * plan["useful_per_vector"]  # products the kept vectors need
    speedup, vs_scalar = dense_cycles / cycles, scalar_cycles / cycles
    metrics = {
        "golden_ok": all(ok.values()),
        "cycles": cycles,
        "baseline_cycles": dense_cycles,
        "speedup": speedup,
        "speedup_bound": 1.0 / max(density, 1.0 / (m // v * k)),
        "scalar_cycles": scalar_cycles,
        "speedup_vs_scalar": vs_scalar,
        "energy_pj": s.energy_pj,
        "baseline_energy_pj": d.energy_pj,
        "scalar_energy_pj": c.energy_pj,
        "energy_ratio": d.energy_pj / s.energy_pj,
        "energy_ratio_vs_scalar": c.energy_pj / s.energy_pj,
        "dram_bytes": int(s.stats(DRAM_BYTES)),
        "baseline_dram_bytes": int(d.stats(DRAM_BYTES)),
        "scalar_dram_bytes": int(c.stats(DRAM_BYTES)),
        "mma_ops": res["mma_ops"],
        "dense_mma_ops": res["dense_mma_ops"],
        "nonzero_vectors": sp.vectors,
        "vector_density": density,
        "utilisation": useful / (res["mma_ops"] * fmt.TILE_ROWS * fmt.SLOTS[bits] * fmt.LANES),
        "throughput_gops": 2 * useful / (s.time_ps / 1000),
        "area_mm2": silicon_est.mm2,
        "baseline_area_mm2": silicon_est.mm2,
    }
    metrics["report"] = report(cfg, metrics, ok, runs)
    metrics["extras"] = {
        "energy_breakdown_pj": cosim.energy.by_component(s.energy),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(d.energy),
        "scalar_energy_breakdown_pj": cosim.energy.by_component(c.energy),
        "area_mm2_by_part": silicon_est.by_part_mm2(),
        "golden_by_run": ok,
        "host": cfg.host,
        "output_digest": hashlib.sha256(outs["sparse"].tobytes()).hexdigest(),
    }
    return metrics


def spmm_plan(cfg: Config) -> dict[str, Any]:
    """SpMM: A vector-sparse (m x k) times B (k x n); C tile-major in DRAM."""
    m, k, n, v, bits = cfg.m, cfg.k, cfg.n, cfg.v, cfg.bits
    wl = generate(cfg.rng(), m, k, n, cfg.sparsity, v, bits)
    stream, counts = fmt.stream_image(wl.sparse, bits)
    ptr, col, val = csr(wl.a)
    shape = (m, k, n)
    return {
        "sparse": wl.sparse,
        "blobs": {
            "b": np.concatenate([fmt.b_tile(wl.b, t) for t in range(n // 16)]),
            "stream": stream, "counts": counts, "dense": wl.a.view(np.uint8),
            "ptr": ptr, "col": col, "val": val,
        },
        "commands": {
            "sparse": (msys.SPMM, "b", *shape, v, bits, "stream", "counts"),
            "dense": (msys.DENSE, "b", *shape, 8, bits, "dense"),
            "scalar": (msys.SCALAR, "b", *shape, 0, bits, "ptr", "col", "val"),
        },
        "out_words": m * n,
        "read": lambda run, mem, off: c_from_tiles(mem, off, m, n),
        "golden": golden(wl.a, wl.b),
        "useful_per_vector": n,
    }  # fmt: skip


def sddmm_plan(cfg: Config) -> dict[str, Any]:
    """SDDMM: Q (m x n) K^T (n x k) at a vector-sparse m x k mask; the kept scores group by
    group, v per vector; the dense baseline computes all of Q K^T on the same tile."""
    m, nk, d, v, bits = cfg.m, cfg.k, cfg.n, cfg.v, cfg.bits
    if d > magicube.engine.MAX_K:
        raise cosim.ParameterError(f"n = {d}: the feature dimension must be <= 1024 for sddmm")
    wl = generate_sddmm(cfg.rng(), m, nk, d, cfg.sparsity, v, bits)
    cols = np.concatenate([*wl.mask.cols, np.zeros(0, int)]).astype("<u4")
    counts = np.array([len(c) for c in wl.mask.cols], "<u4")
    kt = wl.keys.T
    shape = (m, d, nk)
    want = sddmm_golden(wl.q, wl.keys, wl.mask)

    def read(run: str, mem: np.ndarray, off: int) -> np.ndarray:
        if run == "dense":  # the whole Q K^T, sampled at the mask afterwards
            full = c_from_tiles(mem, off, m, nk)
            groups = enumerate(wl.mask.cols)
            parts = [full[g * v : (g + 1) * v, c].T.reshape(-1) for g, c in groups]
            return np.concatenate([*parts, np.zeros(0, np.int32)])
        return mem[off : off + 4 * len(want)].view("<i4").copy()

    return {
        "sparse": wl.mask,
        "blobs": {
            "keys": wl.keys, "q": wl.q, "cols": cols, "counts": counts,
            "kt": np.concatenate([fmt.b_tile(kt, t) for t in range(nk // 16)]),
        },
        "commands": {
            "sparse": (msys.SDDMM, "keys", *shape, v, bits, "q", "cols", "counts"),
            "dense": (msys.DENSE, "kt", *shape, 8, bits, "q"),
            "scalar": (msys.SCALAR_SDDMM, "keys", *shape, v, bits, "q", "cols", "counts"),
        },
        "out_words": max(m * nk, len(want)),
        "read": read,
        "golden": want,
        "useful_per_vector": d,
    }  # fmt: skip


def split(addr: int) -> tuple[int, int]:
    return addr & 0xFFFF_FFFF, addr >> 32


def c_from_tiles(mem: np.ndarray, off: int, m: int, n: int) -> np.ndarray:
    """C (m x n int32) from its tile-major image (n / 16 tiles of m rows x 16)."""
    raw = mem[off : off + 4 * m * n].view("<i4").reshape(n // 16, m, 16)
    return raw.transpose(1, 0, 2).reshape(m, n)


def report(cfg: Config, mt: dict[str, Any], ok: dict[str, bool], runs: dict[str, Any]) -> str:
    lines = [
        f"magicube {cfg.kernel}: {cfg.m}x{cfg.k} A/mask, int{cfg.bits}, v = {cfg.v}, "
        f"{cfg.sparsity:.0%} vector "
        f"sparsity (vector density {mt['vector_density']:.3f}) x {cfg.n} columns/features, "
        f"{cfg.memory}, engine {cfg.engines['magicube']}, host {cfg.host}",
        f"{'run':<28}{'cycles':>10}{'energy uJ':>11}{'DRAM KiB':>10}  golden",
    ]
    names = {
        "sparse": "Magicube (vector-sparse)",
        "dense": "dense on the same tile",
        "scalar": "scalar CSR engine",
    }
    for r, p in runs.items():
        lines.append(
            f"{names[r]:<28}{round(p.time_ps / CLOCK_PS):>10}{p.energy_pj / 1e6:>11.3f}"
            f"{p.stats(DRAM_BYTES) / 1024:>10.1f}  {'OK' if ok[r] else 'FAILED'}"
        )
    lines += [
        f"speedup vs dense {mt['speedup']:.2f}x (bound 1/vector density "
        f"{mt['speedup_bound']:.2f}x), vs scalar CSR {mt['speedup_vs_scalar']:.2f}x; "
        f"energy ratio vs dense {mt['energy_ratio']:.2f}x, vs scalar "
        f"{mt['energy_ratio_vs_scalar']:.2f}x",
        f"MMA steps {mt['mma_ops']} (dense {mt['dense_mma_ops']}) for "
        f"{mt['nonzero_vectors']} kept vectors; tile "
        f"utilisation {mt['utilisation']:.2f}; area {mt['area_mm2']:.3f} mm2 (45 nm)",
        f"MMA steps alone break even with dense at vector density v/8 = {cfg.v / 8:.3f} "
        f"({1 - cfg.v / 8:.1%} sparsity); measured crossovers in docs/accelerators/magicube.md",
        "energy by component (uJ), sparse / dense / scalar:",
    ]
    parts = [cosim.energy.by_component(runs[r].energy) for r in ("sparse", "dense", "scalar")]
    for comp in sorted(set().union(*parts)):
        vals = " / ".join(f"{p.get(comp, 0.0) / 1e6:.3f}" for p in parts)
        lines.append(f"  {comp:<20}{vals}")
    lines.append("control logic (sequencer, command window) is not charged energy")
    return "\n".join(lines)


if __name__ == "__main__":
    scenario.main()
