"""Spartus's RTL (rtl/spartus/spartus.sv): lint corners and one cocotb bench at the
scenario's build parameters (one build serves the bench and the twin tests), against the
fixed-point numpy golden (cosim.accel.spartus.workload) (tests/rtl_table.py)."""

from __future__ import annotations

import numpy as np
from rtl_table import Bench, Lint

from cosim.accel.spartus import engine as eng
from cosim.accel.spartus import format as fmt
from cosim.accel.spartus import workload as wl

LINT = [
    Lint("spartus", {}),
    Lint("spartus", {"LANES": 2, "INPUTS": 16, "HIDDEN": 16, "MAX_WORDS": 16}),
    Lint("spartus", {"LANES": 64, "INPUTS": 128, "HIDDEN": 256, "MAX_WORDS": 8192}),
]
FRAMES, THRESHOLD = 5, 16


def vectors(gen: np.random.Generator, p: dict) -> dict[str, np.ndarray]:
    """A weight image, biases, frames, the expected hidden states of the delta run and of
    a dense run (every column), the columns propagated and each frame's gapless cycles."""
    lanes, inputs, hidden = p.get("LANES", 16), p.get("INPUTS", 64), p.get("HIDDEN", 128)
    w = wl.make_workload(gen, FRAMES, inputs, hidden, lanes, 0.9)
    h, needed = wl.delta_lstm_fixed(w.x, w.w, w.bias, THRESHOLD)
    h_dense, _ = wl.delta_lstm_fixed(w.x[:2], w.w, w.bias, THRESHOLD, dense=True)
    cols = needed.sum(axis=1)
    return {
        "image": fmt.weight_image(w.w, lanes, w.kpl).astype(np.int64),
        "dense_image": fmt.dense_image(w.w, lanes).astype(np.int64),
        "bias": w.bias,
        "x": w.x.astype(np.int64),
        "h": h.astype(np.int64),
        "h_dense": h_dense.astype(np.int64),
        "kpl": np.array(w.kpl),
        "threshold": np.array(THRESHOLD),
        "columns": np.array(int(cols.sum())),
        "cycles": np.array([eng.step_cycles(inputs, hidden, lanes, int(c), w.kpl) for c in cols]),
    }


BENCHES = [
    Bench(
        "spartus",
        {},
        "tb_spartus.py",
        vectors=vectors,
        seed=3,
        min_tests=2,
        name="spartus",
    )
]
