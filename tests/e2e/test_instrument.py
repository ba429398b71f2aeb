"""End to end: applications under opentelemetry-instrument in a subprocess, with the
package installed and no code of ours imported by the application."""

from __future__ import annotations

import re
from pathlib import Path

from otel_alerting.testing import OtlpReceiver

from .instrumented import APPS, ROOT, instrumented_env, run_instrumented

LEVEL_APP = APPS / "level_app.py"

LEVEL_RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level, reduce: max}
      by: [proc]
    above: {medium: 100, high: 500}
    for: 0.3s
    annotations:
      summary: "level of {labels[proc]} is {value:.0f}"
"""


def alert_lines(stderr: str, status: str, alert: str) -> list[str]:
    return [line for line in stderr.splitlines() if f"[{status}:" in line and f"] {alert}" in line]


def test_example_service_fires_escalates_resolves_and_exports(receiver: OtlpReceiver) -> None:
    app = ROOT / "examples" / "queue_service" / "app.py"
    assert "otel_alerting" not in app.read_text()
    env = instrumented_env(
        receiver,
        DEMO_STEP_SECONDS="0.3",
        OTEL_PYTHON_ALERTING_RULES=str(ROOT / "examples" / "queue_service" / "rules.yaml"),
        # the override shortens the example's pending period, through the environment
        OTEL_PYTHON_ALERTING_RULE_QUEUEBACKLOG_FOR="0.2s",
    )
    run = run_instrumented(app, env)
    assert run.returncode == 0, run.stderr
    fired = alert_lines(run.stderr, "FIRING", "QueueBacklog")
    assert fired, f"no FIRING line for QueueBacklog in:\n{run.stderr}"
    assert any("[FIRING:CRITICAL] QueueBacklog" in line and "escalated" in line for line in fired), run.stderr
    resolved = alert_lines(run.stderr, "RESOLVED", "QueueBacklog")
    assert len(resolved) == 1, run.stderr
    assert "fired_for=" in resolved[0] and "recovery level 80" in resolved[0]
    # the log channel's record too, parseable logfmt
    log_lines = [line for line in run.stderr.splitlines() if "otel_alerting.alerts" in line]
    assert any("alert=QueueBacklog state=RESOLVED" in line for line in log_lines), run.stderr

    names = receiver.metric_names()
    assert {"app.queue.depth", "app.jobs", "otel_alerting.alerts", "otel_alerting.notifications"} <= names, names
    firing_points = [
        p
        for p in receiver.metric_points()
        if p.metric == "otel_alerting.alerts"
        and p.attributes.get("otel_alerting.alert.state") == "firing"
        and p.value >= 1
    ]
    assert firing_points, "the alert state never reached the collector as otel_alerting.alerts"
    assert firing_points[0].resource.get("service.name") == "e2e"
    delivered = [
        p
        for p in receiver.metric_points()
        if p.metric == "otel_alerting.notifications" and p.attributes.get("otel_alerting.outcome") == "delivered"
    ]
    assert delivered and max(p.value for p in delivered) >= 4
    # and the alerts themselves, as OTel log records (event otel_alerting.alert) over OTLP
    records = receiver.log_records()
    events = [r for r in records if r.event_name == "otel_alerting.alert"]
    states = {
        next(kv.value.string_value for kv in r.attributes if kv.key == "otel_alerting.alert.state") for r in events
    }
    assert states == {"firing", "resolved"}, f"alert log records: {len(events)} of {len(records)}"


def write_rules(tmp_path: Path, text: str = LEVEL_RULES) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_level_app_alert_fires_and_resolves(receiver: OtlpReceiver, tmp_path: Path) -> None:
    env = instrumented_env(receiver, PHASES="0:0.5,700:1.5,0:1", OTEL_PYTHON_ALERTING_RULES=str(write_rules(tmp_path)))
    run = run_instrumented(LEVEL_APP, env)
    assert run.returncode == 0, run.stderr
    assert "loaded modules include otel_alerting: True" in run.stdout  # the distro loaded it, not the app
    assert "OTEL_METRICS_EXPORTER=otel_alerting\n" in run.stdout  # the default: export mode, one reader
    assert alert_lines(run.stderr, "FIRING", "LevelHigh"), run.stderr
    assert alert_lines(run.stderr, "RESOLVED", "LevelHigh"), run.stderr
    assert "app.level" in receiver.metric_names()


def test_bad_configuration_never_breaks_the_host(receiver: OtlpReceiver, tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path,
        LEVEL_RULES
        + """
  - alert: Broken
    expr: {value: {metric: app.level}}
    above: {high: 1, medium: 5}
""",
    )
    env = instrumented_env(
        receiver,
        PHASES="0:0.3,700:1.5,0:0.8",
        OTEL_PYTHON_ALERTING_RULES=str(rules),
        OTEL_PYTHON_ALERTING_COOLDOWN="soon",
    )
    run = run_instrumented(LEVEL_APP, env)
    assert run.returncode == 0, run.stderr
    assert "app: done" in run.stdout
    errors = [line for line in run.stderr.splitlines() if "configuration problem" in line]
    assert len(errors) == 1, run.stderr
    assert "OTEL_PYTHON_ALERTING_COOLDOWN: invalid value 'soon'" in run.stderr
    assert re.search(r"rules\.yaml:\d+: rules\[1\] \(Broken\)\.above: high \(1\) must be above medium", run.stderr)
    # the good rule still works and telemetry still flows
    assert alert_lines(run.stderr, "FIRING", "LevelHigh"), run.stderr
    assert "app.level" in receiver.metric_names()


def test_strict_mode_stops_at_start_up(receiver: OtlpReceiver, tmp_path: Path) -> None:
    env = instrumented_env(
        receiver,
        PHASES="0:0.2",
        OTEL_PYTHON_ALERTING_RULES=str(write_rules(tmp_path)),
        OTEL_PYTHON_ALERTING_STRICT="true",
        OTEL_PYTHON_ALERTING_INTERVAL="fast",
    )
    run = run_instrumented(LEVEL_APP, env)
    assert run.returncode == 1, run.stderr
    assert "app: done" not in run.stdout
    assert "OTEL_PYTHON_ALERTING_INTERVAL: invalid value 'fast'" in run.stderr
    assert "Fatal Python error" not in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_disabled_adds_no_reader(receiver: OtlpReceiver, tmp_path: Path) -> None:
    env = instrumented_env(
        receiver,
        PHASES="700:1",
        OTEL_PYTHON_ALERTING_RULES=str(write_rules(tmp_path)),
        OTEL_PYTHON_ALERTING_ENABLED="false",
    )
    run = run_instrumented(LEVEL_APP, env)
    assert run.returncode == 0, run.stderr
    assert "OTEL_METRICS_EXPORTER=otlp\n" in run.stdout
    assert not alert_lines(run.stderr, "FIRING", "LevelHigh")
    names = receiver.metric_names()
    assert "app.level" in names
    assert not any(name.startswith("otel_alerting.") for name in names), names


def test_export_mode_evaluates_and_forwards_with_one_reader(receiver: OtlpReceiver, tmp_path: Path) -> None:
    env = instrumented_env(
        receiver,
        PHASES="0:0.3,700:1.5,0:1",
        OTEL_PYTHON_ALERTING_RULES=str(write_rules(tmp_path)),
        OTEL_PYTHON_ALERTING_MODE="export",
    )
    run = run_instrumented(LEVEL_APP, env)
    assert run.returncode == 0, run.stderr
    # the configurator folded the OTLP exporter into the alerting reader
    assert "OTEL_METRICS_EXPORTER=otel_alerting\n" in run.stdout
    assert alert_lines(run.stderr, "FIRING", "LevelHigh"), run.stderr
    assert alert_lines(run.stderr, "RESOLVED", "LevelHigh"), run.stderr
    names = receiver.metric_names()
    assert {"app.level", "app.requests", "otel_alerting.alerts"} <= names, names


def test_forked_worker_evaluates_its_own_alerts(receiver: OtlpReceiver, tmp_path: Path) -> None:
    env = instrumented_env(
        receiver,
        FORK="1",
        PHASES="0:2.5",
        PHASES_CHILD="700:1.5,0:0.5",
        OTEL_PYTHON_ALERTING_RULES=str(write_rules(tmp_path)),
    )
    run = run_instrumented(LEVEL_APP, env)
    assert run.returncode == 0, run.stderr
    fired = alert_lines(run.stderr, "FIRING", "LevelHigh")
    assert any("proc=child" in line for line in fired), run.stderr
    assert not any("proc=parent" in line for line in fired), run.stderr
