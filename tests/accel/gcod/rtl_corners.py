"""GCoD's RTL (rtl/gcod/): lint corners and the cocotb bench (tests/rtl_table.py). The
bench runs at the scenario's parameters, so one build serves the bench and the twins."""

from rtl_table import Bench, Lint

LINT = [
    Lint("gcod", {}),
    Lint("gcod", {"LANES": 1, "MAX_ROWS": 2}),
    Lint("gcod", {"LANES": 64, "MAX_ROWS": 4096}),
    Lint("gcod", {"LANES": 3, "MAX_ROWS": 5}),
]

BENCHES = [Bench("gcod", {"LANES": 16, "MAX_ROWS": 64}, "tb_gcod.py", min_tests=4)]
