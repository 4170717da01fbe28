"""SPRINT's workload and its numpy side (Yazdanbakhsh et al., "Sparse Attention
Acceleration with Synergistic In-Memory Pruning and On-Chip Recomputation", MICRO 2022):
seeded attention inputs, their int8 and analog (MSB) forms, the threshold calibration,
the exact attention they approximate, and the ReRAM settings of the key arrays.

Workload (assumption: synthetic, seeded, no trained model is downloaded). Trained
attention concentrates on a few keys and adjacent queries attend to much the same keys
(SPRINT's "spatial locality" between adjacent queries); this generator builds both in:
keys belong to one of `clusters` topics (a centre plus noise), each query looks for one
topic and keeps it for a run of `run` queries on average (a Markov chain), and
`sharpness` sets the logit of a matching key (q . k / sqrt(d) around `sharpness`, other
keys around 0 with a standard deviation of about sharpness / sqrt(d)). Values are standard
normal. Q, K and V are quantised to int8 with one scale per tensor (symmetric); the
ReRAM holds the `analog_bits` most significant bits of K, the query drives the arrays
with the same bits of q, and the in-array comparator keeps keys whose analog q . k
reaches the threshold. The threshold is calibrated on another sequence over the same
topics (the same "model", other tokens) to keep a target fraction of the keys, as
SPRINT learns its thresholds offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.accel.online_softmax import softmax_scale
from cosim.errors import ParameterError

#: The ReRAM arrays of the keys (cosim.system.reram / reram_tile parameters). ISAAC's geometry
#: (Shafiee et al., ISCA 2016: 128x128 arrays, 2 bits per cell); a read without ADC
#: conversion (in-array thresholding: one comparator per column, SPRINT) is faster than
#: ISAAC's 100 ns read cycle, which is set by one ADC serving 128 columns.
RERAM_ARRAYS = {"rows": 128, "cols": 128, "bits_per_cell": 2}
RERAM_T_READ_PS = 20_000
RERAM_T_READ_SOURCE = (
    "assumption: 20 ns per array read in thresholding mode: ReRAM sensing takes a few tens "
    "of ns; ISAAC's 100 ns read cycle is set by sharing one ADC over 128 columns, which the "
    "comparators of SPRINT's in-array thresholding do not need"
)

#: Non-ideal device settings of the accuracy sweep (relative sigmas, rates; comparator
#: offset in units of one analog product step).
DEVICE_CASES: dict[str, dict[str, float]] = {
    "ideal": {},
    "d2d 10%": {"sigma_d2d": 0.10},
    "read noise 10%": {"sigma_read": 0.10},
    "stuck 1%": {"p_stuck_on": 0.005, "p_stuck_off": 0.005},
    "IR drop 10%": {"ir_drop": 0.10},
    "comparator 4": {"sigma_cmp": 4.0},
    "all of these": {
        "sigma_d2d": 0.10,
        "sigma_read": 0.10,
        "p_stuck_on": 0.005,
        "p_stuck_off": 0.005,
        "ir_drop": 0.10,
        "sigma_cmp": 4.0,
    },
}


@dataclass
class Attention:
    """One head's inputs: float (L x d), their int8 forms and scales, the analog copies."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    qi: np.ndarray
    ki: np.ndarray
    vi: np.ndarray
    scales: tuple[float, float, float]
    qa: np.ndarray
    ka: np.ndarray
    analog_bits: int

    @property
    def length(self) -> int:
        return self.q.shape[0]

    @property
    def d(self) -> int:
        return self.q.shape[1]

    def softmax_constants(self) -> tuple[int, int]:
        """MULT, SHIFT of the recompute engine for scores q_int8 . k_int8."""
        sq, sk, _ = self.scales
        return softmax_scale(sq * sk / math.sqrt(self.d))

    def records(self) -> np.ndarray:
        """The K/V records in memory: key j = its K row then its V row (L x 2d bytes)."""
        return np.concatenate([self.ki, self.vi], axis=1).astype(np.int8)


def topics(rng: np.random.Generator, clusters: int, d: int) -> np.ndarray:
    """The topic centres (clusters x d, each of norm sqrt(d)): the "model" a sequence and
    its calibration sequence share."""
    if clusters < 1 or d < 1:
        raise ParameterError(f"attention workload: clusters {clusters} and d {d} must be >= 1")
    centres = rng.standard_normal((clusters, d))
    return centres * math.sqrt(d) / np.linalg.norm(centres, axis=1, keepdims=True)


def generate(
    rng: np.random.Generator,
    centres: np.ndarray,
    length: int,
    run: float = 8.0,
    sharpness: float = 6.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float Q, K, V (length x d) of one sequence over the topics `centres`."""
    if length < 1 or run < 1 or sharpness <= 0:
        raise ParameterError(
            f"attention workload: length {length} must be >= 1, run {run} >= 1 and "
            f"sharpness {sharpness} > 0"
        )
    clusters, d = centres.shape
    topic = rng.integers(0, clusters, length)
    k = centres[topic] + 0.5 * rng.standard_normal((length, d))
    focus = np.empty(length, dtype=np.int64)
    focus[0] = rng.integers(0, clusters)
    switch = rng.random(length) < 1.0 / run
    jumps = rng.integers(0, clusters, length)
    for i in range(1, length):
        focus[i] = jumps[i] if switch[i] else focus[i - 1]
    gamma = sharpness / math.sqrt(d)
    q = gamma * (centres[focus] + 0.5 * rng.standard_normal((length, d)))
    v = rng.standard_normal((length, d))
    return q, k, v


def quantize_int8(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Symmetric int8 with one scale: x ~ xi * scale, |xi| <= 127."""
    peak = float(np.abs(x).max())
    scale = peak / 127 if peak > 0 else 1.0
    return np.clip(np.rint(x / scale), -127, 127).astype(np.int8), scale


def analog(xi: np.ndarray, bits: int) -> np.ndarray:
    """The `bits` most significant bits of int8 values, rounded: |x| <= 2^(bits-1) - 1."""
    if not 2 <= bits <= 8:
        raise ParameterError(f"analog_bits = {bits} is out of range; allowed 2 .. 8")
    top = (1 << (bits - 1)) - 1
    return np.clip(np.rint(xi.astype(np.float64) / 2 ** (8 - bits)), -top, top).astype(np.int64)


def prepare(q: np.ndarray, k: np.ndarray, v: np.ndarray, analog_bits: int) -> Attention:
    qi, sq = quantize_int8(q)
    ki, sk = quantize_int8(k)
    vi, sv = quantize_int8(v)
    return Attention(
        q,
        k,
        v,
        qi,
        ki,
        vi,
        (sq, sk, sv),
        analog(qi, analog_bits),
        analog(ki, analog_bits),
        analog_bits,
    )


def calibrate_threshold(att: Attention, keep: float) -> int:
    """The integer threshold (analog product units) that keeps a fraction `keep` of the
    (query, key) pairs of `att` with ideal arrays."""
    if not 0 < keep <= 1:
        raise ParameterError(f"keep = {keep} is out of range; allowed (0, 1]")
    scores = att.qa @ att.ka.T
    return int(np.quantile(scores, 1 - keep, method="higher"))


def exact_attention(att: Attention, quantised: bool = False) -> np.ndarray:
    """softmax(Q K^T / sqrt(d)) V in float64 on the float inputs, or on the int8 values
    (dequantised) when `quantised`."""
    if quantised:
        sq, sk, sv = att.scales
        q, k, v = att.qi * sq, att.ki * sk, att.vi * sv
    else:
        q, k, v = att.q, att.k, att.v
    logits = q @ k.T / math.sqrt(att.d)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)) @ v


def masked_attention(att: Attention, masks: np.ndarray) -> np.ndarray:
    """Float attention over the int8 values restricted to each query's survivors (0 for
    a query with none): what SPRINT computes, without the fixed-point rounding."""
    sq, sk, sv = att.scales
    logits = (att.qi.astype(np.float64) @ att.ki.T.astype(np.float64)) * sq * sk / math.sqrt(att.d)
    logits = np.where(masks, logits, -np.inf)
    top = np.max(np.where(masks, logits, -1e300), axis=1, keepdims=True)
    p = np.where(masks, np.exp(logits - top), 0.0)
    norm = p.sum(axis=1, keepdims=True)
    p = np.divide(p, norm, out=np.zeros_like(p), where=norm > 0)
    return p @ (att.vi * sv)


def relative_error(y: np.ndarray, ref: np.ndarray) -> float:
    """||y - ref||_F / ||ref||_F."""
    return float(np.linalg.norm(y - ref) / np.linalg.norm(ref))


def crossbar_params(
    analog_bits: int, devices: dict[str, float] | None = None, seed: int = 1
) -> dict[str, Any]:
    """reram_tile / Crossbar parameters of the key arrays: signed analog_bits inputs (one
    pass per sign, all magnitude bits through one DAC read), analog_bits weights."""
    return {
        **RERAM_ARRAYS,
        "weight_bits": analog_bits,
        "input_bits": analog_bits,
        "input_signed": True,
        "dac_bits": analog_bits - 1,
        "t_read": RERAM_T_READ_PS,
        "seed": seed,
        **(devices or {}),
    }
