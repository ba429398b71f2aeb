"""An unreachable collector, in export mode (the alerting reader's exporters) and in reader
mode (the SDK's OTLP reader beside it): in-process alerting goes on and the built-in
``TelemetryExportFailing`` fires on the log channel; with a working collector it does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_alerting.testing import OtlpReceiver
from tests.support.ports import HOST, free_port

from .instrumented import APPS, instrumented_env, run_instrumented

RULES = """\
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level}
    above: {high: 1}
"""


MODES = pytest.mark.parametrize("mode", ["export", "reader"])


def _env(receiver: OtlpReceiver, tmp_path: Path, endpoint: str, mode: str) -> dict[str, str]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    return instrumented_env(
        receiver,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_TIMEOUT="1",
        OTEL_METRIC_EXPORT_TIMEOUT="1000",
        OTEL_PYTHON_ALERTING_MODE=mode,
        OTEL_PYTHON_ALERTING_CHANNELS="log",
        OTEL_PYTHON_ALERTING_RULES=str(rules),
        # the built-in thresholds (5m window, for 2m) scaled down to the test's seconds
        OTEL_PYTHON_ALERTING_RULE_TELEMETRYEXPORTFAILING_WINDOW="10s",
        OTEL_PYTHON_ALERTING_RULE_TELEMETRYEXPORTFAILING_FOR="1s",
        PHASES="5:5",
    )


def _lines(stderr: str, alert: str) -> list[str]:
    return [line for line in stderr.splitlines() if alert in line and "FIRING" in line]


@MODES
def test_an_unreachable_collector_fires_telemetry_export_failing_and_other_alerts_still_fire(
    receiver: OtlpReceiver, tmp_path: Path, mode: str
) -> None:
    closed = free_port()
    run = run_instrumented(APPS / "level_app.py", _env(receiver, tmp_path, f"http://{HOST}:{closed}", mode))
    assert run.returncode == 0, run.stderr[-3000:]
    assert _lines(run.stderr, "TelemetryExportFailing"), run.stderr[-3000:]
    assert any("HIGH" in line for line in _lines(run.stderr, "TelemetryExportFailing"))
    assert _lines(run.stderr, "LevelHigh"), run.stderr[-3000:]
    assert "counted in otel_alerting.export.failures" in run.stderr


@MODES
def test_a_working_collector_does_not_fire_it(receiver: OtlpReceiver, tmp_path: Path, mode: str) -> None:
    run = run_instrumented(APPS / "level_app.py", _env(receiver, tmp_path, receiver.endpoint, mode))
    assert run.returncode == 0, run.stderr[-3000:]
    assert _lines(run.stderr, "LevelHigh"), run.stderr[-3000:]
    assert "TelemetryExportFailing" not in run.stderr
    assert receiver.metric_names()  # the metrics did reach the collector
