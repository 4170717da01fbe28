"""Helpers of the tests of the scenario contract, the command line and studies: the
fixture scenarios in tests/scenarios/ and running `cosim` as a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "scenarios"
AXPY = FIXTURES / "axpy_offload.py"
STREAM = FIXTURES / "stream_fill.py"


def cli_env(**extra: str) -> dict[str, str]:
    """The environment with the fixture scenarios on the scenario search path."""
    return {**os.environ, "COSIM_SCENARIO_PATH": str(FIXTURES), **extra}


def cosim_cli(
    *args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m cosim ARGS` (the `cosim` console script's code) and capture it."""
    return subprocess.run(
        [sys.executable, "-m", "cosim", *args],
        cwd=cwd or ROOT,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def last_json(out: str) -> Any:
    return json.loads(out.strip().splitlines()[-1])
