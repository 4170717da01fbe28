"""Test-wide set-up: tests in sub-folders (tests/accel/<name>/) import the shared helpers
of tests/ (cli_helpers, rtl_table) and the cocotb benches import tests/cocotb/tb_common."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _p in (_HERE, _HERE / "cocotb"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))
