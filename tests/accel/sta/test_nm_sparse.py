"""The N:M sparse format (pruning, compression, the in-memory image) and the numpy twin
of the STA engine behind the common stream-engine ports."""

from __future__ import annotations

import numpy as np
import pytest

import cosim
from cosim import ParameterError
from cosim.accel import stream_engine as se
from cosim.accel.sta import nm_sparse as nm


@pytest.mark.parametrize("text", ["2:4", "1:4", "2:8", "4:8", "1:2", "8:16"])
def test_prune_keeps_the_n_largest_of_every_group(text):
    pat = nm.NMPattern.parse(text)
    rng = np.random.default_rng(1)
    w = rng.integers(-128, 128, (24, 64), dtype=np.int8)
    p = nm.prune(w, pat)
    groups = p.reshape(24, -1, pat.m)
    assert np.all((groups != 0).sum(-1) <= pat.n)
    kept_min = np.where(groups != 0, np.abs(groups.astype(int)), 999).min(-1)
    dropped_max = np.where(groups == 0, np.abs(w.reshape(24, -1, pat.m).astype(int)), -1).max(-1)
    assert np.all(kept_min >= dropped_max)  # no dropped weight beats a kept one
    v, i = nm.compress(p, pat)
    assert v.shape == (24, 64 * pat.n // pat.m)
    assert np.all(i < pat.m)
    assert np.array_equal(nm.decompress(v, i, pat, 64), p)


def test_prune_breaks_ties_towards_lower_positions():
    w = np.array([[5, -5, 5, 1, 0, 0, 0, 0]], dtype=np.int8)
    assert nm.prune(w, nm.NMPattern(2, 4)).tolist() == [[5, -5, 0, 0, 0, 0, 0, 0]]


def test_pack_bits_round_trip_and_layout():
    f = np.array([[1, 2, 3, 0, 3]])
    b = nm.pack_bits(f, 2)
    assert b.tolist() == [[0b00111001, 0b11]]
    assert np.array_equal(nm.unpack_bits(b, 2, 5), f)


@pytest.mark.parametrize(
    ("text", "image_bytes"), [("2:4", 80), ("1:4", 80), ("2:8", 88), ("dense", 64)]
)
def test_weight_image_holds_n_values_and_n_log2m_index_bits_per_group(text, image_bytes):
    pat = nm.NMPattern.parse(text)
    shape = nm.EngineShape()
    rng = np.random.default_rng(2)
    w = nm.prune(rng.integers(-128, 128, (64, 128), dtype=np.int8), pat)
    img = nm.weight_image(*nm.compress(w, pat), pat, shape)
    assert img.shape[-1] == shape.image_beat_bytes(pat) == image_bytes
    bits = 8 * img.size
    groups = 64 * 128 // pat.m
    assert bits == groups * pat.n * (8 + pat.index_bits)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3:4", "N = 3 must be 1, 2, 4, 8 or 16"),
        ("4:2", "N must be at most M"),
        ("2-4", "write it as N:M"),
    ],
)
def test_bad_patterns_are_named(text, message):
    with pytest.raises(ParameterError, match=message):
        nm.NMPattern.parse(text)


def test_engine_shape_and_job_checks_name_the_parameter():
    with pytest.raises(ParameterError, match=r"lanes = 40 must be 1..32"):
        nm.EngineShape(lanes=40)
    with pytest.raises(ParameterError, match="does not fit the 32-byte input beat"):
        nm.EngineShape(lanes=16, slots=4, in_max=32)
    shape = nm.EngineShape()
    with pytest.raises(ParameterError, match=r"in_len = 40 must be 1..128 and a multiple of"):
        shape.check_job(nm.NMPattern(1, 4), 16, 40)
    with pytest.raises(ParameterError, match="needs M <= m_max = 8"):
        shape.check_job(nm.NMPattern(2, 16), 16, 64)
    with pytest.raises(ParameterError, match=r"tokens = 17 must be 1..16"):
        shape.check_job(nm.NMPattern(2, 4), 17, 64)


def engine_system(sim, pattern, out_cfg, misuse=False):
    shape = nm.EngineShape(lanes=8, slots=4, in_max=64, t_max=8)
    eng = nm.nm_sparse_engine(sim, "nm", impl="functional", shape=shape)
    host = sim.initiator("host")
    bus = sim.model("router", "bus")
    sim.bind(host, bus.port("target"))
    bus.map(eng.csr, 0x0, 0x100)
    bus.map(eng.data_in, 0x1000, 0x1000)
    bus.map(eng.data_out, 0x2000, 0x1000)
    drv = nm.NMDriver(host, shape, csr=0x0, data_in=0x1000, data_out=0x2000)
    pat = nm.NMPattern.parse(pattern)
    rng = np.random.default_rng(5)
    w = nm.prune(rng.integers(-128, 128, (20, 64), dtype=np.int8), pat)
    x = rng.integers(-128, 128, (6, 64), dtype=np.int8)
    img = nm.weight_image(*nm.compress(w, pat), pat, shape)
    out = {}

    @sim.process
    async def main():
        if misuse:
            await drv.write_reg(nm.TOKENS, 0)  # out of range: the start is refused
            await drv.start()
            out["status"] = await drv.read_reg(se.STATUS)
            await drv.send(np.zeros((1, 64), np.uint8))
            return
        await drv.configure(pat, 6, 64, out_cfg)
        tiles = [await drv.tile(img[j], x if j == 0 else None, 6) for j in range(len(img))]
        out["y"] = np.concatenate(tiles, axis=1)[:, :20]
        out["status"] = await drv.read_reg(se.STATUS)
        out["info"] = await drv.read_reg(se.INFO)

    sim.run()
    out["want"] = nm.golden_matmul(x, w, out_cfg)
    return out


@pytest.mark.parametrize("pattern", ["2:4", "1:8", "dense"])
@pytest.mark.parametrize("out_cfg", [0, nm.OUT_REQUANT | 9, nm.OUT_REQUANT | nm.OUT_RELU | 6])
def test_functional_twin_equals_numpy(pattern, out_cfg):
    r = cosim.simulate(engine_system, pattern, out_cfg).value
    assert np.array_equal(r["y"], r["want"])
    assert r["status"] == se.STATUS_DONE
    assert r["info"] == 8 | 4 << 8 | 3 << 16 | 1 << 24


def test_a_refused_start_sets_the_error_bit_and_takes_no_beats():
    with pytest.raises(cosim.TlmError, match="no job is waiting for 1 input beats"):
        cosim.simulate(engine_system, "2:4", 0, True)


def test_requantisation_rounds_half_up_and_saturates():
    acc = np.array([255, 256, -257, 100_000, -100_000, -300])
    assert nm.requantize(acc, nm.OUT_REQUANT | 9).tolist() == [0, 1, -1, 127, -128, -1]
    assert nm.requantize(acc, nm.OUT_REQUANT | nm.OUT_RELU | 1).tolist() == [127, 127, 0, 127, 0, 0]
    assert nm.requantize(np.array([2**31 + 5]), 0).tolist() == [-(2**31) + 5]
