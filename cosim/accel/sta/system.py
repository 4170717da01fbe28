"""STA: one transformer encoder layer on an N:M sparse engine with an on-chip softmax
(Fang, Zhou and Wang, "An Algorithm-Hardware Co-Optimized Framework for Accelerating N:M
Sparse Transformers", IEEE TVLSI 30(11), 2022), in a full system.

Workload (`make_workload`, `calibrate`, `encoder_golden`): an int8 encoder layer (d, heads,
sequence, FFN), weights seeded from numpy and pruned N:M; requantisation shifts and the
softmax scale calibrated on the layer itself (a static post-training calibration); the
golden model is the exact integer pipeline in numpy, with LayerNorm in float64:
    QKV = rq(X Wqkv^T);  S_h = Q_h K_h^T;  P_h = softmax(S_h) (int8, Q0.7)
    O_h = rq(P_h V_h);   X1 = LN(X + rq(A Wo^T));   H = rq_relu(X1 W1^T)
    X2 = LN(X1 + rq(H W2^T))
rq = requantisation (rounding shift, saturation to int8); LN = LayerNorm of the int
residual, output scaled by 2^LN_OUT_FRAC to int8: the accelerator computes it in fixed
point (cosim.accel.fixed_point), the golden in float64 (layernorm_float), and the two
must agree within LN_TOLERANCE_LSB; the stages after a LayerNorm are checked exactly
from the accelerator's LayerNorm output.

Accelerator (`StaAccelerator`): the N:M engine (cosim.accel.sta.nm_sparse), the softmax unit
(cosim.accel.sta.softmax_unit), a residual+LayerNorm unit (`ResidualNorm`: DFX's vector
unit, rtl/dfx/vector_unit.sv and its twins, reused; the paper's RTL engines are the N:M
engine and the softmax), and a controller (STA's control unit) that runs the
layer: the SoC's DMA brings the compressed weights of the next matrix into the
scratchpad while the engine works on the current one; activations live in the
scratchpad; attention scores go straight from the engine into the softmax unit and the
probabilities straight back into the engine (on-chip softmax), or, in the comparison
mode, through DRAM as an accelerator without a fused softmax would do. The host starts a
pass through the command window (RUN_PASS, ARG0 = the pass) and waits for its interrupt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import cosim
from cosim.accel import fixed_point as fxp
from cosim.accel.control import CommandWindow, ControllerPort, EnergyCounters, EnergyEntry
from cosim.accel.dfx import vector_unit as vu
from cosim.accel.phase import PhaseMeter
from cosim.accel.sta import nm_sparse as nm
from cosim.accel.sta import softmax_unit as smx
from cosim.errors import ParameterError
from cosim.system.dma import Descriptor, DmaDriver, chain
from cosim.system.host import InterruptLine

#: The command that runs an installed pass (ARG0: its index).
RUN_PASS = 1
#: LayerNorm output in int8: value * 2^LN_OUT_FRAC (range +-4).
LN_OUT_FRAC = 5
#: Probabilities leave the softmax unit as Q0.7 int8 (0..127).
PROB_OUT_SHIFT, PROB_OUT_MAX = 9, 127
LN_EPS_FX = 1

# Per-operation energies (45 nm) of the Python-charged events, from Horowitz (ISSCC 2014):
# 8b mult 0.2 pJ, 32b mult 3.1, 8b add 0.03, 32b add 0.1. A 16-bit multiply is taken as
# 0.8 pJ (array-multiplier energy grows with the square of the width: 0.2 * (16/8)^2,
# which also gives 3.2 ~ 3.1 for 32 bits).
_H = "Horowitz, ISSCC 2014, 45 nm"
ENERGY = {
    "mac": EnergyEntry(
        "sta.mac_int8_acc32",
        0.3,
        "op",
        f"{_H}: 8b mult 0.2 pJ + 32b add 0.1 pJ",
        "one int8 multiply with int32 accumulation",
    ),
    "select": EnergyEntry(
        "sta.select_8b",
        0.03,
        "op",
        f"assumption: an 8-bit M:1 selector costs about an 8-bit add ({_H}: 0.03 pJ)",
        "one slot's activation selection by its index",
    ),
    "softmax_element": EnergyEntry(
        "sta.softmax_element",
        7.6,
        "element",
        f"derived from {_H}: scale multiply 32x16b 1.6 + three 16b multiplies of the exp2 "
        "cubic 2.4 + three adds 0.3 + max and sum adds 0.2 + normalising 32b multiply 3.1",
        "one score through the softmax unit's three passes",
    ),
    "softmax_row": EnergyEntry(
        "sta.softmax_divide",
        3.3,
        "row",
        f"derived from {_H}: 33 restoring-division steps of a 33-bit subtract (0.1 pJ each)",
        "the per-row reciprocal 2^48 / sum",
    ),
    "ln_element": EnergyEntry(
        "sta.layernorm_element",
        6.5,
        "element",
        f"derived from {_H}: two 32b multiplies (normalise, gamma) 6.2 + three 32b adds 0.3",
        "one element through residual add and LayerNorm",
    ),
    "ln_row": EnergyEntry(
        "sta.layernorm_row",
        5.7,
        "row",
        f"derived from {_H}: 32 square-root and 25 division steps of 32-bit adds (0.1 pJ)",
        "the per-row reciprocal standard deviation",
    ),
}


# ------------------------------------------------------------------------ workload
@dataclass(frozen=True)
class EncoderDims:
    d: int = 64
    heads: int = 2
    seq: int = 16
    ffn: int = 128

    def __post_init__(self) -> None:
        if self.d % self.heads:
            raise ParameterError(f"STA: d = {self.d} must be a multiple of heads = {self.heads}")
        if self.d & (self.d - 1):
            raise ParameterError(f"STA: d = {self.d} must be a power of two (LayerNorm)")

    @property
    def dh(self) -> int:
        return self.d // self.heads


@dataclass
class EncoderWeights:
    """int8 weight matrices (rows = outputs): wqkv (3d x d), wo (d x d), w1 (ffn x d),
    w2 (d x ffn); LayerNorm gamma/beta in fx."""

    wqkv: np.ndarray
    wo: np.ndarray
    w1: np.ndarray
    w2: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    ln2: tuple[np.ndarray, np.ndarray]

    def matrices(self) -> dict[str, np.ndarray]:
        return {"qkv": self.wqkv, "o": self.wo, "w1": self.w1, "w2": self.w2}

    def pruned(self, pattern: nm.NMPattern) -> EncoderWeights:
        return EncoderWeights(
            *(nm.prune(m, pattern) for m in (self.wqkv, self.wo, self.w1, self.w2)),
            self.ln1,
            self.ln2,
        )


def make_workload(rng: np.random.Generator, dims: EncoderDims) -> tuple[np.ndarray, EncoderWeights]:
    """Seeded input activations (seq x d int8) and dense int8 weights."""

    def mat(rows: int, cols: int) -> np.ndarray:
        return np.clip(np.round(rng.normal(0, 32, (rows, cols))), -128, 127).astype(np.int8)

    def ln(n: int) -> tuple[np.ndarray, np.ndarray]:
        g = np.round((1 + 0.1 * rng.normal(size=n)) * fxp.FX_ONE).astype(np.int64)
        b = np.round(0.1 * rng.normal(size=n) * fxp.FX_ONE).astype(np.int64)
        return g, b

    x = np.clip(np.round(rng.normal(0, 40, (dims.seq, dims.d))), -128, 127).astype(np.int8)
    d, f = dims.d, dims.ffn
    return x, EncoderWeights(mat(3 * d, d), mat(d, d), mat(f, d), mat(d, f), ln(d), ln(d))


@dataclass(frozen=True)
class Quant:
    """Requantisation shifts per matrix product and the softmax settings."""

    qkv: int
    pv: int
    o: int
    w1: int
    w2: int
    softmax: smx.SoftmaxConfig


def _shift_for(acc: np.ndarray) -> int:
    """Smallest shift that brings 4 standard deviations of `acc` inside int8."""
    spread = 4 * float(np.std(acc.astype(np.float64))) + 1
    return max(0, math.ceil(math.log2(spread / 127)))


def requant(acc: np.ndarray, shift: int, relu: bool = False) -> np.ndarray:
    cfg = nm.OUT_REQUANT | shift | (nm.OUT_RELU if relu else 0)
    return nm.requantize(acc, cfg).astype(np.int8)


def residual_norm(x: np.ndarray, y: np.ndarray, ln: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """LN(x + y) of int8 rows, in fx, back to int8 at 2^LN_OUT_FRAC."""
    r = (x.astype(np.int64) + y.astype(np.int64)) << fxp.FX_FRAC
    z = fxp.layernorm_fx(r, ln[0], ln[1], LN_EPS_FX)
    sh = fxp.FX_FRAC - LN_OUT_FRAC
    return np.clip((z + (1 << (sh - 1))) >> sh, -128, 127).astype(np.int8)


def calibrate(x: np.ndarray, w: EncoderWeights, dims: EncoderDims) -> Quant:
    """Static calibration on this layer: shifts from accumulator spreads, softmax scale
    so the logits (scores / sqrt(dh) / 2^k) spread with a standard deviation near 1.5."""
    xi = x.astype(np.int64)
    acc = xi @ w.wqkv.T.astype(np.int64)
    s_qkv = _shift_for(acc)
    qkv = requant(acc, s_qkv).astype(np.int64)
    d, dh = dims.d, dims.dh
    scores = np.stack(
        [
            qkv[:, h * dh : (h + 1) * dh] @ qkv[:, d + h * dh : d + (h + 1) * dh].T
            for h in range(dims.heads)
        ]
    )
    k = round(math.log2(max(float(np.std(scores)), 1.0) / (1.5 * math.sqrt(dh))))
    mult, shift = fxp.softmax_scale(fxp.FX_ONE / (math.sqrt(dh) * 2.0**k))
    sm = smx.SoftmaxConfig(dims.seq, mult, shift, PROB_OUT_SHIFT, PROB_OUT_MAX)
    probs = smx.golden_rows(scores, sm)
    v = qkv[:, 2 * d :]
    pv = np.concatenate([probs[h] @ v[:, h * dh : (h + 1) * dh] for h in range(dims.heads)], axis=1)
    s_pv = _shift_for(pv)
    a = requant(pv, s_pv).astype(np.int64)
    o = a @ w.wo.T.astype(np.int64)
    s_o = _shift_for(o)
    x1 = residual_norm(x, requant(o, s_o), w.ln1).astype(np.int64)
    h1 = x1 @ w.w1.T.astype(np.int64)
    s_w1 = _shift_for(h1)
    hh = requant(h1, s_w1, relu=True).astype(np.int64)
    s_w2 = _shift_for(hh @ w.w2.T.astype(np.int64))
    return Quant(s_qkv, s_pv, s_o, s_w1, s_w2, sm)


#: How far the residual+LayerNorm unit's int8 output may be from float64 LayerNorm of the
#: same residual, in LSBs of its int8 output (2^-LN_OUT_FRAC): half an LSB of rounding to
#: int8, plus the fixed-point mean, variance and reciprocal square root inside the unit
#: (cosim.accel.fixed_point.layernorm_fx: 16 fraction bits, rstd to 2^-14 relative),
#: plus FP16 at its ports (gamma, beta and the output: 2^-11 relative). Measured: 0.56.
LN_TOLERANCE_LSB = 1.0


def layernorm_float(x: np.ndarray, y: np.ndarray, ln: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """LN(x + y) of int8 rows in float64, independently of the unit's fixed-point
    arithmetic: in units of the int8 output (2^-LN_OUT_FRAC), clipped to its range, not
    rounded. The variance epsilon is the unit's (LN_EPS_FX in fx: 2^-16)."""
    r = x.astype(np.float64) + y.astype(np.float64)
    c = r - r.mean(-1, keepdims=True)
    z = c / np.sqrt((c * c).mean(-1, keepdims=True) + LN_EPS_FX / fxp.FX_ONE)
    out = (z * ln[0] / fxp.FX_ONE + ln[1] / fxp.FX_ONE) * 2.0**LN_OUT_FRAC
    return np.clip(out, -128, 127)


def _to_int8(v: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(v), -128, 127).astype(np.int8)


def encoder_golden(
    x: np.ndarray,
    w: EncoderWeights,
    q: Quant,
    dims: EncoderDims,
    x1: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every intermediate of the encoder layer (numpy reference): the integer stages
    exactly; the two LayerNorms in float64 (layernorm_float: "x1_float" and "x2_float",
    with "x1" and "x2" rounded to int8). With `x1` (the accelerator's first LayerNorm
    output, checked against "x1_float" within LN_TOLERANCE_LSB) the stages after it
    start from that x1, so they can be checked exactly."""
    d, dh = dims.d, dims.dh
    xi = x.astype(np.int64)
    qkv = requant(xi @ w.wqkv.T.astype(np.int64), q.qkv)
    qi = qkv.astype(np.int64)
    scores = np.stack(
        [
            qi[:, h * dh : (h + 1) * dh] @ qi[:, d + h * dh : d + (h + 1) * dh].T
            for h in range(dims.heads)
        ]
    )
    probs = smx.golden_rows(scores, q.softmax).astype(np.int8)
    a = np.concatenate(
        [
            requant(probs[h].astype(np.int64) @ qi[:, 2 * d + h * dh : 2 * d + (h + 1) * dh], q.pv)
            for h in range(dims.heads)
        ],
        axis=1,
    )
    y = requant(a.astype(np.int64) @ w.wo.T.astype(np.int64), q.o)
    x1_float = layernorm_float(x, y, w.ln1)
    if x1 is None:
        x1 = _to_int8(x1_float)
    hh = requant(x1.astype(np.int64) @ w.w1.T.astype(np.int64), q.w1, relu=True)
    y2 = requant(hh.astype(np.int64) @ w.w2.T.astype(np.int64), q.w2)
    x2_float = layernorm_float(x1, y2, w.ln2)
    return {
        "qkv": qkv,
        "scores": scores,
        "probs": probs,
        "attn": a,
        "x1": x1,
        "x1_float": x1_float,
        "h": hh,
        "x2": _to_int8(x2_float),
        "x2_float": x2_float,
    }


def check_outputs(
    out: dict[str, np.ndarray], x: np.ndarray, w: EncoderWeights, q: Quant, dims: EncoderDims
) -> dict[str, float]:
    """The accelerator's intermediates of one pass against the golden: the integer
    stages must match exactly (0 or 1: a mismatch), the LayerNorm outputs within
    LN_TOLERANCE_LSB of float64. Returns the largest error of each ("qkv", "attn", "h":
    0.0 when exact, 1.0 when not; "x1", "x2": in int8 LSBs)."""
    gold = encoder_golden(x, w, q, dims, x1=out["x1"])
    errors = {k: float(not np.array_equal(out[k], gold[k])) for k in ("qkv", "attn", "h")}
    for k in ("x1", "x2"):
        errors[k] = float(np.abs(out[k].astype(np.float64) - gold[f"{k}_float"]).max())
    return errors


def outputs_ok(errors: dict[str, float]) -> bool:
    """check_outputs' errors within their tolerances."""
    exact = all(errors[k] == 0.0 for k in ("qkv", "attn", "h"))
    return exact and all(errors[k] <= LN_TOLERANCE_LSB for k in ("x1", "x2"))


def encoder_float(x: np.ndarray, w: EncoderWeights, q: Quant, dims: EncoderDims) -> np.ndarray:
    """The same layer in float64 (exact softmax and LayerNorm, no rounding anywhere;
    the int8 tensors keep only their range [-128, 127]), as int8-scaled output: how far
    the integer pipeline's roundings take it from real arithmetic."""
    d, dh = dims.d, dims.dh

    def r8(v: np.ndarray) -> np.ndarray:
        return np.clip(v, -128, 127)

    qkv = r8((x.astype(np.float64) @ w.wqkv.T) / 2.0**q.qkv)
    c = q.softmax.mult / 2.0**q.softmax.shift / fxp.FX_ONE / math.log2(math.e)  # per score unit
    outs = []
    for h in range(dims.heads):
        s = qkv[:, h * dh : (h + 1) * dh] @ qkv[:, d + h * dh : d + (h + 1) * dh].T * c
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        outs.append(p * 128 @ qkv[:, 2 * d + h * dh : 2 * d + (h + 1) * dh] / 2.0**q.pv)
    a = r8(np.concatenate(outs, axis=1))

    def ln(r: np.ndarray, g: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        z = (r - r.mean(-1, keepdims=True)) / np.sqrt(r.var(-1, keepdims=True) + 1e-9)
        return r8((z * g[0] / fxp.FX_ONE + g[1] / fxp.FX_ONE) * 2.0**LN_OUT_FRAC)

    x1 = ln(x + r8(a @ w.wo.T / 2.0**q.o), w.ln1)
    hh = r8(np.maximum(x1 @ w.w1.T / 2.0**q.w1, 0))
    return ln(x1 + r8(hh @ w.w2.T / 2.0**q.w2), w.ln2)


# --------------------------------------------------------------- post-processing
class ResidualNorm:
    """Residual add + LayerNorm of the accelerator on a real engine: the vector unit of
    DFX (rtl/dfx/vector_unit.sv and its twins, cosim.accel.dfx.vector_unit), whose
    numbers are those of cosim.accel.fixed_point inside and FP16 at its ports. Per call
    two jobs: ADD (x + y, int8 rows as FP16: exact) and LAYERNORM (gamma and beta as
    FP16, the unit's epsilon LN_EPS_FX); its FP16 output is scaled by 2^LN_OUT_FRAC,
    rounded and saturated to int8 as it is written back (the output converter). Time:
    the engine's. Energy: ENERGY ln_element / ln_row per element and row."""

    def __init__(self, sim: Any, name: str, driver: vu.VectorDriver) -> None:
        self.driver = driver
        self.energy = EnergyCounters(
            sim,
            name,
            {"element": ENERGY["ln_element"], "row": ENERGY["ln_row"]},
            {"element": "elements through residual+LayerNorm", "row": "row normalisations"},
        )

    async def run(
        self, x: np.ndarray, y: np.ndarray, ln: tuple[np.ndarray, np.ndarray]
    ) -> np.ndarray:
        rows, d = x.shape
        self.energy.add("element", rows * d)
        self.energy.add("row", rows)
        r = await self.driver.run(vu.OP_ADD, [x.astype(np.float16), y.astype(np.float16)])
        gamma = np.tile((np.asarray(ln[0]) / fxp.FX_ONE).astype(np.float16), (rows, 1))
        beta = np.tile((np.asarray(ln[1]) / fxp.FX_ONE).astype(np.float16), (rows, 1))
        z = await self.driver.run(vu.OP_LAYERNORM, [r, gamma, beta], eps=LN_EPS_FX)
        return _to_int8(z.astype(np.float64) * 2.0**LN_OUT_FRAC)


# ------------------------------------------------------------------- accelerator
@dataclass
class PassConfig:
    """One accelerator pass: the weight pattern and where the softmax happens."""

    name: str
    pattern: nm.NMPattern
    onchip_softmax: bool = True


@dataclass
class PassResult:
    """What one pass measured: its time, the cycles of each kind of work, the weight
    and spill bytes the controller moved, DRAM traffic and energy (from the stats and
    the energy table, over the pass), and the layer's outputs."""

    name: str
    pattern: str
    onchip_softmax: bool
    time_ps: int = 0
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    engine_cycles: dict[str, int] = field(default_factory=dict)
    weight_bytes: int = 0
    spill_bytes: int = 0
    dram_bytes: int = 0
    energy: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def energy_pj(self) -> float:
        return sum(sum(k.values()) for k in self.energy.values())


@dataclass
class _Images:
    """Where a pass's compressed weights are in DRAM."""

    pattern: nm.NMPattern
    at: dict[str, int]
    nbytes: dict[str, int]
    arrays: dict[str, np.ndarray]


class StaAccelerator:
    """STA in a build_soc system: engine, softmax unit, residual+LayerNorm unit, a
    controller with its own bus (engines, a scratchpad port, the SoC fabric) and a
    command window on the fabric. `install()` lays out a pass's data; the host starts
    RUN_PASS with the pass index; the controller runs it (its PassResult lands in
    `results`) and raises the interrupt."""

    # controller-bus addresses (below the SoC fabric window that starts at the DMA)
    ENGINE_CSR, ENGINE_IN, ENGINE_OUT = 0x2000_0000, 0x2001_0000, 0x2002_0000
    SOFTMAX_CSR, SOFTMAX_IN, SOFTMAX_OUT = 0x2004_0000, 0x2005_0000, 0x2006_0000
    NORM_CSR, NORM_IN, NORM_OUT = 0x2008_0000, 0x2009_0000, 0x200A_0000
    WINDOW = 0x5000_0000  # the command window, on the SoC fabric

    def __init__(
        self,
        sim: Any,
        soc: Any,
        dims: EncoderDims,
        *,
        engine_impl: str,
        softmax_impl: str,
        clock: int,
        shape: nm.EngineShape | None = None,
        wave: str | None = None,
        norm_impl: str = "tlm",
    ) -> None:
        self.sim, self.soc, self.dims, self.clock = sim, soc, dims, clock
        self.shape = shape or nm.EngineShape(t_max=max(16, dims.seq))
        self.sm_shape = smx.SoftmaxShape(lanes=self.shape.lanes, max_len=max(256, dims.seq))
        # DFX's vector unit at its default shape (16 FP16 lanes, rows up to 512) unless d
        # is longer, so the RTL build is shared with DFX's
        self.norm_shape = vu.VectorShape(max_len=max(vu.VectorShape().max_len, dims.d))
        if dims.seq > self.shape.t_max or dims.seq % self.shape.slots:
            raise ParameterError(
                f"STA: seq = {dims.seq} must be a multiple of the engine's {self.shape.slots} "
                f"slots and at most its {self.shape.t_max} tokens"
            )
        waves = {"waves": f"{wave}.fst"} if wave else {}
        with sim.scope("sta"):
            self.engine = nm.nm_sparse_engine(
                sim,
                "engine",
                impl=engine_impl,
                shape=self.shape,
                clock=clock,
                **(waves if wave == "engine" else {}),
            )
            self.softmax = smx.softmax_unit(
                sim,
                "softmax",
                impl=softmax_impl,
                shape=self.sm_shape,
                clock=clock,
                **(waves if wave == "softmax" else {}),
            )
            self.norm = vu.vector_unit(
                sim,
                "norm",
                impl=norm_impl,
                shape=self.norm_shape,
                clock=clock,
                **(waves if wave == "norm" else {}),
            )
            self.bus = sim.model("router", "bus")
            self.socket = sim.initiator("controller")
        sim.bind(self.socket, self.bus.port("target"))
        for port, base in (
            (self.engine.csr, self.ENGINE_CSR),
            (self.engine.data_in, self.ENGINE_IN),
            (self.engine.data_out, self.ENGINE_OUT),
            (self.softmax.csr, self.SOFTMAX_CSR),
            (self.softmax.data_in, self.SOFTMAX_IN),
            (self.softmax.data_out, self.SOFTMAX_OUT),
            (self.norm.csr, self.NORM_CSR),
            (self.norm.data_in, self.NORM_IN),
            (self.norm.data_out, self.NORM_OUT),
        ):
            self.bus.map(port, base, 0x1_0000)
        self.bus.map(soc.scratchpad.port("port"), soc.SPAD, soc.scratchpad.size)
        # DMA registers and DRAM through the SoC fabric (untranslated addresses)
        self.bus.map(
            soc.fabric.port("target"),
            soc.DMA,
            soc.DRAM + soc.dram.capacity - soc.DMA,
            translate=False,
        )
        self.window = CommandWindow(sim, "sta", clock=clock)
        self.window.map(soc.fabric, self.WINDOW)
        self.window.command(RUN_PASS, "pass")(self._serve)
        self.results: list[PassResult] = []
        self.port = ControllerPort(self.socket)
        self.dma_irq = InterruptLine(sim, soc.dma.event("irq"), "sta_dma_irq")
        # ControllerPort has the HostCpu methods DmaDriver uses (the controller is its host)
        self.dma = DmaDriver(self.port, soc.DMA, self.dma_irq)  # type: ignore[arg-type]
        self.nm = nm.NMDriver(
            self.socket,
            self.shape,
            csr=self.ENGINE_CSR,
            data_in=self.ENGINE_IN,
            data_out=self.ENGINE_OUT,
        )
        self.sm = smx.SoftmaxDriver(
            self.socket,
            self.sm_shape,
            csr=self.SOFTMAX_CSR,
            data_in=self.SOFTMAX_IN,
            data_out=self.SOFTMAX_OUT,
        )
        self.post = ResidualNorm(
            sim,
            "sta.postproc",
            vu.VectorDriver(
                self.socket,
                self.norm_shape,
                csr=self.NORM_CSR,
                data_in=self.NORM_IN,
                data_out=self.NORM_OUT,
            ),
        )
        self.engine_energy = EnergyCounters(
            sim,
            "sta.engine",
            {"mac": ENERGY["mac"], "select": ENERGY["select"]},
            {"mac": "slot multiply-accumulates", "select": "index-driven activation selections"},
        )
        self.softmax_energy = EnergyCounters(
            sim,
            "sta.softmax",
            {"element": ENERGY["softmax_element"], "row": ENERGY["softmax_row"]},
            {"element": "scores normalised", "row": "row reciprocals"},
        )
        # memory layout
        self._dram_next = soc.DATA
        self.x_at = self._alloc(dims.seq * dims.d)
        self.out_at = self._alloc(dims.seq * dims.d)
        self.spill_at = self._alloc(dims.heads * dims.seq * dims.seq * 4 * 2)
        self.spad: dict[str, int] = {}
        self.images: list[_Images] = []
        self.passes: list[PassConfig] = []
        self.quant: list[Quant] = []
        self.norms: list[tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]] = []

    def _alloc(self, nbytes: int) -> int:
        at = self._dram_next
        self._dram_next += (nbytes + 4095) // 4096 * 4096
        if self._dram_next > self.soc.DRAM + self.soc.dram.capacity:
            raise ParameterError("STA: the workload does not fit the DRAM")
        return at

    def _dram_write(self, at: int, data: np.ndarray) -> None:
        off = at - self.soc.DRAM
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        self.soc.dram.array()[off : off + raw.size] = raw

    def dram_read(self, at: int, nbytes: int) -> np.ndarray:
        off = at - self.soc.DRAM
        return self.soc.dram.array()[off : off + nbytes].copy()

    def _layout(self, weight_region: int) -> None:
        """Scratchpad: two weight buffers of `weight_region` bytes, then the activations."""
        dims, spad = self.dims, self.soc.SPAD
        region = (weight_region + 63) // 64 * 64
        self.spad = {"w0": spad, "w1": spad + region}
        off = spad + 2 * region
        for name, size in (
            ("x", dims.seq * dims.d),
            ("qkv", dims.seq * 3 * dims.d),
            ("attn", dims.seq * dims.d),
            ("x1", dims.seq * dims.d),
            ("h", dims.seq * dims.ffn),
            ("x2", dims.seq * dims.d),
        ):
            self.spad[name] = off
            off += (size + 63) // 64 * 64
        if off - spad > self.soc.scratchpad.size:
            raise ParameterError(
                f"STA: the layer needs {off - spad} B of scratchpad, it has "
                f"{self.soc.scratchpad.size} B"
            )

    def install(
        self, x: np.ndarray, passes: list[tuple[PassConfig, EncoderWeights, Quant]]
    ) -> None:
        """Write the input and every pass's compressed weight images into DRAM (model
        loading, before the timed runs)."""
        self._dram_write(self.x_at, x.astype(np.int8))
        images = [
            {
                name: nm.weight_image(*nm.compress(mat, cfg.pattern), cfg.pattern, self.shape)
                for name, mat in w.matrices().items()
            }
            for cfg, w, _ in passes
        ]
        self._layout(max(img.nbytes for per in images for img in per.values()))
        for (cfg, w, q), per in zip(passes, images, strict=True):
            at, nbytes, arrays = {}, {}, {}
            for name, img in per.items():
                at[name] = self._alloc(img.nbytes)
                nbytes[name] = img.nbytes
                arrays[name] = img
                self._dram_write(at[name], img)
            self.images.append(_Images(cfg.pattern, at, nbytes, arrays))
            self.passes.append(cfg)
            self.quant.append(q)
            self.norms.append((w.ln1, w.ln2))

    # ------------------------------------------------------------------ controller
    async def _serve(self, window: CommandWindow) -> None:
        """The controller's RUN_PASS: run installed pass ARG0, measured over the pass."""
        index = window.args[0]
        if not 0 <= index < len(self.passes):
            raise ParameterError(f"STA: pass {index} is not installed (0..{len(self.passes) - 1})")
        meter = PhaseMeter(self.sim)
        res = await self._run(index)
        phase = meter.stop()
        res.time_ps = phase.time_ps
        res.dram_bytes = int(phase.stats(("dram.bytes_read", "dram.bytes_written")))
        res.energy = phase.energy
        self.results.append(res)

    async def _dma(self, pairs: list[tuple[int, int, int]]) -> None:
        """Start one DMA chain of (src, dst, bytes) copies (descriptors in the reserved
        area at the start of DRAM); wait for it with `await self.dma.wait()`."""
        descs = [Descriptor(src=s, dst=d, row_bytes=n) for s, d, n in pairs]
        at = self.soc.DESCRIPTORS + 0x1000
        await self.port.write(at, np.frombuffer(chain(descs, at), np.uint8))
        await self.dma.start(at)

    async def _read(self, at: int, nbytes: int) -> np.ndarray:
        return np.asarray(await self.socket.read(at, nbytes), np.uint8)

    async def _matmul(
        self,
        name: str,
        x: np.ndarray,
        image: np.ndarray,
        pattern: nm.NMPattern,
        rows: int,
        out_cfg: int,
        result: PassResult,
        track: str,
    ) -> np.ndarray:
        """Y = X W^T for one weight image: activation rows once, then tile after tile."""
        t0 = cosim.now()
        tokens, in_len = x.shape
        await self.nm.configure(pattern, tokens, in_len, out_cfg)
        outs = []
        for j, tile in enumerate(image):
            outs.append(await self.nm.tile(tile, x if j == 0 else None, tokens))
        beats = self.shape.weight_beats(pattern, in_len)
        kv = self.shape.lanes * self.shape.slots
        self.engine_energy.add("mac", len(image) * beats * kv * tokens)
        if not pattern.dense:
            self.engine_energy.add("select", len(image) * beats * kv * tokens)
        cycles = round((cosim.now() - t0) / self.clock)
        result.engine_cycles[name] = result.engine_cycles.get(name, 0) + cycles
        if self.sim.trace.enabled:
            self.sim.trace.span(track, name, t0, cosim.now(), tiles=len(image))
        return np.concatenate(outs, axis=1)[:, :rows]

    async def _softmax(
        self, scores: np.ndarray, cfg: smx.SoftmaxConfig, result: PassResult
    ) -> np.ndarray:
        t0 = cosim.now()
        probs = await self.sm.rows(scores, cfg)
        self.softmax_energy.add("element", scores.size)
        self.softmax_energy.add("row", scores.shape[0])
        result.engine_cycles["softmax"] = result.engine_cycles.get("softmax", 0) + round(
            (cosim.now() - t0) / self.clock
        )
        return probs.astype(np.int8)

    async def _run(self, index: int) -> PassResult:
        cfg, img, q = self.passes[index], self.images[index], self.quant[index]
        ln = self.norms[index]
        dims, sp = self.dims, self.spad
        track = f"sta.{cfg.name}"
        res = PassResult(cfg.name, str(cfg.pattern), cfg.onchip_softmax)
        t_start = cosim.now()
        order = ["qkv", "o", "w1", "w2"]
        region = {name: sp["w0"] if i % 2 == 0 else sp["w1"] for i, name in enumerate(order)}
        # input activations and the first weights
        await self._dma(
            [
                (self.x_at, sp["x"], dims.seq * dims.d),
                (img.at["qkv"], region["qkv"], img.nbytes["qkv"]),
            ]
        )
        await self.dma.wait()
        res.weight_bytes += img.nbytes["qkv"]

        async def fetch_next(i: int) -> None:
            if i + 1 < len(order):
                nxt = order[i + 1]
                await self._dma([(img.at[nxt], region[nxt], img.nbytes[nxt])])
                res.weight_bytes += img.nbytes[nxt]

        async def weights(name: str) -> np.ndarray:
            raw = await self._read(region[name], img.nbytes[name])
            return raw.reshape(img.arrays[name].shape)

        d, dh, seq = dims.d, dims.dh, dims.seq
        rq = nm.OUT_REQUANT
        # --- QKV projection (N:M)
        x = (await self._read(sp["x"], seq * d)).view(np.int8).reshape(seq, d)
        await fetch_next(0)
        qkv = await self._matmul(
            "qkv", x, await weights("qkv"), cfg.pattern, 3 * d, rq | q.qkv, res, track
        )
        qkv8 = qkv.astype(np.int8)
        await self.port.write(sp["qkv"], qkv8.view(np.uint8).reshape(-1))
        # --- attention, head by head (dense x dense on the same engine)
        dense = nm.NMPattern(1, 1)
        heads = []
        for h in range(dims.heads):
            qh = qkv8[:, h * dh : (h + 1) * dh]
            kh = qkv8[:, d + h * dh : d + (h + 1) * dh]
            vh = qkv8[:, 2 * d + h * dh : 2 * d + (h + 1) * dh]
            k_img = nm.weight_image(kh, np.zeros_like(kh, np.uint8), dense, self.shape)
            scores = await self._matmul("scores", qh, k_img, dense, seq, 0, res, track)
            if cfg.onchip_softmax:
                probs = await self._softmax(scores, q.softmax, res)
            else:  # spill the scores to DRAM and back, then the probabilities
                at = self.spill_at + h * seq * seq * 8
                await self.port.write(at, scores.astype("<i4").view(np.uint8).reshape(-1))
                back = (await self._read(at, seq * seq * 4)).view("<i4").reshape(seq, seq)
                probs = await self._softmax(back, q.softmax, res)
                await self.port.write(at + seq * seq * 4, probs.view(np.uint8).reshape(-1))
                probs = (
                    (await self._read(at + seq * seq * 4, seq * seq))
                    .view(np.int8)
                    .reshape(seq, seq)
                )
                res.spill_bytes += 2 * seq * seq * 5
            vt = np.ascontiguousarray(vh.T)
            v_img = nm.weight_image(vt, np.zeros_like(vt, np.uint8), dense, self.shape)
            heads.append(await self._matmul("pv", probs, v_img, dense, dh, rq | q.pv, res, track))
        attn = np.concatenate(heads, axis=1).astype(np.int8)
        await self.port.write(sp["attn"], attn.view(np.uint8).reshape(-1))
        # --- output projection, residual, LayerNorm
        await self.dma.wait()
        await fetch_next(1)
        y = await self._matmul("o", attn, await weights("o"), cfg.pattern, d, rq | q.o, res, track)
        t0 = cosim.now()
        x1 = await self.post.run(x, y.astype(np.int8), ln[0])
        res.engine_cycles["layernorm"] = round((cosim.now() - t0) / self.clock)
        await self.port.write(sp["x1"], x1.view(np.uint8).reshape(-1))
        # --- feed-forward
        await self.dma.wait()
        await fetch_next(2)
        hh = await self._matmul(
            "w1",
            x1,
            await weights("w1"),
            cfg.pattern,
            dims.ffn,
            rq | nm.OUT_RELU | q.w1,
            res,
            track,
        )
        hh8 = hh.astype(np.int8)
        await self.port.write(sp["h"], hh8.view(np.uint8).reshape(-1))
        await self.dma.wait()
        y2 = await self._matmul(
            "w2", hh8, await weights("w2"), cfg.pattern, d, rq | q.w2, res, track
        )
        t0 = cosim.now()
        x2 = await self.post.run(x1, y2.astype(np.int8), ln[1])
        res.engine_cycles["layernorm"] += round((cosim.now() - t0) / self.clock)
        await self.port.write(sp["x2"], x2.view(np.uint8).reshape(-1))
        await self._dma([(sp["x2"], self.out_at, seq * d)])
        await self.dma.wait()
        res.outputs = {"qkv": qkv8, "attn": attn, "x1": x1, "h": hh8, "x2": x2}
        if self.sim.trace.enabled:
            self.sim.trace.span(track, f"pass {cfg.name}", t_start, cosim.now())
        return res


def matmul_cycles_ideal(dims: EncoderDims, shape: nm.EngineShape, pattern: nm.NMPattern) -> int:
    """Multiply cycles of the four weight products at one slot per multiplier per cycle
    (the engine's bound: T * in*N/(M*slots) per tile of `lanes` rows)."""
    total = 0
    for rows, in_len in (
        (3 * dims.d, dims.d),
        (dims.d, dims.d),
        (dims.ffn, dims.d),
        (dims.d, dims.ffn),
    ):
        tiles = math.ceil(rows / shape.lanes)
        total += tiles * dims.seq * shape.weight_beats(pattern, in_len)
    return total


__all__ = [
    "ENERGY",
    "RUN_PASS",
    "EncoderDims",
    "EncoderWeights",
    "PassConfig",
    "PassResult",
    "Quant",
    "ResidualNorm",
    "StaAccelerator",
    "calibrate",
    "check_outputs",
    "encoder_float",
    "encoder_golden",
    "layernorm_float",
    "make_workload",
    "matmul_cycles_ideal",
    "outputs_ok",
    "residual_norm",
]
