"""The distro sets defaults only; the configurator plans the metric readers and never raises."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from otel_alerting.distro import AlertingDistro, plan_metric_exporters


@pytest.mark.parametrize(
    ("environ", "exporters", "forward"),
    [
        ({"OTEL_METRICS_EXPORTER": "otlp"}, "otlp,otel_alerting", None),
        ({"OTEL_METRICS_EXPORTER": "otlp,otel_alerting"}, "otlp,otel_alerting", None),
        ({"OTEL_METRICS_EXPORTER": "none"}, "otel_alerting", None),
        ({}, "otel_alerting", None),
        ({"OTEL_METRICS_EXPORTER": "otlp,otel_alerting", "OTEL_PYTHON_ALERTING_ENABLED": "false"}, "otlp", None),
        ({"OTEL_METRICS_EXPORTER": "otel_alerting", "OTEL_PYTHON_ALERTING_ENABLED": "false"}, "none", None),
        (
            {"OTEL_METRICS_EXPORTER": "otlp,otel_alerting", "OTEL_PYTHON_ALERTING_MODE": "export"},
            "otel_alerting",
            "otlp",
        ),
        (
            {
                "OTEL_METRICS_EXPORTER": "otlp_proto_http,console",
                "OTEL_PYTHON_ALERTING_MODE": "export",
            },
            "otel_alerting",
            "otlp_proto_http,console",
        ),
        (
            {
                "OTEL_METRICS_EXPORTER": "otlp",
                "OTEL_PYTHON_ALERTING_MODE": "export",
                "OTEL_PYTHON_ALERTING_EXPORTERS": "console",
            },
            "otel_alerting",
            "console",
        ),
    ],
)
def test_plan_metric_exporters(environ: dict[str, str], exporters: str, forward: str | None) -> None:
    env = dict(environ)
    plan_metric_exporters(env)
    assert env["OTEL_METRICS_EXPORTER"] == exporters
    assert env.get("OTEL_PYTHON_ALERTING_EXPORTERS") == forward


def test_distro_only_sets_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    AlertingDistro().configure()
    assert os.environ["OTEL_TRACES_EXPORTER"] == "console"
    assert os.environ["OTEL_METRICS_EXPORTER"] == "otlp,otel_alerting"
    assert os.environ["OTEL_LOGS_EXPORTER"] == "otlp"
    assert os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert os.environ["OTEL_PYTHON_CONFIGURATOR"] == "otel_alerting"


CONFIGURE = """
from opentelemetry import metrics
from otel_alerting.distro import AlertingConfigurator
AlertingConfigurator().configure()
provider = metrics.get_meter_provider()
readers = getattr(provider, "_all_metric_readers", set())
print("provider:", type(provider).__name__)
print("readers:", sorted(type(r).__name__ for r in readers))
"""


def run_configure(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    clean.update(env)
    return subprocess.run([sys.executable, "-c", CONFIGURE], env=clean, capture_output=True, text=True, timeout=60)


def test_configurator_adds_the_alerting_reader_under_any_exporter_list() -> None:
    done = run_configure(OTEL_METRICS_EXPORTER="console", OTEL_TRACES_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    assert done.returncode == 0, done.stderr
    assert "readers: ['AlertingMetricReader', 'PeriodicExportingMetricReader']" in done.stdout


def test_configurator_does_not_raise_when_the_sdk_cannot_be_configured() -> None:
    done = run_configure(
        OTEL_METRICS_EXPORTER="otlp", OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon", OTEL_TRACES_EXPORTER="none"
    )
    assert done.returncode == 0, done.stderr
    assert "the OpenTelemetry SDK could not be configured" in done.stderr
    assert "Unsupported OTLP protocol 'carrier-pigeon'" in done.stderr
