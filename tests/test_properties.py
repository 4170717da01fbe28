"""Property-based tests (Hypothesis) of what users type and what scenarios return:
parameter values, time strings, sweep grids and the scenario contract's result checks.
Whatever the input, the answer is a value of the declared kind or one clear cosim error,
never another exception."""

from __future__ import annotations

import math
import string

import numpy as np
import pytest
from cli_helpers import AXPY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.errors import ParameterError, ScenarioError
from cosim.params import Param
from cosim.scenario import REQUIRED_METRICS, check_result, load_script
from cosim.studies.grid import expand_grid, parse_grid
from cosim.units import fmt_time, ns, parse_time

PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Text that looks like what people type on a command line, and anything else.
TYPED = st.one_of(
    st.text(alphabet=string.digits + "._-+eExXbo abcdnsupmµ:,=", max_size=16),
    st.text(max_size=12),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
VALUES = st.one_of(
    TYPED,
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(np.int64),
    st.floats(width=32).map(np.float32),
    st.lists(st.integers(), max_size=2),
)
PARAMS = [
    Param("n", 8, min=1, max=1 << 20),
    Param("signed", 0),
    Param("x", 0.5, min=0.0, max=1.0),
    Param("free", 1.5),
    Param("on", True),
    Param("mode", "a", choices=("a", "b")),
    Param("pes", 8, choices=(1, 2, 4, 8, 16)),
    Param("clock", "1 ns", type="time", min="10 ps", max="1 us"),
    Param("delay", "0 ps", type="time"),
]
KIND = {"int": int, "float": float, "bool": bool, "str": str, "time": int}


@pytest.mark.parametrize("param", PARAMS, ids=[p.name for p in PARAMS])
@PROPERTIES
@given(value=VALUES)
def test_a_parameter_gives_a_value_of_its_kind_in_range_or_a_parameter_error(
    param: Param, value: object
) -> None:
    try:
        got = param.check(value, "scenario 's'")
    except ParameterError as e:
        message = str(e)
        assert message.startswith(f"scenario 's': parameter '{param.name}'")
        assert "\n" not in message
        return
    assert type(got) is KIND[param.type]
    if param.choices:
        assert got in param.choices
    if param.min is not None:
        assert got >= param.min
    if param.max is not None:
        assert got <= param.max
    if param.type == "float":
        assert math.isfinite(got)
    assert param.check(got) == got  # a checked value checks again as itself


@PROPERTIES
@given(n=st.integers(min_value=1, max_value=1 << 20))
def test_an_integer_typed_as_text_reads_as_itself(n: int) -> None:
    p = Param("n", 8, min=1, max=1 << 20)
    assert p.check(str(n)) == n
    assert p.check(f" {n} ") == n
    assert p.check(hex(n)) == n


@PROPERTIES
@given(text=TYPED)
def test_a_time_string_is_whole_picoseconds_or_a_value_error(text: str) -> None:
    try:
        t = parse_time(text)
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert isinstance(t, int) and t >= 0


@PROPERTIES
@given(t=st.integers(min_value=0, max_value=10**18))
def test_a_formatted_time_reads_back_within_its_printed_precision(t: int) -> None:
    back = parse_time(fmt_time(t))
    assert abs(back - t) <= max(1, t * 1e-5)


@PROPERTIES
@given(ps=st.integers(min_value=0, max_value=10**15))
def test_times_written_in_any_unit_agree(ps: int) -> None:
    assert parse_time(f"{ps} ps") == ps
    if ps % 1000 == 0:
        assert parse_time(f"{ps // 1000}ns") == ns(ps // 1000) == ps


AXIS_NAMES = st.sampled_from(["n", "lanes", "burst", "a", "seed", "engine.engine", "nope", ""])
AXIS_VALUES = st.lists(
    st.one_of(
        st.sampled_from(["16", "64", "8", "0", "-3", "tlm", "functional", "rtl", "x", ""]),
        st.integers(min_value=-5, max_value=5000).map(str),
    ),
    min_size=1,
    max_size=4,
)


@PROPERTIES
@given(
    axes=st.lists(st.tuples(AXIS_NAMES, AXIS_VALUES, st.sampled_from(["=", "", "=="])), max_size=3)
)
def test_a_grid_is_its_cartesian_product_or_a_parameter_error(
    axes: list[tuple[str, list[str], str]],
) -> None:
    s = load_script(AXPY)
    items = [f"{name}{sep}{','.join(values)}" for name, values, sep in axes]
    try:
        parsed = parse_grid(s, items)
        configs = expand_grid(s, parsed)
    except ParameterError as e:
        assert str(e) and "\n" not in str(e)
        return
    distinct = math.prod(len(set(a.values)) for a in parsed)
    assert len(configs) <= distinct
    assert len({c.point_id for c in configs}) == len(configs)
    for c in configs:  # every point is a configuration the scenario accepts as it is
        assert s.configure(c.params, c.engines, c.seed) == c


NUMBERS = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(np.int64),
    st.floats(width=32).map(np.float32),
)
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def _valid_result(draw: st.DrawFn) -> dict[str, object]:
    cycles = draw(st.integers(min_value=1, max_value=10**9))
    base = draw(st.integers(min_value=0, max_value=10**9))
    energy = draw(st.floats(min_value=1e-3, max_value=1e12))
    base_e = draw(st.floats(min_value=0, max_value=1e12))
    return {
        "golden_ok": draw(st.booleans()),
        "cycles": cycles,
        "baseline_cycles": base,
        "speedup": base / cycles,
        "energy_pj": energy,
        "baseline_energy_pj": base_e,
        "energy_ratio": base_e / energy,
        "dram_bytes": draw(st.integers(min_value=0, max_value=10**12)),
    }


@st.composite
def results(draw: st.DrawFn) -> object:
    """A valid result, or one with something changed, added or removed."""
    value: dict[object, object] = _valid_result(draw)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        action = draw(st.sampled_from(["set", "drop", "extra", "report", "extras"]))
        key = draw(st.sampled_from([*REQUIRED_METRICS, "util", "bad key", 3]))
        if action == "set":
            value[key] = draw(st.one_of(NUMBERS, JSONISH))
        elif action == "drop":
            value.pop(key, None)
        elif action == "extra":
            value[key] = draw(NUMBERS)
        elif action == "report":
            value["report"] = draw(st.one_of(st.text(max_size=10), NUMBERS))
        else:
            value["extras"] = draw(st.one_of(JSONISH, st.sets(st.integers(), max_size=2)))
    shape = draw(st.sampled_from(["dict"] * 6 + ["list", "none"]))
    return {"dict": value, "list": list(value), "none": None}[shape]


@PROPERTIES
@given(value=results())
def test_a_result_is_split_into_checked_metrics_or_a_scenario_error(value: object) -> None:
    try:
        metrics, report, extras = check_result("s", value)
    except ScenarioError as e:
        assert str(e).startswith("scenario 's': ")
        return
    assert set(REQUIRED_METRICS) <= set(metrics)
    assert isinstance(report, str) and isinstance(extras, dict)
    assert isinstance(metrics["golden_ok"], bool)
    for key, v in metrics.items():
        assert key.isidentifier()
        assert type(v) in (bool, int, float)
        assert isinstance(v, bool) or math.isfinite(v)


@PROPERTIES
@given(data=st.data())
def test_a_valid_result_passes_unchanged(data: st.DataObject) -> None:
    value = _valid_result(data.draw)
    metrics, report, extras = check_result("s", {**value, "report": "r", "extras": {"a": [1]}})
    assert metrics == value and report == "r" and extras == {"a": [1]}
