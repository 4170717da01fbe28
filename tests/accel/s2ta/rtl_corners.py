"""S2TA's RTL (rtl/s2ta/): lint corners and cocotb benches (tests/rtl_table.py)."""

from rtl_table import Bench, Lint

LINT = [
    Lint("s2ta", {}),
    Lint("s2ta", {"ROWS": 1, "COLS": 1, "W_NNZ": 1}),
    Lint("s2ta", {"ROWS": 16, "COLS": 14, "W_NNZ": 8}),
    Lint("s2ta", {"ROWS": 3, "COLS": 5, "W_NNZ": 2}),
    Lint("s2ta_array", {"ROWS": 1, "COLS": 1, "W_NNZ": 8}),
    Lint("s2ta_pruner", {}),
]

BENCHES = [
    Bench("s2ta", {"ROWS": 4, "COLS": 3, "W_NNZ": 4}, "tb_s2ta.py"),
    Bench("s2ta", {"ROWS": 2, "COLS": 5, "W_NNZ": 1}, "tb_s2ta.py"),
    Bench("s2ta_array", {"ROWS": 3, "COLS": 4, "W_NNZ": 3}, "tb_s2ta_array.py"),
    Bench("s2ta_pruner", {}, "tb_s2ta_pruner.py"),
]
