"""STA's RTL (rtl/sta/): lint corners and cocotb benches (tests/rtl_table.py)."""

from rtl_table import Bench, Lint

LINT = [
    Lint("nm_sparse_engine", {}),
    Lint("nm_sparse_engine", {"LANES": 1, "SLOTS": 1, "M_MAX": 2, "IN_MAX": 4, "T_MAX": 1}),
    Lint("nm_sparse_engine", {"LANES": 32, "SLOTS": 2, "M_MAX": 16, "IN_MAX": 128, "T_MAX": 64}),
    Lint("softmax_unit", {}),
    Lint("softmax_unit", {"LANES": 1, "MAX_LEN": 1}),
    Lint("softmax_unit", {"LANES": 32, "MAX_LEN": 4096}),
]

BENCHES = [
    Bench(
        "nm_sparse_engine",
        {"LANES": 4, "SLOTS": 2, "M_MAX": 8, "IN_MAX": 32, "T_MAX": 4},
        "tb_nm_sparse_engine.py",
        min_tests=4,
    ),
    Bench("softmax_unit", {"LANES": 4, "MAX_LEN": 32}, "tb_softmax_unit.py", min_tests=4),
]
