"""The alerting reader built by OpenTelemetry's declarative configuration (OTEL_CONFIG_FILE)."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from otel_alerting.declarative import properties_as_environment, pull_exporter
from otel_alerting.reader import AlertingMetricReader

from .test_distro import run_configure

CONFIG = """
file_format: "1.0"
meter_provider:
  readers:
    - periodic:
        exporter:
          console: {{}}
    - pull:
        exporter:
          otel_alerting: {properties}
"""


def test_the_entry_point_the_file_looks_up_is_registered() -> None:
    (entry_point,) = entry_points(group="opentelemetry_pull_metric_exporter", name="otel_alerting")
    assert entry_point.load() is pull_exporter


def test_configurator_builds_the_files_readers_in_reader_mode(tmp_path: Path) -> None:
    config = tmp_path / "otel.yaml"
    config.write_text(CONFIG.format(properties="{interval: 250}"))
    # what the distro sets: the file, not these, decides the readers
    done = run_configure(OTEL_CONFIG_FILE=str(config), OTEL_METRICS_EXPORTER="otlp,otel_alerting")
    assert done.returncode == 0, done.stderr
    assert "readers: ['AlertingMetricReader', 'PeriodicExportingMetricReader']" in done.stdout
    assert "mode: reader" in done.stdout
    assert "forwards to: []" in done.stdout
    assert "ignoring configurator kwargs" not in done.stderr
    assert "names no otel_alerting reader" not in done.stderr


def test_properties_are_settings_and_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PYTHON_ALERTING_INTERVAL", "5000")
    reader = pull_exporter(interval=250, channels=["log", "console"], OTEL_PYTHON_ALERTING_HTTP_PORT="")
    try:
        assert isinstance(reader, AlertingMetricReader)
        assert reader.settings.interval_ms == 250
        assert reader.settings.mode == "reader"
    finally:
        reader.shutdown()


@pytest.mark.parametrize(
    ("properties", "expected", "warning"),
    [
        ({"enabled": False, "interval": 1.5}, {"OTEL_PYTHON_ALERTING_ENABLED": "false"}, None),
        ({"rule_cachehitratelow_for": "5s"}, {"OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_FOR": "5s"}, None),
        ({"no_such_setting": 1}, {}, "names no setting"),
        ({"interval": {"ms": 5}}, {}, "is not a value or a list"),
    ],
)
def test_properties_as_environment(
    caplog: pytest.LogCaptureFixture, properties: dict[str, object], expected: dict[str, str], warning: str | None
) -> None:
    with caplog.at_level(logging.WARNING, "otel_alerting"):
        environ = properties_as_environment(properties)
    assert expected.items() <= environ.items()
    assert (warning in caplog.text) if warning else not caplog.text


def test_a_bad_property_value_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    reader = pull_exporter(interval="soon", bogus=[{"a": 1}])
    try:
        assert isinstance(reader, AlertingMetricReader)
    finally:
        reader.shutdown()
    assert "OTEL_PYTHON_ALERTING_INTERVAL" in caplog.text


def test_a_file_without_the_reader_is_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "otel.yaml"
    config.write_text(CONFIG.split("    - pull:")[0].replace("{{}}", "{}"))
    done = run_configure(OTEL_CONFIG_FILE=str(config))
    assert done.returncode == 0, done.stderr
    assert "readers: ['PeriodicExportingMetricReader']" in done.stdout
    assert "names no otel_alerting reader, so no alert is evaluated" in done.stderr
