"""The systolic array's RTL (rtl/systolic/): lint at its shape and dataflow corners and
its cocotb bench for each dataflow (tests/rtl_table.py)."""

from rtl_table import Bench, Lint

LINT = [
    Lint("systolic_array", {"ROWS": rows, "COLS": cols, "DATAFLOW": df})
    for df in ("OS", "WS", "IS")
    for rows, cols in ((1, 1), (1, 4), (4, 1), (3, 5), (8, 8))
]

BENCHES = [
    Bench(
        "systolic_array",
        {"ROWS": 3, "COLS": 5, "DATAFLOW": "OS"},
        "tb_systolic_array.py",
        min_tests=6,
    ),
    Bench(
        "systolic_array",
        {"ROWS": 4, "COLS": 3, "DATAFLOW": "WS"},
        "tb_systolic_array.py",
        min_tests=6,
    ),
    Bench(
        "systolic_array",
        {"ROWS": 2, "COLS": 4, "DATAFLOW": "IS"},
        "tb_systolic_array.py",
        min_tests=6,
    ),
]
