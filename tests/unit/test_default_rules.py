"""The built-in rule pack with the thresholds of DESIGN.md, and its inhibition."""

from __future__ import annotations

import pytest

from otel_alerting.notify.config import default_inhibit_rules
from otel_alerting.notify.matchers import Matcher
from otel_alerting.notify.routing import routing_labels
from otel_alerting.rules.defaults import default_rules
from otel_alerting.rules.model import Severity
from otel_alerting.testing import RuleTester

REQUESTS = "otel_alerting.cache.requests"
RESULT = "otel_alerting.cache.result"


def test_the_pack_holds_the_three_rules_with_their_ladders() -> None:
    ladders = {rule.alert: (rule.direction, rule.thresholds) for rule in default_rules()}
    assert ladders == {
        "CacheHitRateLow": ("below", ((Severity.MEDIUM, 0.5), (Severity.HIGH, 0.3), (Severity.CRITICAL, 0.1))),
        "MemoryPressure": ("above", ((Severity.MEDIUM, 0.75), (Severity.HIGH, 0.85), (Severity.CRITICAL, 0.95))),
        "DependencyDown": ("above", ((Severity.MEDIUM, 60), (Severity.HIGH, 300), (Severity.CRITICAL, 900))),
        "TelemetryExportFailing": ("above", ((Severity.HIGH, 0.001),)),
    }


def traffic(
    tester: RuleTester, hits: int, misses: int, cache: str = "sessions", server: str = "10.0.0.5", port: int = 6379
) -> None:
    attributes = {"otel_alerting.cache.name": cache, "server.address": server, "server.port": port}
    tester.count(REQUESTS, hits, **{RESULT: "hit"}, **attributes)
    tester.count(REQUESTS, misses, **{RESULT: "miss"}, **attributes)


@pytest.mark.parametrize(("hit_share", "severity"), [(0.45, "medium"), (0.25, "high"), (0.05, "critical"), (0.6, None)])
def test_cache_hit_rate_levels(hit_share: float, severity: str | None) -> None:
    with RuleTester(builtin=True, interval="10s") as tester:
        for _ in range(31):  # a little over the 5 minute window
            traffic(tester, round(100 * hit_share), round(100 * (1 - hit_share)))
            tester.step()
        labels = {"otel_alerting.cache.name": "sessions", "server.address": "10.0.0.5"}
        if severity is None:
            tester.assert_inactive("CacheHitRateLow", **labels)
        else:
            tester.assert_firing("CacheHitRateLow", severity, **labels)


def test_cache_hit_rate_needs_a_minimum_of_requests_and_is_per_cache() -> None:
    with RuleTester(builtin=True, interval="10s") as tester:
        for _ in range(31):
            traffic(tester, 0, 3, cache="quiet")  # 93 requests in 5 minutes: below the minimum of 100
            traffic(tester, 5, 95, cache="busy")
            tester.step()
        tester.assert_inactive("CacheHitRateLow", **{"otel_alerting.cache.name": "quiet"})
        tester.assert_firing("CacheHitRateLow", "critical", **{"otel_alerting.cache.name": "busy"})


def test_memory_pressure_levels_hold_for_30_seconds() -> None:
    with RuleTester(builtin=True, interval="5s") as tester:
        tester.gauge("otel_alerting.memory.utilization", 0.9)
        tester.advance("25s")
        tester.assert_pending("MemoryPressure")
        tester.advance("5s")
        tester.assert_firing("MemoryPressure", "high")
        tester.gauge("otel_alerting.memory.utilization", 0.97)
        tester.advance("30s")  # first seen at the first evaluation after the change
        tester.assert_firing("MemoryPressure", "high")
        tester.advance("5s")
        tester.assert_firing("MemoryPressure", "critical")
        tester.gauge("otel_alerting.memory.utilization", 0.5)
        tester.advance("5s")
        tester.assert_resolved("MemoryPressure")


def test_dependency_down_escalates_with_the_outage_and_resolves() -> None:
    labels = {"otel_alerting.dependency.name": "redis", "server.address": "10.0.0.5"}
    with RuleTester(builtin=True, interval="10s") as tester:
        for downtime, severity in ((30, None), (60, "medium"), (299, "medium"), (300, "high"), (900, "critical")):
            tester.gauge("otel_alerting.dependency.downtime", downtime, **labels)
            tester.step()
            if severity is None:
                tester.assert_inactive("DependencyDown", **labels)
            else:
                tester.assert_firing("DependencyDown", severity, **labels)
        tester.gauge("otel_alerting.dependency.downtime", 0, **labels)
        tester.step()
        resolved = tester.assert_resolved("DependencyDown", **labels)
        assert resolved.severity is Severity.CRITICAL
        # the value at resolve time is 0 (up again); the outage length is the last firing value
        assert (resolved.value, resolved.last_firing_value) == (0, 900)
        assert resolved.annotations["summary"] == "redis at 10.0.0.5 has been down for 900s"


def test_thresholds_are_overridable_and_rules_can_be_turned_off() -> None:
    environ = {
        "OTEL_PYTHON_ALERTING_RULE_DEPENDENCYDOWN_ABOVE": "medium:1,high:2,critical:3",
        "OTEL_PYTHON_ALERTING_RULE_MEMORYPRESSURE_ENABLED": "false",
    }
    with RuleTester(builtin=True, environ=environ) as tester:
        assert [r.alert for r in tester.system.rule_set.rules] == [
            "CacheHitRateLow",
            "DependencyDown",
            "TelemetryExportFailing",
        ]
        tester.gauge("otel_alerting.dependency.downtime", 2.5, **{"otel_alerting.dependency.name": "chroma"})
        tester.step()
        tester.assert_firing("DependencyDown", "high", **{"otel_alerting.dependency.name": "chroma"})


def test_a_redis_outage_inhibits_the_hit_rate_of_caches_on_that_redis_only() -> None:
    (rule,) = default_inhibit_rules()
    at = {"server.address": "10.0.0.5", "server.port": "6379"}
    outage = {"alertname": "DependencyDown", "otel_alerting.dependency.name": "redis", **at}
    same_redis = {"alertname": "CacheHitRateLow", "otel_alerting.cache.name": "s", **at}
    other_redis = {**same_redis, "server.address": "10.0.0.6"}
    other_port = {**same_redis, "server.port": "6380"}
    chroma_outage = {**outage, "otel_alerting.dependency.name": "chroma", "server.port": "8000"}
    # a Redis probe named by the user (sessions=redis://10.0.0.5:6379) is the same server
    named_outage = {**outage, "otel_alerting.dependency.name": "sessions"}
    assert rule.inhibits(outage, same_redis)
    assert rule.inhibits(named_outage, same_redis)
    assert not rule.inhibits(outage, other_redis)
    assert not rule.inhibits(outage, other_port)
    assert not rule.inhibits(chroma_outage, same_redis)
    assert not rule.inhibits(outage, outage)


def test_a_redis_down_under_its_own_name_mutes_the_hit_rate_of_its_caches() -> None:
    # end to end through the pipeline: the probe of the cache's Redis is named "sessions"
    downtime = {"otel_alerting.dependency.name": "sessions", "server.address": "10.0.0.5", "server.port": 6379}
    with RuleTester(builtin=True, interval="10s") as tester:
        for _ in range(31):
            traffic(tester, 5, 95)  # every read misses while Redis is down
            traffic(tester, 5, 95, cache="other", port=6380)  # another Redis on that host: not muted
            tester.gauge("otel_alerting.dependency.downtime", 120, **downtime)
            tester.step()
        tester.assert_firing("DependencyDown", "medium", **downtime)
        muted = tester.assert_firing("CacheHitRateLow", "critical", **{"otel_alerting.cache.name": "sessions"})
        heard = tester.assert_firing("CacheHitRateLow", "critical", **{"otel_alerting.cache.name": "other"})
        # the pipeline's inhibitor, on the labels the engine gave the alerts
        inhibitor = tester.system.pipeline.inhibitor
        sources = inhibitor.sources()
        critical = Severity.CRITICAL
        assert inhibitor.muting(routing_labels(muted.labels, critical), sources) == "inhibited by DependencyDown"
        assert inhibitor.muting(routing_labels(heard.labels, critical), sources) is None


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('alertname="X"', {"alertname": "X"}, True),
        ('alertname="X"', {"alertname": "Y"}, False),
        ("team!=db", {"team": "web"}, True),
        ("team!=db", {}, True),
        ('severity=~"high|critical"', {"severity": "critical"}, True),
        ('severity=~"high|critical"', {"severity": "highest"}, False),  # anchored
        ('instance!~"10\\\\..*"', {"instance": "10.0.0.1"}, False),
        ('missing=""', {}, True),
    ],
)
def test_matchers(text: str, labels: dict[str, str], expected: bool) -> None:
    assert Matcher.parse(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["", "=x", "a==b", 'a=~"("', "a=~b c", "1a=b"])
def test_bad_matchers_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="matcher"):
        Matcher.parse(text)
