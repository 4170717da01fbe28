"""FABNet's workload: one FNet-style layer (Fourier token mixing, the real part of the 2-D
DFT over sequence and hidden) followed by a butterfly linear layer (d -> d), seeded; and
the same layer dense, as a vanilla transformer computes it (attention with Q, K, V and
output projections, then the d x d linear layer). The goldens are computed here, from the
algorithm (cosim.accel.fabnet.butterfly is the fixed-point arithmetic; numpy's FFT and
dense matrices are the float64 reference), never from an engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.accel.fabnet import butterfly as bf
from cosim.errors import ParameterError

#: int8 activations enter the butterfly engine as int16 with this many fraction bits.
INPUT_SHIFT = 8
#: Per-stage right shift of the two FFT passes (keeps every stage inside int16: the FFT
#: of N points is scaled by 1/N) and of the butterfly linear layer.
FFT_SHIFT, LINEAR_SHIFT = 1, 0
#: The float reference's tolerance on the fixed-point layer (relative L2 error).
TOLERANCE = 0.03


@dataclass(frozen=True)
class FabnetLayer:
    seq: int
    d: int
    x: np.ndarray  # (seq, d) int8 activations
    weights: np.ndarray  # (log2 d, d/2, 4) int16 butterfly weights, Q2.14
    w_dense: dict[str, np.ndarray]  # the dense layer's int8 weights (d x d): q, k, v, o, linear

    @property
    def x16(self) -> np.ndarray:
        return self.x.astype(np.int16) << INPUT_SHIFT


def check_size(what: str, v: int, lo: int = 16, hi: int = 256) -> int:
    if not lo <= v <= hi or v & (v - 1):
        raise ParameterError(f"fabnet: {what} = {v} must be a power of two in {lo}..{hi}")
    return v


def make_layer(rng: np.random.Generator, seq: int, d: int) -> FabnetLayer:
    """Activations uniform int8; butterfly weights N(0, 1/2) in Q2.14 (each stage keeps
    the signal's scale); the dense weights int8 uniform; the dense linear layer is the
    butterfly's own matrix, quantised to int8 (the same linear map, dense)."""
    check_size("seq", seq)
    check_size("d", d)
    x = rng.integers(-127, 128, (seq, d)).astype(np.int8)
    lg = bf.log2_exact(d)
    w = np.clip(np.round(rng.normal(0, np.sqrt(0.5), (lg, d // 2, 4)) * bf.ONE), -32768, 32767)
    weights = w.astype(np.int16)
    dense = {k: rng.integers(-127, 128, (d, d)).astype(np.int8) for k in ("q", "k", "v", "o")}
    b = bf.linear_matrix(weights).T  # y = x @ B^T
    dense["linear"] = np.clip(np.round(b / np.abs(b).max() * 127), -127, 127).astype(np.int8)
    return FabnetLayer(seq, d, x, weights, dense)


# ---------------------------------------------------------------------- FABNet layer
def golden_mixing(layer: FabnetLayer) -> np.ndarray:
    """The fixed-point Fourier mixing (int16, seq x d): FFT over hidden, then over
    sequence, the real part."""
    x = layer.x16.astype(np.int64)
    zr, zi = bf.run(x, np.zeros_like(x), bf.twiddles(layer.d), "fft", FFT_SHIFT)
    mr, _ = bf.run(zr.T, zi.T, bf.twiddles(layer.seq), "fft", FFT_SHIFT)
    return np.ascontiguousarray(mr.T)


def golden_fabnet(layer: FabnetLayer) -> tuple[np.ndarray, np.ndarray]:
    """(mixing output, layer output), both int16 seq x d, bit-exact to the engine."""
    m = golden_mixing(layer)
    m64 = m.astype(np.int64)
    y, _ = bf.run(m64, np.zeros_like(m64), layer.weights, "linear", LINEAR_SHIFT)
    return m, y


def reference_fabnet(layer: FabnetLayer) -> tuple[np.ndarray, np.ndarray]:
    """The float64 reference: Re(FFT2(x)) / (seq d) (the FFT passes' scaling), then x B^T."""
    lg_s, lg_d = bf.log2_exact(layer.seq), bf.log2_exact(layer.d)
    scale = 2.0 ** (FFT_SHIFT * (lg_s + lg_d))
    m = np.real(np.fft.fft2(layer.x16.astype(np.float64))) / scale
    y = m @ bf.linear_matrix(layer.weights).T / 2.0 ** (LINEAR_SHIFT * lg_d)
    return m, y


def relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    r = np.asarray(ref, np.float64)
    return float(np.linalg.norm(np.asarray(got, np.float64) - r) / max(np.linalg.norm(r), 1e-12))


# ---------------------------------------------------------------------- dense layer
def requant_shift(c: np.ndarray) -> int:
    """The right shift that brings int32 results `c` into int8: the per-tensor scale a
    calibration pass would choose (the largest magnitude lands in 64..127)."""
    top = int(np.abs(np.asarray(c, np.int64)).max())
    return max(1, top.bit_length() - 7)


def requant(c: np.ndarray, shift: int | None = None) -> np.ndarray:
    """int32 -> int8: round half up after `shift` (default requant_shift(c)), saturate
    (the output formatter)."""
    c = np.asarray(c, np.int64)
    shift = requant_shift(c) if shift is None else shift
    return np.clip((c + (1 << (shift - 1))) >> shift, -128, 127).astype(np.int8)


def softmax_int8(s: np.ndarray, d: int) -> np.ndarray:
    """Row softmax of int8 scores (scaled by 1/sqrt(d) and the score quantisation) as
    int8 probabilities in 0..127."""
    z = s.astype(np.float64) * (8.0 / np.sqrt(d)) / 16.0
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return np.round(p * 127).astype(np.int8)


def dense_steps(seq: int, d: int) -> list[tuple[str, str, str, int, int, int]]:
    """The dense layer as GEMMs: (result, A, B, m, k, n); 'kT' is K transposed."""
    return [
        ("q", "x", "wq", seq, d, d),
        ("k", "x", "wk", seq, d, d),
        ("v", "x", "wv", seq, d, d),
        ("s", "q", "kT", seq, d, seq),
        ("a", "p", "v", seq, seq, d),
        ("o", "a", "wo", seq, d, d),
        ("y", "o", "wl", seq, d, d),
    ]


def golden_dense(layer: FabnetLayer) -> dict[str, np.ndarray]:
    """Every intermediate of the dense layer, int8, from plain numpy matmuls."""
    w = layer.w_dense
    t: dict[str, np.ndarray] = {
        "x": layer.x,
        "wq": w["q"],
        "wk": w["k"],
        "wv": w["v"],
        "wo": w["o"],
        "wl": w["linear"],
    }
    for out, a, b, _m, _k, _n in dense_steps(layer.seq, layer.d):
        bm = t["k"].T if b == "kT" else t[b]
        t[out] = requant(t[a].astype(np.int64) @ bm.astype(np.int64))
        if out == "s":
            t["p"] = softmax_int8(t["s"], layer.d)
    return t


def dense_macs(seq: int, d: int) -> dict[str, int]:
    """Multiply-adds of the dense layer: attention (projections and the two seq x seq
    products) and the linear layer."""
    steps = {s[0]: s[3] * s[4] * s[5] for s in dense_steps(seq, d)}
    return {"attention": sum(v for k, v in steps.items() if k != "y"), "linear": steps["y"]}


def check_outputs(layer: FabnetLayer, y_fab: np.ndarray, y_dense: np.ndarray) -> dict[str, Any]:
    """The golden check of one run: FABNet's output bit-exact to the fixed-point model and
    within TOLERANCE of the float64 reference; the dense layer's bit-exact."""
    _, y_g = golden_fabnet(layer)
    _, y_ref = reference_fabnet(layer)
    exact = bool(np.array_equal(y_fab, y_g))
    err = relative_error(y_fab, y_ref)
    dense_ok = bool(np.array_equal(y_dense, golden_dense(layer)["y"]))
    return {
        "ok": exact and err <= TOLERANCE and dense_ok,
        "exact": exact,
        "error": err,
        "dense_ok": dense_ok,
    }
