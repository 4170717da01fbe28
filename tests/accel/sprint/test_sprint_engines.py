"""SPRINT's engines as twins (cosim.accel.sprint.engines): the recompute engine and the
fetch filter give the same numbers as their numpy models in every implementation, the
TLM timing error against the RTL is measured, and the abstract twins refuse what the
RTL could not take."""

from __future__ import annotations

import numpy as np
import pytest

import cosim
from cosim.accel.online_softmax import attend, softmax_scale
from cosim.accel.sprint.engines import (
    FetchFilterModel,
    FilterDriver,
    RecomputeDriver,
    fetch_filter,
    recompute_engine,
)
from cosim.accel.stream_engine import IMPLEMENTATIONS


def workload(seed: int, nq: int, length: int, d: int):
    rng = np.random.default_rng(seed)
    q = rng.integers(-128, 128, (nq, d))
    k = rng.integers(-128, 128, (length, d))
    v = rng.integers(-128, 128, (length, d))
    base = rng.random(length) < 0.1
    masks = []
    for _ in range(nq):  # drifting masks: hits and misses
        base = base ^ (rng.random(length) < 0.05)
        masks.append(base.copy())
    masks[2][:] = False  # a query without survivors
    return q, k, v, np.array(masks)


def engines_run(sim, impl, seed, nq, length, d, slots):
    # the shapes of the scenario's twin test (one RTL build each serves both tests)
    rc = RecomputeDriver.attach(sim, recompute_engine(sim, "rc", impl, d=d, lanes=16), "rcd")
    ff = FilterDriver.attach(sim, fetch_filter(sim, "ff", impl, max_keys=1024, slots=slots), "ffd")
    q, k, v, masks = workload(seed, nq, length, d)
    mult, shift = softmax_scale(4e-5)
    out: dict = {"entries": [], "y": []}

    @sim.process
    async def main():
        out["info"] = await ff.info()
        await ff.reset()
        t0 = cosim.now()
        for m in masks:
            out["entries"].append([e.encode() for e in await ff.query(m)])
        out["filter_ps"] = cosim.now() - t0
        out["filter"] = await ff.counters()
        t0 = cosim.now()
        await rc.job(mult, shift, nq)
        for i, m in enumerate(masks):
            sel = np.flatnonzero(m)
            await rc.query(q[i])
            await rc.pairs(k[sel[: len(sel) // 2]], v[sel[: len(sel) // 2]])
            await rc.pairs(k[sel[len(sel) // 2 :]], v[sel[len(sel) // 2 :]])
            out["y"].append(await rc.end())
        await rc.wait_done()
        out["recompute_ps"] = cosim.now() - t0
        out["recompute"] = await rc.counters()

    sim.run()
    return out


@pytest.mark.slow
def test_twins_agree_and_tlm_timing_error_is_reported(capsys):
    nq, length, d, slots = 10, 200, 32, 32
    runs = {
        impl: cosim.simulate(engines_run, impl, 4, nq, length, d, slots).value
        for impl in IMPLEMENTATIONS
    }
    q, k, v, masks = workload(4, nq, length, d)
    mult, shift = softmax_scale(4e-5)
    model = FetchFilterModel(slots)
    want_entries = [[e.encode() for e in model.query(np.flatnonzero(m))] for m in masks]
    want_y, rescales = [], 0
    for i, m in enumerate(masks):
        sel = np.flatnonzero(m)
        y, state = attend(k[sel] @ q[i], v[sel], mult, shift)
        want_y.append(y)
        rescales += state.rescales
    for impl, r in runs.items():
        assert r["entries"] == want_entries, f"{impl} filter differs from its model"
        assert np.array_equal(np.array(r["y"]), np.array(want_y)), f"{impl} recompute differs"
        assert r["recompute"]["pairs"] == masks.sum() and r["recompute"]["empty"] == 1
        assert r["recompute"]["rescales"] == rescales
        assert r["filter"] == {"hits": model.hits, "misses": model.misses, "search": model.search}
        assert r["info"] == {"slots": slots, "max_keys": 1024, "version": 1}
    assert model.hits > 0 and model.search > 0  # the case exercises reuse and pins
    lines = []
    for part in ("recompute", "filter"):
        rtl_t, tlm_t = runs["rtl"][f"{part}_ps"], runs["tlm"][f"{part}_ps"]
        error = (tlm_t - rtl_t) / rtl_t
        lines.append(f"{part}: RTL {rtl_t / 1e3:.0f} ns, TLM {tlm_t / 1e3:.0f} ns ({error:+.1%})")
        assert rtl_t > 0 and abs(error) < 0.10
        assert runs["functional"][f"{part}_ps"] == 0
    with capsys.disabled():
        print("\n  SPRINT engines, TLM timing error: " + "; ".join(lines))


def out_of_turn(sim, impl):
    rc = RecomputeDriver.attach(sim, recompute_engine(sim, "rc", impl, d=16, lanes=4), "rcd")

    @sim.process
    async def main():
        await rc.job(*softmax_scale(1e-4), 2)
        await rc.query(np.zeros(16))
        await rc.send(np.zeros(17, np.uint8) + np.eye(17, dtype=np.uint8)[16] * 4)  # END
        await rc.query(np.zeros(16))  # before reading the output

    sim.run()


@pytest.mark.parametrize("impl", ["functional", "tlm"])
def test_beats_before_the_output_is_read_are_refused(impl):
    with pytest.raises(cosim.TlmError, match="read the output of the last query"):
        cosim.simulate(out_of_turn, impl)


def bad_shapes(sim, what):
    if what == "recompute":
        recompute_engine(sim, "rc", "tlm", d=48)
    else:
        fetch_filter(sim, "ff", "tlm", slots=100)


def test_bad_engine_shapes_are_refused():
    with pytest.raises(cosim.ParameterError, match="d = 48: must be 8, 16, 32 or 64"):
        cosim.simulate(bad_shapes, "recompute")
    with pytest.raises(cosim.ParameterError, match="slots = 100: must be a power of two"):
        cosim.simulate(bad_shapes, "filter")
