"""Phantom's RTL (rtl/phantom/): lint corners and cocotb benches (tests/rtl_table.py)."""

from rtl_table import Bench, Lint

LINT = [
    Lint("phantom_core", {}),
    Lint("phantom_core", {"WINDOW": 2, "THREADS": 1, "MAX_OUTS": 2}),
    Lint("phantom_core", {"WINDOW": 16, "THREADS": 16, "MAX_OUTS": 255}),
    Lint("phantom_core", {"WINDOW": 12, "THREADS": 3, "MAX_OUTS": 100}),
]

BENCHES = [
    Bench(
        "phantom_core",
        {"WINDOW": 8, "THREADS": 3, "MAX_OUTS": 8},
        "tb_phantom_core.py",
        min_tests=4,
    ),
]
