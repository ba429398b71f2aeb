"""The distro sets defaults only; the configurator plans the metric readers and never raises."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from otel_alerting.config import load_settings
from otel_alerting.distro import AlertingDistro, plan_metric_exporters

READER = {"OTEL_PYTHON_ALERTING_MODE": "reader"}


@pytest.mark.parametrize(
    ("environ", "exporters", "forward", "mode"),
    [
        ({"OTEL_METRICS_EXPORTER": "otlp", **READER}, "otlp,otel_alerting", None, "reader"),
        ({"OTEL_METRICS_EXPORTER": "otlp,otel_alerting", **READER}, "otlp,otel_alerting", None, "reader"),
        ({"OTEL_METRICS_EXPORTER": "none", **READER}, "otel_alerting", None, "reader"),
        (READER, "otel_alerting", None, "reader"),
        ({"OTEL_METRICS_EXPORTER": "otlp,otel_alerting", "OTEL_PYTHON_ALERTING_ENABLED": "false"}, "otlp", None, None),
        ({"OTEL_METRICS_EXPORTER": "otel_alerting", "OTEL_PYTHON_ALERTING_ENABLED": "false"}, "none", None, None),
        (
            {"OTEL_METRICS_EXPORTER": "otlp,otel_alerting", "OTEL_PYTHON_ALERTING_MODE": "export"},
            "otel_alerting",
            "otlp",
            "export",
        ),
        (
            {
                "OTEL_METRICS_EXPORTER": "otlp_proto_http,console",
                "OTEL_PYTHON_ALERTING_MODE": "export",
            },
            "otel_alerting",
            "otlp_proto_http,console",
            "export",
        ),
        (
            {
                "OTEL_METRICS_EXPORTER": "otlp",
                "OTEL_PYTHON_ALERTING_MODE": "export",
                "OTEL_PYTHON_ALERTING_EXPORTERS": "console",
            },
            "otel_alerting",
            "console",
            "export",
        ),
        # the mode unset: export, the one aggregation, forwarding to what OTEL_METRICS_EXPORTER names
        ({"OTEL_METRICS_EXPORTER": "otlp"}, "otel_alerting", "otlp", "export"),
        ({"OTEL_METRICS_EXPORTER": "otlp,otel_alerting"}, "otel_alerting", "otlp", "export"),
        ({"OTEL_METRICS_EXPORTER": "none"}, "otel_alerting", "none", "export"),
        ({}, "otel_alerting", "none", "export"),
        # a pull exporter stays a reader of its own, and nothing is pushed
        ({"OTEL_METRICS_EXPORTER": "prometheus,otel_alerting"}, "otel_alerting,prometheus", "none", "export"),
        ({"OTEL_METRICS_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "1000"}, "otel_alerting", "otlp", "export"),
        # ... unless export mode would change what the collector receives: reader
        (
            {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "DELTA"},
            "otlp,otel_alerting",
            None,
            "reader",
        ),
        (
            {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "lowmemory"},
            "otlp,otel_alerting",
            None,
            "reader",
        ),
        ({"OTEL_METRICS_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "500"}, "otlp,otel_alerting", None, "reader"),
        (
            {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_PYTHON_ALERTING_INTERVAL": "120000"},
            "otlp,otel_alerting",
            None,
            "reader",
        ),
        # read as the reader reads them: in any case, blanks around; blanks alone are unset
        (
            {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_PYTHON_ALERTING_MODE": " EXPORT "},
            "otel_alerting",
            "otlp",
            " EXPORT ",
        ),
        ({"OTEL_METRICS_EXPORTER": "otlp", "OTEL_PYTHON_ALERTING_MODE": " "}, "otel_alerting", "otlp", "export"),
        (
            {
                "OTEL_METRICS_EXPORTER": "console",
                "OTEL_PYTHON_ALERTING_MODE": "export",
                "OTEL_PYTHON_ALERTING_EXPORTERS": " ",
            },
            "otel_alerting",
            "console",
            "export",
        ),
        # not a mode: reader, as the reader falls back (and reports it)
        ({"OTEL_METRICS_EXPORTER": "otlp", "OTEL_PYTHON_ALERTING_MODE": "both"}, "otlp,otel_alerting", None, "both"),
    ],
)
def test_plan_metric_exporters(environ: dict[str, str], exporters: str, forward: str | None, mode: str | None) -> None:
    env = dict(environ)
    plan_metric_exporters(env)
    assert env["OTEL_METRICS_EXPORTER"] == exporters
    assert env.get("OTEL_PYTHON_ALERTING_EXPORTERS") == forward
    assert env.get("OTEL_PYTHON_ALERTING_MODE") == mode


@pytest.mark.parametrize("mode", [None, " ", "export", "Export", " reader ", "both"])
def test_the_plan_and_the_reader_read_the_mode_alike(mode: str | None) -> None:
    """The reader forwards to the push exporters exactly when the plan took them off the SDK."""
    env = {"OTEL_METRICS_EXPORTER": "otlp"} | ({} if mode is None else {"OTEL_PYTHON_ALERTING_MODE": mode})
    plan_metric_exporters(env)
    settings = load_settings(env)
    assert ("otlp" in env["OTEL_METRICS_EXPORTER"].split(",")) == (settings.mode == "reader")
    assert env["OTEL_METRICS_EXPORTER"].split(",").count("otel_alerting") == 1


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
import sys
from opentelemetry import metrics
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from otel_alerting.distro import AlertingConfigurator
configurator = AlertingConfigurator if sys.argv[1] == "otel_alerting" else _OTelSDKConfigurator
configurator().configure()
provider = metrics.get_meter_provider()
readers = getattr(provider, "_all_metric_readers", set())
print("provider:", type(provider).__name__)
print("readers:", sorted(type(r).__name__ for r in readers))
for reader in readers:
    forwarder = getattr(reader, "_forwarder", None)
    if hasattr(reader, "settings"):
        print("mode:", reader.settings.mode)
        print("forwards to:", sorted(type(e).__name__ for e in forwarder._exporters) if forwarder else [])
"""


def run_configure(configurator: str = "otel_alerting", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", CONFIGURE, configurator], env=clean, capture_output=True, text=True, timeout=60
    )


def test_configurator_adds_the_alerting_reader_under_any_exporter_list() -> None:
    done = run_configure(
        OTEL_METRICS_EXPORTER="console",
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_PYTHON_ALERTING_MODE="reader",
    )
    assert done.returncode == 0, done.stderr
    assert "readers: ['AlertingMetricReader', 'PeriodicExportingMetricReader']" in done.stdout


def test_the_plugins_configurator_defaults_to_export_mode() -> None:
    done = run_configure(OTEL_METRICS_EXPORTER="console", OTEL_TRACES_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    assert done.returncode == 0, done.stderr
    assert "readers: ['AlertingMetricReader']" in done.stdout
    assert "mode: export" in done.stdout
    assert "forwards to: ['ConsoleMetricExporter']" in done.stdout


def test_under_another_configurator_the_exporter_entry_point_defaults_to_reader_mode() -> None:
    """``OTEL_METRICS_EXPORTER=otlp,otel_alerting`` under another distro: the SDK's
    configurator builds the readers, so the alerting reader is a second one."""
    done = run_configure(
        "sdk",
        OTEL_METRICS_EXPORTER="console,otel_alerting",
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
    )
    assert done.returncode == 0, done.stderr
    assert "readers: ['AlertingMetricReader', 'PeriodicExportingMetricReader']" in done.stdout
    assert "mode: reader" in done.stdout
    assert "forwards to: []" in done.stdout


def test_configurator_does_not_raise_when_the_sdk_cannot_be_configured() -> None:
    done = run_configure(
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon",
        OTEL_TRACES_EXPORTER="none",
        OTEL_PYTHON_ALERTING_MODE="reader",
    )
    assert done.returncode == 0, done.stderr
    assert "the OpenTelemetry SDK could not be configured" in done.stderr
    assert "Unsupported OTLP protocol 'carrier-pigeon'" in done.stderr


def test_export_mode_reports_an_exporter_it_cannot_build_and_goes_on() -> None:
    done = run_configure(
        OTEL_METRICS_EXPORTER="otlp", OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon", OTEL_TRACES_EXPORTER="none"
    )
    assert done.returncode == 0, done.stderr
    assert "otel-alerting: cannot create metric exporter 'otlp'" in done.stderr
    assert "Unsupported OTLP protocol 'carrier-pigeon'" in done.stderr
    assert "readers: ['AlertingMetricReader']" in done.stdout
    assert "forwards to: []" in done.stdout
