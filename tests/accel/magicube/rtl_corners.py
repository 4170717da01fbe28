"""Magicube's RTL (rtl/magicube/): lint corners and the cocotb bench (tests/rtl_table.py).
The bench builds the engine at the scenario's MAX_K, so one build serves every test."""

from rtl_table import Bench, Lint

LINT = [Lint("magicube", {}), Lint("magicube", {"MAX_K": 16}), Lint("magicube", {"MAX_K": 4096})]

BENCHES = [Bench("magicube", {"MAX_K": 1024}, "tb_magicube.py")]
