"""End to end: OTEL_CONFIG_FILE (declarative configuration) under opentelemetry-instrument,
the alerting reader named in the file as ``pull: exporter: otel_alerting``."""

from __future__ import annotations

from pathlib import Path

import opentelemetry.configuration  # noqa: F401  (the package the SDK hands the file to)

from otel_alerting.testing import OtlpReceiver

from .instrumented import instrumented_env, run_instrumented
from .test_instrument import LEVEL_APP, alert_lines, write_rules

CONFIG = """
file_format: "1.0"
resource:
  attributes:
    - name: service.name
      value: from-file
meter_provider:
  readers:
    - periodic:
        interval: 300
        exporter:
          otlp_http:
            endpoint: {endpoint}/v1/metrics
    - pull:
        exporter:
          otel_alerting:
            interval: 100
logger_provider:
  processors:
    - batch:
        schedule_delay: 200
        exporter:
          otlp_http:
            endpoint: {endpoint}/v1/logs
"""


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "otel.yaml"
    path.write_text(text)
    return path


def file_env(receiver: OtlpReceiver, tmp_path: Path, config: str) -> dict[str, str]:
    env = instrumented_env(
        receiver,
        PHASES="0:0.3,700:1.5,0:1",
        OTEL_PYTHON_ALERTING_RULES=str(write_rules(tmp_path)),
        OTEL_CONFIG_FILE=str(write_config(tmp_path, config.format(endpoint=receiver.endpoint))),
    )
    # the file is the only source: none of this may be what makes the test pass
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_PYTHON_ALERTING_INTERVAL"):
        env.pop(name)
    return env


def test_alerting_reader_from_the_configuration_file(receiver: OtlpReceiver, tmp_path: Path) -> None:
    run = run_instrumented(LEVEL_APP, file_env(receiver, tmp_path, CONFIG))
    assert run.returncode == 0, run.stderr
    assert "loaded modules include otel_alerting: True" in run.stdout
    assert alert_lines(run.stderr, "FIRING", "LevelHigh"), run.stderr
    assert alert_lines(run.stderr, "RESOLVED", "LevelHigh"), run.stderr
    assert "Plugin 'otel_alerting' not found" not in run.stderr
    assert "ignoring configurator kwargs" not in run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    # the file's periodic reader exports the application's metrics and the plugin's own
    points = [p for p in receiver.metric_points() if p.metric == "app.level"]
    assert points, receiver.metric_names()
    assert points[0].resource.get("service.name") == "from-file"
    assert "otel_alerting.alerts" in receiver.metric_names()
    # and the alert events through the file's logger provider
    events = [r for r in receiver.log_records() if r.event_name == "otel_alerting.alert"]
    assert events, "no otel_alerting.alert log record reached the receiver"


def test_a_file_without_the_alerting_reader_is_a_warning(receiver: OtlpReceiver, tmp_path: Path) -> None:
    config = CONFIG.replace("    - pull:\n        exporter:\n          otel_alerting:\n            interval: 100\n", "")
    run = run_instrumented(LEVEL_APP, file_env(receiver, tmp_path, config))
    assert run.returncode == 0, run.stderr
    assert "names no otel_alerting reader, so no alert is evaluated" in run.stderr
    assert not alert_lines(run.stderr, "FIRING", "LevelHigh"), run.stderr
    assert "app.level" in receiver.metric_names()
