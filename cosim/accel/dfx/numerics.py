"""The exact numerics of DFX's distributed computation: the same operations, in the same
order and with the same roundings as the engines (`golden_generate`), so the cluster's
tokens and logits must equal it bit for bit for each device count; the ring all-reduce
and attention of one head as the devices compute them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cosim.accel import fixed_point as fxp
from cosim.accel.dfx import fp16_tile as ft
from cosim.accel.dfx import vector_unit as vu
from cosim.accel.dfx.workload import LN_EPS_FX, GptDims, GptWeights, shard


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
