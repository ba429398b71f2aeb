"""The evaluator fed with SDK ``MetricsData`` built by hand, on explicit times."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.metrics.export import AggregationTemporality

from otel_alerting.engine.evaluator import FORGET_AFTER, Evaluator, GroupKey, RuleResult, horizon
from otel_alerting.engine.manager import AlertManager
from otel_alerting.notify.model import Status
from otel_alerting.rules.model import AbsentExpr, RateExpr, RatioExpr, Rule, Selector, ValueExpr

from .helpers import (
    BORN,
    CUMULATIVE,
    DELTA,
    data,
    gauge_metric,
    hist,
    hist_metric,
    number,
    rule,
    scopes,
    sum_metric,
)

START_NS = 1_000  # points with start_time >= this were born after the evaluator started
OLD = 500  # start_time of a series older than the evaluator


def evaluator(*rules: Rule) -> Evaluator:
    return Evaluator(list(rules), 0.0, START_NS)


def result(results: Sequence[RuleResult], alert: str = "A") -> RuleResult:
    (found,) = [r for r in results if r.rule.alert == alert]
    return found


def values(results: Sequence[RuleResult], alert: str = "A") -> dict[GroupKey, float | None]:
    found = result(results, alert)
    assert found.error is None, found.error
    return found.values


def value(results: Sequence[RuleResult], alert: str = "A") -> float | None:
    found = values(results, alert)
    assert list(found) == [()], found
    return found[()]


def rate_rule(window: float = 10.0, selector: Selector | None = None, by: tuple[str, ...] = (), **kw: object) -> Rule:
    return rule("A", RateExpr(selector or Selector("c"), window, by), **kw)  # type: ignore[arg-type]


# --- value -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reduce", "expected"),
    [(None, 2.0), ("last", 2.0), ("sum", 15.0), ("max", 9.0), ("min", 2.0), ("avg", 5.0)],
)
def test_value_reducers_over_the_series_of_a_group(reduce: str | None, expected: float) -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"), reduce)))  # type: ignore[arg-type]
    points = [number(4, host="a"), number(9, host="b"), number(2, host="c")]
    assert value(ev.evaluate(data(gauge_metric("g", *points)), 1.0)) == expected


def test_value_by_groups_and_aggregates_other_attributes() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("depth"), "sum", ("queue",))))
    points = [
        number(10, queue="ingest", shard="1"),
        number(5, queue="ingest", shard="2"),
        number(7, queue="mail", shard="1"),
        number(1, shard="3"),  # no queue attribute: its own group with an empty value
    ]
    assert values(ev.evaluate(data(gauge_metric("depth", *points)), 1.0)) == {
        ("ingest",): 15.0,
        ("mail",): 7.0,
        ("",): 1.0,
    }


def test_value_groups_by_several_attributes_in_rule_order() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"), "max", ("b", "a"))))
    points = [number(1, a="x", b="y"), number(3, a="x", b="y"), number(2, a="z", b="y")]
    assert values(ev.evaluate(data(gauge_metric("g", *points)), 1.0)) == {("y", "x"): 3.0, ("y", "z"): 2.0}


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({"queue": ("ingest",)}, 10.0),
        ({"queue": ("ingest", "mail")}, 17.0),
        ({"queue": ("nope",)}, None),
        ({"queue": ("ingest",), "shard": ("2",)}, 0.0),
        ({"code": ("500",)}, 7.0),  # an int attribute matches its text
        ({"missing": ("x",)}, None),
    ],
)
def test_value_match_single_value_and_list(match: dict[str, tuple[str, ...]], expected: float | None) -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g", match), "sum")))
    points = [
        number(10, queue="ingest", shard="1"),
        number(7, queue="mail", code=500),
        number(0, queue="ingest", shard=2),
    ]
    found = values(ev.evaluate(data(gauge_metric("g", *points)), 1.0))
    if expected is None:
        assert found == {}
    else:
        assert found == {(): expected}


def test_match_true_matches_a_boolean_attribute() -> None:
    # `match: {cache.hit: true}` is stored as "true"; the SDK hands over the Python bool
    ev = evaluator(rule("A", ValueExpr(Selector("g", {"hit": ("true",)}), "sum")))
    points = [number(3, hit=True), number(4, hit=False)]
    assert value(ev.evaluate(data(gauge_metric("g", *points)), 1.0)) == 3.0


def test_by_label_of_a_boolean_attribute_is_written_as_in_match() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"), "sum", ("hit",))))
    got = values(ev.evaluate(data(gauge_metric("g", number(3, hit=True), number(4, hit=False))), 1.0))
    assert got == {("true",): 3.0, ("false",): 4.0}


def test_by_labels_are_the_text_match_compares() -> None:
    # the label of a group is the value a `match` on the same attribute is written with
    ev = evaluator(rule("A", ValueExpr(Selector("g", {"hit": ("true",), "code": ("500",)}), "sum", ("hit", "code"))))
    points = [number(3, hit=True, code=500), number(4, hit=False, code=500), number(5, hit=True, code=404)]
    assert values(ev.evaluate(data(gauge_metric("g", *points)), 1.0)) == {("true", "500"): 3.0}


def test_value_of_counters_is_the_running_total_in_both_temporalities() -> None:
    cumulative = evaluator(rule("A", ValueExpr(Selector("c"))))
    delta = evaluator(rule("A", ValueExpr(Selector("c"))))
    for now, total, increment in [(1.0, 3, 3), (2.0, 7, 4), (3.0, 12, 5)]:
        got_c = value(cumulative.evaluate(data(sum_metric("c", number(total))), now))
        got_d = value(delta.evaluate(data(sum_metric("c", number(increment), temporality=DELTA)), now))
        assert got_c == got_d == total


def test_value_of_an_unchanged_delta_sum_keeps_its_total() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("depth"))))
    assert value(ev.evaluate(data(sum_metric("depth", number(10), temporality=DELTA, monotonic=False)), 1.0)) == 10
    # nothing added or removed in the next interval: the SDK sends no point
    assert value(ev.evaluate(data(sum_metric("depth", temporality=DELTA, monotonic=False)), 2.0)) == 10
    # or leaves the metric out of the collection altogether (no point at all), or has no metric
    assert value(ev.evaluate(data(gauge_metric("other", number(1))), 3.0)) == 10
    assert value(ev.evaluate(None, 4.0)) == 10
    assert value(ev.evaluate(data(sum_metric("depth", number(-4), temporality=DELTA, monotonic=False)), 5.0)) == 6


def test_an_idle_delta_series_is_carried_for_the_horizon_then_forgotten() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("depth"))))
    ev.evaluate(data(sum_metric("depth", number(10), temporality=DELTA, monotonic=False)), 10.0)
    assert value(ev.evaluate(None, 10.0 + FORGET_AFTER)) == 10
    assert value(ev.evaluate(None, 11.0 + FORGET_AFTER)) is None
    # the running total is lost with the series: a later point starts a new one
    again = data(sum_metric("depth", number(2), temporality=DELTA, monotonic=False))
    assert value(ev.evaluate(again, 12.0 + FORGET_AFTER)) == 2


def test_value_of_a_group_with_idle_delta_series_counts_their_totals() -> None:
    # one series of the group changes, the other one is idle: the sum holds both totals
    ev = evaluator(rule("A", ValueExpr(Selector("c"), "sum", ("q",))))
    first = [number(5, q="a", pod="1"), number(7, q="a", pod="2"), number(1, q="b", pod="1")]
    assert values(ev.evaluate(data(sum_metric("c", *first, temporality=DELTA)), 1.0)) == {("a",): 12.0, ("b",): 1.0}
    got = values(ev.evaluate(data(sum_metric("c", number(3, q="a", pod="1"), temporality=DELTA)), 2.0))
    assert got == {("a",): 15.0, ("b",): 1.0}


def test_value_of_an_idle_delta_histogram_keeps_its_totals() -> None:
    ev = evaluator(
        rule("A", ValueExpr(Selector("h", field="count"))),
        rule("Q", ValueExpr(Selector("h", field="quantile", quantile=0.5))),
    )
    point = hist(h_counts(le_10=4), H_BOUNDS)
    first = ev.evaluate(data(hist_metric("h", point, temporality=DELTA)), 1.0)
    idle = ev.evaluate(data(hist_metric("h", temporality=DELTA)), 2.0)
    assert [value(first), value(first, "Q")] == [value(idle), value(idle, "Q")] == [4.0, pytest.approx(7.5)]


def _idle_steps(temporality: AggregationTemporality) -> list[list[RuleResult]]:
    """Four rules over a counter with two series, one of them idle after its first interval."""
    ev = evaluator(
        rule("V", ValueExpr(Selector("c"), "sum", ("q",))),
        rule("R", RateExpr(Selector("c"), 10.0, ("q",))),
        rule("Q", RatioExpr(Selector("c", {"q": ("a",)}), Selector("c"), 10.0)),
        rule("X", AbsentExpr(Selector("c"), ("q",))),
    )
    # cumulative totals of a and b at each collection; b never moves after t=10
    totals = [(10.0, 4.0, 6.0), (20.0, 9.0, 6.0), (30.0, 9.0, 6.0), (40.0, 12.0, 6.0), (50.0, 12.0, 6.0)]
    out = []
    previous = {"a": 0.0, "b": 0.0}
    for now, a, b in totals:
        points = []
        for q, total in (("a", a), ("b", b)):
            if temporality is DELTA:
                if total != previous[q]:  # the SDK sends no delta point without a measurement
                    points.append(number(total - previous[q], q=q))
            else:
                points.append(number(total, q=q))
            previous[q] = total
        out.append(ev.evaluate(data(sum_metric("c", *points, temporality=temporality)), now))
    return out


def test_idle_series_give_the_same_results_in_both_temporalities() -> None:
    cumulative = _idle_steps(CUMULATIVE)
    delta = _idle_steps(DELTA)
    for alert in ("V", "R", "Q", "X"):
        assert [values(step, alert) for step in delta] == [values(step, alert) for step in cumulative], alert
    assert [values(step, "R") for step in delta][2] == {("a",): 0.0, ("b",): 0.0}
    assert [values(step, "X") for step in delta][-1] == {("a",): 10.0, ("b",): 40.0}


def test_value_group_without_a_point_becomes_no_data() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"), by=("q",))))
    assert values(ev.evaluate(data(gauge_metric("g", number(1, q="a"), number(2, q="b"))), 1.0)) == {
        ("a",): 1.0,
        ("b",): 2.0,
    }
    assert values(ev.evaluate(data(gauge_metric("g", number(5, q="a"))), 2.0)) == {("a",): 5.0, ("b",): None}
    assert values(ev.evaluate(None, 3.0)) == {("a",): None, ("b",): None}


def test_value_group_without_a_point_for_the_horizon_is_forgotten() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"), by=("q",))))
    ev.evaluate(data(gauge_metric("g", number(1, q="a"), number(2, q="b"))), 10.0)
    ev.evaluate(data(gauge_metric("g", number(1, q="a"))), 20.0)  # b's last point was at 10
    b_gone = 10.0 + FORGET_AFTER
    assert values(ev.evaluate(data(gauge_metric("g", number(1, q="a"))), b_gone)) == {("a",): 1.0, ("b",): None}
    assert values(ev.evaluate(data(gauge_metric("g", number(1, q="a"))), b_gone + 1)) == {("a",): 1.0}
    # a forgotten group that comes back is a new group
    got = values(ev.evaluate(data(gauge_metric("g", number(1, q="a"), number(3, q="b"))), b_gone + 2))
    assert got == {("a",): 1.0, ("b",): 3.0}
    assert values(ev.evaluate(None, b_gone + 3)) == {("a",): None, ("b",): None}


@pytest.mark.parametrize("kind", ["value", "absent", "rate"])
def test_churning_attribute_values_keep_the_state_bounded(kind: str) -> None:
    # a new request id every collection (every 5 s): each group has one point, then none
    expr = {
        "value": ValueExpr(Selector("c"), by=("id",)),
        "absent": AbsentExpr(Selector("c"), ("id",)),
        "rate": RateExpr(Selector("c"), 60.0, ("id",)),
    }[kind]
    ev = evaluator(rule("A", expr))
    sizes = []
    step = 5
    for second in range(step, 1000 * step + 1, step):
        got = values(ev.evaluate(data(sum_metric("c", number(1, id=str(second)))), float(second)))
        sizes.append(len(got))
    # groups are kept (reported) for the horizon, then forgotten: no growth beyond it
    alive = FORGET_AFTER / step
    assert max(sizes) <= alive + 3
    assert sizes[-1] == sizes[-500]
    assert len(ev._watched["c"].state) <= alive + 64  # series pruned every 64 collections


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_no_data(bad: float) -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"))))
    assert value(ev.evaluate(data(gauge_metric("g", number(bad))), 1.0)) is None


def test_same_metric_in_several_scopes_is_read_from_all() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"), "sum")))
    payload = scopes(("lib.a", [gauge_metric("g", number(2))]), ("lib.b", [gauge_metric("g", number(3))]))
    assert value(ev.evaluate(payload, 1.0)) == 5.0


def test_only_watched_metrics_are_read() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"))), rule("B", RateExpr(Selector("c"), 60.0)))
    assert ev.watched_metrics == frozenset({"g", "c"})
    results = ev.evaluate(data(gauge_metric("other", number(1)), gauge_metric("g", number(4))), 1.0)
    assert value(results, "A") == 4.0


# --- histograms ------------------------------------------------------------------

H_BOUNDS = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 1000.0]


def h_counts(**by_bound: int) -> list[int]:
    """Per-bucket counts from ``le_10=8``-style keywords (``inf`` for the last bucket)."""
    counts = [0] * (len(H_BOUNDS) + 1)
    for key, count in by_bound.items():
        index = len(H_BOUNDS) if key == "inf" else H_BOUNDS.index(float(key[3:]))
        counts[index] = count
    return counts


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (Selector("h", field="count"), 10.0),
        (Selector("h", field="sum"), 680.0),
        (Selector("h", field="quantile", quantile=0.9), 375.0),
        (Selector("h", field="quantile", quantile=0.5), 10 * 5 / 8 + 5 * 3 / 8),
    ],
)
def test_histogram_fields_in_a_value_rule(selector: Selector, expected: float) -> None:
    ev = evaluator(rule("A", ValueExpr(selector)))
    point = hist(h_counts(le_10=8, le_500=2), H_BOUNDS, total=680.0)
    assert value(ev.evaluate(data(hist_metric("h", point)), 1.0)) == pytest.approx(expected)


def test_histogram_quantile_merges_the_series_of_a_group() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("h", field="quantile", quantile=0.5), by=("route",))))
    points = [
        hist(h_counts(le_10=4), H_BOUNDS, route="/a", pod="1"),
        hist(h_counts(le_500=4), H_BOUNDS, route="/a", pod="2"),
        hist(h_counts(le_500=1), H_BOUNDS, route="/b", pod="1"),
    ]
    found = values(ev.evaluate(data(hist_metric("h", *points)), 1.0))
    # /a: 8 observations, rank 4 -> the top of (5, 10]
    assert found[("/a",)] == pytest.approx(10.0)
    assert found[("/b",)] == pytest.approx(375.0)


@pytest.mark.parametrize("temporality", [CUMULATIVE, DELTA])
def test_rate_quantile_reads_only_the_window(temporality: AggregationTemporality) -> None:
    ev = evaluator(rate_rule(10.0, Selector("h", field="quantile", quantile=0.5)))
    first = h_counts(le_10=10)
    second = h_counts(le_500=4)
    cumulative_second = [a + b for a, b in zip(first, second)]
    steps = [(10.0, first, first), (20.0, second, cumulative_second)]
    got = []
    for now, delta_counts, cumulative_counts in steps:
        counts = delta_counts if temporality is DELTA else cumulative_counts
        got.append(value(ev.evaluate(data(hist_metric("h", hist(counts, H_BOUNDS), temporality=temporality)), now)))
    assert got[0] == pytest.approx(7.5)
    # at t=20 only the 4 observations in (250, 500] are in the 10 s window
    assert got[1] == pytest.approx(375.0)


@pytest.mark.parametrize("temporality", [CUMULATIVE, DELTA])
def test_rate_of_histogram_count_and_sum(temporality: AggregationTemporality) -> None:
    ev = evaluator(
        rule("A", RateExpr(Selector("h", field="count"), 10.0)),
        rule("B", RateExpr(Selector("h", field="sum"), 10.0)),
    )
    cumulative = [(10.0, 20, 200.0), (20.0, 50, 260.0)]
    previous = (0, 0.0)
    got: list[float | None] = []
    for now, count, total in cumulative:
        if temporality is DELTA:
            point = hist(h_counts(le_10=count - previous[0]), H_BOUNDS, total=total - previous[1])
        else:
            point = hist(h_counts(le_10=count), H_BOUNDS, total=total)
        previous = (count, total)
        results = ev.evaluate(data(hist_metric("h", point, temporality=temporality)), now)
        got.extend([value(results, "A"), value(results, "B")])
    # count per second, sum per second: (20/10, 200/10), then (30/10, 60/10)
    assert got == pytest.approx([2.0, 20.0, 3.0, 6.0])


def test_cumulative_histogram_reset_counts_from_zero() -> None:
    ev = evaluator(rule("A", RateExpr(Selector("h", field="count"), 10.0)))
    got = []
    for now, count in [(10.0, 40), (20.0, 60), (30.0, 5)]:
        got.append(value(ev.evaluate(data(hist_metric("h", hist(h_counts(le_5=count), H_BOUNDS))), now)))
    # 40 over the first 10 s, +20, then a restart: 5 new observations, not -55
    assert got == [pytest.approx(4.0), pytest.approx(2.0), pytest.approx(0.5)]


# --- rate --------------------------------------------------------------------------


def _rate_sequence(temporality: AggregationTemporality, totals: Sequence[tuple[float, float]]) -> list[float | None]:
    ev = evaluator(rate_rule(10.0))
    out = []
    previous = 0.0
    for now, total in totals:
        point = number(total - previous) if temporality is DELTA else number(total)
        previous = total
        out.append(value(ev.evaluate(data(sum_metric("c", point, temporality=temporality)), now)))
    return out


@pytest.mark.parametrize("temporality", [CUMULATIVE, DELTA])
def test_rate_is_the_per_second_increase_over_the_window(temporality: AggregationTemporality) -> None:
    totals = [(10.0, 100.0), (20.0, 150.0), (30.0, 150.0), (40.0, 180.0)]
    assert _rate_sequence(temporality, totals) == [
        pytest.approx(10.0),  # born after start: counted from zero over 10 s
        pytest.approx(5.0),
        pytest.approx(0.0),
        pytest.approx(3.0),
    ]


def test_rate_window_longer_than_the_interval_averages() -> None:
    ev = evaluator(rate_rule(20.0))
    got = []
    for now, total in [(10.0, 100.0), (20.0, 150.0), (30.0, 150.0), (40.0, 190.0)]:
        got.append(value(ev.evaluate(data(sum_metric("c", number(total))), now)))
    assert got == [pytest.approx(10.0), pytest.approx(7.5), pytest.approx(2.5), pytest.approx(2.0)]


def test_cumulative_counter_reset_counts_from_zero_like_promql_increase() -> None:
    ev = evaluator(rate_rule(10.0))
    got = []
    for now, total in [(10.0, 100.0), (20.0, 150.0), (30.0, 30.0), (40.0, 50.0)]:
        got.append(value(ev.evaluate(data(sum_metric("c", number(total))), now)))
    # 100, +50, reset to 30 (an increase of 30, not -120), +20
    assert got == [pytest.approx(10.0), pytest.approx(5.0), pytest.approx(3.0), pytest.approx(2.0)]


def test_a_reset_is_a_decrease_and_start_times_are_not_compared() -> None:
    # The SDK keeps one start time per series for the life of the process: a reset
    # shows as a decrease (as PromQL tells it), whatever the start time says.
    ev = evaluator(rate_rule(10.0))
    ev.evaluate(data(sum_metric("c", number(100.0, start=BORN))), 10.0)
    assert value(ev.evaluate(data(sum_metric("c", number(120.0, start=BORN + 5))), 20.0)) == pytest.approx(2.0)
    assert value(ev.evaluate(data(sum_metric("c", number(30.0, start=BORN + 9))), 30.0)) == pytest.approx(3.0)


def test_series_older_than_the_evaluator_only_gives_a_baseline() -> None:
    ev = evaluator(rate_rule(10.0))
    assert value(ev.evaluate(data(sum_metric("c", number(1000.0, start=OLD))), 10.0)) == 0.0
    assert value(ev.evaluate(data(sum_metric("c", number(1010.0, start=OLD))), 20.0)) == pytest.approx(1.0)


def test_non_monotonic_sum_going_down_is_not_a_reset() -> None:
    ev = evaluator(rate_rule(10.0))
    ev.evaluate(data(sum_metric("c", number(10.0), monotonic=False)), 10.0)
    got = value(ev.evaluate(data(sum_metric("c", number(4.0), monotonic=False)), 20.0))
    assert got == pytest.approx(-0.6)


def test_rate_by_group() -> None:
    ev = evaluator(rate_rule(10.0, by=("route",)))
    ev.evaluate(data(sum_metric("c", number(10.0, route="/a", code=200), number(5.0, route="/a", code=500))), 10.0)
    got = values(
        ev.evaluate(
            data(
                sum_metric(
                    "c",
                    number(30.0, route="/a", code=200),
                    number(15.0, route="/a", code=500),
                    number(40.0, route="/b", code=200),
                )
            ),
            20.0,
        )
    )
    assert got == {("/a",): pytest.approx(3.0), ("/b",): pytest.approx(4.0)}


@pytest.mark.parametrize("temporality", [CUMULATIVE, DELTA])
def test_rate_of_a_group_without_points_for_the_horizon_is_no_data_then_forgotten(
    temporality: AggregationTemporality,
) -> None:
    ev = evaluator(rate_rule(10.0, by=("q",)))
    both = [number(5.0, q="a"), number(5.0, q="b")]
    assert values(ev.evaluate(data(sum_metric("c", *both, temporality=temporality)), 10.0)) == {
        ("a",): 0.5,
        ("b",): 0.5,
    }
    # from now on b has no point: a cumulative series gone, or a delta one idle
    a = number(5.0 if temporality is CUMULATIVE else 0.0, q="a")
    assert values(ev.evaluate(data(sum_metric("c", a, temporality=temporality)), 15.0))[("b",)] == pytest.approx(5 / 15)
    assert values(ev.evaluate(data(sum_metric("c", a, temporality=temporality)), 30.0)) == {("a",): 0.0, ("b",): 0.0}
    assert values(ev.evaluate(None, 10.0 + FORGET_AFTER)) == {("a",): 0.0, ("b",): 0.0}
    assert values(ev.evaluate(None, 11.0 + FORGET_AFTER)) == {("a",): 0.0, ("b",): None}
    assert values(ev.evaluate(None, 12.0 + FORGET_AFTER)) == {("a",): 0.0}
    assert values(ev.evaluate(None, 31.0 + FORGET_AFTER)) == {("a",): None}
    assert values(ev.evaluate(None, 32.0 + FORGET_AFTER)) == {}


def test_a_long_window_keeps_a_silent_group_for_two_windows() -> None:
    ev = evaluator(rate_rule(3600.0))
    assert horizon(ev.rules[0]) == 7200.0
    ev.evaluate(data(sum_metric("c", number(3600.0), temporality=DELTA)), 3600.0)
    assert value(ev.evaluate(None, 3600.0 + 3600.0)) == 0.0
    assert value(ev.evaluate(None, 3600.0 + 7200.0)) == 0.0
    assert value(ev.evaluate(None, 3601.0 + 7200.0)) is None


def test_horizon_of_each_kind_of_rule() -> None:
    assert horizon(rule("A", ValueExpr(Selector("g")))) == FORGET_AFTER == 600.0
    assert horizon(rate_rule(60.0)) == 600.0
    assert horizon(rule("A", RatioExpr(Selector("c"), Selector("c"), 1800.0))) == 3600.0
    # absent: twice what the rule waits for (highest threshold plus for)
    assert horizon(rule("A", AbsentExpr(Selector("g")), above={"high": 300})) == 600.0
    assert horizon(rule("A", AbsentExpr(Selector("g")), above={"medium": 60, "high": 900}, for_=60.0)) == 1920.0


def test_rate_of_an_idle_counter_is_zero_in_both_temporalities() -> None:
    totals = [(10.0, 100.0), (20.0, 100.0), (30.0, 100.0), (40.0, 100.0)]
    cumulative = _rate_sequence(CUMULATIVE, totals)
    ev = evaluator(rate_rule(10.0))
    delta = [value(ev.evaluate(data(sum_metric("c", number(100.0), temporality=DELTA)), 10.0))]
    for now in (20.0, 30.0, 40.0):
        # an exporter preferring delta gets no point for a series with no measurement
        delta.append(value(ev.evaluate(data(sum_metric("c", temporality=DELTA)), now)))
    assert cumulative == [10.0, 0.0, 0.0, 0.0]
    assert delta == cumulative


# --- ratio --------------------------------------------------------------------------


def ratio_rule(min_denominator: float = 0.0, by: tuple[str, ...] = (), window: float = 10.0) -> Rule:
    return rule(
        "A",
        RatioExpr(Selector("req", {"result": ("hit",)}), Selector("req"), window, min_denominator, by),
        below={"high": 0.5},
    )


@pytest.mark.parametrize("temporality", [CUMULATIVE, DELTA])
def test_ratio_of_increases_in_one_window(temporality: AggregationTemporality) -> None:
    ev = evaluator(ratio_rule())
    cumulative = [(10.0, 30, 10), (20.0, 30, 70), (30.0, 90, 70)]
    previous = (0, 0)
    got = []
    for now, hits, misses in cumulative:
        if temporality is DELTA:
            pts = [number(hits - previous[0], result="hit"), number(misses - previous[1], result="miss")]
        else:
            pts = [number(hits, result="hit"), number(misses, result="miss")]
        previous = (hits, misses)
        got.append(value(ev.evaluate(data(sum_metric("req", *pts, temporality=temporality)), now)))
    # 30/40, then 0 hits of 60, then 60 hits of 60
    assert got == [pytest.approx(0.75), pytest.approx(0.0), pytest.approx(1.0)]


@pytest.mark.parametrize(("requests", "expected"), [(99, None), (100, 0.5), (150, 0.5)])
def test_min_denominator_gives_no_data_below_it(requests: int, expected: float | None) -> None:
    ev = evaluator(ratio_rule(min_denominator=100))
    hits = requests // 2 if expected is not None else 10
    pts = [number(hits, result="hit"), number(requests - hits, result="miss")]
    got = value(ev.evaluate(data(sum_metric("req", *pts)), 10.0))
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(hits / requests)


def test_ratio_with_no_denominator_increase_is_no_data() -> None:
    ev = evaluator(ratio_rule())
    pts = [number(50, result="hit", start=OLD), number(50, result="miss", start=OLD)]
    assert value(ev.evaluate(data(sum_metric("req", *pts)), 10.0)) is None


def test_ratio_by_group_and_group_without_numerator_is_zero() -> None:
    ev = evaluator(ratio_rule(by=("db",)))
    pts = [
        number(8, result="hit", db="0"),
        number(2, result="miss", db="0"),
        number(5, result="miss", db="1"),
    ]
    assert values(ev.evaluate(data(sum_metric("req", *pts)), 10.0)) == {("0",): 0.8, ("1",): 0.0}


# --- absent ----------------------------------------------------------------------


def test_absent_counts_seconds_since_the_metric_last_had_data() -> None:
    ev = evaluator(rule("A", AbsentExpr(Selector("g"))))
    assert value(ev.evaluate(None, 5.0)) == 5.0  # never seen: since start-up
    assert value(ev.evaluate(data(gauge_metric("g", number(1))), 10.0)) == 0.0
    assert value(ev.evaluate(data(gauge_metric("g", number(1))), 12.0)) == 0.0
    assert value(ev.evaluate(None, 20.0)) == 8.0
    assert value(ev.evaluate(data(gauge_metric("other", number(1))), 30.0)) == 18.0


def test_absent_of_a_counter_counts_from_its_last_increase() -> None:
    ev = evaluator(rule("A", AbsentExpr(Selector("c"))))
    # an old series with no increase: no data since start-up
    assert value(ev.evaluate(data(sum_metric("c", number(7, start=OLD))), 10.0)) == 10.0
    assert value(ev.evaluate(data(sum_metric("c", number(9, start=OLD))), 20.0)) == 0.0
    assert value(ev.evaluate(data(sum_metric("c", number(9, start=OLD))), 35.0)) == 15.0


def test_absent_by_group() -> None:
    ev = evaluator(rule("A", AbsentExpr(Selector("g"), ("dep",))))
    ev.evaluate(data(gauge_metric("g", number(1, dep="redis"), number(1, dep="chroma"))), 10.0)
    got = values(ev.evaluate(data(gauge_metric("g", number(1, dep="redis"))), 25.0))
    assert got == {("redis",): 0.0, ("chroma",): 15.0}


def test_absent_by_placeholder_reads_zero_once_real_groups_exist() -> None:
    ev = evaluator(rule("A", AbsentExpr(Selector("g"), ("dep",))))
    assert values(ev.evaluate(None, 5.0)) == {("",): 5.0}
    got = values(ev.evaluate(data(gauge_metric("g", number(1, dep="redis"))), 10.0))
    assert got == {("redis",): 0.0, ("",): 0.0}
    # a real series without the attribute has that group: it reads its own value
    ev.evaluate(data(gauge_metric("g", number(1, dep="redis"), number(1))), 12.0)
    assert values(ev.evaluate(data(gauge_metric("g", number(1, dep="redis"))), 20.0)) == {("redis",): 0.0, ("",): 8.0}


def test_absent_by_placeholder_alert_resolves_once_real_groups_exist() -> None:
    # no_data: keep (the default): a placeholder with no data would stay firing for ever
    absent = rule("A", AbsentExpr(Selector("g"), ("dep",)), above={"high": 5.0})
    ev = evaluator(absent)
    manager = AlertManager([absent], cooldown=0.0)
    fired = manager.process(ev.evaluate(None, 6.0), 6.0)
    assert [(n.status, n.labels["dep"]) for n in fired] == [(Status.FIRING, "")]
    resolved = manager.process(ev.evaluate(data(gauge_metric("g", number(1, dep="redis"))), 7.0), 7.0)
    assert [(n.status, n.labels["dep"], n.value) for n in resolved] == [(Status.RESOLVED, "", 0.0)]


def test_absent_groups_without_points_are_forgotten_and_the_placeholder_comes_back() -> None:
    ev = evaluator(rule("A", AbsentExpr(Selector("g"), ("dep",))))
    ev.evaluate(data(gauge_metric("g", number(1, dep="redis"), number(1, dep="chroma"))), 10.0)
    ev.evaluate(data(gauge_metric("g", number(1, dep="redis"))), 20.0)
    chroma_gone = 10.0 + FORGET_AFTER
    got = values(ev.evaluate(data(gauge_metric("g", number(1, dep="redis"))), chroma_gone))
    assert got == {("redis",): 0.0, ("chroma",): FORGET_AFTER}
    assert values(ev.evaluate(data(gauge_metric("g", number(1, dep="redis"))), chroma_gone + 1)) == {("redis",): 0.0}
    # once every group is forgotten, the metric as a whole counts from its last data
    redis_gone = chroma_gone + 1 + FORGET_AFTER
    assert values(ev.evaluate(None, redis_gone)) == {("redis",): FORGET_AFTER}
    assert values(ev.evaluate(None, redis_gone + 1)) == {("",): FORGET_AFTER + 1}


def test_absent_without_by_keeps_counting_past_the_horizon() -> None:
    ev = evaluator(rule("A", AbsentExpr(Selector("g"))))
    ev.evaluate(data(gauge_metric("g", number(1))), 10.0)
    got = [value(ev.evaluate(None, now)) for now in (10.0 + FORGET_AFTER, 11.0 + FORGET_AFTER, 4000.0)]
    assert got == [FORGET_AFTER, FORGET_AFTER + 1, 3990.0]


def test_absent_of_an_idle_delta_counter_counts_from_its_last_increase() -> None:
    ev = evaluator(rule("A", AbsentExpr(Selector("c"))))
    assert value(ev.evaluate(data(sum_metric("c", number(2), temporality=DELTA)), 10.0)) == 0.0
    assert value(ev.evaluate(data(sum_metric("c", temporality=DELTA)), 20.0)) == 10.0
    assert value(ev.evaluate(None, 30.0)) == 20.0


# --- errors --------------------------------------------------------------------------


def test_a_failing_rule_is_reported_and_does_not_stop_the_others() -> None:
    ev = evaluator(
        rule("Bad", ValueExpr(Selector("g", field="quantile", quantile=0.5))),
        rule("AlsoBad", ValueExpr(Selector("h"))),  # a histogram needs a field
        rule("Good", ValueExpr(Selector("g"), "sum")),
        rule("Hist", ValueExpr(Selector("h", field="count"))),
    )
    payload = data(gauge_metric("g", number(3)), hist_metric("h", hist(h_counts(le_5=2), H_BOUNDS)))
    results = ev.evaluate(payload, 1.0)
    assert [r.rule.alert for r in results] == ["Bad", "AlsoBad", "Good", "Hist"]
    bad = result(results, "Bad")
    assert bad.values == {}
    assert bad.error is not None and "g is not a histogram" in bad.error
    also_bad = result(results, "AlsoBad")
    assert also_bad.error is not None and "h is a histogram" in also_bad.error
    assert value(results, "Good") == 3.0
    assert value(results, "Hist") == 2.0
    # and the next evaluation is unaffected
    assert value(ev.evaluate(data(gauge_metric("g", number(4))), 2.0), "Good") == 4.0


def test_evaluate_without_data_gives_results_for_every_rule() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"))), rule("B", RateExpr(Selector("c"), 5.0)))
    results = ev.evaluate(None, 1.0)
    assert [(r.rule.alert, r.values, r.error) for r in results] == [("A", {}, None), ("B", {}, None)]


def test_overflow_series_is_reported() -> None:
    ev = evaluator(rule("A", ValueExpr(Selector("g"), "sum")))
    ev.evaluate(data(gauge_metric("g", number(1, q="a"))), 1.0)
    assert ev.overflowed_metrics() == []
    ev.evaluate(data(gauge_metric("g", number(1, **{"otel.metric.overflow": True}))), 2.0)
    assert ev.overflowed_metrics() == ["g"]


# --- rules with nothing to read ------------------------------------------------------


def test_a_rule_whose_metric_is_absent_reads_its_points_once_they_come() -> None:
    ev = evaluator(
        rule("V", ValueExpr(Selector("g"))),
        rule("R", RateExpr(Selector("c"), 10.0)),
    )
    for t in (1.0, 2.0, 3.0):
        results = ev.evaluate(data(gauge_metric("other", number(1))), t)
        assert all(r.error is None and dict(r.values) == {} for r in results)
    results = ev.evaluate(data(gauge_metric("g", number(7)), sum_metric("c", number(5))), 4.0)
    assert value(results, "V") == 7.0
    assert value(results, "R") == pytest.approx(5 / 1.0)  # born at 3 s (its first collection), 5 in 1 s


def test_a_rule_comes_back_after_its_groups_were_forgotten() -> None:
    ev = evaluator(rule("V", ValueExpr(Selector("g"))))
    ev.evaluate(data(gauge_metric("g", number(3))), 1.0)
    # the metric goes away; its group reads no data until forgotten, then the rule is quiet
    late = 1.0 + FORGET_AFTER + 10
    assert value(ev.evaluate(data(), 2.0), "V") is None
    assert dict(values(ev.evaluate(data(), late), "V")) == {}
    assert dict(values(ev.evaluate(data(), late + 1), "V")) == {}
    assert value(ev.evaluate(data(gauge_metric("g", number(4))), late + 2), "V") == 4.0


def test_a_rule_reports_an_error_in_the_points_that_wake_it() -> None:
    ev = evaluator(rule("V", ValueExpr(Selector("c", field="count"))))
    assert result(ev.evaluate(data(), 1.0), "V").error is None
    assert result(ev.evaluate(data(), 2.0), "V").error is None
    failed = result(ev.evaluate(data(sum_metric("c", number(1))), 3.0), "V")
    assert failed.error is not None and "not a histogram" in failed.error
