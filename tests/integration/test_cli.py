"""The ``otel-alerting`` command, run as the installed console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from otel_alerting.version import __version__

CLI = str(Path(sys.executable).parent / "otel-alerting")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ALERT_"))}
    clean.update(env)
    return subprocess.run([CLI, *args], env=clean, capture_output=True, text=True, timeout=60)


GOOD = """
rules:
  - alert: QueueBacklog
    expr:
      value: {metric: app.queue.depth, reduce: max}
      by: [queue]
    above: {medium: 100, high: 500, critical: 1000}
    for: 30s
"""


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"otel-alerting {__version__}"


def test_check_prints_the_effective_configuration_and_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(GOOD)
    done = run("check", "--rules", str(rules), OTEL_PYTHON_ALERTING_INTERVAL="500")
    assert done.returncode == 0, done.stderr
    assert "OTEL_PYTHON_ALERTING_INTERVAL=500" in done.stdout
    assert "QueueBacklog: max(app.queue.depth) by (queue) [MEDIUM >= 100, HIGH >= 500, CRITICAL >= 1000] for 30s" in (
        done.stdout
    )
    assert done.stdout.rstrip().endswith("OK")


def test_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(GOOD + "  - alert: Bad\n    expr: {rate: {metric: x}}\n    below: {low: 1}\n")
    done = run(
        "check",
        "--rules",
        str(rules),
        OTEL_PYTHON_ALERTING_INTERVAL="often",
        OTEL_PYTHON_ALERTING_CHANNELS="log,pager",
        OTEL_PYTHON_ALERTING_RULE_QUEUEBACKLOG_ABOVE="medium:lots",
    )
    assert done.returncode == 1
    assert "4 problem(s):" in done.stderr
    assert "OTEL_PYTHON_ALERTING_INTERVAL: invalid value 'often'" in done.stderr
    assert "OTEL_PYTHON_ALERTING_CHANNELS: unknown channel(s) pager" in done.stderr
    assert f"{rules}:10: rules[1] (Bad).expr.window: required for rate" in done.stderr
    assert "OTEL_PYTHON_ALERTING_RULE_QUEUEBACKLOG_ABOVE: 'lots' is not a number" in done.stderr


def test_check_shows_channels_routes_and_probes_without_secrets(tmp_path: Path) -> None:
    done = run(
        "check",
        OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL="https://hooks.slack.com/services/T0/B0/slack-token-123",
        REDIS_URL="redis://:redis-password-9@127.0.0.1:6390/0",
        ALERT_EMAIL_ENABLED="true",
        ALERT_SMTP_PASSWORD="smtp-password-77",
    )
    assert done.returncode == 1  # email is enabled but incomplete
    assert "  slack webhook https://hooks.slack.com/[secure]\n" in done.stdout
    assert 'severity="high" -> slack (group_by alertname; wait 2s, interval 5m, repeat 4h)' in done.stdout
    assert "  redis: redis://:[secure]@127.0.0.1:6390/0\n" in done.stdout
    assert "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST: required" in done.stderr
    for secret in ("slack-token-123", "redis-password-9", "smtp-password-77"):
        assert secret not in done.stdout + done.stderr


def test_check_shows_what_runs_under_opentelemetry_instrument() -> None:
    done = run("check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "Defaults applied as under opentelemetry-instrument (the otel-alerting distro and configurator):\n"
    )
    assert "  OTEL_LOGS_EXPORTER=otlp\n" in done.stdout
    assert "  OTEL_PYTHON_ALERTING_MODE=export\n" in done.stdout
    assert "\nChannels:\n  log\n  console\n  otel_logs " in done.stdout
    # what the user set wins, as under opentelemetry-instrument
    done = run("check", OTEL_LOGS_EXPORTER="none", OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="delta")
    assert "OTEL_LOGS_EXPORTER=" not in done.stdout
    assert "  OTEL_PYTHON_ALERTING_MODE=reader\n" in done.stdout
    assert "\nChannels:\n  log\n  console\n\n" in done.stdout


def test_check_leaves_the_environment_of_its_process_alone() -> None:
    from otel_alerting.cli_environment import instrumented_environ

    before = dict(os.environ)
    planned, applied = instrumented_environ({"OTEL_TRACES_EXPORTER": "console"})
    assert dict(os.environ) == before
    assert planned["OTEL_TRACES_EXPORTER"] == "console" and "OTEL_TRACES_EXPORTER" not in applied
    assert applied["OTEL_METRICS_EXPORTER"] == "otel_alerting"


def test_check_under_another_distro_applies_nothing_of_this_one() -> None:
    done = run("check", OTEL_PYTHON_DISTRO="other", OTEL_PYTHON_CONFIGURATOR="other")
    assert "Defaults applied" not in done.stdout
    assert "\nChannels:\n  log\n  console\n\n" in done.stdout
