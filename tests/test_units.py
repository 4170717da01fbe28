"""Simulated time as exact integer picoseconds and its unit helpers."""

import numpy as np
import pytest

from cosim import MS, NS, US, fmt_time, ms, ns, parse_time, period, ps, sec, us


def test_units_scale_to_integer_picoseconds() -> None:
    assert ps(7) == 7
    assert ns(1) == NS == 1000
    assert ns(2.5) == 2500
    assert us(1) == US
    assert ms(3) == 3 * MS
    assert sec(1) == 10**12
    assert ns(0.001) == 1
    assert ns(np.int64(4)) == 4000


def test_results_are_ints_not_floats() -> None:
    assert type(ns(2.5)) is int
    assert type(parse_time("1.5 us")) is int


def test_fractional_picoseconds_are_rejected_not_rounded() -> None:
    with pytest.raises(ValueError, match="not a whole number of picoseconds"):
        ns(0.0005)
    with pytest.raises(ValueError, match="not a whole number"):
        ps(1.5)


def test_negative_and_non_numeric_times_are_rejected() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        ns(-1)
    with pytest.raises(TypeError):
        ns(True)
    with pytest.raises(TypeError):
        ns([1])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10 ns", 10_000),
        ("2.5us", 2_500_000),
        ("1e3 ps", 1000),
        (" 3 ms ", 3 * MS),
        ("1 s", 10**12),
    ],
)
def test_parse_time(text: str, value: int) -> None:
    assert parse_time(text) == value


@pytest.mark.parametrize("text", ["10", "ns", "10 minutes", "-5 ns", "1.5.2 ns", ""])
def test_parse_time_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        parse_time(text)


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (0, "0 ps"),
        (999, "999 ps"),
        (1000, "1 ns"),
        (2500, "2.5 ns"),
        (US, "1 us"),
        (1_500_000, "1.5 us"),
        (10**12, "1 s"),
    ],
)
def test_fmt_time(t: int, text: str) -> None:
    assert fmt_time(t) == text
    assert parse_time(text) == t


def test_period_rounds_to_nearest_picosecond() -> None:
    assert period(1e9) == 1000
    assert period(800e6) == 1250
    assert period(3e9) == 333
    with pytest.raises(ValueError):
        period(0)
    with pytest.raises(ValueError):
        period(2e12)
