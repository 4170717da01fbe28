"""The DFX engines' numerics and formats: the FP16 tile's bit-exact model against an
independent scalar emulation and float64, beat layouts, and argument checks; the vector
unit's golden rows against float64 within the stated tolerances."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cosim import ParameterError
from cosim.accel import fixed_point as fxp
from cosim.accel.dfx import fp16_tile as ft
from cosim.accel.dfx import vector_unit as vu


def scalar_tile(x, w, bias, width):
    """One output at a time, in the hardware's order, with numpy float32 scalars."""
    out = np.zeros((x.shape[0], w.shape[0]), np.float16)
    for t in range(x.shape[0]):
        for r in range(w.shape[0]):
            acc = np.float32(0.0) if bias is None else np.float32(bias[r])
            for c in range(0, x.shape[1], width):
                level = [np.float32(w[r, c + v]) * np.float32(x[t, c + v]) for v in range(width)]
                while len(level) > 1:
                    level = [level[i] + level[i + 1] for i in range(0, len(level), 2)]
                acc = np.float32(acc + level[0])
            out[t, r] = np.float16(acc)
    return out


@pytest.mark.parametrize("width", [1, 4, 8])
def test_tile_model_matches_a_scalar_emulation_and_float64(width):
    rng = np.random.default_rng(width)
    x = rng.normal(0, 1, (3, 32)).astype(np.float16)
    w = rng.normal(0, 0.2, (5, 32)).astype(np.float16)
    b = rng.normal(0, 1, 5).astype(np.float16)
    b[0] = -0.0
    got = ft.tile_matmul(x, w, b, width)
    assert np.array_equal(got.view(np.uint16), scalar_tile(x, w, b, width).view(np.uint16))
    assert ft.within_tolerance(got, x, w, b)
    assert not ft.within_tolerance(got + np.float16(0.25), x, w, b)


def test_tile_beat_layouts():
    shape = ft.TileShape(lanes=2, width=2, in_max=8, t_max=2)
    w = np.arange(12, dtype=np.float16).reshape(3, 4)  # 3 rows: two blocks, the last padded
    beats = ft.weight_beats(w, shape)
    assert beats.shape == (2, 2, 8)
    first = beats[0].view(np.float16).reshape(2, 2, 2)  # beat c, lane l, element v
    assert first[1].tolist() == [[2, 3], [6, 7]]
    assert beats[1].view(np.float16).reshape(2, 2, 2)[0].tolist() == [[8, 9], [0, 0]]
    acts = ft.act_beats(np.ones((2, 5), np.float16), shape)
    assert acts.shape == (4, 8) and acts[1].view(np.float16).tolist() == [1, 0, 0, 0]


def test_tile_rejects_bad_operands_and_shapes():
    with pytest.raises(ValueError, match="must be finite"):
        ft.tile_matmul(np.array([[np.inf]], np.float16), np.ones((1, 1), np.float16), None, 1)
    with pytest.raises(TypeError, match="float16"):
        ft.tile_matmul(np.ones((1, 1)), np.ones((1, 1), np.float16), None, 1)
    with pytest.raises(ParameterError, match="must fit a 1024-bit beat"):
        ft.TileShape(lanes=16, width=8)
    with pytest.raises(ParameterError, match=r"in_len = 12 must be 1\.\.512 and a multiple"):
        ft.TileShape().check_job(1, 12)


def test_vector_golden_rows_within_tolerance_of_float64():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 3, (4, 64)).astype(np.float16)
    g = rng.normal(1, 0.1, (4, 64)).astype(np.float16)
    b = rng.normal(0, 0.1, (4, 64)).astype(np.float16)
    xd = x.astype(np.float64)
    ln = vu.golden_rows(vu.OP_LAYERNORM, [x, g, b], eps=1)
    ref = (xd - xd.mean(-1, keepdims=True)) / np.sqrt(xd.var(-1, keepdims=True) + 1e-5) * g + b
    assert np.all(np.abs(ln - ref) <= 2e-3 + 2**-10 * np.abs(ref))
    mult, shift = fxp.softmax_scale(1 / math.sqrt(32))
    sm = vu.golden_rows(vu.OP_SOFTMAX, [x], mult=mult, shift=shift)
    z = xd / math.sqrt(32)
    ref = np.exp(z - z.max(-1, keepdims=True))
    assert np.abs(sm - ref / ref.sum(-1, keepdims=True)).max() < 3e-4 + 2**-11
    ge = vu.golden_rows(vu.OP_GELU, [x], lut=fxp.gelu_lut())
    assert np.all(np.abs(ge - fxp.gelu_tanh(xd)) <= 1e-3 + 2**-10 * np.abs(xd))
    with pytest.raises(ParameterError, match="table loaded first"):
        vu.golden_rows(vu.OP_GELU, [x])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((vu.OP_LAYERNORM, 96), "LayerNorm length = 96 must be a power of two"),
        ((vu.OP_ADD, 513), r"length = 513 must be 1\.\.512"),
        ((9, 4), "op = 9 must be one of"),
        ((vu.OP_SOFTMAX, 4, 70000), "softmax mult = 70000"),
    ],
)
def test_vector_unit_checks_name_the_parameter(args, message):
    with pytest.raises(ParameterError, match=message):
        vu.VectorShape().check(*args)
