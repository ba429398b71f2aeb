"""A rule reads at most OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE series: past it, new
series are not read (they cannot alert), counted per rule and logged once; once series go
away, new ones are read again. Real MeterProvider and AlertingMetricReader, a clock moved
by hand."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider

from otel_alerting.config import Settings, load_settings
from otel_alerting.engine.lifecycle import AlertState
from otel_alerting.reader import AlertingMetricReader

RULES = """
rules:
  - alert: PerUser
    expr:
      value: {metric: app.logins, reduce: sum}
      by: [user]
    above: {high: 0.5}
    no_data: resolve
"""

LIMIT = 50


def firing(reader: AlertingMetricReader) -> set[str]:
    system = reader.system
    assert system is not None
    return {a.labels["user"] for a in system.manager.active() if a.state is AlertState.FIRING}


def test_the_limit_is_read_from_the_environment_with_a_default() -> None:
    assert Settings().max_series_per_rule == 10_000
    assert load_settings({"OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE": "500"}).max_series_per_rule == 500
    assert load_settings({"OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE": "0"}).errors


def test_series_past_the_limit_are_counted_and_logged_and_new_ones_alert_once_others_left(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1_000_000.0]
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = Settings(rules_paths=(str(rules),), default_rules=False, max_series_per_rule=LIMIT)
    reader = AlertingMetricReader(settings, channels=[], clock=lambda: now[0], start_timer=False)
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        system = reader.system
        assert system is not None and not system.rule_set.errors
        logins = provider.get_meter("app").create_counter("app.logins")
        for i in range(4 * LIMIT):
            logins.add(1, {"user": f"u{i}"})
        now[0] += 1
        with caplog.at_level(logging.WARNING, logger="otel_alerting"):
            reader.collect()
            now[0] += 1
            reader.collect()
        assert len(firing(reader)) == LIMIT
        assert system.evaluator.series_refused() == {"PerUser": 3 * LIMIT}
        warnings = [r.getMessage() for r in caplog.records if "PerUser" in r.getMessage()]
        assert len(warnings) == 1, warnings
        assert "cannot alert" in warnings[0] and "OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE" in warnings[0]
        # the users go quiet; their series are forgotten (horizon 600 s, swept every 64 ticks)
        for _ in range(70):
            now[0] += 20
            reader.collect()
        assert system.evaluator.series_refused() == {}
        assert firing(reader) == set()
        logins.add(1, {"user": "newcomer"})
        now[0] += 1
        reader.collect()
        assert firing(reader) == {"newcomer"}
    finally:
        provider.shutdown()
