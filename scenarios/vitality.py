"""ViTALiTy: first-order Taylor linear attention (mean-centred keys, G = K^T V, output
Q G normalised; no N x N matrix) on a MAC array with Taylor pre/post-processors, against
softmax attention on the same array, in the same system (docs/accelerators/vitality.md)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.phase import Phase, PhaseMeter
from cosim.accel.vitality import engine as E
from cosim.accel.vitality import format as fmt
from cosim.accel.vitality import workload as wl
from cosim.accel.vitality.system import VitalityAccelerator
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host

#: The engine's build: 64 lanes (DeiT's head dimension), 8 array rows (8 x 64 MACs), up to
#: 512 tokens a head.
DIM, ROWS, MAX_TOKENS = 64, 8, 512
DRAM_BYTES = ("dram.bytes_read", "dram.bytes_written")

scenario = Scenario(
    "vitality",
    "ViTALiTy Taylor linear attention vs softmax attention on the same MAC array",
    params=[
        Param("tokens", 197, min=2, max=MAX_TOKENS, help="tokens per head (N; DeiT: 197)"),
        Param("head_dim", 64, min=1, max=DIM, help="head dimension d (padded to 64 lanes)"),
        Param("heads", 3, min=1, max=16, help="attention heads (DeiT-Tiny: 3)"),
        Param(
            "taylor_shift",
            15,
            min=0,
            max=24,
            help="A: one int8 q.k unit is worth 2^-A (scale_q scale_k / sqrt(d))",
        ),
        Param("clock", "2 ns", type="time", min="500 ps", max="20 ns", help="engine clock"),
        Param(
            "memory",
            "ddr4_2400",
            choices=("ddr4_2400", "lpddr4_3200", "hbm2"),
            help="DRAM preset",
        ),
        HOST_PARAM,
    ],
    engines={
        "vitality": Engine(("functional", "tlm", "rtl"), default="rtl", help="attention engine")
    },
    seed=1,
)


def taylor_buffer_bytes(d: int) -> int:
    """Attention state of the Taylor mode: G's int32 accumulators, the centred int16 G
    and the column sums ks, vs (int32), whatever N."""
    return d * d * 4 + d * d * 2 + 2 * d * 4


def softmax_buffer_bytes(n: int, d: int) -> int:
    """Attention state of the softmax mode: K and V (int8) and the int32 score rows of a
    block of ROWS queries (streamed: never N x N)."""
    return 2 * n * d + 4 * n * ROWS


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    work = wl.make_workload(cfg.rng(), cfg.tokens, cfg.head_dim, cfg.heads, cfg.taylor_shift)
    n, heads = cfg.tokens, cfg.heads
    soc = cosim.build_soc(sim, memory=cfg.memory)
    acc = VitalityAccelerator(
        sim,
        soc,
        cfg.engines["vitality"],
        dim=DIM,
        rows=ROWS,
        max_tokens=MAX_TOKENS,
        clock=cfg.clock,
    )
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, "vitality")

    mem, off = soc.dram.array(), soc.DATA - soc.DRAM
    at: list[dict[str, int]] = []

    def place(data: np.ndarray | int) -> int:
        nonlocal off
        addr, size = soc.DRAM + off, data if isinstance(data, int) else len(data)
        if not isinstance(data, int):
            mem[off : off + size] = data
        off += -(-size // 4096) * 4096
        return addr

    for h in work.heads:
        kv, q = fmt.kv_image(h.k, h.v, DIM), fmt.q_image(h.q, DIM)
        at.append({"kv": place(kv), "q": place(q), "taylor": place(2 * n * DIM)})
        at[-1]["softmax"] = place(2 * n * DIM)
    if off > soc.dram.capacity:
        raise cosim.ParameterError(f"scenario 'vitality': the workload needs {off} B of DRAM")

    runs: dict[str, Phase] = {}
    cycles: dict[str, int] = {}
    counters: dict[str, dict[str, int]] = {}

    @sim.process
    async def host() -> None:
        for mode, name in ((E.TAYLOR, "taylor"), (E.SOFTMAX, "softmax")):
            meter, before = PhaseMeter(sim), dict(acc.counters)
            cycles[name] = 0
            for i, h in enumerate(work.heads):
                settings = (work.taylor_shift, h.g_shift, work.mult, work.shift)
                a = at[i]
                cycles[name] += await acc.attend_head(a["kv"], a["q"], a[name], n, mode, settings)
                report_progress(mode * heads + i + 1, 2 * heads, unit="heads")
            runs[name] = meter.stop()
            counters[name] = {c: acc.counters[c] - before[c] for c in before}
        if cpu is not None:
            await acc.driver.close()

    sim.run()
    return _results(cfg, work, mem, soc, at, runs, cycles, counters)


def _results(
    cfg: Config,
    work: wl.Workload,
    mem: np.ndarray,
    soc: Any,
    at: list[dict[str, int]],
    runs: dict[str, Phase],
    cycles: dict[str, int],
    counters: dict[str, dict[str, int]],
) -> dict[str, Any]:
    n, d, clock_ps = cfg.tokens, cfg.head_dim, cfg.clock
    outs: dict[str, list[np.ndarray]] = {"taylor": [], "softmax": []}
    for a in at:
        for name in outs:
            o = a[name] - soc.DRAM
            outs[name].append(fmt.decode_out(mem[o : o + 2 * n * DIM], n, DIM, d))
    exact = {
        "taylor": [wl.golden_taylor(h, work.taylor_shift) for h in work.heads],
        "softmax": [wl.golden_softmax(h, work.mult, work.shift) for h in work.heads],
    }
    bit_exact = {
        m: all(np.array_equal(x, y) for x, y in zip(outs[m], exact[m], strict=True)) for m in outs
    }
    # Float64 references with the tolerance the arithmetic guarantees (workload.py).
    err_t, err_s, within = 0.0, 0.0, True
    approx = []
    for h, t_out, s_out in zip(work.heads, outs["taylor"], outs["softmax"], strict=True):
        tf, sf = wl.taylor_float(h, work.alpha), wl.softmax_float(h, work.alpha)
        et = np.abs(t_out / 256.0 - tf)
        es = np.abs(s_out / 256.0 - sf)
        within &= bool((et <= wl.taylor_tolerance(h, work.alpha)[:, None]).all())
        within &= bool((es <= wl.softmax_tolerance(h)).all())
        err_t, err_s = max(err_t, float(et.max())), max(err_s, float(es.max()))
        approx.append(float(np.sqrt(np.mean((tf - sf) ** 2)) / np.sqrt(np.mean(sf**2))))
    ok = bit_exact["taylor"] and bit_exact["softmax"] and within

    t, s = runs["taylor"], runs["softmax"]
    cyc, base = round(t.time_ps / clock_ps), round(s.time_ps / clock_ps)
    et_pj, es_pj = t.energy_pj, s.energy_pj
    mac_t, mac_s = counters["taylor"]["MACS"], counters["softmax"]["MACS"]
    buf_t, buf_s = taylor_buffer_bytes(DIM), softmax_buffer_bytes(n, DIM)
    dram_t, dram_s = int(t.stats(DRAM_BYTES)), int(s.stats(DRAM_BYTES))
    # The silicon at 45 nm (cosim.area): ROWS x DIM PEs (int8 x int16 multiplier and a
    # 32-bit adder), ROWS exp2 lanes (a 256 x 16-bit table and a 32-bit multiplier each),
    # the post-processor's DIM 32-bit multipliers; in registers G (int32) and the centred
    # G (int16), the column sums and accumulators; the K/V and result buffers.
    pes = ROWS * DIM
    silicon = area.estimate(
        ops={"int16_mult": pes, "int32_add": pes, "int32_mult": ROWS + DIM},
        srams={"kv_buffer": (1, 2 * MAX_TOKENS * DIM), "result_buffer": (1, 2 * MAX_TOKENS * DIM)},
        register_bits=DIM * DIM * (32 + 16) + 4 * DIM * 64 + ROWS * 256 * 16,
    )
    speedup, energy_ratio = base / cyc, es_pj / et_pj
    timed = cycles["taylor"] > 0  # the functional engine is untimed (CYCLES 0)
    engine_speedup = cycles["softmax"] / cycles["taylor"] if timed else 0.0
    bound = n / DIM
    report = "\n".join(
        [
            f"ViTALiTy attention: N {n}, d {d} (array {ROWS} x {DIM}), {cfg.heads} heads, "
            f"{cfg.memory}, engine {cfg.engines['vitality']}, host {cfg.host}",
            f"  {'run':<22}{'cycles':>10}{'engine cyc':>12}{'energy nJ':>11}"
            f"{'DRAM B':>10}{'MACs':>12}{'buffer B':>10}",
            f"  {'Taylor (linear)':<22}{cyc:>10}{cycles['taylor']:>12}{et_pj / 1e3:>11.1f}"
            f"{dram_t:>10}{mac_t:>12}{buf_t:>10}",
            f"  {'softmax (baseline)':<22}{base:>10}{cycles['softmax']:>12}{es_pj / 1e3:>11.1f}"
            f"{dram_s:>10}{mac_s:>12}{buf_s:>10}",
            f"  speedup {speedup:.2f}x end to end ({engine_speedup:.2f}x in the engine), "
            f"energy {energy_ratio:.2f}x",
            f"  MAC ratio {mac_s / mac_t:.3f} (derived 2N^2 d / ((2N + 1) d^2) -> N/d = "
            f"{bound:.3f}); an unstreamed softmax would buffer N x N scores: {4 * n * n} B",
            f"  golden: bit-exact Taylor {bit_exact['taylor']}, softmax {bit_exact['softmax']};"
            f" float64 within tolerance {within} (max |err| Taylor {err_t:.4f}, softmax "
            f"{err_s:.4f}); Taylor vs softmax relative RMS {max(approx):.3f}",
            "  control logic is not charged energy; area "
            f"{silicon.mm2:.2f} mm^2 at 45 nm; driver: "
            + ("sw/drivers/accel.c on the RISC-V core" if cfg.host == "riscv" else "Python host"),
            "  energy Taylor: " + _breakdown(t),
            "  energy softmax: " + _breakdown(s),
        ]
    )
    digest = np.concatenate([x.reshape(-1) for m in ("taylor", "softmax") for x in outs[m]])
    return {
        "golden_ok": ok,
        "cycles": cyc,
        "baseline_cycles": base,
        "speedup": speedup,
        "energy_pj": et_pj,
        "baseline_energy_pj": es_pj,
        "energy_ratio": energy_ratio,
        "dram_bytes": dram_t,
        "baseline_dram_bytes": dram_s,
        "engine_cycles": cycles["taylor"],
        "baseline_engine_cycles": cycles["softmax"],
        "engine_speedup": engine_speedup,
        "utilisation": mac_t / (cycles["taylor"] * ROWS * DIM) if timed else 0.0,
        "baseline_utilisation": mac_s / (cycles["softmax"] * ROWS * DIM) if timed else 0.0,
        "mac_ratio": mac_s / mac_t,
        "mac_ratio_bound": bound,
        "attention_buffer_bytes": buf_t,
        "baseline_attention_buffer_bytes": buf_s,
        "taylor_max_error": err_t,
        "softmax_max_error": err_s,
        "taylor_vs_softmax_rel_rms": max(approx),
        "area_mm2": silicon.mm2,
        "report": report,
        "extras": {
            "output_digest": hashlib.sha256(digest.tobytes()).hexdigest(),
            "host": cfg.host,
            "energy_breakdown_pj": cosim.energy.by_component(t.energy),
            "baseline_energy_breakdown_pj": cosim.energy.by_component(s.energy),
            "energy_by_event_pj": t.flat(),
            "baseline_energy_by_event_pj": s.flat(),
            "counters": counters,
            "area_mm2_by_part": silicon.by_part_mm2(),
        },
    }


def _breakdown(p: Phase) -> str:
    parts = cosim.energy.by_component(p.energy)
    return ", ".join(f"{k} {v / 1e3:.1f} nJ" for k, v in parts.items())


if __name__ == "__main__":
    scenario.main()
