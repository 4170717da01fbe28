"""Seeded S2TA workloads: a 3x3 convolution (stride 1, zero padding 1) lowered to an int8
GEMM, as S2TA and the systolic-array baseline run CNN layers (Liu et al., HPCA 2022).

- Input feature map (height x width x cin): post-ReLU int8 activations, `act_density` of
  them nonzero (a Gaussian through a shifted ReLU, scaled to 0..127).
- Weights (3 x 3 x cin x cout): Gaussian, quantised to int8, then pruned to W-DBB
  w_nnz/8 along the input channels (offline, as a DBB-trained model would be): both
  engines run these same pruned weights; the baseline stores them dense.
- Lowering (im2col): A[m, k] with m = y * width + x and k = (ky * 3 + kx) * cin + c, so a
  block of 8 along K is 8 input channels of one kernel tap of one pixel; W[k, n].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.accel.s2ta.format import BLOCK, dbb_prune
from cosim.errors import ParameterError


@dataclass(frozen=True)
class ConvGemm:
    """A conv layer and its lowered GEMM C = A W (A: M x K activations, W: K x N)."""

    ifmap: np.ndarray  # int8, height x width x cin
    kernel: np.ndarray  # int8, 3 x 3 x cin x cout (W-DBB pruned)
    a: np.ndarray  # int8, M x K
    w: np.ndarray  # int8, K x N

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.a.shape[0], self.a.shape[1], self.w.shape[1]

    @property
    def act_density(self) -> float:
        return float(np.count_nonzero(self.a)) / self.a.size

    @property
    def weight_density(self) -> float:
        return float(np.count_nonzero(self.w)) / self.w.size

    def exact(self) -> np.ndarray:
        """The layer without activation pruning (the baseline's result), int32."""
        return (self.a.astype(np.int64) @ self.w.astype(np.int64)).astype(np.int32)


def im2col(ifmap: np.ndarray) -> np.ndarray:
    """3x3, stride 1, zero padding 1: rows = output pixels, columns = (ky, kx, c)."""
    h, w, c = ifmap.shape
    padded = np.zeros((h + 2, w + 2, c), dtype=ifmap.dtype)
    padded[1:-1, 1:-1] = ifmap
    taps = [padded[ky : ky + h, kx : kx + w] for ky in range(3) for kx in range(3)]
    return np.stack(taps, axis=2).reshape(h * w, 9 * c)


def conv_reference(ifmap: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Direct 3x3 convolution (stride 1, padding 1), int64, output height*width x cout."""
    h, w, _ = ifmap.shape
    padded = np.zeros((h + 2, w + 2, ifmap.shape[2]), dtype=np.int64)
    padded[1:-1, 1:-1] = ifmap
    out = np.zeros((h, w, kernel.shape[3]), dtype=np.int64)
    for ky in range(3):
        for kx in range(3):
            out += np.einsum("hwc,cn->hwn", padded[ky : ky + h, kx : kx + w], kernel[ky, kx])
    return out.reshape(h * w, -1)


def make_conv_gemm(
    rng: np.random.Generator,
    height: int,
    width: int,
    cin: int,
    cout: int,
    act_density: float,
    w_nnz: int,
) -> ConvGemm:
    if cin < BLOCK or cin % BLOCK:
        raise ParameterError(f"s2ta layer: cin = {cin} must be a positive multiple of {BLOCK}")
    if min(height, width, cout) < 1:
        raise ParameterError("s2ta layer: height, width and cout must be >= 1")
    if not 0.0 < act_density <= 1.0:
        raise ParameterError(f"s2ta layer: act_density = {act_density} is out of range (0, 1]")
    x = rng.standard_normal((height, width, cin))
    shift = np.quantile(x, 1.0 - act_density) if act_density < 1.0 else x.min() - 1e-9
    relu = np.maximum(x - shift, 0.0)
    scale = 127.0 / max(float(relu.max()), 1e-9)
    ifmap = np.where(x > shift, np.clip(np.maximum(np.round(relu * scale), 1), 1, 127), 0)
    ifmap = ifmap.astype(np.int8)
    raw = np.clip(np.round(rng.standard_normal((3, 3, cin, cout)) * 40), -128, 127).astype(np.int8)
    kernel = dbb_prune(raw, w_nnz, axis=2)  # blocks of 8 input channels
    a = im2col(ifmap)
    w = kernel.reshape(9 * cin, cout)
    return ConvGemm(ifmap, kernel, a, w)
