"""GroupValues and RateValues: a rule's values per group, read without building a dict."""

from __future__ import annotations

import math
from operator import itemgetter, sub

import pytest

from otel_alerting.engine.results import GroupedValues, GroupValues
from otel_alerting.engine.windows import RateValues, _Run

NAN = math.nan
INF = math.inf


def columns(*pairs: tuple[str, object]) -> GroupValues:
    keys = [(k,) for k, _ in pairs]
    return GroupValues(keys, [v for _, v in pairs], {key: i for i, key in enumerate(keys)})


def test_crossing_above_holds_the_threshold_itself_and_below_excludes_it() -> None:
    values = columns(("a", 1), ("b", 5.0), ("c", 9))
    assert values.crossing(5.0, above=True) == [("b",), ("c",)]
    assert values.crossing(5.0, above=False) == [("a",)]
    assert values.crossing(10.0, above=True) == []
    assert values.crossing(1.0, above=False) == []


def test_crossing_is_exact_when_the_column_starts_with_nan() -> None:
    # max() of a column whose first value is NaN is NaN: the scan must still run
    values = columns(("a", NAN), ("b", 3.0), ("c", 20.0))
    assert values.crossing(10.0, above=True) == [("c",)]
    assert values.crossing(10.0, above=False) == [("b",)]


def test_crossing_skips_no_data_and_infinities() -> None:
    values = columns(("a", None), ("b", INF), ("c", -INF), ("d", 12.0))
    assert values.crossing(10.0, above=True) == [("d",)]
    assert values.crossing(10.0, above=False) == []


def test_values_read_as_finite_floats_or_none() -> None:
    values = columns(("a", 7), ("b", NAN), ("c", INF), ("d", None))
    assert values.get(("a",)) == 7.0 and type(values.get(("a",))) is float
    assert values.get(("b",)) is None and values.get(("c",)) is None and values.get(("d",)) is None
    assert values.get(("zz",), "missing") == "missing"
    assert dict(values) == {("a",): 7.0, ("b",): None, ("c",): None, ("d",): None}
    assert values == {("a",): 7.0, ("b",): None, ("c",): None, ("d",): None}
    assert len(values) == 4 and ("a",) in values


def test_positions_of_a_longer_column_are_not_trusted_for_other_keys() -> None:
    # positions shared with a column that has grown since: a key past ours is absent
    keys = [("a",), ("b",)]
    values = GroupValues(keys, [1.0, 2.0], {("a",): 0, ("b",): 1, ("c",): 2})
    assert values.get(("c",)) is None
    assert values.get(("b",)) == 2.0


def test_a_dict_is_wrapped_with_non_finite_values_as_no_data() -> None:
    values = GroupValues.of({("a",): 3.0, ("b",): NAN})
    assert values == {("a",): 3.0, ("b",): None}
    assert values.crossing(1.0, above=True) == [("a",)]
    assert GroupValues.of(values) is values


def test_rate_values_divide_each_run_by_its_own_span() -> None:
    keys = [("old",), ("young",), ("younger",)]
    # the first slot covers 60 s, the next 10 s, the last 2 s
    increases, zeros = [60, 10, 4], [0, 0, 0]
    runs = [_Run(0, 1, 60.0, sub, increases, zeros), _Run(1, 2, 10.0, sub, increases, zeros)]
    runs.append(_Run(2, 3, 2.0, sub, increases, zeros))
    rates = RateValues(keys, runs, {k: i for i, k in enumerate(keys)})
    assert rates.get(("old",)) == pytest.approx(1.0)
    assert rates.get(("younger",)) == pytest.approx(2.0)
    assert rates.crossing(1.5, above=True) == [("younger",)]
    assert rates.crossing(1.5, above=False) == [("old",), ("young",)]
    assert dict(rates) == pytest.approx({("old",): 1.0, ("young",): 1.0, ("younger",): 2.0})


def test_rate_values_find_nothing_when_the_largest_increase_is_below() -> None:
    keys = [(str(i),) for i in range(1000)]
    totals = list(range(1000))
    rates = RateValues(keys, [_Run(0, 1000, 100.0, sub, totals, [0] * 1000)], {k: i for i, k in enumerate(keys)})
    assert rates.crossing(10.0, above=True) == []
    assert rates.crossing(9.99, above=True) == [("999",)]
    assert rates.get(("500",)) == 5.0


def test_a_run_past_a_shorter_base_reads_only_its_own_slots() -> None:
    # slots 2 and 3 were born after the base: the first run stops at slot 2
    keys = [("a",), ("b",), ("c",), ("d",)]
    raws, base = [10, 20, 30, 40], [0, 0, 0, 0]
    runs = [_Run(0, 2, 10.0, sub, raws, base), _Run(2, 4, 5.0, sub, raws, base)]
    rates = RateValues(keys, runs, {k: i for i, k in enumerate(keys)})
    assert dict(rates) == {("a",): 1.0, ("b",): 2.0, ("c",): 6.0, ("d",): 8.0}
    assert rates.crossing(5.0, above=True) == [("c",), ("d",)]


def grouped(values: list[object], reduce: str) -> GroupedValues:
    # groups "a" (positions 0, 2) and "b" (positions 1, 3, 4)
    groups = [(("a",), itemgetter(0, 2), False), (("b",), itemgetter(1, 3, 4), False)]
    return GroupedValues(groups, values, reduce, {("a",): 0, ("b",): 1})


@pytest.mark.parametrize(
    ("reduce", "expected"),
    [("max", {("a",): 7.0, ("b",): 9.0}), ("min", {("a",): 1.0, ("b",): 2.0}), ("sum", {("a",): 8.0, ("b",): 14.0})],
)
def test_grouped_values_reduce_each_group_when_read(reduce: str, expected: dict[tuple[str, ...], float]) -> None:
    values = grouped([1, 2, 7, 3, 9], reduce)
    assert values.get(("b",)) == expected[("b",)]
    assert dict(values) == expected


@pytest.mark.parametrize("reduce", ["last", "max", "min", "avg", "sum"])
@pytest.mark.parametrize("threshold", [0.5, 2.0, 5.0, 9.0, 9.5, 14.0, 15.0])
@pytest.mark.parametrize("above", [True, False])
def test_grouped_crossing_is_what_the_reduced_groups_say(reduce: str, threshold: float, above: bool) -> None:
    column: list[object] = [1, 2, 7, 3, 9]
    want = [
        k
        for k, v in dict(grouped(column, reduce)).items()
        if v is not None and (v >= threshold if above else v < threshold)
    ]
    assert grouped(column, reduce).crossing(threshold, above) == want


def test_grouped_crossing_with_nan_first_and_an_average_at_the_threshold() -> None:
    assert grouped([NAN, 2, 7, 3, 20], "max").crossing(10.0, True) == [("b",)]
    # an average of equal values may round past them: still found when it holds
    third = 0.1
    values = grouped([third, third, third, third, third], "avg")
    expected = [k for k, v in dict(grouped([third] * 5, "avg")).items() if v is not None and v >= third]
    assert values.crossing(third, True) == expected
