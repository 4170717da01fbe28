"""Near-data GEMV: y = A x run by near-bank
units in HBM, by the host, and by an accelerator behind the HBM interface, one after
the other in one simulation of one system.

    .venv/bin/python scenarios/ndp_gemv.py [--set m=2048 --set n=512] [--engine units=rtl]

The system (cosim.system.ndp_system.build_ndp_system): a host, a fabric as fast as the stack,
an HBM stack with `units_per_channel` near-bank units per pseudo channel (8: one per two
banks, as Samsung's HBM-PIM), and (cosim.accel.ndp_gemv.system) an accelerator on the SoC side with
MAC units of the same design as the near-bank ones (rtl/ndp_gemv/ndp_mac_unit.sv), as many as it
takes to match the stack's peak bandwidth. The three paths of an m x n GEMV:

- near-data: the host writes x to the units, issues GEMV, polls, reads y back; the units
  read A inside the banks (internal bandwidth) under the dram's JEDEC timing;
- host: the host streams A over the interface and computes with its roofline model;
  with cpu_baseline=riscv (needs host=riscv, int8) the host path is compiled C on the
  RISC-V core (sw/kernels/baselines.c) reading a row-major copy of A from the HBM
  through its data cache; the roofline host still runs and is reported beside it;
- accelerator: the host programs it; it streams A over the interface into its MAC units
  and writes y to the HBM; the host polls and reads y.

Engines: `units` is the near-bank units' datapath, `tlm` (the ndp model's C++ datapath,
tlm/ndp/unit_ops.h) or `rtl` (the Verilated MAC unit, clocked in C++ inside the ndp
model for every unit's stream); the units' timing is the ndp model's sequencer with
unit_latency = the MAC unit's pipeline depth in both cases. `accel` is the
accelerator's MAC units: functional (numpy), tlm (tlm/accel/ndp_gemv/mac_unit.cpp) or rtl.
Every y is checked against numpy (int8: exactly; fp16: bit-exactly against the units'
twin for the units and the accelerator, within the fp32 summation bound for the host).

Headline metrics: cycles / baseline_cycles are the near-data and host times in DRAM
clock cycles (the paper's comparison: near memory vs on the host); accel_* the third
path. Energies exclude DRAM refresh (background). The last line printed is one JSON
object of the metrics.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.ndp_gemv.mac_unit import latency, rtl_datapath
from cosim.accel.ndp_gemv.system import GemvAccelerator
from cosim.accel.phase import between, snapshot
from cosim.energy import fmt_energy
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system import ndp as ndp_regs
from cosim.system.ndp_layout import DTYPE_CODES, DTYPES, GEMV_OUT
from cosim.system.ndp_system import (
    build_ndp_system,
    check_gemv,
    gemv_workload,
    host_gemv,
    path_figures,
    system_figures,
)
from cosim.system.riscv_baseline import (
    KERNEL_SOURCE,
    add_kernels,
    describe,
    kernel_figures,
    run_kernel,
)
from cosim.system.riscv_host import SW_DIR, Board, RiscvHost, build_program

PATHS = ("ndp", "host", "accel")
LABELS = {"ndp": "near-data", "host": "host", "accel": "accelerator"}

scenario = Scenario(
    "ndp_gemv",
    "GEMV near the banks of HBM vs on the host vs on an accelerator behind the interface",
    params=[
        Param("m", 1024, min=1, max=1 << 16, help="rows of A (outputs)"),
        Param(
            "n",
            1024,
            min=1,
            max=2048,
            help="columns of A (x must fit the units' 2 KiB buffer: n <= 2048 int8, 1024 fp16)",
        ),
        Param("dtype", "int8", choices=("int8", "fp16"), help="element type of A and x"),
        Param("memory", "hbm2", choices=("hbm2", "hbm3"), help="HBM preset"),
        Param(
            "units_per_channel",
            8,
            choices=(1, 2, 4, 8, 16),
            help="near-bank units per pseudo channel",
        ),
        Param(
            "accel_units",
            0,
            min=0,
            max=64,
            help="MAC units of the accelerator (0: enough to match the stack's peak bandwidth)",
        ),
        Param(
            "accel_streams", 32, min=1, max=256, help="1 KiB reads the accelerator keeps in flight"
        ),
        Param(
            "host",
            "python",
            choices=("python", "riscv"),
            help="who drives the near-data units: the Python driver, or the C driver "
            "sw/drivers/ndp_gemv.c compiled for the RISC-V core",
        ),
        Param(
            "cpu_baseline",
            "roofline",
            choices=("roofline", "riscv"),
            help="the host GEMV baseline: the host_cpu roofline, or compiled C on the RISC-V "
            "core against the simulated HBM (needs host=riscv and dtype=int8)",
        ),
    ],
    engines={
        "units": Engine(
            ("tlm", "rtl"),
            default="tlm",
            help="near-bank units' datapath: the ndp model's C++ (tlm) or the MAC unit RTL",
        ),
        "accel": Engine(
            ("functional", "tlm", "rtl"),
            default="tlm",
            help="the accelerator's MAC units (rtl/ndp_gemv/ndp_mac_unit.sv and its twins)",
        ),
    },
)


#: The mailbox the scenario leaves for the C driver (struct cosim_ndp_gemv_args in its
#: generated header): (field, bytes); offsets are from the mailbox's base.
NDP_GEMV_ARGS = (
    ("a", 8),
    ("y", 8),
    ("m", 4),
    ("n", 4),
    ("dtype", 4),
    ("x_bytes", 4),
    ("x_offset", 4),
    ("nranges", 4),
    ("ranges_offset", 4),
    ("out_offset", 4),
)


def riscv_driver(sim: cosim.Simulation, system: Any) -> RiscvHost:
    """The RISC-V core on the system's SoC running sw/drivers/ndp_gemv.c, built for this
    system's board (memory map, the ndp's registers and codes from cosim.system.ndp)."""
    # a 32 KiB L1 data cache over DRAM (the units write y behind it: the driver flushes)
    board = Board.for_soc(system.soc, echo=False, dcache_bytes=32 << 10)
    board.cached = {"dram"}
    board.registers["ndp"] = dict(ndp_regs.REGISTERS)
    board.constants.update({f"NDP_{k}": v for k, v in ndp_regs.CODES.items()})
    board.irqs.update({"go": 1, "done": 2})
    board.structs["ndp_gemv_args"] = NDP_GEMV_ARGS
    add_kernels(board)  # the host CPU baseline on line KERNEL
    elf = build_program([SW_DIR / "drivers" / "ndp_gemv.c", KERNEL_SOURCE], board)
    return RiscvHost.on_soc(sim, system.soc, board, elf)


async def riscv_gemv(cpu: RiscvHost, a: Any, x: np.ndarray, y: Any) -> np.ndarray:
    """The near-data path with the C driver: leave A's and y's addresses, x and the runs
    of adjacent y elements (address, bytes) in the mailbox, start the driver (line GO),
    wait for its signal and put the elements it copied back in order."""
    base, size = cpu.board.mailbox
    ram = cpu.model.ram_view()
    off = base - int(cpu.board.param("ram_base"))
    # y's elements by unit: element i is in unit i % T, next to element i + T
    units = y.geometry.units
    order = [i for t in range(min(units, y.m)) for i in range(t, y.m, units)]
    where = [y.row_location(i)["address"] for i in order]
    item = y.itemsize
    ranges: list[tuple[int, int]] = []
    for addr in where:
        if ranges and ranges[-1][0] + ranges[-1][1] == addr:
            ranges[-1] = (ranges[-1][0], ranges[-1][1] + item)
        else:
            ranges.append((addr, item))
    head = struct.Struct("<" + "".join("Q" if n == 8 else "I" for _, n in NDP_GEMV_ARGS))
    x_bytes = np.ascontiguousarray(x).view(np.uint8)
    ranges_offset = 64
    x_offset = ranges_offset + 16 * len(ranges)
    out_offset = x_offset + (len(x_bytes) + 7) // 8 * 8
    total = sum(n for _, n in ranges)
    if out_offset + total > size:
        raise cosim.ParameterError(
            f"scenario 'ndp_gemv': host=riscv: x and y ({out_offset + total} B) do not fit the "
            f"core's {size} B mailbox; raise the riscv_cpu ram_size"
        )
    fields = (a.address, y.address, a.m, a.n, DTYPE_CODES[a.dtype], len(x_bytes), x_offset)
    fields += (len(ranges), ranges_offset, out_offset)
    ram[off : off + head.size] = np.frombuffer(head.pack(*fields), np.uint8)
    flat = np.array([v for r in ranges for v in r], dtype=np.uint64).view(np.uint8)
    ram[off + ranges_offset : off + ranges_offset + len(flat)] = flat
    ram[off + x_offset : off + x_offset + len(x_bytes)] = x_bytes
    cpu.model.raise_irq(cpu.board.irqs["go"])
    await cpu.model.event("signal")
    values = ram[off + out_offset : off + out_offset + total].copy().view(DTYPES[y.dtype])
    result = np.empty(y.m, dtype=DTYPES[y.dtype])
    result[order] = values
    return result


@scenario.check
def check_cpu_baseline(cfg: Config) -> str | None:
    if cfg.cpu_baseline == "riscv" and cfg.host != "riscv":
        return "cpu_baseline=riscv runs on the RISC-V core: set host=riscv too"
    if cfg.cpu_baseline == "riscv" and cfg.dtype != "int8":
        return (
            f"cpu_baseline=riscv runs an int8 GEMV; dtype={cfg.dtype} has no C kernel "
            "(RV64GC has no half-precision unit): use dtype=int8 or cpu_baseline=roofline"
        )
    return None


def place_host_copy(system: Any, a_np: np.ndarray, x_np: np.ndarray, *taken: Any) -> dict:
    """The C baseline's operands, put into the HBM before the kernel (as a program
    loader would; no simulated time): A row-major, x, and room for y, from the SoC's
    data area up; the near-data regions `taken` are allocated from the top rows down
    and must not overlap."""
    soc = system.soc
    mem = soc.dram.array()
    at, off = {}, soc.DATA - soc.DRAM
    for name, data in (("a", a_np), ("x", x_np), ("y", np.zeros(a_np.shape[0], np.int32))):
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        at[name] = soc.DRAM + off
        mem[off : off + len(raw)] = raw
        off += -(-len(raw) // 4096) * 4096
    low = min(addr for t in taken for addr, _ in t.ranges())
    if off > low:
        raise cosim.ParameterError(
            f"scenario 'ndp_gemv': cpu_baseline=riscv: the row-major copy of A ends at "
            f"{off:#x}, above the near-data regions (from {low:#x}); lower m or n"
        )
    return at


@scenario.check
def check_size(cfg: Config) -> None:
    e = 2 if cfg.dtype == "fp16" else 1
    if cfg.n * e > 2048:
        raise cosim.ParameterError(
            f"scenario 'ndp_gemv': parameter 'n' = {cfg.n} with dtype {cfg.dtype}: x ({cfg.n * e}"
            " B) must fit the units' 2048-byte vector buffer; allowed n <= "
            f"{2048 // e} for {cfg.dtype}"
        )


def us(ps: float) -> str:
    return f"{ps / 1e6:.3f} us"


def report(
    cfg: Config, sysfig: dict[str, Any], runs: dict[str, dict[str, Any]], extra: dict[str, Any]
) -> str:
    lines = [
        f"cosim near-data GEMV: y = A x, A {cfg.m}x{cfg.n} {cfg.dtype}, on {sysfig['memory']}",
        f"  near-bank units: {sysfig['units']} ({sysfig['units_per_channel']} per pseudo channel), "
        f"datapath {cfg.engines['units']} (unit_latency {extra['unit_latency']} cycles); internal "
        f"peak {sysfig['peak_internal_bandwidth'] / 1e9:.0f} GB/s, interface peak "
        f"{sysfig['peak_external_bandwidth'] / 1e9:.0f} GB/s",
        f"  accelerator: {extra['accel_units']} MAC units ({cfg.engines['accel']}) of "
        f"{extra['burst']} B/cycle at the DRAM clock, {cfg.accel_streams} x 1 KiB reads in "
        f"flight, staging peak {extra['staging_peak'] / 1024:.0f} KiB",
        "  host: "
        + (
            "the C driver sw/drivers/ndp_gemv.c on the RISC-V core (riscv_cpu) drives the "
            "near-data path; the Python driver the accelerator path"
            if cfg.host == "riscv"
            else "the Python driver (host_cpu cost model) drives every path"
        )
        + (
            "; the host path is compiled C on that core (sw/kernels/baselines.c, "
            "cpu_baseline=riscv)"
            if cfg.cpu_baseline == "riscv"
            else "; the host baseline is the roofline model (host_cpu; cpu_baseline=roofline)"
        ),
        f"  {'path':<12} {'time':>10} {'speed-up':>9} {'internal BW':>12} {'external BW':>12} "
        f"{'DRAM bytes':>11} {'energy':>10} {'vs host':>8}  golden",
    ]
    host = runs["host"]
    for p in PATHS:
        f = runs[p]
        lines.append(
            f"  {LABELS[p]:<12} {us(f['time_ps']):>10} {host['time_ps'] / f['time_ps']:>8.2f}x "
            f"{f['internal_bandwidth'] / 1e9:>7.1f} GB/s "
            f"{f['external_bandwidth'] / 1e9:>7.1f} GB/s "
            f"{f['external_bytes']:>11,} {fmt_energy(f['energy_pj']):>10} "
            f"{host['energy_pj'] / f['energy_pj']:>7.2f}x  {'OK' if f['ok'] else 'MISMATCH'}"
        )
    if "kernel" in runs:
        k, rf = runs["kernel"], runs["host_roofline"]
        lines.append(
            f"  host, roofline model: {us(rf['time_ps'])} "
            f"({'OK' if rf['ok'] else 'MISMATCH'}); the C GEMV: {k['instructions']:,} "
            f"instructions, {k['cache_misses']:,} cache misses, {k['cpi']:.2f} core cycles per "
            f"instruction on {extra['cpu_core']}"
        )
    ndp = runs["ndp"]
    lines.append(
        f"  near-data command alone: {us(ndp['kernel_time_ps'])} "
        f"({ndp['kernel_internal_bandwidth'] / 1e9:.0f} GB/s in the banks); "
        f"near-data vs accelerator: {runs['accel']['time_ps'] / ndp['time_ps']:.2f}x faster, "
        f"{runs['accel']['energy_pj'] / ndp['energy_pj']:.2f}x less energy"
    )
    af = extra["accel_figures"]
    stream_ps = af.stream_end_ps - af.stream_start_ps
    lines.append(
        f"  accelerator phases: A streamed in {us(stream_ps)} "
        f"({af.bytes_streamed / (stream_ps * 1e-12) / 1e9:.0f} GB/s, "
        f"{100 * af.bytes_streamed / (stream_ps * 1e-12) / sysfig['peak_external_bandwidth']:.0f}% "
        f"of the interface peak); compute ended {(af.compute_end_ps - af.stream_end_ps) / 1e3:.0f}"
        f" ns after the last block; set-up, y write-back and read-back take the rest"
    )
    lines.append("  energy by component:")
    for p in PATHS:
        parts = ", ".join(
            f"{c} {fmt_energy(pj)}"
            for c, pj in sorted(runs[p]["energy_by_component"].items(), key=lambda kv: -kv[1])
        )
        lines.append(f"    {LABELS[p]:<11}: {parts}")
    lines.append(
        "  (time end to end: registers, x, compute, y back to the host; internal = bytes moved"
        " in or\n   out of the banks, external = over the HBM interface; DRAM refresh energy "
        "excluded)"
    )
    if cfg.cpu_baseline == "riscv":
        lines.append(
            "  host path's golden: the y the C GEMV wrote to the HBM, exact against numpy; the "
            "roofline\n   host's y is computed by numpy from the bytes that arrived over the "
            "interface"
        )
    else:
        lines.append(
            "  host path's golden: the host's y is computed by numpy from the bytes that arrived "
            "over the\n   interface (its time and energy come from the host's roofline model), so "
            "its check covers the\n   transport of A, not a computation on the host",
        )
    return "\n".join(lines)


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    check_size(cfg)
    if cfg.wave == "units":
        raise cosim.ParameterError(
            "scenario 'ndp_gemv': --wave units: the units' RTL datapath runs inside the ndp "
            "model's C++ harness, without waveforms; --wave accel dumps the accelerator's "
            "first MAC unit (the same RTL)"
        )
    info = cosim.system.dram.preset_info(cfg.memory)
    burst, tck = info["org"]["burst_bytes"], info["timing"]["tCK_ps"]
    xbytes = 2048
    ndp_params = (
        rtl_datapath(burst, xbytes)
        if cfg.engines["units"] == "rtl"
        else {"unit_latency": latency(burst)}
    )
    system = build_ndp_system(
        sim, memory=cfg.memory, units_per_channel=cfg.units_per_channel, ndp=ndp_params
    )
    peak = cosim.system.dram.peak_bandwidth(cfg.memory)
    units = cfg.accel_units or math.ceil(peak / (burst / (tck * 1e-12)))
    accel = GemvAccelerator(
        system,
        cfg.engines["accel"],
        units=units,
        streams=cfg.accel_streams,
        clock=tck,
        waves="ndp_gemv_accel_mac0.fst" if cfg.wave == "accel" else None,
    )
    a_np, x_np = gemv_workload(cfg.m, cfg.n, cfg.dtype, cfg.seed)
    cpu = riscv_driver(sim, system) if cfg.host == "riscv" else None
    drv = system.driver
    lanes = drv.geometry.lanes(cfg.dtype)
    runs: dict[str, dict[str, Any]] = {}

    @sim.process
    async def main() -> None:
        a = await drv.store(drv.matrix(cfg.m, cfg.n, cfg.dtype), a_np)
        y = drv.vector(cfg.m, GEMV_OUT[cfg.dtype])
        await drv.register(y)
        results = {}
        s0 = snapshot(sim)
        if cpu is None:
            await drv.gemv(a, x_np, y)
            results["ndp"] = await drv.load(y)
        else:
            results["ndp"] = await riscv_gemv(cpu, a, x_np, y)
        s1 = snapshot(sim)
        cmd = dict(system.ndp.last_command)
        report_progress(1, 3, unit="paths")
        results["host"] = await host_gemv(system, a, x_np)
        s2 = snapshot(sim)
        host_span = (s1, s2)
        if cfg.cpu_baseline == "riscv":  # the C GEMV replaces the roofline as the host path
            at = place_host_copy(system, a_np, x_np, a, y)
            run = await run_kernel(
                cpu, "gemv_i8", a=at["a"], b=at["x"], c=at["y"], m=cfg.m, n=cfg.n
            )
            off = at["y"] - system.soc.DRAM
            results["host_roofline"] = results["host"]
            results["host"] = system.soc.dram.array()[off : off + 4 * cfg.m].copy().view(np.int32)
            runs["host_roofline"] = path_figures(system, between(s1, s2))
            rf = check_gemv(a_np, x_np, results["host_roofline"], lanes, exact_twin=False)
            runs["host_roofline"]["ok"] = rf["ok"]
            runs["kernel"] = kernel_figures(run, tck)
            host_span = (s2, snapshot(sim))
            s2 = host_span[1]
        report_progress(2, 3, unit="paths")
        results["accel"] = await accel.driver.gemv(a, x_np)
        s3 = snapshot(sim)
        report_progress(3, 3, unit="paths")
        if cpu is not None:
            cpu.model.raise_irq(cpu.board.irqs["done"])  # the C driver exits: the run ends
        for p, (t0, t1) in zip(PATHS, ((s0, s1), host_span, (s2, s3)), strict=True):
            runs[p] = path_figures(system, between(t0, t1))
            check = check_gemv(a_np, x_np, results[p], lanes, exact_twin=p != "host")
            runs[p].update(ok=check["ok"], max_abs_error=check["max_abs_error"])
        runs["ndp"]["kernel_time_ps"] = cmd["done_ps"] - cmd["issued_ps"]
        runs["ndp"]["kernel_internal_bandwidth"] = (
            cmd["internal_read_bytes"] + cmd["internal_written_bytes"]
        ) / (runs["ndp"]["kernel_time_ps"] * 1e-12)
        runs["ndp"]["kernel_cycles"] = cmd["done_cycle"] - cmd["start_cycle"]

    sim.run()
    if cpu is not None:
        cpu.check_exit()
    sysfig = system_figures(system)
    ndp, host, acc = runs["ndp"], runs["host"], runs["accel"]
    cycles = {p: round(runs[p]["time_ps"] / tck) for p in PATHS}
    extra = {
        "unit_latency": drv.geometry.unit_latency,
        "accel_units": units,
        "burst": burst,
        "staging_peak": accel.figures.staging_peak_bytes,
        "accel_figures": accel.figures,
        "cpu_core": describe(cpu) if cpu is not None else None,
    }
    # The near-bank units at 45 nm (cosim.area): per unit, `lanes` multipliers and
    # accumulators of the element type and its x buffer; the host baseline adds none.
    mult, add = ("int8_mult", "int32_add") if cfg.dtype == "int8" else ("fp16_mult", "fp32_add")
    n_units = drv.geometry.units
    silicon = area.estimate(
        ops={mult: n_units * lanes, add: n_units * lanes},
        srams={"x_buffer": (n_units, xbytes)},
        register_bits=n_units * lanes * 32,
    )
    metrics: dict[str, Any] = {
        "area_mm2": silicon.mm2,
        "golden_ok": all(runs[p]["ok"] for p in (*PATHS, "host_roofline") if p in runs),
        "cycles": cycles["ndp"],
        "baseline_cycles": cycles["host"],
        "speedup": cycles["host"] / cycles["ndp"],
        "energy_pj": ndp["energy_pj"],
        "baseline_energy_pj": host["energy_pj"],
        "energy_ratio": host["energy_pj"] / ndp["energy_pj"],
        "dram_bytes": ndp["external_bytes"],
        "baseline_dram_bytes": host["external_bytes"],
        "accel_cycles": cycles["accel"],
        "accel_energy_pj": acc["energy_pj"],
        "accel_dram_bytes": acc["external_bytes"],
        "ndp_vs_accel_speedup": acc["time_ps"] / ndp["time_ps"],
        "ndp_vs_accel_energy_ratio": acc["energy_pj"] / ndp["energy_pj"],
        "accel_vs_host_speedup": host["time_ps"] / acc["time_ps"],
        "ndp_time_us": ndp["time_ps"] / 1e6,
        "host_time_us": host["time_ps"] / 1e6,
        "accel_time_us": acc["time_ps"] / 1e6,
        "kernel_cycles": ndp["kernel_cycles"],
        "ndp_internal_bandwidth": ndp["kernel_internal_bandwidth"],
        "ndp_external_bandwidth": ndp["external_bandwidth"],
        "host_external_bandwidth": host["external_bandwidth"],
        "accel_external_bandwidth": acc["external_bandwidth"],
        "accel_units": units,
        "accel_staging_peak_bytes": accel.figures.staging_peak_bytes,
        "accel_stream_bandwidth": accel.figures.bytes_streamed
        / ((accel.figures.stream_end_ps - accel.figures.stream_start_ps) * 1e-12),
        "unit_latency": drv.geometry.unit_latency,
        "host_roofline_cycles": round(runs.get("host_roofline", host)["time_ps"] / tck),
    }
    if "kernel" in runs:  # the C GEMV on the RISC-V core is the host path
        k = runs["kernel"]
        metrics["host_riscv_instructions"] = k["instructions"]
        metrics["host_riscv_cpi"] = k["cpi"]
        metrics["host_riscv_cache_misses"] = k["cache_misses"]
    if cfg.engines["units"] == "rtl":
        metrics["units_rtl_cycles"] = int(sim.stats[f"{system.ndp.name}.datapath_cycles"])
    keep = ("time_ps", "energy_pj", "internal_bandwidth", "external_bandwidth", "external_bytes")
    extras = {
        "host": cfg.host,
        "baseline": "compiled C on the RISC-V core (riscv_cpu)"
        if cfg.cpu_baseline == "riscv"
        else "roofline (host_cpu)",
        "cpu_baseline": cfg.cpu_baseline,
        "paths": {p: {k: runs[p][k] for k in keep} for p in PATHS},
        "energy_breakdown_pj": ndp["energy_by_component"],
        "baseline_energy_breakdown_pj": host["energy_by_component"],
        "accel_energy_breakdown_pj": acc["energy_by_component"],
        "roofline": {
            "peak_gops": 2
            * sysfig["peak_internal_bandwidth"]
            / (2 if cfg.dtype == "fp16" else 1)
            / 1e9,
            "peak_gbps": sysfig["peak_internal_bandwidth"] / 1e9,
            "ops": 2 * cfg.m * cfg.n,
            "bytes": ndp["internal_bytes"],
            "seconds": ndp["time_ps"] * 1e-12,
            "baseline_ops": 2 * cfg.m * cfg.n,
            "baseline_bytes": host["external_bytes"],
            "baseline_seconds": host["time_ps"] * 1e-12,
        },
        "system": {k: v for k, v in sysfig.items() if k != "notes"}
        | {"notes": {**sysfig["notes"], **accel.notes}},
    }
    return {**metrics, "report": report(cfg, sysfig, runs, extra), "extras": extras}


if __name__ == "__main__":
    scenario.main()
