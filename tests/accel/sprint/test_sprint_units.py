"""Unit tests of SPRINT's numpy side: the fixed-point online softmax (against exact
softmax, within its stated bound), the fetch filter's model (residency, pins, batches),
the mask packing, and the workload (calibration, analog bits, errors)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cosim
from cosim.accel.online_softmax import (
    MAX_PAIRS,
    ONE,
    OnlineSoftmax,
    attend,
    exp2neg,
    softmax_scale,
    t_of,
)
from cosim.accel.sprint.engines import Entry, FetchFilterModel, mask_beats
from cosim.accel.sprint.workload import (
    analog,
    calibrate_threshold,
    exact_attention,
    generate,
    masked_attention,
    prepare,
    quantize_int8,
    relative_error,
    topics,
)

# ------------------------------------------------------------- online softmax


@pytest.mark.parametrize("seed", range(4))
def test_online_softmax_is_within_its_bound_of_exact_softmax(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 300))
        scores = rng.integers(-(1 << 20), 1 << 20, n)
        values = rng.integers(-128, 128, (n, 16))
        c = float(rng.uniform(2e-6, 2e-4))
        mult, shift = softmax_scale(c)
        out, state = attend(scores, values, mult, shift)
        x = (scores - scores.max()) * c
        p = np.exp(x) / np.exp(x).sum()
        err = np.abs(out / 256 - p @ values).max()
        assert err <= 0.002 * 128 + 1 / 256, err
        assert state.pairs == n and 0 <= state.rescales < n


def test_online_softmax_edges():
    mult, shift = softmax_scale(1e-4)
    # no pair: zeros; one pair: its value exactly (in Q8.8)
    assert not OnlineSoftmax(mult, shift, 4).finish().any()
    out, _ = attend(np.array([123]), np.array([[-128, 127, 0, 5]]), mult, shift)
    assert out.tolist() == [-128 * 256, 127 * 256, 0, 5 * 256]
    # equal scores: equal weights, no rescale; rising scores: a rescale per pair
    _, flat = attend(np.zeros(9, np.int64), np.ones((9, 2), np.int64), mult, shift)
    _, rising = attend(np.arange(9) * 1000, np.ones((9, 2), np.int64), mult, shift)
    assert flat.rescales == 0 and flat.sum == 9 * ONE and rising.rescales == 8
    # far below the maximum: weight 0
    assert exp2neg(t_of(1 << 30, mult, shift)) == 0 and exp2neg(0) == ONE


def test_online_softmax_refuses_bad_constants_and_too_many_pairs():
    with pytest.raises(cosim.ParameterError, match=r"MULT = 0 must be 1 \.\. 65535"):
        OnlineSoftmax(0, 3, 4)
    with pytest.raises(cosim.ParameterError, match="must be a positive finite number"):
        softmax_scale(-1.0)
    with pytest.raises(cosim.ParameterError, match="gives MULT"):
        softmax_scale(1e9)
    state = OnlineSoftmax(*softmax_scale(1e-4), 1)
    for _ in range(MAX_PAIRS):
        state.add(0, np.zeros(1))
    with pytest.raises(cosim.ParameterError, match="more than 1024 pairs"):
        state.add(0, np.zeros(1))


# ------------------------------------------------------------------- filter model


def test_fetch_filter_fetches_each_key_once_while_it_stays_resident():
    m = FetchFilterModel(16)
    first = m.query([3, 5, 9])
    assert [(e.key, e.miss, e.batch_start) for e in first] == [
        (3, True, True),
        (5, True, False),
        (9, True, False),
    ]
    again = m.query([5, 9, 11])
    assert [(e.key, e.miss) for e in again] == [(5, False), (9, False), (11, True)]
    assert again[0].slot == first[1].slot and (m.hits, m.misses) == (2, 4)
    m.reset()
    assert all(e.miss for e in m.query([3, 5]))


def test_fetch_filter_batches_pins_and_evictions():
    """More survivors than the buffer: batches of slots/2, no entry's slot is reused
    while its batch or the one before is pinned, and evictions are flagged."""
    slots = 8
    m = FetchFilterModel(slots)
    entries = m.query(list(range(20)))
    starts = [i for i, e in enumerate(entries) if e.batch_start]
    assert starts == [0, 4, 8, 12, 16]
    for b in range(1, len(starts)):
        batch = entries[starts[b] : starts[b] + 4]
        before = entries[starts[b - 1] : starts[b]]
        assert not {e.slot for e in batch} & {e.slot for e in before}
    assert sum(e.evicted for e in entries) == 20 - slots
    assert Entry.decode(entries[9].encode()) == entries[9]


def test_mask_beats_pack_64_keys_per_beat():
    mask = np.zeros(130, bool)
    mask[[0, 63, 64, 129]] = True
    words = mask_beats(mask).view("<u8")
    assert words.tolist() == [1 | 1 << 63, 1, 2]


# ----------------------------------------------------------------------- workload


def test_calibrated_threshold_keeps_about_the_target_fraction_and_locality():
    rng = np.random.default_rng(7)
    c = topics(rng, 8, 64)
    att = prepare(*generate(rng, c, 256), 4)
    cal = prepare(*generate(rng, c, 256), 4)
    for keep in (0.1, 0.2, 0.3):
        masks = att.qa @ att.ka.T >= calibrate_threshold(cal, keep)
        assert abs(masks.mean() - keep) < 0.06
    masks = att.qa @ att.ka.T >= calibrate_threshold(cal, 0.2)
    shared = (masks[1:] & masks[:-1]).sum() / masks[1:].sum()
    assert shared > 0.5  # adjacent queries keep many of the same keys
    # pruning 80% of the keys costs a few percent of output error on this workload
    err = relative_error(masked_attention(att, masks), exact_attention(att))
    assert err < 0.05
    assert relative_error(exact_attention(att, quantised=True), exact_attention(att)) < err


def test_quantisation_and_analog_bits():
    x = np.array([-2.0, 0.5, 1.0])
    xi, scale = quantize_int8(x)
    assert xi.tolist() == [-127, 32, 64] and math.isclose(scale, 2 / 127)
    assert analog(np.array([127, -127, 8, 7], np.int8), 4).tolist() == [7, -7, 0, 0]
    assert analog(np.array([127, -128], np.int8), 8).tolist() == [127, -127]
    with pytest.raises(cosim.ParameterError, match="analog_bits = 1 is out of range"):
        analog(np.zeros(2, np.int8), 1)
    with pytest.raises(cosim.ParameterError, match="keep = 0 is out of range"):
        calibrate_threshold(prepare(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), 4), 0)
    with pytest.raises(cosim.ParameterError, match=r"run 0\.5 >= 1"):
        generate(np.random.default_rng(1), np.ones((2, 4)), 8, run=0.5)
