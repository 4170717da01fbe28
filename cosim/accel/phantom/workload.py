"""Seeded Phantom workloads: 3x3 convolutions (stride 1 or 2, zero padding 1) and an FC
layer with unstructured sparsity of weights and activations (each element nonzero with
the given probability, nonzeros uniform in int8 without 0), their lowering to rows of
(weight, activation) pairs, one row per output, and the numpy golden written from the
layer's definition (not from the lowering)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.errors import ParameterError


def sparse_int8(rng: np.random.Generator, shape: tuple[int, ...], density: float) -> np.ndarray:
    """int8 tensor: each element nonzero with probability `density`, nonzeros in
    [-127, 127] without 0."""
    if not 0.0 <= density <= 1.0:
        raise ParameterError(f"density = {density} must be 0..1")
    mag = rng.integers(1, 128, shape)
    sign = np.where(rng.random(shape) < 0.5, -1, 1)
    keep = rng.random(shape) < density
    return np.where(keep, mag * sign, 0).astype(np.int8)


@dataclass(frozen=True)
class Layer:
    """A layer: 'conv' (weights cout x cin x 3 x 3, activations cin x h x w, `stride`,
    padding 1) or 'fc' (weights out x in, activations in)."""

    name: str
    kind: str
    weights: np.ndarray
    activations: np.ndarray
    stride: int = 1

    @property
    def out_shape(self) -> tuple[int, ...]:
        if self.kind == "fc":
            return (self.weights.shape[0],)
        cout = self.weights.shape[0]
        _, h, w = self.activations.shape
        return (cout, (h - 1) // self.stride + 1, (w - 1) // self.stride + 1)

    @property
    def k(self) -> int:
        """Pairs per output (the dot-product length)."""
        return int(np.prod(self.weights.shape[1:]))

    @property
    def outputs(self) -> int:
        return int(np.prod(self.out_shape))

    def golden(self) -> np.ndarray:
        """int32 outputs from the definition: direct convolution / matrix-vector product."""
        w = self.weights.astype(np.int64)
        x = self.activations.astype(np.int64)
        if self.kind == "fc":
            return (w @ x).astype(np.int32)
        cout, oh, ow = self.out_shape
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        out = np.zeros((cout, oh, ow), np.int64)
        s = self.stride
        for ky in range(3):
            for kx in range(3):
                patch = xp[:, ky : ky + s * (oh - 1) + 1 : s, kx : kx + s * (ow - 1) + 1 : s]
                out += np.einsum("oc,chw->ohw", w[:, :, ky, kx], patch)
        return out.astype(np.int32)

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(weight rows, activation rows), outputs x K int8: output o's pairs, in the
        order (channel, ky, kx) of the weights."""
        if self.kind == "fc":
            n = self.outputs
            return self.weights.copy(), np.broadcast_to(self.activations, (n, self.k)).copy()
        cout, oh, ow = self.out_shape
        cin = self.activations.shape[0]
        xp = np.pad(self.activations, ((0, 0), (1, 1), (1, 1)))
        s = self.stride
        oy, ox = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
        ky, kx = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
        ys = s * oy.reshape(-1, 1) + ky.reshape(1, -1)  # (positions, 9)
        xs = s * ox.reshape(-1, 1) + kx.reshape(1, -1)
        patches = xp[:, ys, xs].transpose(1, 0, 2).reshape(oh * ow, cin * 9)
        a = np.tile(patches, (cout, 1))
        w = np.repeat(self.weights.reshape(cout, cin * 9), oh * ow, axis=0)
        return w, a

    def useful_pairs(self) -> int:
        """Pairs with both operands nonzero, counted from the tensors' masks: the popcount
        of the ANDed masks summed over every output."""
        wm = (self.weights != 0).astype(np.int64)
        xm = (self.activations != 0).astype(np.int64)
        if self.kind == "fc":
            return int((wm @ xm).sum())
        return int(
            Layer(self.name, "conv", wm.astype(np.int8), xm.astype(np.int8), self.stride)
            .golden()
            .astype(np.int64)
            .sum()
        )


def conv_layer(
    rng: np.random.Generator,
    cin: int,
    cout: int,
    size: int,
    stride: int,
    w_density: float,
    a_density: float,
    name: str = "",
) -> Layer:
    w = sparse_int8(rng, (cout, cin, 3, 3), w_density)
    x = sparse_int8(rng, (cin, size, size), a_density)
    return Layer(name or f"conv_s{stride}", "conv", w, x, stride)


def fc_layer(
    rng: np.random.Generator, n_in: int, n_out: int, w_density: float, a_density: float
) -> Layer:
    return Layer(
        "fc", "fc", sparse_int8(rng, (n_out, n_in), w_density), sparse_int8(rng, (n_in,), a_density)
    )
