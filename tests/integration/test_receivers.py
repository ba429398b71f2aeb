"""Alertmanager-shaped `receivers:` in the rules file, and send_resolved per channel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider

from otel_alerting.config import Settings
from otel_alerting.reader import AlertingMetricReader
from otel_alerting.system import load_configuration

from ..support.http import HttpReceiver

RULE = """
rules:
  - alert: LevelHigh
    expr: {value: {metric: app.level}}
    above: {high: 10}
"""


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


def run(rules: Path, environ: dict[str, str]) -> AlertingMetricReader:
    """Fire, then resolve, with explicit collections; deliveries flushed."""
    reader = AlertingMetricReader(
        Settings(interval_ms=float("inf"), rules_paths=(str(rules),), cooldown_s=0, channels=(), channels_set=True),
        environ=environ,
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    level = {"value": 50.0}
    provider.get_meter("app").create_observable_gauge("app.level", callbacks=[lambda o: [Observation(level["value"])]])
    assert reader.force_flush(10_000)
    level["value"] = 0.0
    assert reader.force_flush(10_000)
    provider.shutdown()
    return reader


def test_a_receiver_from_the_rules_file_gets_the_alerts_its_route_sends(tmp_path: Path, hook: HttpReceiver) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULE
        + f"""
receivers:
  - name: team-hooks
    webhook_configs:
      - url: {hook.url}/team
route:
  receiver: team-hooks
"""
    )
    reader = run(rules, {})
    assert reader.system is not None
    assert [c.name for c in reader.system.dispatcher.channels] == ["team-hooks"]
    statuses = [r.json()["status"] for r in hook.requests if r.path == "/team"]
    assert statuses == ["firing", "resolved"]
    assert reader.system.manager.stats().deliveries[("team-hooks", "delivered")] == 2


def test_send_resolved_false_in_a_receiver_and_from_the_environment(tmp_path: Path, hook: HttpReceiver) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULE
        + f"""
receivers:
  - name: quiet
    webhook_configs:
      - url: {hook.url}/quiet
        send_resolved: false
route:
  receivers: [quiet]
"""
    )
    run(rules, {})
    assert [r.json()["status"] for r in hook.requests if r.path == "/quiet"] == ["firing"]

    plain = tmp_path / "plain.yaml"
    plain.write_text(RULE + "route:\n  receiver: webhook\n")
    env = {
        "OTEL_PYTHON_ALERTING_WEBHOOK_URL": f"{hook.url}/env",
        "OTEL_PYTHON_ALERTING_WEBHOOK_SEND_RESOLVED": "false",
    }
    reader = AlertingMetricReader(
        Settings(interval_ms=float("inf"), rules_paths=(str(plain),), channels=("webhook",), channels_set=True),
        environ=env,
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    level = {"value": 50.0}
    provider.get_meter("app").create_observable_gauge("app.level", callbacks=[lambda o: [Observation(level["value"])]])
    reader.force_flush(10_000)
    level["value"] = 0.0
    reader.force_flush(10_000)
    provider.shutdown()
    assert [r.json()["status"] for r in hook.requests if r.path == "/env"] == ["firing"]


def test_receiver_errors_name_the_place_and_never_a_secret(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        """
rules: []
receivers:
  - name: log
    webhook_configs: [{url: "http://127.0.0.1:1/x"}]
  - name: two
    webhook_configs: [{url: "http://127.0.0.1:1/x"}]
    slack_configs: [{api_url: "https://hooks.slack.com/services/T/B/slack-secret"}]
  - name: pager
    pagerduty_configs: [{routing_key: "short-secret-key"}]
  - name: mail
    email_configs: [{to: oncall@example.test, smarthost: "127.0.0.1:25", auth_password: "mail-secret-1"}]
"""
    )
    settings = Settings(rules_paths=(str(rules),))
    config = load_configuration(settings, {})
    problems = "\n".join(config.problems)
    assert f"{rules}: receivers[0] (log): the name 'log' is already a channel" in problems
    assert f"{rules}: receivers[1] (two): needs exactly one of" in problems
    assert f"{rules}: receivers[2] (pager).pagerduty_configs[0]: OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY" in problems
    assert f"{rules}: receivers[3] (mail).email_configs[0]: OTEL_PYTHON_ALERTING_EMAIL_FROM" in problems
    for secret in ("slack-secret", "short-secret-key", "mail-secret-1"):
        assert secret not in problems
