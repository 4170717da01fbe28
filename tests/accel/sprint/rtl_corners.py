"""SPRINT's RTL (rtl/sprint/): lint corners and cocotb benches with their vectors from
the numpy twins (tests/rtl_table.py)."""

from __future__ import annotations

import numpy as np
from rtl_table import Bench, Lint

from cosim.accel.online_softmax import attend, softmax_scale
from cosim.accel.sprint.engines import FetchFilterModel, mask_beats

LINT = [
    Lint("sprint_recompute", {}),
    Lint("sprint_recompute", {"D": 8, "LANES": 8}),
    Lint("sprint_recompute", {"D": 64, "LANES": 1}),
    Lint("sprint_fetch_filter", {}),
    Lint("sprint_fetch_filter", {"MAX_KEYS": 64, "SLOTS": 4}),
    Lint("sprint_fetch_filter", {"MAX_KEYS": 4096, "SLOTS": 256}),
]


def recompute_vectors(gen: np.random.Generator, d: int) -> dict[str, np.ndarray]:
    mult, shift = softmax_scale(0.5 / np.sqrt(d) / 127 * 8)
    queries = []
    for n in (5, 0, 37, 1, 64):
        queries.append(
            (
                gen.integers(-128, 128, d),
                gen.integers(-128, 128, (n, d)),
                gen.integers(-128, 128, (n, d)),
            )
        )
    # equal scores: no rescale; rising scores: a rescale at every pair
    q = np.ones(d, np.int64)
    queries.append((q, np.ones((9, d), np.int64), gen.integers(-128, 128, (9, d))))
    rising = np.repeat(np.arange(12)[:, None] * 10 - 60, d, axis=1)
    queries.append((q, rising, gen.integers(-128, 128, (12, d))))
    queries.append((np.full(d, -128), np.full((7, d), -128), np.full((7, d), -128)))
    queries.append(
        (
            gen.integers(-128, 128, d),
            gen.integers(-128, 128, (1024, d)),
            gen.integers(-128, 128, (1024, d)),
        )
    )
    out: dict[str, np.ndarray] = {"mult": np.array(mult), "shift": np.array(shift)}
    for i, (q, k, v) in enumerate(queries):
        y, state = attend(k @ q if len(k) else np.zeros(0, np.int64), v, mult, shift)
        out |= {
            f"q{i}": q,
            f"k{i}": k,
            f"v{i}": v,
            f"want{i}": y,
            f"rescales{i}": np.array(state.rescales),
        }
    out["count"] = np.array(len(queries))
    return out


def filter_vectors(gen: np.random.Generator, max_keys: int, slots: int) -> dict[str, np.ndarray]:
    model = FetchFilterModel(slots)
    out: dict[str, np.ndarray] = {"max_keys": np.array(max_keys), "slots": np.array(slots)}
    cases = []
    base = gen.random(max_keys) < 0.2
    for _ in range(8):  # drifting masks: consecutive queries share many survivors
        flip = gen.random(max_keys) < 0.05
        base = base ^ flip
        cases.append((max_keys, base.copy(), False))
    odd = max_keys - 37
    stray = gen.random(max_keys) < 0.3  # bits above KEYS must be ignored
    cases.append((odd, stray, False))
    cases.append((max_keys, np.zeros(max_keys, bool), False))
    cases.append((max_keys, np.ones(max_keys, bool), False))  # longer than the buffer
    cases.append((max_keys, base.copy(), True))  # after a reset: all misses
    cases.append((max_keys, base.copy(), False))  # then all hits
    for i, (keys, mask, reset) in enumerate(cases):
        if reset:
            model.reset()
        entries = model.query(np.flatnonzero(mask[:keys]))
        words = mask_beats(mask).view("<u8")
        words = words[: -(-keys // 64)]
        out |= {
            f"keys{i}": np.array(keys),
            f"mask{i}": words.astype(np.uint64),
            f"entries{i}": np.array([e.encode() for e in entries], np.uint64),
            f"reset{i}": np.array(reset),
            f"counters{i}": np.array([model.hits, model.misses, model.search]),
        }
    out["count"] = np.array(len(cases))
    return out


BENCHES = [
    Bench(
        "sprint_recompute",
        {"D": 64, "LANES": 16},
        "tb_sprint_recompute.py",
        vectors=lambda g, p: recompute_vectors(g, p["D"]),
        seed=3,
        name="sprint_recompute_d64",
    ),
    Bench(
        "sprint_recompute",
        {"D": 16, "LANES": 4},
        "tb_sprint_recompute.py",
        vectors=lambda g, p: recompute_vectors(g, p["D"]),
        seed=3,
        name="sprint_recompute_d16",
    ),
    Bench(
        "sprint_fetch_filter",
        {"MAX_KEYS": 256, "SLOTS": 32},
        "tb_sprint_fetch_filter.py",
        vectors=lambda g, p: filter_vectors(g, p["MAX_KEYS"], p["SLOTS"]),
        seed=3,
    ),
]
