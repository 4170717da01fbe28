"""Simulated time in cosim is an exact integer number of picoseconds.

`ns(2.5)` is 2500; `fmt_time(2500)` is "2.5 ns"; `parse_time("2.5 ns")` is 2500. A
value that is not a whole number of picoseconds is an error, never silently rounded
(except `period()`, which says it rounds)."""

from __future__ import annotations

import numbers
import re
from decimal import Decimal
from fractions import Fraction

PS = 1
NS = 1_000
US = 1_000_000
MS = 1_000_000_000
S = 1_000_000_000_000

_UNITS = {"ps": PS, "ns": NS, "us": US, "µs": US, "ms": MS, "s": S}


def _scaled(value: numbers.Real | str, scale: int, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise TypeError(f"{unit}() takes a number, got {value!r}")
    exact = Fraction(str(value)) if isinstance(value, float | str) else Fraction(value)
    t = exact * scale
    if t.denominator != 1:
        raise ValueError(f"{value} {unit} is not a whole number of picoseconds")
    if t < 0:
        raise ValueError(f"time must be >= 0, got {value} {unit}")
    return int(t)


def ps(value: numbers.Real) -> int:
    """Picoseconds (the unit of simulated time)."""
    return _scaled(value, PS, "ps")


def ns(value: numbers.Real) -> int:
    """Nanoseconds, as integer picoseconds."""
    return _scaled(value, NS, "ns")


def us(value: numbers.Real) -> int:
    """Microseconds, as integer picoseconds."""
    return _scaled(value, US, "us")


def ms(value: numbers.Real) -> int:
    """Milliseconds, as integer picoseconds."""
    return _scaled(value, MS, "ms")


def sec(value: numbers.Real) -> int:
    """Seconds, as integer picoseconds."""
    return _scaled(value, S, "s")


_TIME_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ps|ns|us|µs|ms|s)\s*$")


def parse_time(text: str) -> int:
    """Parse "10 ns", "2.5us", "1e3 ps" into integer picoseconds."""
    m = _TIME_RE.match(text)
    if m is None:
        raise ValueError(
            f"cannot read {text!r} as a time: use a number and one of ps, ns, us, ms, s "
            "(e.g. '2.5 ns')"
        )
    return _scaled(m.group(1), _UNITS[m.group(2)], m.group(2))


def fmt_time(t: int) -> str:
    """Format integer picoseconds with the largest unit that keeps it readable."""
    if t < 0:
        return "-" + fmt_time(-t)
    for unit, scale in (("s", S), ("ms", MS), ("us", US), ("ns", NS)):
        if t >= scale:
            q = Fraction(t, scale)
            if q.denominator == 1:
                return f"{int(q)} {unit}"
            try:
                return f"{float(q):.6g} {unit}"
            except OverflowError:  # beyond float's range: still a time, still printed
                return f"{Decimal(q.numerator) / Decimal(q.denominator):.6g} {unit}"
    return f"{t} ps"


def period(freq_hz: float) -> int:
    """Clock period in picoseconds for a frequency in Hz, rounded to the nearest ps
    (3 GHz gives 333 ps). Raises for frequencies above 1 THz or <= 0."""
    if freq_hz <= 0 or freq_hz > 1e12:
        raise ValueError(f"frequency must be in (0, 1e12] Hz, got {freq_hz}")
    return max(1, round(1e12 / freq_hz))


def to_seconds(t: int) -> float:
    """Integer picoseconds as float seconds (for rates and reports)."""
    return t / S
