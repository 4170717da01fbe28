"""LW-GCN's RTL (rtl/lw_gcn/): lint corners and cocotb benches (tests/rtl_table.py). The
bench runs at the scenario's build (the defaults), so one build serves all."""

from rtl_table import Bench, Lint

LINT = [
    Lint("lw_gcn_pe_array", {}),
    Lint("lw_gcn_pe_array", {"PES": 1, "LANES": 1, "ACC_LAT": 2, "MAX_ROWS": 2, "MAX_FEAT": 4}),
    Lint(
        "lw_gcn_pe_array", {"PES": 16, "LANES": 32, "ACC_LAT": 16, "MAX_ROWS": 256, "MAX_FEAT": 256}
    ),
    Lint("lw_gcn_pe_array", {"PES": 3, "LANES": 8, "ACC_LAT": 3, "MAX_ROWS": 64, "MAX_FEAT": 128}),
]

DEFAULTS = {"PES": 4, "LANES": 16, "ACC_LAT": 4, "MAX_ROWS": 2048, "MAX_FEAT": 4096}
BENCHES = [Bench("lw_gcn_pe_array", DEFAULTS, "tb_lw_gcn_pe_array.py", min_tests=4)]
