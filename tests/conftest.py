"""Test-wide set-up: tests in sub-folders (tests/accel/<name>/) import the shared helpers
of tests/ (cli_helpers, rtl_table), the cocotb benches import tests/cocotb/tb_common, and
the RTL fixtures of tests/rtl/ are on the RTL search path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _p in (_HERE, _HERE / "cocotb"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

# The bridges' RTL fixtures (tests/rtl/) are found by name in every test and worker, after
# any folders the caller gave; the product's rtl/ holds only accelerator engines.
_FIXTURES = str(_HERE / "rtl")
_paths = [p for p in os.environ.get("COSIM_RTL_PATH", "").split(os.pathsep) if p]
if _FIXTURES not in _paths:
    os.environ["COSIM_RTL_PATH"] = os.pathsep.join([*_paths, _FIXTURES])
