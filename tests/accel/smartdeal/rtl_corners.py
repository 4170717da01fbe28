"""SmartDeal's RTL (rtl/smartdeal/): lint corners and cocotb benches (tests/rtl_table.py)."""

from rtl_table import Bench, Lint

LINT = [
    Lint("smartdeal_rebuild", {}),
    Lint("smartdeal_rebuild", {"MAX_ROWS": 3, "MAX_BEATS": 16}),
    Lint("smartdeal_rebuild", {"MAX_ROWS": 768, "MAX_BEATS": 4095}),
    Lint("smartdeal_mac", {}),
    Lint("smartdeal_mac", {"ROWS": 1, "COLS": 1}),
    Lint("smartdeal_mac", {"ROWS": 16, "COLS": 3}),
]

BENCHES = [
    Bench("smartdeal_rebuild", {"MAX_ROWS": 96, "MAX_BEATS": 128}, "tb_smartdeal_rebuild.py"),
    Bench("smartdeal_mac", {"ROWS": 3, "COLS": 4}, "tb_smartdeal_mac.py"),
]
