"""The fixed-point numerics every engine twin implements (cosim.accel.fixed_point):
exact conversions against numpy, and the stated accuracy of softmax, LayerNorm and GELU
against float64."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.accel import fixed_point as fxp

ALL_FP16 = np.arange(1 << 16, dtype=np.uint16)


def test_fp16_to_fx_is_the_value_times_2_16_rounded():
    v = ALL_FP16.view(np.float16)
    finite = np.isfinite(v)
    got = fxp.fp16_to_fx(ALL_FP16[finite])
    exact = v[finite].astype(np.float64) * 65536
    # round half up on the magnitude, then saturate
    want = np.sign(exact) * np.floor(np.abs(exact) + 0.5)
    want = np.clip(want, -fxp.FX_MAX, fxp.FX_MAX)
    assert np.array_equal(got, want.astype(np.int64))
    assert fxp.fp16_to_fx(np.float16(np.inf)) == fxp.FX_MAX
    assert fxp.fp16_to_fx(np.float16(-np.inf)) == -fxp.FX_MAX


def test_fx_to_fp16_rounds_to_nearest_even_like_numpy():
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [
            rng.integers(-fxp.FX_MAX, fxp.FX_MAX, 200_000),
            np.arange(-5000, 5000),
            # ties: odd multiples of half an fp16 ulp at several exponents
            (2 * np.arange(1, 2000) + 1) << 5,
            [fxp.FX_MAX, -fxp.FX_MAX, 1, -1, 3, 4],
        ]
    )
    want = (x / 65536.0).astype(np.float16).view(np.uint16)
    assert np.array_equal(fxp.fx_to_fp16_bits(x), want)


def test_exp2_polynomial_is_exact_at_zero_and_one_and_close_elsewhere():
    d = np.arange(0, 65536 * 3, 7)
    got = fxp.exp2neg_q16(d)
    want = 65536 * 2.0 ** (-d / 65536)
    assert fxp.exp2neg_q16(0) == 65536 and fxp.exp2neg_q16(65536) == 32768
    assert np.all(np.abs(got - want) <= 1.5e-4 * want + 1)
    assert fxp.exp2neg_q16(17 * 65536) == 0
    with pytest.raises(ValueError, match="d >= 0"):
        fxp.exp2neg_q16(-1)


@pytest.mark.parametrize("scale", [0.01, 0.177, 1.0, 7.5])
def test_softmax_matches_float64_within_3e_4(scale):
    rng = np.random.default_rng(int(scale * 1000))
    x = rng.normal(0, 4, (64, 37)).astype(np.float16)
    mult, shift = fxp.softmax_scale(scale)
    p = fxp.softmax_q16(fxp.fp16_to_fx(x), mult, shift) / 65536
    z = x.astype(np.float64) * scale
    ref = np.exp(z - z.max(-1, keepdims=True))
    ref /= ref.sum(-1, keepdims=True)
    assert np.abs(p - ref).max() < 3e-4
    assert np.all(np.abs(p.sum(-1) - 1) < 1e-3)


def test_softmax_of_integer_scores_and_quantised_output():
    s = np.array([[1000, 0, -1000, 5000], [7, 7, 7, 7]], dtype=np.int64)
    mult, shift = fxp.softmax_scale(2.0**-10 * 65536)  # real score = s / 1024
    p = fxp.softmax_q16(s, mult, shift)
    ref = np.exp(s / 1024)
    ref /= ref.sum(-1, keepdims=True)
    assert np.abs(p / 65536 - ref).max() < 3e-4
    assert list(p[1]) == [16384] * 4
    q = fxp.quantize_probs(p, 9, 127)
    assert q.max() <= 127 and list(q[1]) == [32] * 4


def test_softmax_rejects_bad_settings():
    with pytest.raises(ValueError, match=r"mult must be 0..65535"):
        fxp.softmax_q16([1, 2], 70000, 3)
    with pytest.raises(ValueError, match=r"shift must be 0..47"):
        fxp.softmax_q16([1, 2], 1, 48)
    with pytest.raises(ValueError, match="out of range"):
        fxp.softmax_scale(1e6)


@pytest.mark.parametrize("n", [8, 128, 512])
def test_layernorm_matches_float64_within_tolerance(n):
    rng = np.random.default_rng(n)
    x = rng.normal(0.5, 3, (16, n)).astype(np.float16)
    g = rng.normal(1, 0.2, n).astype(np.float16)
    b = rng.normal(0, 0.2, n).astype(np.float16)
    z = fxp.layernorm_fx(fxp.fp16_to_fx(x), fxp.fp16_to_fx(g), fxp.fp16_to_fx(b), 1)
    got = fxp.fx_to_fp16(z).astype(np.float64)
    xf = x.astype(np.float64)
    ref = (xf - xf.mean(-1, keepdims=True)) / np.sqrt(xf.var(-1, keepdims=True) + 1e-5)
    ref = ref * g.astype(np.float64) + b.astype(np.float64)
    assert np.all(np.abs(got - ref) <= 2e-3 + 2**-10 * np.abs(ref))


def test_layernorm_needs_a_power_of_two_length():
    with pytest.raises(ValueError, match="power-of-two length, got 12"):
        fxp.layernorm_fx(np.zeros(12), np.zeros(12), np.zeros(12), 1)


def test_gelu_table_interpolation_within_1e_3():
    lut = fxp.gelu_lut()
    x = np.arange(-10 * 65536, 10 * 65536, 97)
    got = fxp.gelu_fx(x, lut) / 65536
    assert np.abs(got - fxp.gelu_tanh(x / 65536)).max() < 1e-3
    assert fxp.gelu_fx(np.array([9 * 65536]), lut)[0] == 9 * 65536  # passes through
    with pytest.raises(ValueError, match="257 entries"):
        fxp.gelu_fx(x, lut[:-1])


def test_add_saturates_symmetrically():
    assert fxp.add_fx(fxp.FX_MAX, 5) == fxp.FX_MAX
    assert fxp.add_fx(-fxp.FX_MAX, -5) == -fxp.FX_MAX
    assert fxp.add_fx(3, -5) == -2
