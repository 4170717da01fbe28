"""EIE's RTL (rtl/eie/): lint corners and cocotb benches (tests/rtl_table.py)."""

from rtl_table import Bench, Lint

SMALL = {"PES": 4, "FIFO_DEPTH": 4, "ACT_DEPTH": 64, "MAT_WORDS": 256, "ROWS_MAX": 64}

LINT = [
    Lint("eie", {}),
    Lint("eie", {"PES": 1, "FIFO_DEPTH": 1, "ACT_DEPTH": 16, "ROWS_MAX": 16, "MAT_WORDS": 2}),
    Lint("eie", {"PES": 32, "FIFO_DEPTH": 64, "ACT_DEPTH": 4096, "ROWS_MAX": 4096}),
    Lint("eie", {"PES": 3, "FIFO_DEPTH": 5, "ACT_DEPTH": 64, "MAT_WORDS": 100}),
    Lint("eie_pe", {"FIFO_DEPTH": 1}),
    Lint("eie_lnzd", {"ACT_DEPTH": 16}),
]

BENCHES = [
    Bench("eie", SMALL, "tb_eie.py"),
    Bench(
        "eie", {**SMALL, "PES": 1, "FIFO_DEPTH": 1, "MAT_WORDS": 512, "ROWS_MAX": 512}, "tb_eie.py"
    ),
    Bench(
        "eie_pe",
        {"FIFO_DEPTH": 4, "ACT_DEPTH": 64, "MAT_WORDS": 64, "ROWS_MAX": 64},
        "tb_eie_pe.py",
    ),
    Bench("eie_lnzd", {"ACT_DEPTH": 128}, "tb_eie_lnzd.py"),
]
