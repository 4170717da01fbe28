"""TLM-2.0 helpers for Python-implemented targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Dmi:
    """What a Python target's get_dmi(address, is_write) returns to grant direct access:
    `buffer` (a writable uint8 numpy array or bytearray that stays alive) backs the
    addresses [start, end] of the target's own address space."""

    buffer: Any
    start: int
    end: int
    read_latency: int = 0
    write_latency: int = 0
    access: str = "rw"  # "r", "w" or "rw"

    def __post_init__(self) -> None:
        if self.access not in ("r", "w", "rw"):
            raise ValueError(f"Dmi access must be 'r', 'w' or 'rw', got {self.access!r}")
        if self.end < self.start:
            raise ValueError(f"Dmi end {self.end:#x} is below start {self.start:#x}")
        if self.read_latency < 0 or self.write_latency < 0:
            raise ValueError("Dmi latencies must be >= 0 ps")
