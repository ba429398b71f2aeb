"""Rule results as the manager reads them: finite floats or no data, and the groups crossing."""

from __future__ import annotations

import math

import pytest

from otel_alerting.engine.results import NO_VALUES, RuleResult, crossing, finite

from .helpers import rule


def test_crossing_above_holds_the_threshold_itself_and_below_excludes_it() -> None:
    values = {("a",): 1.0, ("b",): 2.0, ("c",): 3.0}
    assert crossing(values, 2.0, above=True) == [("b",), ("c",)]
    assert crossing(values, 2.0, above=False) == [("a",)]


def test_crossing_skips_no_data() -> None:
    values = {("a",): None, ("b",): 5.0}
    assert crossing(values, 0.0, above=True) == [("b",)]
    assert crossing(values, 10.0, above=False) == [("b",)]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None])
def test_values_read_as_finite_floats_or_none(bad: float | None) -> None:
    assert finite(bad) is None
    assert finite(3) == 3.0 and type(finite(3)) is float


def test_a_result_holds_non_finite_values_as_no_data() -> None:
    result = RuleResult(rule("A"), {("a",): math.nan, ("b",): 2, ("c",): -math.inf})
    assert dict(result.values) == {("a",): None, ("b",): 2.0, ("c",): None}
    assert crossing(result.values, -1e300, above=False) == []


def test_a_result_without_groups_is_empty() -> None:
    assert RuleResult(rule("A")).values is NO_VALUES
    assert RuleResult(rule("A"), {}).values == {}
    assert "error='boom'" in repr(RuleResult(rule("A"), None, "boom"))
