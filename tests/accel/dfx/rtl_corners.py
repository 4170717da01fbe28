"""DFX's RTL (rtl/dfx/): lint corners and cocotb benches (tests/rtl_table.py)."""

from rtl_table import Bench, Lint

LINT = [
    Lint("fp16_dot_tile", {}),
    Lint("fp16_dot_tile", {"LANES": 1, "WIDTH": 1, "IN_MAX": 1, "T_MAX": 1}),
    Lint("fp16_dot_tile", {"LANES": 4, "WIDTH": 16, "IN_MAX": 1024, "T_MAX": 64}),
    Lint("vector_unit", {}),
    Lint("vector_unit", {"LANES": 2, "MAX_LEN": 2}),
    Lint("vector_unit", {"LANES": 64, "MAX_LEN": 4096}),
]

BENCHES = [
    Bench(
        "fp16_dot_tile",
        {"LANES": 4, "WIDTH": 4, "IN_MAX": 32, "T_MAX": 4},
        "tb_fp16_dot_tile.py",
        min_tests=4,
    ),
    Bench("vector_unit", {"LANES": 4, "MAX_LEN": 16}, "tb_vector_unit.py", min_tests=4),
]
