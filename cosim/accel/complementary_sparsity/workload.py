"""Seeded workload of the complementary sparsity scenario and its numpy golden.

A 3x3 convolution (valid, stride 1) of a channels-deep int8 map to `outputs` channels.
Weights: `outputs / n` packs; in each pack a seeded permutation deals the taps x
channels positions to the pack's n kernels in turn (complementary masks: disjoint, their
union the whole kernel, each kernel 1/n dense), and every position gets a nonzero int8
weight. Activations: int8 pre-activations, uniform over [-128, 127] (ties are common,
so the tie-break rule is exercised); k-WTA keeps the k largest channels of every pixel.

The golden is written from the algorithm (a rank count for k-WTA, a direct sum over
the 3x3 window with the unpacked dense kernels), not from the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError

TAPS = 9  # 3x3


def complementary_masks(rng: np.random.Generator, packs: int, positions: int, n: int) -> np.ndarray:
    """(packs, positions) routing ids: a seeded permutation of each pack's positions
    dealt to kernels 0..n-1 in turn, so the n masks are disjoint and cover the pack."""
    if n < 1 or positions < n:
        raise ParameterError(f"complementary masks: n = {n} must be 1..{positions}")
    ids = np.empty((packs, positions), np.uint8)
    for p in range(packs):
        ids[p, rng.permutation(positions)] = np.arange(positions) % n
    return ids


@dataclass(frozen=True)
class ConvLayer:
    x: np.ndarray  # (height, width, channels) int8 pre-activations
    packed: np.ndarray  # (packs, taps, channels) int8, nonzero
    ids: np.ndarray  # (packs, taps, channels) uint8 in 0..n-1
    n: int  # kernels per pack
    k: int  # k-WTA winners per pixel

    @property
    def channels(self) -> int:
        return self.x.shape[2]

    @property
    def outputs(self) -> int:
        return self.packed.shape[0] * self.n

    @property
    def out_hw(self) -> tuple[int, int]:
        return self.x.shape[0] - 2, self.x.shape[1] - 2

    def dense_weights(self) -> np.ndarray:
        """(outputs, taps, channels) int8: kernel p*n + i holds pack p's weights where
        its id is i, zeros elsewhere."""
        sel = self.ids[:, None] == np.arange(self.n)[None, :, None, None]
        w = np.where(sel, self.packed[:, None], 0)
        return w.reshape(self.outputs, TAPS, self.channels).astype(np.int8)

    def sparse_activations(self) -> np.ndarray:
        """k-WTA of every pixel: a channel survives when fewer than k channels rank
        above it (larger value, or equal value at a lower channel)."""
        x = self.x.astype(np.int64)
        c = self.channels
        above = x[..., None, :] > x[..., :, None]  # [.., i, j]: x_j > x_i
        tie = (x[..., None, :] == x[..., :, None]) & np.tri(c, k=-1, dtype=bool)[None, None]
        rank = above.sum(-1) + tie.sum(-1)
        return np.where(rank < self.k, x, 0)

    def golden(self) -> np.ndarray:
        """(out_h, out_w, outputs) int32: the valid 3x3 convolution of the k-WTA map."""
        a = self.sparse_activations()
        w = self.dense_weights().astype(np.int64).reshape(self.outputs, 3, 3, self.channels)
        oh, ow = self.out_hw
        out = np.zeros((oh, ow, self.outputs), np.int64)
        for dy in range(3):
            for dx in range(3):
                out += a[dy : dy + oh, dx : dx + ow] @ w[:, dy, dx].T
        return (((out + (1 << 31)) % (1 << 32)) - (1 << 31)).astype(np.int32)

    def dense_macs(self) -> int:
        oh, ow = self.out_hw
        return oh * ow * self.outputs * TAPS * self.channels


def make_conv_layer(
    rng: np.random.Generator,
    *,
    height: int,
    width: int,
    channels: int,
    outputs: int,
    n: int,
    k: int,
) -> ConvLayer:
    """The seeded layer; ParameterError naming the parameter that is out of range."""
    for name, v, lo, hi in (
        ("height", height, 3, 4096),
        ("width", width, 3, 4096),
        ("channels", channels, 1, 1 << 12),
        ("n", n, 1, TAPS * channels),
        ("k", k, 1, channels),
    ):
        if not lo <= v <= hi:
            raise ParameterError(f"conv layer: {name} = {v} must be {lo}..{hi}")
    if outputs < n or outputs % n:
        raise ParameterError(f"conv layer: outputs = {outputs} must be a multiple of n = {n}")
    packs = outputs // n
    ids = complementary_masks(rng, packs, TAPS * channels, n).reshape(packs, TAPS, channels)
    mag = rng.integers(1, 128, (packs, TAPS, channels))
    sign = rng.choice(np.array([-1, 1]), (packs, TAPS, channels))
    packed = (mag * sign).astype(np.int8)
    x = rng.integers(-128, 128, (height, width, channels)).astype(np.int8)
    return ConvLayer(x, packed, ids, n, k)
