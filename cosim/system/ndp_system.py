"""A system with near-data units in its HBM and a host that can do the same work itself,
for comparing the two paths in one simulation.

`build_ndp_system()` extends `build_soc()` (host, fabric, DMA, scratchpad, HBM) with an
'ndp' model attached to the HBM and mapped at NDP_BASE, an NdpDriver for it, and the
host's memory-level parallelism for streaming kernels (`streams`: initiator sockets on
the fabric, each with one request in flight, as a core's line-fill buffers and
prefetchers keep several misses outstanding).

`host_gemv()` is the host path: the host streams the matrix from the HBM through the
fabric (every byte crosses the HBM interface and the fabric) and computes on it with
the host_cpu roofline model as the chunks arrive. `path_figures` gives the time, traffic
and energy of one path from the Phase measured over it (cosim.accel.phase).
`compare_gemv()` runs a GEMV both ways inside a simulation (several may follow one
another); `ndp_vs_host()` is one such simulation for cosim.simulate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import cosim
from cosim.accel.phase import Phase, between, snapshot
from cosim.system.host import InterruptLine
from cosim.system.ndp import NdpDriver, window_bytes
from cosim.system.ndp_layout import GEMV_OUT, Layout, gemv_fp_bound, reference_gemv
from cosim.system.soc import Soc, build_soc

NDP_BASE = 0x6000_0000

#: The on-chip path from the HBM PHY to the cores, charged per bit the fabric moves.
#: The energy-table entry a fabric charges per bit moved (defined with its source in the
#: table's defaults, core/src/energy.cpp).
FABRIC_BIT_KEY = "soc_fabric_bit"

#: The host of an HBM system: its compute roof must sit well above a GEMV's demand
#: (2 flop per matrix element) or the comparison would measure the host's arithmetic.
HOST_CORES, HOST_CLOCK_HZ, HOST_FLOP_PER_CYCLE = 32, 2e9, 64
HOST_SOURCE = (
    "assumption: 32 cores at 2 GHz with two 512-bit FMA units each (64 fp32 flop/cycle, "
    "Intel 64 and IA-32 Optimization Reference Manual), so GEMV is memory-bound on it"
)

#: Memory-level parallelism of the host's streaming kernels.
HOST_STREAMS = 16
REQUEST_BYTES = 1024
STREAMS_SOURCE = (
    "assumption: 16 KiB in flight, e.g. 16 cores x 16 line-fill buffers x 64 B, issued as "
    "16 streams of 1 KiB requests"
)


@dataclass
class NdpSystem:
    """Handles to the parts of a system built by build_ndp_system()."""

    sim: Any
    soc: Soc
    ndp: Any
    driver: NdpDriver
    streams: list[Any]
    request_bytes: int
    irq: InterruptLine
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> Any:
        return self.soc.host


def stack_peak_bandwidth(memory: str, channels: int | None = None) -> float:
    """Peak external bandwidth (B/s) of the HBM stack: all channels' data buses."""
    return cosim.system.dram.peak_bandwidth(memory, channels)


def build_ndp_system(
    sim: Any,
    *,
    memory: str = "hbm2",
    units_per_channel: int = 8,
    ndp: dict[str, Any] | None = None,
    dram: dict[str, Any] | None = None,
    host: dict[str, Any] | None = None,
    fabric: dict[str, Any] | None = None,
    completion: str = "poll",
    host_streams: int = HOST_STREAMS,
    request_bytes: int = REQUEST_BYTES,
) -> NdpSystem:
    """build_soc() with near-data units in its memory. The fabric is as wide as the HBM
    stack is fast (so it does not limit the host path) and charges FABRIC_BIT_KEY per
    bit; the host is an HBM-class processor (HOST_SOURCE) whose kernels' memory traffic
    is charged by the modelled memory, not by the host. completion: 'poll' (the driver
    polls STATUS) or 'irq' (it waits for the 'done' interrupt)."""
    if completion not in ("poll", "irq"):
        raise cosim.ParameterError(f"completion = '{completion}': use 'poll' or 'irq'")
    if host_streams < 1 or request_bytes < 1:
        raise cosim.ParameterError("host_streams and request_bytes must be >= 1")
    channels = (dram or {}).get("channels") or None
    peak = stack_peak_bandwidth(memory, channels)
    fab = {"width": math.ceil(peak / 1e9), "clock_hz": 1e9, "bit_energy": FABRIC_BIT_KEY}
    hst = {
        "peak_flops": HOST_CORES * HOST_CLOCK_HZ * HOST_FLOP_PER_CYCLE,
        "memory_bandwidth": peak,
        "flops_per_instruction": 32.0,
        "memory_energy": "",
    }
    soc = build_soc(
        sim,
        memory=memory,
        dram=dram,
        fabric={**fab, **(fabric or {})},
        host={**hst, **(host or {})},
    )
    model = sim.model(
        "ndp",
        "ndp",
        memory=soc.dram.name,
        units_per_channel=units_per_channel,
        **(ndp or {}),
    )
    soc.fabric.map(model.port("target"), NDP_BASE, window_bytes(model))
    soc.address_map["ndp"] = (NDP_BASE, window_bytes(model))
    irq = InterruptLine(sim, model.event("done"), "ndp_done")
    driver = NdpDriver(
        soc.host, NDP_BASE, model, soc.DRAM, irq=irq if completion == "irq" else None, dram=soc.dram
    )
    streams = []
    for i in range(host_streams):
        s = sim.initiator(f"host_stream{i}")
        sim.bind(s, soc.fabric.port("target"))
        streams.append(s)
    notes = {
        "fabric": f"width {fab['width']} B at 1 GHz = the stack's peak; "
        + cosim.energy.entry(FABRIC_BIT_KEY).source,
        "host": HOST_SOURCE,
        "streams": STREAMS_SOURCE,
    }
    return NdpSystem(sim, soc, model, driver, streams, request_bytes, irq, notes)


# ---------------------------------------------------------------- host path


async def host_gemv(system: NdpSystem, a: Layout, x: np.ndarray) -> np.ndarray:
    """y = A x on the host: the host streams A (laid out for the units, so it reads
    whole DRAM rows in address order) from the HBM through the fabric with
    len(system.streams) requests in flight, and runs each chunk through the host_cpu
    roofline model as it arrives (2 flop per element; memory time is the stream's own).
    The result is computed from the bytes that actually arrived."""
    ranges = a.ranges(system.request_bytes)
    chunks: list[Any] = [None] * len(ranges)
    arrived: list[int] = []
    ready = system.sim.event("host_gemv_chunk")
    work = iter(range(len(ranges)))
    base = system.soc.DRAM

    async def fetch(sock: Any) -> None:
        for i in work:
            addr, n = ranges[i]
            chunks[i] = await sock.read(base + addr, n)
            arrived.append(i)
            ready.notify()

    workers = [cosim.spawn(fetch(s)) for s in system.streams]
    total = sum(n for _, n in ranges)
    flops_per_byte = 2.0 * a.m * a.n / total
    for _ in range(len(ranges)):
        while not arrived:
            await ready
        i = arrived.pop(0)
        await system.host.run_kernel(flops=flops_per_byte * ranges[i][1], bytes=0)
    for w in workers:
        await w
    matrix = a.unpack(a.scatter(ranges, chunks))
    if a.dtype == "int8":
        return (matrix.astype(np.int64) @ x.astype(np.int64)).astype(np.int32)
    return matrix.astype(np.float32) @ x.astype(np.float32)


# ---------------------------------------------------------- measuring a path


def path_figures(system: NdpSystem, phase: Phase) -> dict[str, Any]:
    """Time, traffic and energy of one path, from the Phase measured over it
    (cosim.accel.phase). Energy excludes DRAM refresh (background energy that grows with
    time, reported separately as refresh_pj), and includes everything else every model
    charged in between."""
    dram, ndp = system.soc.dram.name, system.ndp.name
    dram_bytes = phase.stats((f"{dram}.bytes_read", f"{dram}.bytes_written"))
    internal = dram_bytes + phase.stat(f"{ndp}.bytes_internal")
    external = dram_bytes + phase.stat(f"{ndp}.bytes_external")
    seconds = phase.time_ps * 1e-12
    return {
        "time_ps": phase.time_ps,
        "energy_pj": phase.energy_pj,
        "energy": phase.energy,
        "energy_by_component": phase.by_component(),
        "refresh_pj": phase.background_pj,
        # all-bank refreshes the dram issued (those due during a near-data command
        # are issued when the host next reaches the channel, within the same path)
        "refreshes": int(phase.stat(f"{dram}.cmd.ref")),
        "internal_bytes": int(internal),
        "external_bytes": int(external),
        "internal_bandwidth": internal / seconds if seconds else 0.0,
        "external_bandwidth": external / seconds if seconds else 0.0,
    }


# --------------------------------------------------------------- comparison


def gemv_workload(m: int, n: int, dtype: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A and x for a GEMV: int8 uniform over the whole range, fp16 standard normal."""
    rng = np.random.default_rng(seed)
    if dtype == "int8":
        return (
            rng.integers(-128, 128, (m, n), dtype=np.int8),
            rng.integers(-128, 128, n, dtype=np.int8),
        )
    if dtype == "fp16":
        return (
            rng.standard_normal((m, n)).astype(np.float16),
            rng.standard_normal(n).astype(np.float16),
        )
    raise cosim.ParameterError(f"dtype '{dtype}': GEMV workloads are int8 or fp16")


def check_gemv(
    a: np.ndarray, x: np.ndarray, y: np.ndarray, lanes: int, exact_twin: bool
) -> dict[str, Any]:
    """Check y against numpy: int8 exactly; fp16 within the fp32-summation bound of
    gemv_fp_bound (and, for the units, bit-exactly against their numpy twin)."""
    if a.dtype == np.int8:
        golden = (a.astype(np.int64) @ x.astype(np.int64)).astype(np.int32)
        return {
            "ok": bool(np.array_equal(y, golden)),
            "max_abs_error": float(np.abs(y - golden).max()),
        }
    exact = a.astype(np.float64) @ x.astype(np.float64)
    err = np.abs(y.astype(np.float64) - exact)
    # The units' order has n/lanes + log2(lanes) roundings per path; the host's (BLAS,
    # any order) at most n.
    bound = gemv_fp_bound(a, x, lanes if exact_twin else 1)
    ok = bool(np.all(err <= bound))
    if exact_twin:
        ok = ok and bool(np.array_equal(y, reference_gemv(a, x, lanes)))
    return {
        "ok": ok,
        "max_abs_error": float(err.max()),
        "max_error_over_bound": float((err / np.maximum(bound, 1e-300)).max()),
    }


async def compare_gemv(
    system: NdpSystem, m: int, n: int, dtype: str, seed: int = 1
) -> dict[str, Any]:
    """Inside a process of `system`'s simulation: the host lays an M x N matrix out for
    the units (not measured), then y = A x runs near-data (x to the units, the command,
    y read back by the host) and then on the host (A streamed to the host, roofline
    compute). Returns both paths' figures (path_figures), the speed-up and energy
    ratio of near-data over host, the command's details and the golden checks. Several
    comparisons may run one after the other in one simulation."""
    a_np, x_np = gemv_workload(m, n, dtype, seed)
    drv, sim = system.driver, system.sim
    out: dict[str, Any] = {"m": m, "n": n, "dtype": dtype}
    a = await drv.store(drv.matrix(m, n, dtype), a_np)
    y = drv.vector(m, GEMV_OUT[dtype])
    await drv.register(y)
    s0 = snapshot(sim)
    await drv.gemv(a, x_np, y)
    y_ndp = await drv.load(y)
    s1 = snapshot(sim)
    cmd = dict(drv.last_command)
    y_host = await host_gemv(system, a, x_np)
    s2 = snapshot(sim)
    out["ndp"] = path_figures(system, between(s0, s1))
    out["host"] = path_figures(system, between(s1, s2))
    out["command"] = cmd
    g = drv.geometry
    lanes = g.lanes(dtype)
    out["ndp"]["kernel_time_ps"] = cmd["done_ps"] - cmd["issued_ps"]
    kernel_s = out["ndp"]["kernel_time_ps"] * 1e-12
    out["ndp"]["kernel_internal_bandwidth"] = (
        cmd["internal_read_bytes"] + cmd["internal_written_bytes"]
    ) / kernel_s
    out["check_ndp"] = check_gemv(a_np, x_np, y_ndp, lanes, exact_twin=True)
    out["check_host"] = check_gemv(a_np, x_np, y_host, lanes, exact_twin=False)
    out["golden_ok"] = out["check_ndp"]["ok"] and out["check_host"]["ok"]
    out["speedup"] = out["host"]["time_ps"] / out["ndp"]["time_ps"]
    out["energy_ratio"] = out["host"]["energy_pj"] / out["ndp"]["energy_pj"]
    out["kernel_cycles"] = cmd["done_cycle"] - cmd["start_cycle"]
    return out


def system_figures(system: NdpSystem) -> dict[str, Any]:
    """The figures of the system a comparison ran on."""
    st, g = system.sim.stats, system.driver.geometry
    return {
        "memory": system.soc.dram.preset_name,
        "units": g.units,
        "units_per_channel": g.units_per_channel,
        "tck_ps": g.tck_ps,
        "peak_external_bandwidth": st[f"{system.soc.dram.name}.peak_bandwidth"],
        "peak_internal_bandwidth": st[f"{system.ndp.name}.peak_internal_bandwidth"],
        "notes": system.notes,
    }


def ndp_vs_host(
    sim: Any,
    m: int = 1024,
    n: int = 1024,
    dtype: str = "int8",
    *,
    memory: str = "hbm2",
    units_per_channel: int = 8,
    seed: int = 1,
    completion: str = "poll",
    ndp: dict[str, Any] | None = None,
    dram: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One simulation of one compare_gemv() on a build_ndp_system() (use it with
    cosim.simulate); the result also carries system_figures()."""
    system = build_ndp_system(
        sim,
        memory=memory,
        units_per_channel=units_per_channel,
        completion=completion,
        ndp=ndp,
        dram=dram,
    )
    out: dict[str, Any] = {}

    @sim.process
    async def main() -> None:
        out.update(await compare_gemv(system, m, n, dtype, seed))

    sim.run()
    out.update(system_figures(system))
    return out
