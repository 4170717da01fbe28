"""Spartus's seeded workload and its numpy goldens.

Features: speech-like frames (a stand-in for log-mel filterbank features, which cannot
be shipped): each of `inputs` channels is a first-order autoregressive process x_t =
rho x_{t-1} + sqrt(1 - rho^2) e_t (rho = 0.95, e_t standard normal) plus a slow common
envelope (a 0.5-amplitude sinusoid of period 40 frames with a random phase per channel),
so consecutive frames are correlated as 10 ms speech frames are. Weights: normal, std
0.15, then column-balanced targeted dropout (format.balanced_prune) to the target
sparsity, quantised to Q6 int8; biases 0 except the forget gate's +1.0 (the usual LSTM
initialisation). Two goldens, written from the DeltaLSTM equations (Gao et al., Spartus,
TNNLS'22, eqs. 1-6), not from the engine: `delta_lstm_fixed`, the same fixed-point
arithmetic as the RTL (bit-exact), and `delta_lstm_float`, float64 with exact sigmoid
and tanh (compared within a stated tolerance)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import fixed_point as fp
from .format import balanced_prune, kept_per_lane, rows_per_lane

RHO, ENVELOPE, PERIOD, WEIGHT_STD = 0.95, 0.5, 40.0, 0.15


@dataclass
class Workload:
    x: np.ndarray  # (frames, inputs) int16, Q8
    w: np.ndarray  # (4*hidden, inputs+hidden) int64, Q6, column-balanced
    w_dense: np.ndarray  # the same before pruning, Q6
    bias: np.ndarray  # (4*hidden,) int64, Q14
    kpl: int  # nonzeros per column per lane


def features(rng: np.random.Generator, frames: int, inputs: int) -> np.ndarray:
    """Speech-like float features (frames, inputs), unit variance per channel."""
    e = rng.standard_normal((frames, inputs))
    x = np.empty((frames, inputs))
    x[0] = e[0]
    for t in range(1, frames):
        x[t] = RHO * x[t - 1] + np.sqrt(1 - RHO**2) * e[t]
    phase = rng.uniform(0, 2 * np.pi, inputs)
    return x + ENVELOPE * np.sin(2 * np.pi * np.arange(frames)[:, None] / PERIOD + phase)


def make_workload(
    rng: np.random.Generator, frames: int, inputs: int, hidden: int, lanes: int, sparsity: float
) -> Workload:
    rpl = rows_per_lane(hidden, lanes)
    kpl = kept_per_lane(rpl, sparsity)
    x = np.clip(np.rint(features(rng, frames, inputs) * 2**fp.ACT_FRAC), -32768, 32767)
    scale = 2**fp.WEIGHT_FRAC
    dense = np.clip(
        np.rint(rng.normal(0, WEIGHT_STD, (4 * hidden, inputs + hidden)) * scale), -128, 127
    )
    dense = dense.astype(np.int64)
    bias = np.zeros(4 * hidden, np.int64)
    bias[hidden : 2 * hidden] = 1 << (fp.ACT_FRAC + fp.WEIGHT_FRAC)
    return Workload(x.astype(np.int16), balanced_prune(dense, lanes, kpl), dense, bias, kpl)


def _wrap32(v: np.ndarray) -> np.ndarray:
    return ((np.asarray(v, np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def delta_lstm_fixed(
    x: np.ndarray, w: np.ndarray, bias: np.ndarray, threshold: int, dense: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The fixed-point DeltaLSTM: hidden states (frames, hidden) int16 and the columns
    each frame propagates (frames, inputs+hidden) bool. dense: every column every frame
    (the first's h columns too), which is the plain LSTM (the accumulated deltas of a
    frame sum to W [x; h])."""
    frames, inputs = x.shape
    hidden = w.shape[0] // 4
    x_prop, h_prop = np.zeros(inputs, np.int64), np.zeros(hidden, np.int64)
    dh, need_h = np.zeros(hidden, np.int64), np.full(hidden, dense)
    c, m = np.zeros(hidden, np.int64), bias.astype(np.int64).copy()
    out, needed = np.zeros((frames, hidden), np.int16), np.zeros((frames, inputs + hidden), bool)
    for t in range(frames):
        dx = x[t].astype(np.int64) - x_prop
        need_x = dense | (np.abs(dx) > threshold)
        x_prop[need_x] = x[t][need_x]
        delta = np.concatenate([np.where(need_x, dx, 0), np.where(need_h, dh, 0)])
        needed[t] = np.concatenate([need_x, need_h])
        m = _wrap32(m + w @ delta)
        sig = lambda v: fp.SIGMOID[fp.lut_index(v, fp.PRE_SHIFT)]  # noqa: E731
        i, f, o = sig(m[:hidden]), sig(m[hidden : 2 * hidden]), sig(m[3 * hidden :])
        g = fp.TANH[fp.lut_index(m[2 * hidden : 3 * hidden], fp.PRE_SHIFT)]
        c = _wrap32((f * c + i * g) >> fp.ACT_FRAC)
        h = (o * fp.TANH[fp.lut_index(c, fp.CELL_SHIFT)]) >> fp.ACT_FRAC
        out[t] = h
        dh = h - h_prop
        need_h = dense | (np.abs(dh) > threshold)
        h_prop[need_h] = h[need_h]
    return out, needed


def delta_lstm_float(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray,
    threshold: float,
    needed: np.ndarray | None = None,
) -> np.ndarray:
    """The float64 DeltaLSTM on the same (dequantised) weights: hidden states (frames,
    hidden). With `needed` (frames, inputs+hidden) the columns each frame propagates are
    given (the fixed-point model's decisions) instead of decided by the threshold, so a
    comparison measures the arithmetic alone: a value within rounding of the threshold
    can go either way, and the recurrence then carries the difference."""
    frames, inputs = x.shape
    hidden = w.shape[0] // 4
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    x_prop, h_prop, h = np.zeros(inputs), np.zeros(hidden), np.zeros(hidden)
    c, m, out = np.zeros(hidden), bias.astype(float), np.zeros((frames, hidden))
    for t in range(frames):
        dx, dh = x[t] - x_prop, h - h_prop
        if needed is None:
            dx[np.abs(dx) <= threshold] = 0.0
            dh[np.abs(dh) <= threshold] = 0.0
        else:
            dx[~needed[t, :inputs]] = 0.0
            dh[~needed[t, inputs:]] = 0.0
        x_prop += dx
        h_prop += dh
        m = m + w @ np.concatenate([dx, dh])
        i, f, o = sigmoid(m[:hidden]), sigmoid(m[hidden : 2 * hidden]), sigmoid(m[3 * hidden :])
        c = f * c + i * np.tanh(m[2 * hidden : 3 * hidden])
        h = o * np.tanh(c)
        out[t] = h
    return out
