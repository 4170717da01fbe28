"""FABNet's RTL (rtl/fabnet/): lint corners and cocotb benches (tests/rtl_table.py)."""

from rtl_table import Bench, Lint

LINT = [
    Lint("butterfly_engine", {}),
    Lint("butterfly_engine", {"UNITS": 1, "MAX_N": 4}),
    Lint("butterfly_engine", {"UNITS": 64, "MAX_N": 1024}),
]

BENCHES = [
    Bench("butterfly_engine", {"UNITS": 2, "MAX_N": 32}, "tb_butterfly_engine.py", min_tests=4),
]
