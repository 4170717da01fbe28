"""Seeded SmartDeal workloads: a 3x3 convolution (stride 1, zero padding 1) with random
weights, their SmartDeal decomposition fitted in code, and the numpy golden models.

- Weights (cout x cin x 3 x 3): Gaussian, scaled so the largest is 127 (int8 units); the
  baseline stores round() of them as int8.
- Decomposition, per filter (T = its weights as a (3 cin) x 3 matrix of kernel rows):
  keep the `kept` rows of largest norm (structured sparsity: the other Ce rows are
  zero, every filter keeping as many), then alternating least squares on the kept rows:
  Ce = T B^-1 rounded to the nearest signed power of two of the code range, B = the
  least-squares basis for that Ce (scaled by powers of two to stay in int8); B rounded to
  int8 at the end, and the codes refined one column at a time against the exact integer
  rebuild (format.rebuild).
- Input feature map (height x width x cin): post-ReLU int8 activations, `act_density` of
  them nonzero.
- Golden: a direct convolution over the 9 taps in int64, wrapped to int32 like the
  array's accumulators, then requantised: sat8((acc + 2^(q-1)) >> q).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.accel.smartdeal import format as fmt
from cosim.errors import ParameterError

SHIFT = 6  # rebuild shift: codes are +-2^-6 .. +-2^0 of the basis
ALS_ITERATIONS = 10
REFINE_SWEEPS = 2


@dataclass(frozen=True)
class Decomposition:
    """One layer's W = Ce x B: codes (cout, rows, 3) uint8, mask (cout, rows) bool,
    basis (cout, 3, 3) int8, rows = 3 cin."""

    codes: np.ndarray
    mask: np.ndarray
    basis: np.ndarray
    shift: int = SHIFT

    @property
    def kept(self) -> int:
        return int(self.mask[0].sum())

    def weights(self) -> np.ndarray:
        """The rebuilt int8 weights, cout x cin x 3 x 3."""
        w = fmt.rebuild(self.codes, self.basis, self.shift)
        cout, rows, _ = w.shape
        return w.reshape(cout, rows // fmt.TAPS, fmt.TAPS, fmt.TAPS)

    def image(self) -> np.ndarray:
        """The layer's stream image: every filter's, in order."""
        return np.concatenate(
            [
                fmt.filter_image(c, m, b)
                for c, m, b in zip(self.codes, self.mask, self.basis, strict=True)
            ]
        )


@dataclass(frozen=True)
class ConvLayer:
    x: np.ndarray  # int8, height x width x cin
    w_float: np.ndarray  # float64, cout x cin x 3 x 3 (int8 units): the original weights
    w8: np.ndarray  # int8, the baseline's weights
    dec: Decomposition
    out_shift: int

    @property
    def shape(self) -> tuple[int, int, int, int]:
        h, w, cin = self.x.shape
        return h, w, cin, self.w8.shape[0]


def _nearest_codes(values: np.ndarray, shift: int) -> np.ndarray:
    """The 4-bit code whose value is nearest each real value (0 included)."""
    options = np.arange(16, dtype=np.uint8)
    options = options[(options & 7) > 0]
    vals = np.concatenate([[0.0], fmt.code_values(options, shift)])
    codes = np.concatenate([[0], options]).astype(np.uint8)
    idx = np.abs(np.asarray(values)[..., None] - vals).argmin(axis=-1)
    return codes[idx]


def _fit_filter(t: np.ndarray, kept: int, shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = t.shape[0]
    mask = np.zeros(rows, bool)
    if kept:
        mask[np.sort(np.argsort(-np.linalg.norm(t, axis=1), kind="stable")[:kept])] = True
    tk = t[mask]
    codes = np.zeros((rows, fmt.TAPS), np.uint8)
    if kept == 0:
        return codes, mask, np.zeros((fmt.TAPS, fmt.TAPS), np.int8)
    u, s, vt = np.linalg.svd(tk, full_matrices=False)
    scale = max(float(np.abs(u).max()), 1e-12)
    ce = np.zeros((kept, fmt.TAPS))
    ce[:, : len(s)] = u / scale
    b = np.zeros((fmt.TAPS, fmt.TAPS))
    b[: len(s)] = scale * s[:, None] * vt
    top = 2.0 ** (fmt.MAX_MAGNITUDE - 1 - shift)
    for _ in range(ALS_ITERATIONS):
        ce = fmt.code_values(_nearest_codes(tk @ np.linalg.pinv(b), shift), shift)
        b = np.linalg.lstsq(ce, tk, rcond=None)[0]
        big = np.abs(b).max() / 127.0
        if big > 1.0:  # keep B in int8: move powers of two into Ce
            k = int(np.ceil(np.log2(big)))
            b /= 2.0**k
            ce = np.clip(ce * 2.0**k, -top, top)
    basis = np.clip(np.round(b), -128, 127).astype(np.int8)
    kc = _nearest_codes(tk @ np.linalg.pinv(basis.astype(np.float64)), shift)
    kc = _refine(kc, basis, tk, shift)
    codes[mask] = kc
    return codes, mask, basis


def _refine(codes: np.ndarray, basis: np.ndarray, target: np.ndarray, shift: int) -> np.ndarray:
    """Coordinate descent on the codes against the exact integer rebuild."""
    options = np.arange(16, dtype=np.uint8)
    options = options[(options & 7) > 0]
    options = np.concatenate([[0], options]).astype(np.uint8)
    codes = codes.copy()
    for _ in range(REFINE_SWEEPS):
        for j in range(fmt.TAPS):
            trial = np.repeat(codes[None], len(options), axis=0)
            trial[:, :, j] = options[:, None]
            err = ((fmt.rebuild(trial, basis, shift) - target) ** 2).sum(axis=-1)
            codes[:, j] = options[err.argmin(axis=0)]
    return codes


def decompose(w_float: np.ndarray, kept: int, shift: int = SHIFT) -> Decomposition:
    """Fit W ~ Ce x B to every filter of w_float (cout x cin x 3 x 3, int8 units)."""
    cout, cin = w_float.shape[:2]
    rows = fmt.TAPS * cin
    if not 0 <= kept <= rows:
        raise ParameterError(f"kept Ce rows = {kept} must be 0..{rows}")
    fits = [_fit_filter(w_float[o].reshape(rows, fmt.TAPS), kept, shift) for o in range(cout)]
    return Decomposition(
        np.stack([f[0] for f in fits]),
        np.stack([f[1] for f in fits]),
        np.stack([f[2] for f in fits]),
        shift,
    )


def kept_rows(cin: int, sparsity: float) -> int:
    """Ce rows each filter stores at coefficient sparsity `sparsity` (fraction zero)."""
    rows = fmt.TAPS * cin
    return rows - round(sparsity * rows)


def conv_acc(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """int32 accumulators of a 3x3 convolution, stride 1, zero padding 1: x (H, W, Cin),
    w (Cout, Cin, 3, 3) -> (H, W, Cout), wrapped to int32."""
    h, wd, _ = x.shape
    xp = np.pad(np.asarray(x, np.int64), ((1, 1), (1, 1), (0, 0)))
    acc = np.zeros((h, wd, w.shape[0]), np.int64)
    for r in range(3):
        for s in range(3):
            acc += np.einsum(
                "yxc,oc->yxo", xp[r : r + h, s : s + wd], w[:, :, r, s].astype(np.int64)
            )
    return acc.astype(np.int32)


def requantise(acc: np.ndarray, shift: int) -> np.ndarray:
    a = np.asarray(acc, np.int64)
    if shift:
        a = (a + (1 << (shift - 1))) >> shift
    return np.clip(a, -128, 127).astype(np.int8)


def golden(x: np.ndarray, w: np.ndarray, out_shift: int) -> np.ndarray:
    """The layer's int8 output (H, W, Cout)."""
    return requantise(conv_acc(x, w), out_shift)


def rel_error(approx: np.ndarray, exact: np.ndarray) -> float:
    e = np.asarray(exact, np.float64)
    d = np.asarray(approx, np.float64) - e
    return float(np.linalg.norm(d) / max(np.linalg.norm(e), 1e-12))


def make_layer(
    rng: np.random.Generator,
    height: int,
    width: int,
    cin: int,
    cout: int,
    sparsity: float,
    act_density: float = 0.5,
) -> ConvLayer:
    """A seeded layer and its decomposition (coefficient sparsity `sparsity`)."""
    if not 0.0 <= sparsity < 1.0:
        raise ParameterError(f"coefficient sparsity = {sparsity} must be in [0, 1)")
    w = rng.standard_normal((cout, cin, fmt.TAPS, fmt.TAPS))
    w *= 127.0 / np.abs(w).max()
    w8 = np.clip(np.round(w), -127, 127).astype(np.int8)
    x = rng.integers(1, 128, (height, width, cin)) * (
        rng.random((height, width, cin)) < act_density
    )
    x = x.astype(np.int8)
    dec = decompose(w, kept_rows(cin, sparsity))
    acc = np.abs(conv_acc(x, w8).astype(np.int64))
    top = float(np.percentile(acc, 99.5)) if acc.size else 0.0
    out_shift = max(0, int(np.ceil(np.log2(max(top, 1.0) / 127.0))))
    return ConvLayer(x, w, w8, dec, min(out_shift, 31))
