"""Spartus's fixed-point number formats and its sigmoid/tanh tables (the same tables are
literal arrays in rtl/spartus/spartus.sv and tlm/accel/spartus/spartus.cpp; a test checks
both against these).

Formats: activations and hidden states Q8 int16 (1.0 = 256), weights Q6 int8, gate
pre-activations Q14 int32 (the product of the two), cell state Q8 int32. A table has 256
entries over [-8, 8) in steps of 1/16: index = clamp(v >> shift, -128, 127) + 128, with
shift 10 for a Q14 pre-activation and 4 for a Q8 cell state, after adding half a step
(round to nearest); entries are Q8."""

from __future__ import annotations

import numpy as np

ACT_FRAC, WEIGHT_FRAC = 8, 6  # Q8 activations, Q6 weights
PRE_SHIFT, CELL_SHIFT = 10, 4  # Q14 -> 1/16 steps, Q8 -> 1/16 steps
_GRID = (np.arange(256) - 128) / 16.0
SIGMOID = np.rint(256.0 / (1.0 + np.exp(-_GRID))).astype(np.int64)
TANH = np.rint(256.0 * np.tanh(_GRID)).astype(np.int64)


def lut_index(v: np.ndarray, shift: int) -> np.ndarray:
    """The table index of a fixed-point value (arithmetic shift, clamped to the table)."""
    return np.clip((np.asarray(v, np.int64) + (1 << (shift - 1))) >> shift, -128, 127) + 128


def sv_table(name: str, values: np.ndarray) -> str:
    """A table as the SystemVerilog localparam the RTL holds (signed 16-bit entries)."""
    body = ", ".join(f"-16'sd{-v}" if v < 0 else f"16'sd{v}" for v in values.tolist())
    return f"  localparam logic signed [15:0] {name} [256] = '{{{body}}};"


def cpp_table(name: str, values: np.ndarray) -> str:
    """A table as the C++ array the TLM twin holds."""
    return f"constexpr std::int16_t {name}[256] = {{{', '.join(map(str, values.tolist()))}}};"
