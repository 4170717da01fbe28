"""DFX: GPT-2 text generation on a ring of devices with model parallelism (Hong et al.,
"DFX: A Low-latency Multi-FPGA Appliance for Accelerating Transformer-based Text
Generation", MICRO 2022), in a full system.

Model (`GptDims`, `make_model`): a GPT-2-style decoder (pre-LayerNorm blocks, causal
attention, tanh-GELU MLP, tied embeddings), FP16 weights seeded from numpy, greedy
decoding of `generate` new tokens after a prompt.

Parallelism (`shard`), as DFX: each of D devices holds heads/D attention heads (their
Q, K and V projection rows and the matching columns of the output projection), FFN/D
columns of the first FFN matrix and the matching rows of the second, and vocab/D rows
of the LM head; each keeps the KV cache of its heads in its own HBM. After the attention
output projection and after the FFN, the partial sums are added over the ring
(reduce-scatter then all-gather, 2(D-1) link hops of 1/D of the vector each); the logits
slices are all-gathered for the argmax. LayerNorm and the residual stream are computed
redundantly on every device.

Device (`DfxDevice`): HBM (the dram model, `hbm_channels` pseudo channels), the FP16
matrix tile (cosim.accel.fp16_tile) and the vector unit (cosim.accel.vector_unit) as
functional/tlm/rtl engines, an on-chip receive buffer for the ring, and a controller
(DFX's scheduler) with a weight streamer that reads the next weight blocks from HBM into
an on-chip buffer while the tile works (DFX streams weights from HBM in the generation
stage, where every weight is used once per token). `DfxCluster` is D devices, their ring
and the host-visible doorbells.

Numbers: `golden_generate` is the exact numpy model of the distributed computation
(same operations, same order, same roundings as the engines), so the cluster's tokens
and logits must equal it bit for bit for each device count; `reference_logits` is the
float64 model without any rounding, the stated tolerance check of the FP16 pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import cosim
from cosim.accel import fixed_point as fxp
from cosim.accel import fp16_tile as ft
from cosim.accel import vector_unit as vu
from cosim.accel.control import Doorbell, EnergyCounters, EnergyEntry, Fifo
from cosim.accel.phase import Phase, PhaseMeter
from cosim.errors import ParameterError
from cosim.link import LinkReceiver, ring

LN_EPS = 1e-5
LN_EPS_FX = max(1, round(LN_EPS * fxp.FX_ONE))

_H = "Horowitz, ISSCC 2014, 45 nm"
ENERGY = {
    "mac": EnergyEntry(
        "dfx.mac_fp16_acc32",
        2.0,
        "op",
        f"{_H}: 16b FP mult 1.1 pJ + 32b FP add 0.9 pJ (the tree and accumulator add one FP32 "
        "add per multiply)",
        "one FP16 multiply with FP32 accumulation",
    ),
    "vpu_add": EnergyEntry(
        "dfx.vpu_add_element",
        0.16,
        "element",
        f"derived from {_H}: a 32-bit add 0.1 pJ + two fp16<->fixed conversions (shifts, "
        "about an 8-bit add each, 0.03 pJ)",
        "one element of a vector addition",
    ),
    "vpu_layernorm": EnergyEntry(
        "dfx.vpu_layernorm_element",
        12.7,
        "element",
        f"derived from {_H}: two 32b multiplies (variance square, normalise) 6.2 + gamma "
        "multiply 3.1 + one more for the variance pass 3.1 + adds 0.3",
        "one element through LayerNorm",
    ),
    "vpu_softmax": EnergyEntry(
        "sta.softmax_element",
        7.6,
        "element",
        f"derived from {_H}: scale multiply 32x16b 1.6 + three 16b multiplies of the exp2 "
        "cubic 2.4 + three adds 0.3 + max and sum adds 0.2 + normalising 32b multiply 3.1",
        "one score through the softmax core (the same core as STA's unit)",
    ),
    "vpu_gelu": EnergyEntry(
        "dfx.vpu_gelu_element",
        3.4,
        "element",
        f"derived from {_H}: table interpolation: one 32b multiply 3.1 + three 32b adds 0.3",
        "one element through the GELU table",
    ),
    "buffer": EnergyEntry(
        "sram_read_32b_8kb",
        5.0,
        "32-bit word",
        f"{_H}: 32-bit read of an 8 KB SRAM",
        "on-chip weight and receive buffers, per word written and per word read",
    ),
}


# ------------------------------------------------------------------------- model
@dataclass(frozen=True)
class GptDims:
    layers: int = 2
    d: int = 128
    heads: int = 4
    vocab: int = 256
    max_pos: int = 32

    def __post_init__(self) -> None:
        if self.d % self.heads or (self.d // self.heads) % 8:
            raise ParameterError(
                f"DFX: d = {self.d} over heads = {self.heads} must give a head size that is a "
                "multiple of 8"
            )
        if self.d & (self.d - 1):
            raise ParameterError(f"DFX: d = {self.d} must be a power of two (LayerNorm)")

    @property
    def dh(self) -> int:
        return self.d // self.heads

    @property
    def ffn(self) -> int:
        return 4 * self.d

    def check_devices(self, devices: int) -> None:
        for what, n in (("heads", self.heads), ("vocab", self.vocab), ("d", self.d)):
            if n % devices or (what != "heads" and (n // devices) % 8):
                raise ParameterError(
                    f"DFX: {devices} devices must divide {what} = {n} (into multiples of 8)"
                )


@dataclass
class Layer:
    ln1: tuple[np.ndarray, np.ndarray]
    w_qkv: np.ndarray  # (3d, d): rows q (d), k (d), v (d), head-major inside each
    b_qkv: np.ndarray
    w_o: np.ndarray  # (d, d)
    b_o: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]
    w_fc: np.ndarray  # (ffn, d)
    b_fc: np.ndarray
    w_proj: np.ndarray  # (d, ffn)
    b_proj: np.ndarray


@dataclass
class GptWeights:
    dims: GptDims
    wte: np.ndarray  # (vocab, d): embeddings and the tied LM head
    wpe: np.ndarray  # (max_pos, d)
    layers: list[Layer]
    ln_f: tuple[np.ndarray, np.ndarray]


#: Width of the block matrices relative to GPT-2's initialisation (see make_model).
BLOCK_GAIN = 8


def make_model(rng: np.random.Generator, dims: GptDims) -> GptWeights:
    """Seeded FP16 weights in the manner of GPT-2's initialisation (normal, std 0.02;
    residual projections scaled by 1/sqrt(2 layers)), with wider embeddings (std 0.3) so
    the tied LM head gives clear argmax margins, and LayerNorm gains near 1.

    The block matrices are BLOCK_GAIN times wider than GPT-2's 0.02: with random weights
    and a tied LM head, the residual stream is otherwise dominated by the current
    token's embedding and greedy decoding repeats the last prompt token forever (at a
    gain of 4 the default seed generates one token eight times). At 8 the blocks
    contribute as much as the embedding, the generated tokens vary, and the argmax
    margins (>= 0.26 on seeds 1 and 2) stay far above the FP16 pipeline's logit error
    (about 0.02), so greedy decoding agrees with float64."""

    def n(shape: tuple[int, ...], std: float) -> np.ndarray:
        return rng.normal(0.0, std, shape).astype(np.float16)

    def ln(k: int) -> tuple[np.ndarray, np.ndarray]:
        return (1 + n((k,), 0.1)).astype(np.float16), n((k,), 0.1)

    d, f = dims.d, dims.ffn
    proj = 0.02 / math.sqrt(2 * dims.layers)
    layers = [
        Layer(
            ln(d),
            n((3 * d, d), 0.02 * BLOCK_GAIN),
            n((3 * d,), 0.02),
            n((d, d), proj * BLOCK_GAIN),
            n((d,), 0.02),
            ln(d),
            n((f, d), 0.02 * BLOCK_GAIN),
            n((f,), 0.02),
            n((d, f), proj * BLOCK_GAIN),
            n((d,), 0.02),
        )
        for _ in range(dims.layers)
    ]
    return GptWeights(dims, n((dims.vocab, d), 0.3), n((dims.max_pos, d), 0.1), layers, ln(d))


@dataclass
class Shard:
    """What device k of D holds: its heads' rows and columns, FFN slice, LM-head slice."""

    k: int
    devices: int
    heads: list[int]
    w_qkv: list[np.ndarray]
    b_qkv: list[np.ndarray]
    w_o: list[np.ndarray]
    b_o: list[np.ndarray]
    w_fc: list[np.ndarray]
    b_fc: list[np.ndarray]
    w_proj: list[np.ndarray]
    b_proj: list[np.ndarray]
    w_lm: np.ndarray


def shard(w: GptWeights, devices: int, k: int) -> Shard:
    dims = w.dims
    dims.check_devices(devices)
    hk, dh, d = dims.heads // devices, dims.dh, dims.d
    heads = list(range(k * hk, (k + 1) * hk))
    cols = np.concatenate([np.arange(h * dh, (h + 1) * dh) for h in heads])
    qkv_rows = np.concatenate([cols, d + cols, 2 * d + cols])
    fk = dims.ffn // devices
    frows = np.arange(k * fk, (k + 1) * fk)
    vk = dims.vocab // devices
    zero = np.zeros(d, np.float16)
    return Shard(
        k,
        devices,
        heads,
        [ly.w_qkv[qkv_rows] for ly in w.layers],
        [ly.b_qkv[qkv_rows] for ly in w.layers],
        [np.ascontiguousarray(ly.w_o[:, cols]) for ly in w.layers],
        [ly.b_o if k == 0 else zero for ly in w.layers],
        [ly.w_fc[frows] for ly in w.layers],
        [ly.b_fc[frows] for ly in w.layers],
        [np.ascontiguousarray(ly.w_proj[:, frows]) for ly in w.layers],
        [ly.b_proj if k == 0 else zero for ly in w.layers],
        w.wte[k * vk : (k + 1) * vk],
    )


# -------------------------------------------------------------- exact numerics
@dataclass(frozen=True)
class Numerics:
    """The engines' operations in numpy, bit for bit (shared by the golden model)."""

    width: int
    softmax_mult: int
    softmax_shift: int
    lut: np.ndarray = field(repr=False, compare=False, default_factory=fxp.gelu_lut)

    @classmethod
    def for_dims(cls, dims: GptDims, width: int) -> Numerics:
        mult, shift = fxp.softmax_scale(1 / math.sqrt(dims.dh))
        return cls(width, mult, shift)

    def mm(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        return ft.tile_matmul(x, w, b, self.width)

    def ln(self, x: np.ndarray, g: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        rows = len(x)
        return vu.golden_rows(
            vu.OP_LAYERNORM, [x, np.tile(g[0], (rows, 1)), np.tile(g[1], (rows, 1))], eps=LN_EPS_FX
        )

    def add(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return vu.golden_rows(vu.OP_ADD, [a, b])

    def gelu(self, x: np.ndarray) -> np.ndarray:
        return vu.golden_rows(vu.OP_GELU, [x], lut=self.lut)

    def softmax(self, x: np.ndarray) -> np.ndarray:
        return vu.golden_rows(vu.OP_SOFTMAX, [x], mult=self.softmax_mult, shift=self.softmax_shift)


def pad8(n: int) -> int:
    return (n + 7) // 8 * 8


def chunks(devices: int, width: int) -> list[slice]:
    step = width // devices
    return [slice(c * step, (c + 1) * step) for c in range(devices)]


def ring_allreduce(num: Numerics, parts: list[np.ndarray]) -> np.ndarray:
    """The value every device holds after the ring all-reduce of its partial sums:
    chunk c is summed starting at device c, each next device adding its own partial
    (add(own, received)), in ring order."""
    devices = len(parts)
    if devices == 1:
        return parts[0]
    out = np.empty_like(parts[0])
    for c, sl in enumerate(chunks(devices, parts[0].shape[1])):
        v = parts[c][:, sl]
        for i in range(1, devices):
            v = num.add(parts[(c + i) % devices][:, sl], v)
        out[:, sl] = v
    return out


def attention_head(
    num: Numerics, q: np.ndarray, k_cache: np.ndarray, vt_cache: np.ndarray, pos0: int
) -> np.ndarray:
    """One head over T new tokens at positions pos0..: scores against the cached keys
    (rows padded to a multiple of 8 with the cache's zeros), a causal softmax per row,
    probabilities padded with zeros times the transposed values."""
    t = q.shape[0]
    keys = pad8(pos0 + t)
    scores = num.mm(q, k_cache[:keys])
    probs = np.zeros((t, keys), np.float16)
    for r in range(t):
        n = pos0 + r + 1
        probs[r, :n] = num.softmax(scores[r : r + 1, :n])[0]
    return num.mm(probs, vt_cache[:, :keys])


@dataclass
class GoldenRun:
    tokens: list[int]
    logits: list[np.ndarray]  # per step, float16 (vocab,)


def golden_generate(
    w: GptWeights, prompt: list[int], new: int, devices: int, num: Numerics
) -> GoldenRun:
    """The exact result of the D-device computation: generated tokens and each step's
    logits, by the engines' numerics in the device programs' order."""
    dims = w.dims
    shards = [shard(w, devices, k) for k in range(devices)]
    dh = dims.dh
    kc = {
        (li, h): np.zeros((dims.max_pos, dh), np.float16)
        for li in range(dims.layers)
        for h in range(dims.heads)
    }
    vc = {
        (li, h): np.zeros((dh, dims.max_pos), np.float16)
        for li in range(dims.layers)
        for h in range(dims.heads)
    }
    tokens = list(prompt)
    logits_out = []
    step_tokens, pos0 = list(prompt), 0
    for _ in range(new):
        t = len(step_tokens)
        x = num.add(w.wte[step_tokens], w.wpe[pos0 : pos0 + t])
        for li, ly in enumerate(w.layers):
            h = num.ln(x, ly.ln1)
            parts = []
            for s in shards:
                qkv = num.mm(h, s.w_qkv[li], s.b_qkv[li])
                hk = len(s.heads)
                outs = []
                for j, head in enumerate(s.heads):
                    q = qkv[:, j * dh : (j + 1) * dh]
                    kk = qkv[:, (hk + j) * dh : (hk + j + 1) * dh]
                    vv = qkv[:, (2 * hk + j) * dh : (2 * hk + j + 1) * dh]
                    kc[li, head][pos0 : pos0 + t] = kk
                    vc[li, head][:, pos0 : pos0 + t] = vv.T
                    outs.append(attention_head(num, q, kc[li, head], vc[li, head], pos0))
                parts.append(num.mm(np.concatenate(outs, axis=1), s.w_o[li], s.b_o[li]))
            x = num.add(x, ring_allreduce(num, parts))
            h2 = num.ln(x, ly.ln2)
            parts = [
                num.mm(num.gelu(num.mm(h2, s.w_fc[li], s.b_fc[li])), s.w_proj[li], s.b_proj[li])
                for s in shards
            ]
            x = num.add(x, ring_allreduce(num, parts))
        xf = num.ln(x[-1:], w.ln_f)
        logits = np.concatenate([num.mm(xf, s.w_lm) for s in shards], axis=1)[0]
        nxt = int(np.argmax(logits))
        logits_out.append(logits)
        tokens.append(nxt)
        pos0 += t
        step_tokens = [nxt]
    return GoldenRun(tokens, logits_out)


def reference_logits(w: GptWeights, tokens: list[int]) -> np.ndarray:
    """float64 logits at every position of `tokens` (causal, no rounding anywhere)."""
    dims = w.dims
    f = np.float64

    def ln(x: np.ndarray, g: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        z = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + LN_EPS)
        return z * g[0].astype(f) + g[1].astype(f)

    t = len(tokens)
    x = w.wte[tokens].astype(f) + w.wpe[:t].astype(f)
    mask = np.triu(np.full((t, t), -np.inf), 1)
    for ly in w.layers:
        h = ln(x, ly.ln1)
        qkv = h @ ly.w_qkv.T.astype(f) + ly.b_qkv.astype(f)
        d, dh = dims.d, dims.dh
        outs = []
        for head in range(dims.heads):
            q = qkv[:, head * dh : (head + 1) * dh]
            k = qkv[:, d + head * dh : d + (head + 1) * dh]
            v = qkv[:, 2 * d + head * dh : 2 * d + (head + 1) * dh]
            s = q @ k.T / math.sqrt(dh) + mask
            p = np.exp(s - s.max(-1, keepdims=True))
            outs.append(p / p.sum(-1, keepdims=True) @ v)
        x = x + np.concatenate(outs, axis=1) @ ly.w_o.T.astype(f) + ly.b_o.astype(f)
        h2 = ln(x, ly.ln2)
        m = fxp.gelu_tanh(h2 @ ly.w_fc.T.astype(f) + ly.b_fc.astype(f))
        x = x + m @ ly.w_proj.T.astype(f) + ly.b_proj.astype(f)
    return ln(x, w.ln_f) @ w.wte.T.astype(f)


# ----------------------------------------------------------------- simulation
@dataclass
class StepTimes:
    """Where one device's time went during one decoding step (ps)."""

    total: int = 0
    hbm_bytes: int = 0  # moved by this device's HBM during the step
    hbm_wait: int = 0  # the tile waiting for weights still on their way from HBM
    link: int = 0  # sending on and waiting for the ring
    tile: int = 0
    vector: int = 0
    kv: int = 0  # KV-cache and embedding reads/writes in HBM


@dataclass
class DeviceRun:
    steps: list[StepTimes] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    logits: list[np.ndarray] = field(default_factory=list)


class DfxDevice:
    """One device of the ring: HBM, tile, vector unit, receive buffer, controller."""

    # device-local address map (the controller's bus)
    HBM = 0x0
    MPU_CSR, MPU_IN, MPU_OUT = 0x8000_0000, 0x8001_0000, 0x8002_0000
    VPU_CSR, VPU_IN, VPU_OUT = 0x8004_0000, 0x8005_0000, 0x8006_0000
    TX = 0x8010_0000
    RX = 0x8020_0000
    RX_SLOTS, RX_SLOT = 8, 8192
    # HBM layout
    IO, EMBED, WEIGHTS = 0x0, 0x1_0000, 0x10_0000

    def __init__(
        self,
        sim: Any,
        cluster: DfxCluster,
        k: int,
        *,
        engines: dict[str, str],
        hbm_channels: int,
        clock: int,
        weight_buffer: int,
        wave: str | None,
    ) -> None:
        self.sim, self.cluster, self.k = sim, cluster, k
        self.dims = cluster.dims
        self.clock = clock
        self.tile_shape = cluster.tile_shape
        self.vec_shape = cluster.vec_shape
        name = f"{cluster.name}.dev{k}"
        waves = {"waves": f"{name}.{wave}.fst"} if wave and k == 0 else {}
        with sim.scope(f"dev{k}"):
            self.hbm = sim.model("dram", "hbm", preset="hbm2", channels=hbm_channels)
            self.mpu = ft.fp16_dot_tile(
                sim,
                "mpu",
                impl=engines["mpu"],
                shape=self.tile_shape,
                clock=clock,
                **(waves if wave == "mpu" else {}),
            )
            self.vpu = vu.vector_unit(
                sim,
                "vpu",
                impl=engines["vpu"],
                shape=self.vec_shape,
                clock=clock,
                **(waves if wave == "vpu" else {}),
            )
            self.bus = sim.model("router", "bus")
            self.rx_mem = sim.model(
                "memory",
                "rxbuf",
                size=self.RX_SLOTS * self.RX_SLOT,
                read_latency="5 ns",
                write_latency="5 ns",
            )
            self.ctl = sim.initiator("controller")
            self.fetch = sim.initiator("streamer")
            self.doorbell = Doorbell(sim, "doorbell", irq_name=name.replace(".", "_") + "_doorbell")
        self.name = name
        sim.bind(self.ctl, self.bus.port("target"))
        sim.bind(self.fetch, self.bus.port("target"))
        self.bus.map(self.hbm.port("target"), self.HBM, self.hbm.capacity)
        for port, base in (
            (self.mpu.csr, self.MPU_CSR),
            (self.mpu.data_in, self.MPU_IN),
            (self.mpu.data_out, self.MPU_OUT),
            (self.vpu.csr, self.VPU_CSR),
            (self.vpu.data_in, self.VPU_IN),
            (self.vpu.data_out, self.VPU_OUT),
        ):
            self.bus.map(port, base, 0x1_0000)
        self.bus.map(self.rx_mem.port("target"), self.RX, self.RX_SLOTS * self.RX_SLOT)
        self.tile = ft.TileDriver(
            self.ctl, self.tile_shape, csr=self.MPU_CSR, data_in=self.MPU_IN, data_out=self.MPU_OUT
        )
        self.vec = vu.VectorDriver(
            self.ctl, self.vec_shape, csr=self.VPU_CSR, data_in=self.VPU_IN, data_out=self.VPU_OUT
        )
        self.weight_buffer = weight_buffer
        self.energy = EnergyCounters(
            sim,
            name,
            {
                k2: ENERGY[k2]
                for k2 in ("mac", "vpu_add", "vpu_layernorm", "vpu_softmax", "vpu_gelu", "buffer")
            },
            {
                "mac": "FP16 multiply-accumulates",
                "vpu_add": "vector additions (elements)",
                "vpu_layernorm": "LayerNorm elements",
                "vpu_softmax": "softmax elements",
                "vpu_gelu": "GELU elements",
                "buffer": "on-chip buffer words (weights and ring)",
            },
        )
        self.tx_link: Any = None
        self.rx: LinkReceiver | None = None
        self.sent = 0
        self.received = 0
        self._alloc_next = self.WEIGHTS
        self.layout: dict[str, tuple[int, int]] = {}
        self.stream: list[tuple[str, int, int]] = []

    # -------------------------------------------------------------------- memory
    def _alloc(self, nbytes: int) -> int:
        at = self._alloc_next
        self._alloc_next += (nbytes + 63) // 64 * 64
        if self._alloc_next > self.hbm.capacity:
            raise ParameterError(f"DFX {self.name}: the model does not fit its HBM")
        return at

    def hbm_write(self, at: int, data: np.ndarray) -> None:
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        self.hbm.array()[at : at + raw.size] = raw

    def install(self, w: GptWeights, s: Shard) -> None:
        """Model loading (before the timed run): embeddings, this device's weight blocks
        (bias first, then row blocks in the tile's beat order) and zeroed KV caches in HBM
        (keys and values of its heads, row per position); LayerNorm parameters into the
        controller's on-chip parameter memory; the weight stream of one decoding step."""
        dims = self.dims
        self.hbm_write(self.EMBED, w.wte)
        self.wpe_at = self.EMBED + w.wte.nbytes
        self.hbm_write(self.wpe_at, w.wpe)
        self.ln = [(ly.ln1, ly.ln2) for ly in w.layers]
        self.ln_f = w.ln_f
        self.shard = s
        stream: list[tuple[str, int, int]] = []

        def matrix(name: str, mat: np.ndarray, bias: np.ndarray | None) -> None:
            if bias is not None:
                at = self._alloc(bias.nbytes)
                self.hbm_write(at, bias)
                self.layout[f"{name}.bias"] = (at, bias.nbytes)
                stream.append((f"{name}.bias", at, bias.nbytes))
            blocks = ft.weight_beats(mat, self.tile_shape)
            for j, blk in enumerate(blocks):
                at = self._alloc(blk.nbytes)
                self.hbm_write(at, blk)
                stream.append((f"{name}.{j}", at, blk.nbytes))
            self.layout[name] = (len(blocks), mat.shape[0])

        for li in range(dims.layers):
            matrix(f"l{li}.qkv", s.w_qkv[li], s.b_qkv[li])
            matrix(f"l{li}.o", s.w_o[li], s.b_o[li])
            matrix(f"l{li}.fc", s.w_fc[li], s.b_fc[li])
            matrix(f"l{li}.proj", s.w_proj[li], s.b_proj[li])
        matrix("lm", s.w_lm, None)
        self.stream = stream
        dh, mp = dims.dh, dims.max_pos
        self.kcache = {}
        self.vcache = {}
        for li in range(dims.layers):
            for head in s.heads:
                for cache in (self.kcache, self.vcache):  # [position][dh], zeroed
                    cache[li, head] = self._alloc(mp * dh * 2)
                    self.hbm_write(cache[li, head], np.zeros(mp * dh, np.float16))

    # ------------------------------------------------------------------ streaming
    async def streamer(self, steps: int, fifo: Fifo) -> None:
        """DFX's weight DMA: read every weight block of every step from HBM in program
        order into the on-chip buffer (bounded by its capacity in blocks)."""
        for _ in range(steps):
            for name, at, nbytes in self.stream:
                data = np.asarray(await self.fetch.read(self.HBM + at, nbytes), np.uint8)
                self.energy.add("buffer", nbytes // 4)  # written into the buffer
                await fifo.put((name, data))

    async def _weights(self, fifo: Fifo, waited: list[int]) -> np.ndarray:
        t0 = cosim.now()
        _, data = await fifo.get()
        waited[0] += cosim.now() - t0
        self.energy.add("buffer", data.nbytes // 4)  # read out to the tile
        return data

    async def matmul(
        self, name: str, x: np.ndarray, fifo: Fifo, times: StepTimes, bias: bool = True
    ) -> np.ndarray:
        """Y = X W^T (+ b) of a streamed matrix: one tile job, its row blocks taken from
        the weight buffer as the tile asks for them. Time the weight stream waited for
        HBM counts as HBM-bound, the rest of the job as tile time."""
        blocks, rows = self.layout[name]
        lanes, beat = self.tile_shape.lanes, self.tile_shape.in_beat_bytes
        waited = [0]
        bvec = (await self._weights(fifo, waited)).view(np.float16) if bias else None

        async def block(j: int) -> tuple[np.ndarray, np.ndarray | None]:
            raw = await self._weights(fifo, waited)
            b = None
            if bvec is not None:
                b = np.zeros(lanes, np.float16)
                part = bvec[j * lanes : (j + 1) * lanes]
                b[: len(part)] = part
            return raw.reshape(-1, beat), b

        return (await self._tile_job(x, blocks, block, bias, times, waited))[:, :rows]

    async def _tile_job(
        self,
        x: np.ndarray,
        blocks: int,
        block: Callable[[int], Awaitable[tuple[np.ndarray, np.ndarray | None]]],
        bias: bool,
        times: StepTimes,
        waited: list[int],
    ) -> np.ndarray:
        """One tile job; `waited` accumulates the weight stream's waits for HBM."""
        t, n = x.shape
        w0 = waited[0]
        t0 = cosim.now()
        y = await self.tile.matmul(x, blocks, block, t, n, bias)
        elapsed = cosim.now() - t0
        times.hbm_wait += waited[0]
        times.tile += elapsed - (waited[0] - w0)
        self.energy.add("mac", t * n * self.tile_shape.lanes * blocks)
        return y

    async def mm_direct(self, x: np.ndarray, w: np.ndarray, times: StepTimes) -> np.ndarray:
        """Y = X W^T with W already on chip (the attention's keys and values)."""
        beats = ft.weight_beats(w, self.tile_shape)

        async def block(j: int) -> tuple[np.ndarray, None]:
            return beats[j], None

        y = await self._tile_job(x, len(beats), block, False, times, [0])
        return y[:, : w.shape[0]]

    async def vector(
        self, op: int, inputs: list[np.ndarray], times: StepTimes, **kw: int
    ) -> np.ndarray:
        t0 = cosim.now()
        y = await self.vec.run(op, inputs, **kw)
        times.vector += cosim.now() - t0
        kind = {
            vu.OP_ADD: "vpu_add",
            vu.OP_LAYERNORM: "vpu_layernorm",
            vu.OP_SOFTMAX: "vpu_softmax",
            vu.OP_GELU: "vpu_gelu",
        }[op]
        self.energy.add(kind, inputs[0].size)
        return y

    async def layernorm(
        self, x: np.ndarray, g: tuple[np.ndarray, np.ndarray], times: StepTimes
    ) -> np.ndarray:
        rows = len(x)
        return await self.vector(
            vu.OP_LAYERNORM,
            [x, np.tile(g[0], (rows, 1)), np.tile(g[1], (rows, 1))],
            times,
            eps=LN_EPS_FX,
        )

    # ------------------------------------------------------------------------ ring
    async def send(self, data: np.ndarray, times: StepTimes) -> None:
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        if raw.size > self.RX_SLOT:
            raise ParameterError(f"DFX {self.name}: a ring message of {raw.size} B exceeds a slot")
        slot = self.sent % self.RX_SLOTS
        self.sent += 1
        t0 = cosim.now()
        await self.ctl.write(self.TX + slot * self.RX_SLOT, raw)
        times.link += cosim.now() - t0

    async def receive(self, shape: tuple[int, ...], times: StepTimes) -> np.ndarray:
        assert self.rx is not None
        t0 = cosim.now()
        await self.rx.message()
        slot = self.received % self.RX_SLOTS
        self.received += 1
        n = int(np.prod(shape)) * 2
        raw = np.asarray(await self.ctl.read(self.RX + slot * self.RX_SLOT, n), np.uint8)
        times.link += cosim.now() - t0
        self.energy.add("buffer", 2 * n // 4)  # written by the link, read by the controller
        return raw.view(np.float16).reshape(shape)

    async def allreduce(self, part: np.ndarray, times: StepTimes) -> np.ndarray:
        """Ring all-reduce (reduce-scatter, then all-gather) of this device's partial sums."""
        devices = self.cluster.devices
        if devices == 1:
            return part
        k = self.k
        sl = chunks(devices, part.shape[1])
        buf = part.copy()
        for s in range(devices - 1):
            await self.send(buf[:, sl[(k - s) % devices]], times)
            r = (k - s - 1) % devices
            got = await self.receive(buf[:, sl[r]].shape, times)
            buf[:, sl[r]] = await self.vector(
                vu.OP_ADD, [np.ascontiguousarray(buf[:, sl[r]]), got], times
            )
        for s in range(devices - 1):
            await self.send(buf[:, sl[(k + 1 - s) % devices]], times)
            r = (k - s) % devices
            buf[:, sl[r]] = await self.receive(buf[:, sl[r]].shape, times)
        return buf

    async def allgather(self, mine: np.ndarray, times: StepTimes) -> np.ndarray:
        """Every device's slice, in device order (D-1 ring hops)."""
        devices, k = self.cluster.devices, self.k
        out = [np.empty(0)] * devices
        out[k] = mine
        cur = mine
        for s in range(devices - 1):
            await self.send(cur, times)
            cur = await self.receive(mine.shape, times)
            out[(k - s - 1) % devices] = cur
        return np.concatenate(out, axis=1)

    # ------------------------------------------------------------------- program
    async def attention(self, li: int, qkv: np.ndarray, pos0: int, times: StepTimes) -> np.ndarray:
        dh = self.dims.dh
        t = qkv.shape[0]
        hk = len(self.shard.heads)
        num = self.cluster.numerics
        outs = []
        for j, head in enumerate(self.shard.heads):
            q = np.ascontiguousarray(qkv[:, j * dh : (j + 1) * dh])
            kk = np.ascontiguousarray(qkv[:, (hk + j) * dh : (hk + j + 1) * dh])
            vv = qkv[:, (2 * hk + j) * dh : (2 * hk + j + 1) * dh]
            t0 = cosim.now()
            kat, vat = self.kcache[li, head], self.vcache[li, head]
            await self.ctl.write(self.HBM + kat + pos0 * dh * 2, kk.view(np.uint8).reshape(-1))
            await self.ctl.write(
                self.HBM + vat + pos0 * dh * 2, np.ascontiguousarray(vv).view(np.uint8).reshape(-1)
            )
            keys = pad8(pos0 + t)
            kmat = (
                np.asarray(await self.ctl.read(self.HBM + kat, keys * dh * 2))
                .view(np.float16)
                .reshape(keys, dh)
            )
            vmat = (
                np.asarray(await self.ctl.read(self.HBM + vat, keys * dh * 2))
                .view(np.float16)
                .reshape(keys, dh)
            )
            vt = np.ascontiguousarray(vmat.T)  # the on-chip transpose buffer
            times.kv += cosim.now() - t0
            scores = await self.mm_direct(q, kmat, times)
            probs = np.zeros((t, keys), np.float16)
            for r in range(t):
                n = pos0 + r + 1
                probs[r, :n] = (
                    await self.vector(
                        vu.OP_SOFTMAX,
                        [np.ascontiguousarray(scores[r : r + 1, :n])],
                        times,
                        mult=num.softmax_mult,
                        shift=num.softmax_shift,
                    )
                )[0]
            outs.append(await self.mm_direct(probs, vt, times))
        return np.concatenate(outs, axis=1)

    async def step(self, tokens: list[int], pos0: int, fifo: Fifo) -> tuple[np.ndarray, StepTimes]:
        """One decoding step over `tokens` at positions pos0..: returns the logits of the
        last position (every device gets all of them) and where the time went."""
        times = StepTimes()
        t_start = cosim.now()
        hbm0 = self.hbm_bytes()
        dims, t = self.dims, len(tokens)
        t0 = cosim.now()
        emb = np.stack(
            [
                np.asarray(
                    await self.ctl.read(self.HBM + self.EMBED + tok * dims.d * 2, dims.d * 2)
                ).view(np.float16)
                for tok in tokens
            ]
        )
        pe = (
            np.asarray(
                await self.ctl.read(self.HBM + self.wpe_at + pos0 * dims.d * 2, t * dims.d * 2)
            )
            .view(np.float16)
            .reshape(t, dims.d)
        )
        times.kv += cosim.now() - t0
        x = await self.vector(vu.OP_ADD, [emb, pe], times)
        for li in range(dims.layers):
            ln1, ln2 = self.ln[li]
            h = await self.layernorm(x, ln1, times)
            qkv = await self.matmul(f"l{li}.qkv", h, fifo, times)
            a = await self.attention(li, qkv, pos0, times)
            o = await self.allreduce(await self.matmul(f"l{li}.o", a, fifo, times), times)
            x = await self.vector(vu.OP_ADD, [x, o], times)
            h2 = await self.layernorm(x, ln2, times)
            f = await self.vector(
                vu.OP_GELU, [await self.matmul(f"l{li}.fc", h2, fifo, times)], times
            )
            m = await self.allreduce(await self.matmul(f"l{li}.proj", f, fifo, times), times)
            x = await self.vector(vu.OP_ADD, [x, m], times)
        xf = await self.layernorm(x[-1:], self.ln_f, times)
        mine = await self.matmul("lm", xf, fifo, times, bias=False)
        logits = await self.allgather(mine, times) if self.cluster.devices > 1 else mine
        times.total = cosim.now() - t_start
        times.hbm_bytes = self.hbm_bytes() - hbm0
        return logits[0], times

    def hbm_bytes(self) -> int:
        st = self.sim.stats
        return int(st[f"{self.name}.hbm.bytes_read"] + st[f"{self.name}.hbm.bytes_written"])

    async def run(self, new: int) -> DeviceRun:
        """The controller: wait for the host, generate `new` tokens after the prompt in
        HBM (IO area: count, then token ids as uint32), write them back, and (device 0)
        raise the completion interrupt."""
        cmd = await self.doorbell.command()
        n_prompt = cmd & 0xFFFF
        raw = np.asarray(await self.ctl.read(self.HBM + self.IO + 4, 4 * n_prompt), np.uint8)
        prompt = [int(v) for v in raw.view("<u4")]
        fifo = Fifo(
            self.sim, f"{self.name}.wbuf", self.weight_buffer, size=lambda item: item[1].nbytes
        )
        self.sim.process(self.streamer(new, fifo), name=f"{self.name}.streamer".replace(".", "_"))
        await self.vec.load_gelu(self.cluster.numerics.lut)
        out = DeviceRun()
        step_tokens, pos0 = prompt, 0
        for s in range(new):
            t0 = cosim.now()
            logits, times = await self.step(step_tokens, pos0, fifo)
            nxt = int(np.argmax(logits))
            out.steps.append(times)
            out.tokens.append(nxt)
            out.logits.append(logits)
            if self.sim.trace.enabled:
                self.sim.trace.span(
                    self.name, f"step {s} ({len(step_tokens)} tokens)", t0, cosim.now()
                )
            pos0 += len(step_tokens)
            step_tokens = [nxt]
        if self.k == 0:
            await self.ctl.write(
                self.HBM + self.IO + 0x400, np.array(out.tokens, "<u4").view(np.uint8)
            )
        self.doorbell.complete()
        return out


class DfxCluster:
    """D devices in a ring, each mapped on the SoC fabric at its own window (as PCIe
    BARs: the host writes the prompt into every device's HBM and rings every doorbell;
    device 0 answers with the generated tokens and its interrupt)."""

    WINDOW = 1 << 32

    def __init__(
        self,
        sim: Any,
        soc: Any,
        name: str,
        devices: int,
        dims: GptDims,
        *,
        engines: dict[str, str],
        hbm_channels: int,
        clock: int,
        link_bandwidth: float,
        link_latency: int,
        window_base: int,
        weight_buffer: int = 128 << 10,
        wave: str | None = None,
    ) -> None:
        dims.check_devices(devices)
        self.sim, self.soc, self.name, self.devices, self.dims = sim, soc, name, devices, dims
        self.tile_shape = ft.TileShape(lanes=8, width=8, in_max=max(512, dims.ffn), t_max=16)
        self.vec_shape = vu.VectorShape(lanes=16, max_len=max(512, dims.ffn))
        self.numerics = Numerics.for_dims(dims, self.tile_shape.width)
        with sim.scope(name):
            self.devs = [
                DfxDevice(
                    sim,
                    self,
                    k,
                    engines=engines,
                    hbm_channels=hbm_channels,
                    clock=clock,
                    weight_buffer=weight_buffer,
                    wave=wave,
                )
                for k in range(devices)
            ]
            links = ring(
                sim,
                "link",
                devices,
                bandwidth=link_bandwidth,
                latency=link_latency,
                rx_base=DfxDevice.RX,
            )
        for k, dev in enumerate(self.devs):
            if links:
                dev.tx_link = links[k]
                dev.bus.map(
                    links[k].port("tx"), DfxDevice.TX, DfxDevice.RX_SLOTS * DfxDevice.RX_SLOT
                )
                sim.bind(links[k].port("rx"), self.devs[(k + 1) % devices].bus.port("target"))
                self.devs[(k + 1) % devices].rx = LinkReceiver(
                    sim, links[k], f"{name}_rx{(k + 1) % devices}"
                )
            base = window_base + k * self.WINDOW
            soc.fabric.map(dev.bus.port("target"), base, dev.hbm.capacity)
            soc.fabric.map(dev.doorbell.port, base + dev.hbm.capacity, Doorbell.WINDOW)
            dev.window = base
            dev.doorbell_at = base + dev.hbm.capacity
        self.links = links

    def install(self, w: GptWeights) -> None:
        for k, dev in enumerate(self.devs):
            dev.install(w, shard(w, self.devices, k))

    def hbm_paths(self) -> list[str]:
        return [
            f"{self.name}.dev{k}.hbm.{s}"
            for k in range(self.devices)
            for s in ("bytes_read", "bytes_written")
        ]

    async def host_run(self, host: Any, prompt: list[int], new: int) -> tuple[list[int], Phase]:
        """The host's part: write the prompt, ring the doorbells, wait, read the tokens."""
        data = np.array(prompt, "<u4").view(np.uint8)
        for dev in self.devs:
            await host.write(dev.window + DfxDevice.IO + 4, data)
        meter = PhaseMeter(self.sim)
        for dev in self.devs:
            await host.write32(dev.doorbell_at, len(prompt) | new << 16)
        await host.wait_irq(self.devs[0].doorbell.irq)
        phase = meter.stop()
        raw = await host.read(self.devs[0].window + DfxDevice.IO + 0x400, 4 * new)
        return [int(v) for v in np.asarray(raw).view("<u4")], phase


__all__ = [
    "ENERGY",
    "DfxCluster",
    "DfxDevice",
    "GoldenRun",
    "GptDims",
    "GptWeights",
    "Numerics",
    "StepTimes",
    "golden_generate",
    "make_model",
    "reference_logits",
    "ring_allreduce",
    "shard",
]
