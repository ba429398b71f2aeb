"""``otel_alerting.testing.RuleTester``: a real MeterProvider and reader on a fake clock."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_alerting.notify.model import Change, Notification, Status
from otel_alerting.testing import RuleTester

RULES = """\
rules:
  - alert: QueueBacklog
    expr:
      value: {metric: app.queue.depth, reduce: max}
      by: [queue]
    above: {medium: 100, high: 500, critical: 1000}
    for: 30s
    annotations:
      summary: "Queue {labels[queue]} holds {value:.0f} items"
  - alert: ErrorRate
    expr:
      rate: {metric: app.errors, match: {kind: [timeout, refused]}}
      window: 10s
    above: {high: 2}
  - alert: CacheHitRateLow
    expr:
      ratio:
        numerator: {metric: cache.requests, match: {result: hit}}
        denominator: {metric: cache.requests}
        min_denominator: 20
      window: 10s
      by: [db]
    below: {medium: 0.5, high: 0.3}
  - alert: SlowRequests
    expr:
      rate: {metric: http.duration, quantile: 0.9}
      window: 10s
    above: {high: 250}
  - alert: Heartbeat
    expr:
      absent: {metric: app.heartbeat}
    above: {high: 5}
  - alert: Depth
    expr:
      value: {metric: app.depth}
    above: {high: 5}
    no_data: resolve
"""

TEMPORALITIES = ["cumulative", "delta"]


def of(alert: str, notifications: list[Notification]) -> list[Notification]:
    return [n for n in notifications if n.alert == alert]


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.fixture
def tester(rules_file: Path) -> Iterator[RuleTester]:
    with RuleTester(rules_file) as t:
        yield t


def test_docstring_example(tester: RuleTester) -> None:
    tester.gauge("app.queue.depth", 600, queue="ingest")
    tester.advance("30s")
    snapshot = tester.assert_firing("QueueBacklog", "high", queue="ingest")
    assert snapshot.value == 600
    tester.gauge("app.queue.depth", 10, queue="ingest")
    tester.advance("1s")
    n = tester.assert_resolved("QueueBacklog", queue="ingest")
    assert (n.value, n.fired_for) == (10, 1.0)


def test_for_is_counted_from_the_first_evaluation(tester: RuleTester) -> None:
    tester.gauge("app.queue.depth", 150, queue="a")
    assert of("QueueBacklog", tester.advance("29s")) == []
    tester.assert_pending("QueueBacklog", queue="a")
    (n,) = of("QueueBacklog", tester.step())
    assert (n.alert, n.status, n.severity.name, n.labels["queue"]) == ("QueueBacklog", Status.FIRING, "MEDIUM", "a")
    assert n.annotations["summary"] == "Queue a holds 150 items"
    assert tester.clock.now - n.starts_at == 0


def test_escalation_over_simulated_time(tester: RuleTester) -> None:
    tester.gauge("app.queue.depth", 150, queue="a")
    tester.advance("30s")
    tester.gauge("app.queue.depth", 1500, queue="a")
    # first seen at the next evaluation: the higher levels hold for 30 s one step later
    assert of("QueueBacklog", tester.advance("30s")) == []
    tester.assert_firing("QueueBacklog", "medium", queue="a")
    out = of("QueueBacklog", tester.step())
    assert [(n.change, n.severity.name, n.previous_severity.name) for n in out] == [  # type: ignore[union-attr]
        (Change.ESCALATED, "CRITICAL", "MEDIUM")
    ]
    tester.assert_firing("QueueBacklog", "critical", queue="a")


def test_assertions_fail_with_a_description(tester: RuleTester) -> None:
    tester.gauge("app.queue.depth", 600, queue="a")
    tester.advance("30s")
    with pytest.raises(AssertionError, match=r"FIRING at CRITICAL; it is firing at HIGH with value 600"):
        tester.assert_firing("QueueBacklog", "critical", queue="a")
    with pytest.raises(AssertionError, match=r"PENDING"):
        tester.assert_pending("QueueBacklog", queue="a")
    with pytest.raises(AssertionError, match=r"inactive"):
        tester.assert_inactive("QueueBacklog", queue="a")
    with pytest.raises(AssertionError, match=r"inactive; it is firing"):
        tester.assert_resolved("QueueBacklog", queue="a")
    with pytest.raises(AssertionError, match=r"it is inactive \(active alerts: .*QueueBacklog\{queue=a\}=firing"):
        tester.assert_firing("QueueBacklog", "high", queue="b")
    tester.assert_inactive("QueueBacklog", queue="b")


@pytest.mark.parametrize("temporality", TEMPORALITIES)
def test_counter_rate_in_both_temporalities(rules_file: Path, temporality: str) -> None:
    with RuleTester(rules_file, temporality=temporality) as t:
        for _ in range(5):
            t.count("app.errors", 3, kind="timeout")
            t.count("app.errors", 100, kind="other")  # not matched
            t.step()
        # 3 matching errors per 1 s step; the other kind is not counted
        assert t.assert_firing("ErrorRate", "high").value == pytest.approx(3.0)
        t.count("app.errors", 1, kind="refused")
        t.advance("10s")
        t.assert_resolved("ErrorRate")


@pytest.mark.parametrize("temporality", TEMPORALITIES)
def test_ratio_with_min_denominator_in_both_temporalities(rules_file: Path, temporality: str) -> None:
    with RuleTester(rules_file, temporality=temporality) as t:
        t.count("cache.requests", 2, result="hit", db="0")
        t.count("cache.requests", 8, result="miss", db="0")
        t.step()
        t.assert_inactive("CacheHitRateLow", db="0")  # 10 requests: below min_denominator
        t.count("cache.requests", 2, result="hit", db="0")
        t.count("cache.requests", 8, result="miss", db="0")
        t.step()
        snapshot = t.assert_firing("CacheHitRateLow", "high", db="0")
        assert snapshot.value == pytest.approx(0.2)


@pytest.mark.parametrize("temporality", TEMPORALITIES)
def test_histogram_quantile_in_both_temporalities(rules_file: Path, temporality: str) -> None:
    with RuleTester(rules_file, temporality=temporality) as t:
        for _ in range(8):
            t.observe("http.duration", 7)
        for _ in range(2):
            t.observe("http.duration", 300)
        t.step()
        # default buckets: 8 in (5, 10], 2 in (250, 500]: p90 = 375 as histogram_quantile
        assert t.assert_firing("SlowRequests", "high").value == pytest.approx(375.0)


def test_absent_fires_when_a_gauge_stops_reporting(tester: RuleTester) -> None:
    tester.gauge("app.heartbeat", 1)
    tester.advance("10s")
    tester.assert_inactive("Heartbeat")
    tester.gauge("app.heartbeat", None)
    tester.advance("4s")
    tester.assert_inactive("Heartbeat")
    tester.advance("1s")
    tester.assert_firing("Heartbeat", "high")


def test_gauge_removed_is_no_data(tester: RuleTester) -> None:
    tester.gauge("app.depth", 9)
    tester.step()
    tester.assert_firing("Depth", "high")
    tester.gauge("app.depth", None)
    tester.step()
    assert tester.assert_resolved("Depth").reason == "no data"


def test_up_down_counter_value_is_the_same_in_delta(rules_file: Path) -> None:
    with RuleTester(rules_file, temporality="delta") as t:
        t.add("app.depth", 10)
        t.advance("3s")
        t.assert_firing("Depth", "high")


def test_up_down_counter_value_in_cumulative(rules_file: Path) -> None:
    with RuleTester(rules_file) as t:
        t.add("app.depth", 10)
        t.add("app.depth", -3)
        t.advance("3s")
        assert t.assert_firing("Depth", "high").value == 7


def test_environment_overrides_apply(rules_file: Path) -> None:
    env = {"OTEL_PYTHON_ALERTING_RULE_QUEUEBACKLOG_ABOVE": "high:50", "OTEL_PYTHON_ALERTING_RULE_QUEUEBACKLOG_FOR": "0"}
    with RuleTester(rules_file, environ=env) as t:
        t.gauge("app.queue.depth", 60, queue="a")
        t.step()
        t.assert_firing("QueueBacklog", "high", queue="a")


def test_cooldown_holds_a_refire(rules_file: Path) -> None:
    with RuleTester(rules_file, cooldown="1m") as t:
        t.gauge("app.depth", 9)
        t.step()
        t.gauge("app.depth", 1)
        t.step()
        t.gauge("app.depth", 9)
        assert of("Depth", t.advance("30s")) == []
        t.assert_firing("Depth", "high")
        out = of("Depth", t.advance("30s"))
        assert [(n.status, n.change, n.at - t.clock.now) for n in out] == [(Status.FIRING, Change.FIRED, -2.0)]


def test_invalid_rules_raise_listing_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            rules:
              - alert: A
                expr: {value: {metric: m}}
                above: {medium: 5, high: 1}
              - alert: B
                expr: {value: {metric: m}}
                above: 1
                for: soon
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"invalid rules") as info:
        RuleTester(path)
    assert f"{path}:4: rules[0] (A).above:" in str(info.value)
    assert f"{path}:8: rules[1] (B).for:" in str(info.value)


def test_override_for_an_unknown_rule_is_an_error(rules_file: Path) -> None:
    with pytest.raises(ValueError, match="OTEL_PYTHON_ALERTING_RULE_NOPE_FOR"):
        RuleTester(rules_file, environ={"OTEL_PYTHON_ALERTING_RULE_NOPE_FOR": "1s"})


def test_interval_must_be_positive(rules_file: Path) -> None:
    with pytest.raises(ValueError, match="interval"):
        RuleTester(rules_file, interval=0)


def test_interval_sets_the_step(rules_file: Path) -> None:
    with RuleTester(rules_file, interval="5s") as t:
        start = t.clock.now
        t.gauge("app.queue.depth", 150, queue="a")
        t.advance("25s")
        assert t.clock.now - start == 25
        t.assert_pending("QueueBacklog", queue="a")
        t.step()
        t.assert_firing("QueueBacklog", "medium", queue="a")


def test_several_rule_files(tmp_path: Path, rules_file: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "rules:\n  - alert: Big\n    expr: {value: {metric: big}}\n    above: 1\n",
        encoding="utf-8",
    )
    with RuleTester([rules_file, extra]) as t:
        assert {r.alert for r in t.system.rule_set.rules} >= {"Big", "QueueBacklog"}
        t.gauge("big", 2)
        t.step()
        t.assert_firing("Big", "high")
