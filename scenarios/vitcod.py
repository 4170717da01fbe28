"""ViTCoD (HPCA'23): one DeiT-Tiny-sized attention layer with fixed masks pruned to a
sparsity and polarised into dense global columns and a sparse rest, on a split PE array
(a denser and a sparser engine running at once, PEs balanced between them), Q and K
halved by an auto-encoder before DRAM and restored on chip; against dense attention on
the same PEs and memory, in one simulated system.

System (cosim.build_soc): host driving the command window (Python driver or the C driver
on the RISC-V core), fabric, DMA, scratchpad, HBM2 (the `hbm2` preset); the accelerator's
sequencer, data mover, encoder, decoder and attention engine (cosim.accel.vitcod).

Runs, each timed end to end from the host's first command to the scores on chip:
1. vitcod: Q and K through the encoder to DRAM, back through the decoder, the masked
   scores on the split engine (double-buffered: the next head's inputs are prefetched
   while the engines compute);
2. vitcod without the encoder (raw Q and K in DRAM): the encoder's traffic cut;
3. the baseline: dense attention (every score) on the same PEs, fully used by the dense
   engine, raw Q and K, double-buffered the same way.
Golden: numpy S = Q K^T from the algorithm, bit-exact per run (with the codec's exact
integer arithmetic for run 1); the accuracy the lossy codec costs is reported against
float64 attention on the unquantised Q and K, within ATTENTION_TOLERANCE."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel.phase import PhaseMeter
from cosim.accel.vitcod import system as vsys
from cosim.accel.vitcod import workload as wl
from cosim.scenario import Config, Engine, Param, Scenario
from cosim.system.riscv_accel import HOST_PARAM, RiscvAcceleratorDriver, riscv_accel_host

DRAM_BYTES = ("dram.bytes_read", "dram.bytes_written")
MAX_TOKENS, MAX_SPARSE = 256, 8192  # the engines' build (one RTL build for every run)
#: Largest difference of an attention probability (engine scores vs float64 attention on
#: the unquantised Q and K) the encoded run may show (int8 quantisation alone: ~0.015).
ATTENTION_TOLERANCE = 0.1

scenario = Scenario(
    "vitcod",
    "ViTCoD split sparse/dense attention with a Q/K auto-encoder vs dense attention",
    params=[
        Param("tokens", 197, min=8, max=MAX_TOKENS, help="tokens (DeiT-Tiny: 197)"),
        Param("heads", 3, min=1, max=12, help="attention heads (DeiT-Tiny: 3)"),
        Param("head_dim", 64, choices=(16, 32, 64, 128), help="head dimension (DeiT: 64)"),
        Param("code_dim", 32, choices=(8, 16, 32, 64), help="Q/K code size after the encoder"),
        Param("sparsity", 0.9, min=0.5, max=0.99, help="fraction of attention entries pruned"),
        Param("pes", 8, choices=(2, 4, 8, 16, 32), help="dot-product PEs (head_dim MACs each)"),
        Param("clock", "1 ns", type="time", min="250 ps", max="20 ns", help="engine clock"),
        Param(
            "fabric_bytes",
            16,
            choices=(16, 32, 64, 128),
            unit="B",
            help="fabric data path per cycle (16: the standard SoC's; 64: the engines' beat)",
        ),
        Param("memory", "hbm2", choices=("hbm2", "ddr4_2400", "lpddr4_3200"), help="DRAM"),
        HOST_PARAM,
    ],
    engines={
        "attention": Engine(("functional", "tlm", "rtl"), default="rtl", help="split PE array"),
        "codec": Engine(("functional", "tlm", "rtl"), default="rtl", help="encoder/decoder"),
    },
    seed=1,
)


def _check(cfg: Config) -> None:
    if cfg.code_dim >= cfg.head_dim:
        raise cosim.ParameterError(
            f"scenario 'vitcod': code_dim = {cfg.code_dim} must be < head_dim = {cfg.head_dim}"
        )


def _pages(n: int) -> int:
    return -(-n // 4096) * 4096


def _score_bytes(h: wl.Polarised, tokens: int, d: int) -> tuple[int, int]:
    """Bytes of a head's dense and sparse score beats (each padded to whole beats)."""
    w = d // 4
    return -(-tokens * h.global_cols // w) * d, -(-len(h.pairs) // w) * d


def _area(cfg: Config, with_codec: bool) -> area.Estimate:
    """The engines at 45 nm (cosim.area): per PE head_dim int8 multipliers and int32
    adders, the codecs' code x head_dim each, the key/query, pair and score buffers of
    the attention engine's build."""
    macs = cfg.pes * cfg.head_dim + (2 * cfg.code_dim * cfg.head_dim if with_codec else 0)
    srams = {
        "qk_buffer": (1, 2 * MAX_TOKENS * cfg.head_dim),
        "pairs": (1, 4 * MAX_SPARSE),
        "scores": (1, 4 * (MAX_TOKENS * MAX_TOKENS + MAX_SPARSE)),
    }
    if with_codec:
        srams["codec_rows"] = (2, MAX_TOKENS * cfg.head_dim)
    return area.estimate(ops={"int8_mult": macs, "int32_add": macs}, srams=srams)


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    _check(cfg)
    n, d, heads = cfg.tokens, cfg.head_dim, cfg.heads
    w = wl.make_workload(
        cfg.rng(),
        tokens=n,
        heads=heads,
        head_dim=d,
        sparsity=cfg.sparsity,
        pes=cfg.pes,
        code_dim=cfg.code_dim,
    )
    worst = max(len(h.pairs) for h in w.heads)
    if worst > MAX_SPARSE:
        raise cosim.ParameterError(
            f"scenario 'vitcod': a head keeps {worst} sparse pairs, more than the engine's "
            f"{MAX_SPARSE}; raise sparsity (now {cfg.sparsity}) or lower tokens"
        )
    dense = [wl.dense_head(n, cfg.pes) for _ in range(heads)]
    qk_src_bytes = 2 * n * d
    # a staging slot: Q/K as in DRAM, pairs, decoder weights, decoded Q/K
    slot = _pages(4 * n * d + -(-worst // (d // 4)) * d + d * cfg.code_dim)
    score_bytes = [_pages(sum(_score_bytes(h, n, d))) for h in dense]
    spad_need = heads * qk_src_bytes + 2 * slot + sum(score_bytes)
    spad_size = max(256 << 10, 1 << (spad_need - 1).bit_length())
    soc = cosim.build_soc(
        sim, memory=cfg.memory, scratchpad={"size": spad_size}, fabric={"width": cfg.fabric_bytes}
    )
    impl = {"attention": cfg.engines["attention"], "codec": cfg.engines["codec"]}
    # scratchpad: heads' Q and K as the projection left them, two staging slots, scores
    spad = {"qk": soc.SPAD, "staging": soc.SPAD + heads * qk_src_bytes}
    spad["scores"] = spad["staging"] + 2 * slot
    acc = vsys.VitcodAccelerator(
        sim,
        soc,
        impl,
        d=d,
        code=cfg.code_dim,
        pes=cfg.pes,
        max_tokens=MAX_TOKENS,
        max_sparse=MAX_SPARSE,
        clock=f"{cfg.clock} ps",
        staging=spad["staging"],
        slot_bytes=slot,
    )
    cpu = None
    if cfg.host == "riscv":
        cpu = riscv_accel_host(sim, soc, acc.device)
        acc.driver = RiscvAcceleratorDriver(cpu, "vitcod")

    # Initial contents: Q and K on chip (the projection's output), the fixed masks' pairs,
    # key orders and codec weights in DRAM (what the loader put there).
    sp = soc.scratchpad.array()
    for h in range(heads):
        at = h * qk_src_bytes
        sp[at : at + n * d] = w.q[h].view(np.uint8).reshape(-1)
        sp[at + n * d : at + 2 * n * d] = w.k[h].view(np.uint8).reshape(-1)
    mem, off = soc.dram.array(), soc.DATA - soc.DRAM

    def put(data: np.ndarray) -> int:
        nonlocal off
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        at = off
        mem[at : at + len(raw)] = raw
        off += _pages(max(1, len(raw)))
        return soc.DRAM + at

    def table(hs: list[wl.Polarised], coded: bool) -> int:
        """Descriptors of one run, its Q/K DRAM space, pairs, key orders and weights."""
        row = cfg.code_dim if coded else d
        words = []
        score_at = spad["scores"]
        for i, h in enumerate(hs):
            codec = w.codecs[i]
            pairs = np.zeros(-(-len(h.pairs) // (d // 4)) * (d // 4) * 2, np.uint16)
            pairs[: 2 * len(h.pairs)] = h.pairs.reshape(-1)
            runs = wl.key_runs(h.order)
            words.append(
                vsys.Head(
                    qk_src=spad["qk"] + i * qk_src_bytes,
                    qk_dram=put(np.zeros(2 * n * row, np.uint8)),
                    pairs=put(pairs),
                    scores=score_at,
                    encoder=put(codec.encoder),
                    decoder=put(codec.decoder),
                    key_runs=put(runs),
                    tokens=n,
                    global_cols=h.global_cols,
                    sparse=len(h.pairs),
                    dense_pes=h.dense_pes,
                    encoder_shift=codec.encoder_shift,
                    decoder_shift=codec.decoder_shift,
                    runs=len(runs),
                ).words()
            )
            score_at += score_bytes[i]
        return put(np.concatenate(words))

    runs_def = {
        "vitcod": (w.heads, True),
        "no_encoder": (w.heads, False),
        "dense": (dense, False),
    }
    tables = {name: table(hs, coded) for name, (hs, coded) in runs_def.items()}
    if off > soc.dram.capacity:
        raise cosim.ParameterError(f"scenario 'vitcod': the workload needs {off >> 20} MiB of DRAM")
    fig: dict[str, Any] = {}

    @sim.process
    async def host() -> None:
        for name, (hs, coded) in runs_def.items():
            compute0, qk0 = acc.compute_cycles, acc.qk_bytes
            meter = PhaseMeter(sim)
            t0 = cosim.now()
            await acc.encode(tables[name], heads, coded)
            t1 = cosim.now()
            await acc.attend(tables[name], heads, coded)
            phase = meter.stop()
            scores = []
            at = spad["scores"] - soc.SPAD
            for i, h in enumerate(hs):
                nd, ns = _score_bytes(h, n, d)
                got = sp[at : at + nd + ns].copy().view("<i4")
                scores.append((got[: n * h.global_cols], got[nd // 4 : nd // 4 + len(h.pairs)]))
                at += score_bytes[i]
            fig[name] = {
                "phase": phase,
                "compute_cycles": acc.compute_cycles - compute0,
                "encode_cycles": round((t1 - t0) / cfg.clock),
                "qk_bytes": acc.qk_bytes - qk0,
                "scores": scores,
            }
        if cpu is not None:
            await acc.driver.close()

    sim.run()
    if cpu is not None:
        cpu.check_exit()
    fig["job_cycles"] = acc.job_cycles
    return _results(cfg, w, dense, fig)


def _results(cfg: Config, w: wl.Workload, dense: list[wl.Polarised], fig: dict) -> dict[str, Any]:
    n, heads, clock = cfg.tokens, cfg.heads, cfg.clock
    # Golden, per run: what each head's scores must be (the codec path for run 1).
    ok: dict[str, bool] = {}
    errors: dict[str, float] = {}
    for name, hs, coded in (
        ("vitcod", w.heads, True),
        ("no_encoder", w.heads, False),
        ("dense", dense, False),
    ):
        good = True
        worst = 0.0
        for i, h in enumerate(hs):
            q, k = w.q[i], w.k[i]
            if coded:
                q, k = wl.reconstruct(q, w.codecs[i]), wl.reconstruct(k, w.codecs[i])
            want_d, want_s = wl.golden_scores(q, k, h)
            got_d, got_s = fig[name]["scores"][i]
            good &= bool(np.array_equal(got_d, want_d) and np.array_equal(got_s, want_s))
            if name != "dense":
                worst = max(worst, wl.attention_error(w, i, got_d, got_s))
        ok[name], errors[name] = good, worst
    digest = hashlib.sha256(
        b"".join(
            a.tobytes() + b.tobytes()
            for r in ("vitcod", "no_encoder", "dense")
            for a, b in fig[r]["scores"]
        )
    ).hexdigest()

    def cyc(name: str) -> int:
        return max(1, round(fig[name]["phase"].time_ps / clock))

    a, ne, b = (fig[r]["phase"] for r in ("vitcod", "no_encoder", "dense"))
    cycles, base_cycles, ne_cycles = cyc("vitcod"), cyc("dense"), cyc("no_encoder")
    compute, base_compute = fig["vitcod"]["compute_cycles"], fig["dense"]["compute_cycles"]
    kept = sum(h.kept for h in w.heads)
    scores_done = sum(n * h.global_cols + len(h.pairs) for h in w.heads)
    compute_bound = base_compute / sum(-(-h.kept // cfg.pes) for h in w.heads)
    qk, qk_raw = fig["vitcod"]["qk_bytes"], fig["no_encoder"]["qk_bytes"]
    silicon, base_silicon = _area(cfg, True), _area(cfg, False)
    metrics = {
        "golden_ok": all(ok.values()),
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": a.energy_pj,
        "baseline_energy_pj": b.energy_pj,
        "energy_ratio": b.energy_pj / a.energy_pj,
        "dram_bytes": int(a.stats(DRAM_BYTES)),
        "baseline_dram_bytes": int(b.stats(DRAM_BYTES)),
        "compute_cycles": compute,
        "baseline_compute_cycles": base_compute,
        "compute_fraction": compute / cycles,
        "baseline_compute_fraction": base_compute / base_cycles,
        "compute_speedup": base_compute / max(1, compute),
        "compute_speedup_bound": compute_bound,
        "no_encoder_cycles": ne_cycles,
        "no_encoder_compute_cycles": fig["no_encoder"]["compute_cycles"],
        "encoder_speedup": ne_cycles / cycles,
        "qk_dram_bytes": qk,
        "qk_dram_bytes_no_encoder": qk_raw,
        "qk_traffic_cut": qk_raw / qk,
        "qk_traffic_cut_bound": cfg.head_dim / cfg.code_dim,
        "no_encoder_dram_bytes": int(ne.stats(DRAM_BYTES)),
        "encode_cycles": fig["vitcod"]["encode_cycles"],
        "no_encoder_encode_cycles": fig["no_encoder"]["encode_cycles"],
        "baseline_encode_cycles": fig["dense"]["encode_cycles"],
        "kept_fraction": kept / (heads * n * n),
        "computed_fraction": scores_done / (heads * n * n),
        "utilisation": scores_done / (cfg.pes * max(1, compute)),
        "baseline_utilisation": heads * n * n / (cfg.pes * max(1, base_compute)),
        "attention_error": errors["vitcod"],
        "attention_error_no_encoder": errors["no_encoder"],
        "attention_tolerance": ATTENTION_TOLERANCE,
        "area_mm2": silicon.mm2,
        "baseline_area_mm2": base_silicon.mm2,
    }
    extras = {
        "golden": ok,
        "global_columns": [h.global_cols for h in w.heads],
        "dense_pes": [h.dense_pes for h in w.heads],
        "sparse_pairs": [len(h.pairs) for h in w.heads],
        "engine_cycles_per_head": [list(h.cycles) for h in w.heads],
        "energy_breakdown_pj": cosim.energy.by_component(a.energy),
        "baseline_energy_breakdown_pj": cosim.energy.by_component(b.energy),
        "no_encoder_energy_breakdown_pj": cosim.energy.by_component(ne.energy),
        "area_mm2_by_part": silicon.by_part_mm2(),
        "host": cfg.host,
        "output_digest": digest,
        "engine_job_cycles": fig["job_cycles"],
    }
    return {**metrics, "report": _report(cfg, metrics, extras, fig), "extras": extras}


def _report(cfg: Config, m: dict[str, Any], x: dict[str, Any], fig: dict) -> str:
    ns = cfg.clock / 1000

    def row(name: str, label: str) -> str:
        p = fig[name]["phase"]
        c = round(p.time_ps / cfg.clock)
        return (
            f"  {label:<22}{c:>10,}{fig[name]['encode_cycles']:>10,}"
            f"{fig[name]['compute_cycles']:>10,}"
            f"{p.time_ps / 1e6:>10.2f}{p.energy_pj / 1e6:>10.3f}{int(p.stats(DRAM_BYTES)):>11,}"
            f"{fig[name]['qk_bytes']:>10,}"
        )

    lines = [
        f"ViTCoD: {cfg.heads} heads x {cfg.tokens} tokens x {cfg.head_dim}, sparsity "
        f"{cfg.sparsity:.0%} (kept {m['kept_fraction']:.1%}, computed {m['computed_fraction']:.1%} "
        f"after polarisation); {cfg.pes} PEs of {cfg.head_dim} MACs at {1 / ns:.2f} GHz, "
        f"{cfg.memory}; engines attention={cfg.engines['attention']} codec={cfg.engines['codec']}; "
        f"host {cfg.host}",
        f"  polarisation: global columns {x['global_columns']}, denser-engine PEs "
        f"{x['dense_pes']}, sparse pairs {x['sparse_pairs']}",
        f"  {'run':<22}{'cycles':>10}{'encode':>10}{'compute':>10}{'time us':>10}{'energy uJ':>10}"
        f"{'DRAM B':>11}{'Q/K B':>10}",
        row("vitcod", "vitcod (encoder)"),
        row("no_encoder", "vitcod, no encoder"),
        row("dense", "dense baseline"),
        f"  speedup vs dense {m['speedup']:.2f}x end to end, {m['compute_speedup']:.2f}x on "
        f"compute (bound from the kept fraction {m['compute_speedup_bound']:.2f}x); energy "
        f"{m['energy_ratio']:.2f}x less",
        f"  memory bound: engines compute {m['compute_fraction']:.0%} of vitcod's cycles "
        f"(dense: {m['baseline_compute_fraction']:.0%}); PE utilisation {m['utilisation']:.0%} "
        f"(dense {m['baseline_utilisation']:.0%})",
        f"  encoder: Q/K DRAM bytes {m['qk_dram_bytes']:,} vs {m['qk_dram_bytes_no_encoder']:,} "
        f"raw ({m['qk_traffic_cut']:.2f}x cut, bound {m['qk_traffic_cut_bound']:.2f}x), "
        f"{m['encoder_speedup']:.2f}x faster end to end",
        f"  accuracy: attention probabilities within {m['attention_error']:.3f} of float64 "
        f"(tolerance {m['attention_tolerance']}; int8 alone {m['attention_error_no_encoder']:.3f})",
        f"  golden {'OK' if m['golden_ok'] else 'FAILED'} {x['golden']}; area "
        f"{m['area_mm2']:.3f} mm2 (dense array {m['baseline_area_mm2']:.3f} mm2)",
        "  energy (pJ): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(x["energy_breakdown_pj"].items())),
        "  dense energy (pJ): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(x["baseline_energy_breakdown_pj"].items())),
        "  control logic is not charged energy",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    scenario.main()
