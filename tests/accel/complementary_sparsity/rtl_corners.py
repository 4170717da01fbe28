"""Complementary sparsity's RTL (rtl/complementary_sparsity/): lint corners and cocotb
benches (tests/rtl_table.py)."""

from rtl_table import Bench, Lint

SMALL = {
    "CHANNELS": 16,
    "LANES": 4,
    "MAX_KERNELS": 4,
    "MAX_OUTPUTS": 16,
    "MAX_TAPS": 9,
    "WEIGHT_ROWS": 144,
}

LINT = [
    Lint("complementary_sparsity", {}),
    Lint(
        "complementary_sparsity",
        {
            "CHANNELS": 8,
            "LANES": 1,
            "MAX_KERNELS": 2,
            "MAX_OUTPUTS": 2,
            "MAX_TAPS": 1,
            "WEIGHT_ROWS": 2,
        },
    ),
    Lint("complementary_sparsity", {"CHANNELS": 12, "LANES": 5, "MAX_KERNELS": 3}),
    Lint("complementary_sparsity", {"CHANNELS": 128, "LANES": 128, "MAX_OUTPUTS": 256}),
    Lint("kwta", {}),
    Lint("kwta", {"CHANNELS": 2}),
]

BENCHES = [
    Bench("complementary_sparsity", SMALL, "tb_complementary_sparsity.py", min_tests=4),
    Bench("kwta", {"CHANNELS": 16}, "tb_kwta.py", min_tests=2),
]
