"""The /health report: its status rules and each section, from real parts on a fake clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider

from otel_alerting.http.caches import CacheWindow
from otel_alerting.http.renderer import Renderer
from otel_alerting.http.report import DEGRADED, FAILING, OK, ReportSources, build_report
from otel_alerting.http.sources import process_memory
from otel_alerting.instrumentation.cache import CacheMetrics
from otel_alerting.instrumentation.probes.state import DependencyKey, HealthBoard
from otel_alerting.testing import FakeClock, RuleTester

RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level, reduce: max}
    above: {high: 500, critical: 900}
"""


@pytest.fixture
def tester(tmp_path: Path) -> Iterator[RuleTester]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    with RuleTester(rules) as t:
        yield t


def sources(
    board: HealthBoard | None = None, caches: CacheMetrics | None = None, clock: FakeClock | None = None
) -> ReportSources:
    wall = clock or FakeClock()
    return ReportSources(
        board=lambda: board,
        caches=lambda: caches,
        memory=lambda: {"available": True, "usage_bytes": 1},
        wall_clock=wall,
    )


def test_ok_when_nothing_fires(tester: RuleTester) -> None:
    tester.gauge("app.level", 10)
    tester.advance("2s")
    report = build_report(tester.system, sources())
    assert (report["status"], report["reasons"]) == (OK, [])
    assert report["alerts"]["active"] == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0}
    assert report["plugin"]["rules"] == 1
    assert report["plugin"]["evaluations"] >= 2
    assert report["plugin"]["last_evaluation"] is not None
    assert report["plugin"]["evaluation_duration_s"] >= 0


def test_a_high_alert_degrades_a_critical_one_fails_and_a_resolve_is_ok_again(tester: RuleTester) -> None:
    tester.gauge("app.level", 600)
    tester.advance("1s")
    report = build_report(tester.system, sources())
    assert report["status"] == DEGRADED
    assert report["reasons"] == ["alert LevelHigh is firing at HIGH"]
    assert report["alerts"]["active"]["HIGH"] == 1
    assert [(a["alert"], a["severity"]) for a in report["alerts"]["firing"]] == [("LevelHigh", "HIGH")]

    tester.gauge("app.level", 950)
    tester.advance("1s")
    report = build_report(tester.system, sources())
    assert report["status"] == FAILING
    assert report["reasons"] == ["alert LevelHigh is firing at CRITICAL"]
    assert (report["alerts"]["fired"], report["alerts"]["escalated"]) == (1, 1)

    tester.gauge("app.level", 0)
    tester.advance("1s")
    report = build_report(tester.system, sources())
    assert report["status"] == OK
    assert report["alerts"]["resolved"] == 1


def test_a_dependency_down_fails_with_its_downtime_last_check_and_latency(tester: RuleTester) -> None:
    clock = FakeClock(100.0)
    board = HealthBoard(clock)
    board.record(DependencyKey("redis", "localhost", 6379), True, latency=0.002)
    board.record(DependencyKey("chroma", "localhost", 8000), False, error_type="ConnectError", latency=0.5)
    clock.advance(30)
    wall = FakeClock(1_750_000_000.0)
    report = build_report(tester.system, sources(board, clock=wall))
    assert report["status"] == FAILING
    assert report["reasons"] == ["dependency chroma is down"]
    chroma, redis = report["dependencies"]["items"]
    assert (chroma["up"], chroma["downtime_s"], chroma["latency_s"], chroma["error_type"]) == (
        False,
        30.0,
        0.5,
        "ConnectError",
    )
    assert chroma["seconds_since_check"] == 30.0
    assert chroma["last_check"] == "2025-06-15T15:06:10.000Z"  # 1_750_000_000 is 15:06:40Z; less 30 s
    assert (redis["up"], redis["downtime_s"], redis["latency_s"], redis["port"]) == (True, 0.0, 0.002, 6379)
    assert report["dependencies"]["up"] is False


def test_cache_hit_rate_is_over_the_window(tester: RuleTester) -> None:
    caches = CacheMetrics(MeterProvider())
    stats = caches.stats("sessions")
    for _ in range(3):
        stats.hit()
    stats.miss()
    wall = FakeClock(0.0)
    src = sources(caches=caches, clock=wall)
    src.cache_window = CacheWindow(window_s=60.0, max_samples=6)
    first = build_report(tester.system, src)["caches"]
    assert first["items"] == [{"name": "sessions", "hit_rate": 0.75, "over_s": None, "hits": 3, "misses": 1}]
    wall.advance(61)
    stats.miss()
    build_report(tester.system, src)
    wall.advance(30)
    stats.hit()
    (item,) = build_report(tester.system, src)["caches"]["items"]
    # the baseline is the newest sample at least a window old: the first, at 0 s
    assert (item["hits"], item["misses"], item["hit_rate"], item["over_s"]) == (4, 2, 0.5, 91.0)


def test_sources_not_active_are_named_not_failed(tester: RuleTester) -> None:
    def broken() -> dict[str, Any]:
        raise OSError("no /proc")

    src = sources()
    src.memory = broken
    report = build_report(tester.system, src)
    assert report["dependencies"]["available"] is False and "not active" in report["dependencies"]["reason"]
    assert report["caches"] == {"available": False, "reason": "cache instrumentation not active"}
    assert report["memory"] == {"available": False, "reason": "reading it failed (OSError)"}
    assert report["status"] == OK


def test_without_a_system_the_alert_sections_say_why() -> None:
    report = build_report(None, sources())
    assert report["alerts"]["available"] is False and report["plugin"]["available"] is False
    assert report["status"] == OK


def test_memory_reads_usage_limit_and_utilization() -> None:
    memory = process_memory()
    assert memory["limit_bytes"] > 0 and 0 < memory["usage_bytes"] <= memory["limit_bytes"]
    assert memory["utilization"] == round(memory["usage_bytes"] / memory["limit_bytes"], 4)
    assert memory["process_rss_bytes"] > 0


def test_configuration_problems_are_listed() -> None:
    from otel_alerting.config import load_settings
    from otel_alerting.reader import AlertingMetricReader

    env = {"OTEL_PYTHON_ALERTING_COOLDOWN": "soon"}
    reader = AlertingMetricReader(load_settings(env), environ=env, channels=[], start_timer=False)
    report = build_report(reader.system, sources())
    (problem,) = report["plugin"]["configuration_problems"]
    assert "OTEL_PYTHON_ALERTING_COOLDOWN" in problem and "soon" in problem
    assert report["plugin"]["rules_in_error"] == {}


def test_no_secret_of_a_channel_appears_in_the_report() -> None:
    from otel_alerting.config import load_settings
    from otel_alerting.rules import load_rule_set
    from otel_alerting.system import AlertingSystem

    env = {
        "OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/s3cr3t-slack",
        "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST": "smtp.example.com",
        "OTEL_PYTHON_ALERTING_EMAIL_PASSWORD": "s3cr3t-smtp",
        "OTEL_PYTHON_ALERTING_EMAIL_TO": "ops@example.com",
        "OTEL_PYTHON_ALERTING_HTTP_TOKEN": "s3cr3t-token",
    }
    settings = load_settings(env)
    system = AlertingSystem(settings, load_rule_set([], env, include_defaults=True), environ=env)
    try:
        text = json.dumps(Renderer(lambda: system, sources=sources()).report())
    finally:
        system.shutdown(1.0)
    assert "slack" in text  # the channel is named
    assert "s3cr3t" not in text and "hooks.slack.com" not in text and "smtp.example.com" not in text
