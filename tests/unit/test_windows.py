"""Counter windows: snapshots, series order and identity, resets, births and forgetting."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import NumberDataPoint

from otel_alerting.engine.evaluator import Evaluator
from otel_alerting.rules.model import RateExpr, RatioExpr, Rule, Selector

from .helpers import BORN, data, gauge_metric, rule, sum_metric

START_NS = 1_000


def rate(window: float, by: tuple[str, ...] = ("s",), metric: str = "c") -> Rule:
    return rule("A", RateExpr(Selector(metric), window, by))


def rates(ev: Evaluator, now: float, *points: NumberDataPoint, metric: Any = sum_metric) -> dict[Any, Any]:
    (result,) = ev.evaluate(data(metric("c", *points)), now)
    assert result.error is None, result.error
    return dict(result.values)


def point(value: float, attributes: dict[str, str]) -> NumberDataPoint:
    return NumberDataPoint(attributes, BORN, BORN + 1, value)


def test_the_base_is_the_newest_snapshot_at_or_before_the_window_start() -> None:
    # 60 s window: a snapshot at most every second, collections every 0.25 s
    ev = Evaluator([rate(60.0, by=())], 0.0, START_NS)
    series = {"s": "a"}
    now = 0.0
    got = {}
    while now < 170.0:
        now += 0.25
        total = 60.0 if now >= 100.0 else 0.0  # one jump of 60 at t=100
        got[now] = rates(ev, now, point(total, series))[()]
    # snapshots at 0.25, 1.25, ... 99.25, 100.25: at 160.0 the base is the one at 99.25,
    # before the jump, covering 60.75 s; at 160.25 it is the one at 100.25, after it
    assert got[160.0] == pytest.approx(60.0 / (160.0 - 99.25))
    assert got[160.25] == 0.0
    # never a base older than window + window/60
    assert got[159.0] == pytest.approx(60.0 / (159.0 - 98.25))


def same_both_ways(
    steady: Evaluator,
    general: Evaluator,
    now: float,
    held: list[dict[str, str]],
    totals: dict[str, Any],
    rng: random.Random,
) -> dict[Any, Any]:
    """The rates of ``steady``, fed the attribute objects ``held`` as they are (as the
    SDK hands them over), after checking them against ``general``, fed new dicts in a
    new order every time."""
    a = rates(steady, now, *[point(totals[h["s"]], h) for h in held])
    order = [h["s"] for h in held]
    rng.shuffle(order)
    b = rates(general, now, *[point(totals[n], {"s": n}) for n in order])
    assert a == pytest.approx(b), now
    return a


def test_the_order_and_identity_of_attribute_objects_do_not_change_rates() -> None:
    # one evaluator gets the same attribute objects in the same order (the SDK's steady
    # case), the other new dicts in a shuffled order: the rates must be the same
    rng = random.Random(7)
    names = [f"s{i}" for i in range(40)]
    steady_attrs = [{"s": n} for n in names]
    steady = Evaluator([rate(30.0)], 0.0, START_NS)
    general = Evaluator([rate(30.0)], 0.0, START_NS)
    totals = dict.fromkeys(names, 0)
    for tick in range(1, 200):
        for n in rng.sample(names, 10):
            totals[n] += rng.choice([1, 2, 5])
        if tick % 50 == 0:
            totals["s3"] = 1  # a reset: the counter restarted
        same_both_ways(steady, general, tick * 1.0, steady_attrs, totals, rng)


def test_equal_new_attribute_objects_and_a_series_replaced_in_place_are_read_right() -> None:
    # The attribute objects change: equal new dicts (what delta points bring), and one
    # series replaced by another at the same position, with the count of points unchanged.
    rng = random.Random(11)
    names = [f"s{i}" for i in range(30)]
    held = [{"s": n} for n in names]
    steady = Evaluator([rate(30.0)], 0.0, START_NS)
    general = Evaluator([rate(30.0)], 0.0, START_NS)
    totals: dict[str, int] = {}
    for tick in range(1, 120):
        if tick == 40:
            # same length, same position, another series; above the one it replaces,
            # so that no counter reset gives it away
            held[7] = {"s": "replacement"}
            totals["replacement"] = totals["s7"] + 100
        if tick % 25 == 0:
            held = [dict(a) for a in held]  # equal objects, none identical
        for a in held:
            totals[a["s"]] = totals.get(a["s"], 0) + rng.choice([0, 1, 3])
        got = same_both_ways(steady, general, float(tick), held, totals, rng)
    assert ("replacement",) in got and got[("replacement",)] > 0


@pytest.mark.parametrize("step", [1, 0.25], ids=["whole", "fractional"])
def test_resets_are_found_whether_increases_are_few_or_many_distinct_values(step: float) -> None:
    # Phases: few distinct increases, then 100 distinct ones, then few again; a reset
    # in every phase, found whatever the order and identity of the attribute objects.
    rng = random.Random(3)
    names = [f"s{i}" for i in range(100)]
    held = [{"s": n} for n in names]
    steady = Evaluator([rate(20.0)], 0.0, START_NS)
    general = Evaluator([rate(20.0)], 0.0, START_NS)
    totals = dict.fromkeys(names, 0.0)
    resets = 0
    for tick in range(1, 90):
        varied = 30 <= tick < 60
        for i, n in enumerate(names):
            totals[n] += (i * step if varied else step * (i % 2)) + step
        if tick % 10 == 5:
            totals[names[tick % 100]] = step  # this counter restarted
            resets += 1
        same_both_ways(steady, general, float(tick), held, totals, rng)
    assert resets == 9


def test_a_reset_in_the_steady_path_counts_the_new_value() -> None:
    ev = Evaluator([rate(10.0)], 0.0, START_NS)
    attrs = [{"s": "a"}, {"s": "b"}]
    for now, (a, b) in enumerate([(0, 0), (10, 10), (20, 20), (25, 30)], start=1):
        rates(ev, float(now), point(a, attrs[0]), point(b, attrs[1]))
    got = rates(ev, 5.0, point(3, attrs[0]), point(40, attrs[1]))  # "a" restarted at 3
    # over the window from birth (t=0): a grew 25 then 3 more, b grew 40
    assert got == pytest.approx({("a",): 28 / 5, ("b",): 40 / 5})


def test_a_group_born_later_covers_the_time_since_its_birth() -> None:
    ev = Evaluator([rate(10.0)], 0.0, START_NS)
    a = {"s": "a"}
    for now in range(1, 31):
        points = [point(now, a)]
        if now >= 26:
            points.append(point(2 * (now - 25), {"s": "late"}))
        got = rates(ev, float(now), *points)
    # "a": base at t=20 (10 s); "late" counts its whole first value, born at t=25
    assert got == pytest.approx({("a",): 1.0, ("late",): 10 / 5})


def test_forgotten_groups_leave_the_others_intact() -> None:
    ev = Evaluator([rate(10.0)], 0.0, START_NS)
    keep = [{"s": f"k{i}"} for i in range(5)]
    gone = {"s": "gone"}
    now = 0.0
    for step in range(20):
        now += 1.0
        rates(ev, now, *[point(step, k) for k in keep[:2]], point(step, gone), *[point(step, k) for k in keep[2:]])
    # "gone" stops reporting; once past the horizon it reads None once, then vanishes
    seen_none = False
    for step in range(20, 700):
        now += 1.0
        got = rates(ev, now, *[point(step, k) for k in keep])
        if ("gone",) in got and got[("gone",)] is None:
            seen_none = True
    assert seen_none
    assert set(got) == {(k["s"],) for k in keep}
    assert all(v == pytest.approx(1.0) for v in got.values())


def test_a_nan_reading_is_no_data_until_the_series_reads_numbers_again() -> None:
    ev = Evaluator([rate(5.0)], 0.0, START_NS)
    attrs = {"s": "a"}
    values = [1.0, 2.0, 3.0, math.nan, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
    got = [rates(ev, float(i + 1), point(v, attrs), metric=gauge_metric)[("a",)] for i, v in enumerate(values)]
    assert got[3] is None
    # once the NaN is out of the window, the gauge's slope reads again
    assert got[-1] == pytest.approx(1.0)


def test_ratio_windows_of_numerator_and_denominator() -> None:
    ratio = rule("A", RatioExpr(Selector("c", {"r": "hit"}), Selector("c"), 10.0, 0.0, ("s",)), below={"high": 0.5})
    ev = Evaluator([ratio], 0.0, START_NS)
    hit, miss = {"s": "a", "r": "hit"}, {"s": "a", "r": "miss"}
    for now in range(1, 21):
        (result,) = ev.evaluate(data(sum_metric("c", point(3 * now, hit), point(now, miss))), float(now))
    assert dict(result.values) == pytest.approx({("a",): 0.75})


def test_a_clock_that_steps_back_reads_no_rate_rather_than_failing() -> None:
    ev = Evaluator([rate(10.0)], 0.0, START_NS)
    attrs = {"s": "a"}
    rates(ev, 5.0, point(1, attrs))
    got = rates(ev, -1.0, point(2, attrs))  # before the group's birth (t=0)
    assert got == {("a",): None}
    assert rates(ev, 6.0, point(3, attrs)) == pytest.approx({("a",): 3 / 6})
