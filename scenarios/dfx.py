"""DFX: GPT-2-style text generation split over a ring of devices, each with its own HBM,
against the same model on one device (Hong et al., "DFX: A Low-latency Multi-FPGA
Appliance for Accelerating Transformer-based Text Generation", MICRO 2022).

One run, one system (cosim.build_soc: host CPU, fabric, DMA, scratchpad, host DRAM; plus
DFX clusters of cosim.accel.dfx on the fabric): the host writes the prompt into every
device's HBM, starts every device through its command window and waits for the generated
tokens, cluster after cluster: the chosen device count (the accelerator), one device
(the baseline), and with scaling=true the other counts of 1, 2 and 4 for the scaling
table. Each device streams its share of the weights from its HBM through its FP16 matrix
tile, runs LayerNorm, softmax and GELU on its vector unit, keeps its heads' KV cache in
HBM, and adds partial sums over the ring links (reduce-scatter + all-gather).

Checks: every generated token and every step's logits of every cluster equal the exact
numpy model of that device count bit for bit (cosim.accel.dfx.numerics.golden_generate), the
tokens the host reads back too; against the float64 model (no rounding), every step's
logits are within the stated tolerance and every greedy choice agrees wherever the
float64 top-two margin exceeds it.

Report: prompt-stage (summarisation) latency, per-token latency of the generation stage,
scaling with the device count, the share of time the tile waited for weights from HBM
(HBM-bandwidth bound) and the share spent on the ring, energy and HBM traffic.

    python scenarios/dfx.py [--set devices=4] [--engine mpu=rtl --engine vpu=rtl]
"""

from __future__ import annotations

from typing import Any

import numpy as np

import cosim
from cosim import area
from cosim.accel import dfx
from cosim.energy import by_component, format_breakdown
from cosim.progress import report_progress
from cosim.scenario import Config, Engine, Param, Scenario

#: Stated tolerance of the FP16 pipeline's logits against float64: absolute, plus
#: relative to the logit (2 layers of FP16 storage between fixed-point vector operations;
#: measured errors are a third of it, tests/accel/dfx/test_dfx.py).
LOGIT_ATOL, LOGIT_RTOL = 0.05, 0.02

scenario = Scenario(
    "dfx",
    "DFX multi-device GPT-2 generation (heads/FFN split, ring, per-device HBM) vs one device",
    params=[
        Param("devices", 2, choices=(1, 2, 4), help="devices in the ring (the accelerator run)"),
        Param("scaling", True, help="also run the other device counts of 1, 2, 4"),
        Param("prompt", 16, min=1, max=16, unit="tokens", help="prompt length"),
        Param("generate", 8, min=1, max=16, unit="tokens", help="tokens to generate"),
        Param("layers", 2, min=1, max=4, help="decoder layers"),
        Param("d", 128, choices=(64, 128), help="model width"),
        Param("heads", 4, choices=(2, 4, 8), help="attention heads"),
        Param("vocab", 256, choices=(128, 256, 512), help="vocabulary size"),
        Param(
            "hbm_channels", 1, min=1, max=8, help="HBM2 pseudo channels per device (16 GB/s each)"
        ),
        Param(
            "link_bandwidth",
            12.5e9,
            min=1e8,
            max=1e12,
            unit="B/s",
            help="ring link bandwidth (100 Gb/s QSFP28 in DFX)",
        ),
        Param(
            "link_latency", "500 ns", type="time", max="100 us", help="one ring hop (assumption)"
        ),
        Param(
            "clock",
            "5 ns",
            type="time",
            min="1 ns",
            max="100 ns",
            help="device clock (200 MHz: assumption, an FPGA kernel clock)",
        ),
    ],
    engines={
        "mpu": Engine(("functional", "tlm", "rtl"), default="tlm", help="FP16 matrix tile"),
        "vpu": Engine(("functional", "tlm", "rtl"), default="tlm", help="vector unit"),
    },
    seed=1,
)


def _shares(steps: list[dfx.StepTimes], peak_bw: float) -> dict[str, float]:
    total = sum(s.total for s in steps) or 1
    return {
        "hbm_busy": sum(s.hbm_bytes for s in steps) / peak_bw / (total * 1e-12),
        "hbm": sum(s.hbm_wait for s in steps) / total,
        "link": sum(s.link for s in steps) / total,
        "tile": sum(s.tile for s in steps) / total,
        "vector": sum(s.vector for s in steps) / total,
        "kv": sum(s.kv for s in steps) / total,
    }


@scenario.run
def run(sim: cosim.Simulation, cfg: Config) -> dict[str, Any]:
    dims = dfx.GptDims(cfg.layers, cfg.d, cfg.heads, cfg.vocab, max_pos=32)
    if cfg.prompt + cfg.generate > dims.max_pos + 1:
        raise cosim.ParameterError(
            f"scenario 'dfx': prompt + generate = {cfg.prompt + cfg.generate} exceeds the "
            f"{dims.max_pos} positions (+1) of the model"
        )
    peak_bw = cfg.hbm_channels * cosim.system.dram.peak_bandwidth("hbm2", 1)
    dims.check_devices(cfg.devices)

    def splits(n: int) -> bool:
        try:
            dims.check_devices(n)
        except cosim.ParameterError:
            return False
        return True

    # the scaling runs: the other counts of 1, 2, 4 the model can be split over
    others = [n for n in (1, 2, 4) if n != cfg.devices and (n == 1 or (cfg.scaling and splits(n)))]
    counts = [cfg.devices, *others]
    soc = cosim.build_soc(sim, memory="ddr4_2400")
    rng = cfg.rng()
    w = dfx.make_model(rng, dims)
    prompt = [int(t) for t in rng.integers(0, dims.vocab, cfg.prompt)]
    engines = {"mpu": cfg.engines["mpu"], "vpu": cfg.engines["vpu"]}
    clusters = []
    for i, n in enumerate(counts):
        c = dfx.DfxCluster(
            sim,
            soc,
            f"dfx{n}",
            n,
            dims,
            engines=engines,
            hbm_channels=cfg.hbm_channels,
            clock=cfg.clock,
            link_bandwidth=cfg.link_bandwidth,
            link_latency=cfg.link_latency,
            window_base=(16 + 8 * i) << 32,
            wave=cfg.wave if i == 0 else None,
        )
        c.install(w)
        clusters.append(c)
    host_results: dict[str, tuple[list[int], Any]] = {}

    @sim.process
    async def host_driver() -> None:
        for i, c in enumerate(clusters):
            host_results[c.name] = await c.host_run(soc.host, prompt, cfg.generate)
            report_progress(i + 1, len(clusters), unit="clusters")

    sim.run()

    # ---------------------------------------------------------------- checks
    results: dict[int, dict[str, Any]] = {}
    for c in clusters:
        runs = [dev.generated for dev in c.devs]
        host_tokens, phase = host_results[c.name]
        gold = dfx.golden_generate(w, prompt, cfg.generate, c.devices, c.numerics)
        exact = all(r.tokens == gold.tokens[cfg.prompt :] for r in runs) and all(
            np.array_equal(a.view(np.uint16), b.view(np.uint16))
            for r in runs
            for a, b in zip(r.logits, gold.logits, strict=True)
        )
        ref = dfx.reference_logits(w, gold.tokens[:-1])[cfg.prompt - 1 :]
        got = np.stack([lg.astype(np.float64) for lg in runs[0].logits])
        err = np.abs(got - ref)
        within = bool(np.all(err <= LOGIT_ATOL + LOGIT_RTOL * np.abs(ref)))
        top2 = np.sort(ref, axis=1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
        greedy = np.argmax(ref, axis=1) == np.array(runs[0].tokens)
        clear = margin > 2 * (LOGIT_ATOL + LOGIT_RTOL * np.abs(top2[:, 1]))
        agree = bool(np.all(greedy | ~clear))
        d0 = runs[0].steps
        results[c.devices] = {
            "ok": exact and within and agree and host_tokens == gold.tokens[cfg.prompt :],
            "read_back": host_tokens == gold.tokens[cfg.prompt :],
            "exact": exact,
            "within": within,
            "greedy": int(greedy.sum()),
            "max_err": float(err.max()),
            "time_ps": phase.time_ps,
            "prompt_ps": d0[0].total,
            "token_ps": float(np.mean([s.total for s in d0[1:]])) if len(d0) > 1 else 0.0,
            "gen": _shares(d0[1:] if len(d0) > 1 else d0, peak_bw),
            "prefill": _shares(d0[:1], peak_bw),
            "hbm_bytes": int(phase.stats(c.hbm_paths())),
            "energy": phase.energy,
            "tokens": host_tokens,
        }

    main, base = results[cfg.devices], results[1]
    clock = cfg.clock
    cycles = round(main["time_ps"] / clock)
    base_cycles = round(base["time_ps"] / clock)
    energy = sum(sum(k.values()) for k in main["energy"].values())
    base_energy = sum(sum(k.values()) for k in base["energy"].values())
    params = (
        sum(m.size for ly in w.layers for m in (ly.w_qkv, ly.w_o, ly.w_fc, ly.w_proj)) + w.wte.size
    )
    macs_token = params  # one MAC per weight per token, plus attention (small)

    # ------------------------------------------------------------------ report
    def uj(r: dict[str, Any]) -> float:
        return sum(sum(k.values()) for k in r["energy"].values()) / 1e6

    rows = []
    for n in sorted(results):
        r, g = results[n], results[n]["gen"]
        tok = base["token_ps"] / r["token_ps"] if r["token_ps"] else 0.0
        rows.append(
            f"  {n:>7} {r['prompt_ps'] / 1e6:>9.1f} {r['token_ps'] / 1e6:>8.2f}"
            f" {base['prompt_ps'] / r['prompt_ps']:>6.2f}x {tok:>6.2f}x"
            f" {100 * g['hbm_busy']:>5.0f}% {100 * g['hbm']:>5.0f}% {100 * g['link']:>5.0f}%"
            f" {100 * g['tile']:>5.0f}% {100 * (g['vector'] + g['kv']):>5.0f}%"
            f" {r['hbm_bytes'] / 1024:>7.0f} {uj(r):>7.1f}  {'OK' if r['ok'] else 'FAIL'}"
        )
    per_token = 2 * params / cfg.devices  # weight bytes each device streams per token
    bound_us = per_token / peak_bw * 1e6
    g = main["gen"]
    report = "\n".join(
        [
            f"DFX GPT-2 decoder: {cfg.layers} layers, d={cfg.d}, {cfg.heads} heads, vocab "
            f"{cfg.vocab}, {params:,} FP16 weights; prompt {cfg.prompt} + {cfg.generate} "
            "generated tokens",
            f"  per device: {cfg.hbm_channels} HBM2 pseudo channel(s) ({peak_bw / 1e9:.0f} GB/s), "
            f"8x8 FP16 tile ({cfg.engines['mpu']}), vector unit ({cfg.engines['vpu']}), clock "
            f"{cosim.fmt_time(clock)}; ring links {cfg.link_bandwidth / 1e9:.1f} GB/s, "
            f"{cosim.fmt_time(cfg.link_latency)} per hop",
            "  golden check: tokens and logits bit-exact against the numpy model of each device "
            f"count: {all(r['exact'] for r in results.values())}; logits within {LOGIT_ATOL} + "
            f"{LOGIT_RTOL}|x| of float64: {all(r['within'] for r in results.values())} (max error "
            f"{max(r['max_err'] for r in results.values()):.4f}); greedy tokens as float64's: "
            f"{main['greedy']}/{cfg.generate}; tokens the host read back equal the golden's: "
            f"{all(r['read_back'] for r in results.values())}",
            f"  generated tokens: {main['tokens']}",
            "",
            f"  {'devices':>7} {'prompt':>9} {'token':>8} {'prompt':>7} {'token':>7}"
            f" {'HBM':>6} {'starve':>6} {'ring':>6} {'tile':>6} {'vector':>6}"
            f" {'HBM':>7} {'energy':>7}",
            f"  {'':>7} {'us':>9} {'us':>8} {'speedup':>7} {'speedup':>7}"
            f" {'busy':>6} {'':>6} {'':>6} {'':>6} {'+KV':>6} {'KiB':>7} {'uJ':>7}",
            *rows,
            "  (generation-stage shares of device 0's time: HBM busy = weight and KV bytes / "
            "peak bandwidth; starve = the tile waiting for weights from HBM; ring = sending on and "
            "waiting for the ring; tile = matrix jobs; vector + KV = vector unit and KV-cache "
            "traffic)",
            "",
            f"  generation stage: {per_token / 1024:.0f} KiB of weights per device per token at "
            f"{peak_bw / 1e9:.0f} GB/s take {bound_us:.2f} us; measured "
            f"{main['token_ps'] / 1e6:.2f} us per token on {cfg.devices} device(s): HBM busy "
            f"{100 * g['hbm_busy']:.0f}% of the "
            f"time, ring {100 * g['link']:.0f}%",
            f"  prompt stage ({cfg.prompt} tokens reuse every weight beat): the tile computes "
            f"{100 * main['prefill']['tile']:.0f}% of the time, HBM busy "
            f"{100 * main['prefill']['hbm_busy']:.0f}%",
            "",
            f"  energy of the {cfg.devices}-device run:",
            "    " + format_breakdown(main["energy"]).replace("\n", "\n    "),
        ]
    )

    def device_part(component: str) -> str:  # the devices' engines added up
        return component.split(".")[-1] if ".dev" in component else component

    def silicon(devices: int) -> area.Estimate:
        """The compute of `devices` devices at 45 nm (cosim.area): the matrix tile's
        lanes x width FP16 multipliers and FP32 adders, the vector unit's lanes (an FP32
        multiplier and adder each); HBM and link PHYs are not counted."""
        tile, vec = clusters[0].tile_shape, clusters[0].vec_shape
        per_device = area.estimate(
            ops={
                "fp16_mult": tile.lanes * tile.width,
                "fp32_add": tile.lanes * tile.width + vec.lanes,
                "fp32_mult": vec.lanes,
            },
            register_bits=16 * tile.lanes * tile.width + 32 * vec.lanes,
        )
        return area.Estimate({k: devices * v for k, v in per_device.parts_um2.items()})

    metrics: dict[str, Any] = {
        "area_mm2": silicon(cfg.devices).mm2,
        "baseline_area_mm2": silicon(1).mm2,
        "golden_ok": all(r["ok"] for r in results.values()),
        "cycles": cycles,
        "baseline_cycles": base_cycles,
        "speedup": base_cycles / cycles,
        "energy_pj": energy,
        "baseline_energy_pj": base_energy,
        "energy_ratio": base_energy / energy,
        "dram_bytes": main["hbm_bytes"],
        "baseline_dram_bytes": base["hbm_bytes"],
        "prompt_latency_us": main["prompt_ps"] / 1e6,
        "token_latency_us": main["token_ps"] / 1e6,
        "baseline_prompt_latency_us": base["prompt_ps"] / 1e6,
        "baseline_token_latency_us": base["token_ps"] / 1e6,
        "hbm_busy_share": main["gen"]["hbm_busy"],
        "hbm_starved_share": main["gen"]["hbm"],
        "link_share": main["gen"]["link"],
        "tile_share": main["gen"]["tile"],
        "prompt_hbm_busy_share": main["prefill"]["hbm_busy"],
        "prompt_link_share": main["prefill"]["link"],
        "tokens_per_s": 1e12 / main["token_ps"] if main["token_ps"] else 0.0,
        "max_logit_error": max(r["max_err"] for r in results.values()),
        "greedy_agreement": main["greedy"] / cfg.generate,
    }
    for n, r in results.items():
        if n != 1:
            metrics[f"token_speedup_{n}"] = (
                base["token_ps"] / r["token_ps"] if r["token_ps"] else 0.0
            )
            metrics[f"prompt_speedup_{n}"] = base["prompt_ps"] / r["prompt_ps"]
    metrics["report"] = report
    metrics["extras"] = {
        "energy_breakdown_pj": by_component(main["energy"], device_part),
        "baseline_energy_breakdown_pj": by_component(base["energy"], device_part),
        "scaling": {
            str(n): {
                "prompt_us": r["prompt_ps"] / 1e6,
                "token_us": r["token_ps"] / 1e6,
                "generation_shares": r["gen"],
                "prompt_shares": r["prefill"],
                "hbm_bytes": r["hbm_bytes"],
                "golden_ok": r["ok"],
            }
            for n, r in sorted(results.items())
        },
        "roofline": {
            "peak_gops": 2 * 64 * cfg.devices / (clock / 1000),
            "peak_gbps": cfg.devices * peak_bw / 1e9,
            "ops": 2 * macs_token * (cfg.prompt + cfg.generate - 1),
            "bytes": main["hbm_bytes"],
            "seconds": main["time_ps"] * 1e-12,
            "baseline_ops": 2 * macs_token * (cfg.prompt + cfg.generate - 1),
            "baseline_bytes": base["hbm_bytes"],
            "baseline_seconds": base["time_ps"] * 1e-12,
        },
    }
    return metrics


if __name__ == "__main__":
    scenario.main()
