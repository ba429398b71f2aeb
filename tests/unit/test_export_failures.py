"""Failed exports in export mode and, through the host's periodic reader, in reader mode:
counted, logged once per error, and the built-in
``TelemetryExportFailing`` rule that fires on them."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)

from otel_alerting.config import Settings
from otel_alerting.engine.lifecycle import AlertState
from otel_alerting.export_mode import Forwarder
from otel_alerting.export_watch import watch_exports
from otel_alerting.reader import AlertingMetricReader
from otel_alerting.testing import RuleTester

FAILURES = "otel_alerting.export.failures"


class ScriptedExporter(MetricExporter):
    """Answers each export with the next result; an exception class is raised."""

    def __init__(self, results: Sequence[MetricExportResult | type[Exception]]) -> None:
        super().__init__()
        self.results = list(results)
        self.calls = 0

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        result = self.results[min(self.calls, len(self.results) - 1)]
        self.calls += 1
        if isinstance(result, type):
            raise result("refused at http://collector.invalid/v1/metrics")
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        pass


def _export_all(results: Sequence[MetricExportResult | type[Exception]]) -> tuple[Forwarder, list[None]]:
    counted: list[None] = []
    exporter = ScriptedExporter(results)
    forwarder = Forwarder([exporter], {}, every_collection=True, on_failure=lambda: counted.append(None))
    for _ in results:
        forwarder.offer(MetricsData(resource_metrics=[]))
    assert forwarder.flush(5.0)
    forwarder.shutdown(1.0)
    return forwarder, counted


def test_each_failed_export_is_counted_and_a_success_is_not(caplog: pytest.LogCaptureFixture) -> None:
    fail, ok = MetricExportResult.FAILURE, MetricExportResult.SUCCESS
    with caplog.at_level(logging.INFO, "otel_alerting"):
        forwarder, counted = _export_all([fail, fail, ok, fail, ConnectionError, ConnectionError, fail])
    assert forwarder.failures == len(counted) == 6
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # logged when failing starts (after a success too) and when the error changes, not on every failure
    assert len(warnings) == 4
    assert "FAILURE returned" in warnings[0] and "ConnectionError raised" in warnings[2]
    assert all("collector.invalid" not in w for w in warnings)
    assert any("works again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_a_failing_counter_callback_does_not_stop_the_forwarder() -> None:
    exporter = ScriptedExporter([MetricExportResult.FAILURE, MetricExportResult.SUCCESS])

    def broken() -> None:
        raise RuntimeError("no telemetry")

    forwarder = Forwarder([exporter], {}, every_collection=True, on_failure=broken)
    forwarder.offer(MetricsData(resource_metrics=[]))
    forwarder.offer(MetricsData(resource_metrics=[]))
    assert forwarder.flush(5.0)
    forwarder.shutdown(1.0)
    assert (exporter.calls, forwarder.failures) == (2, 1)


def test_the_rule_fires_at_high_after_two_minutes_of_failed_exports_and_resolves_after_the_window() -> None:
    with RuleTester(builtin=True, interval="10s") as tester:
        tester.step()
        tester.assert_inactive("TelemetryExportFailing")
        notifications = []
        for _ in range(15):  # a failed export every 10 s, for 2.5 minutes
            tester.count(FAILURES)
            notifications += tester.step()
        tester.assert_firing("TelemetryExportFailing", "high")
        (fired,) = [n for n in notifications if n.alert == "TelemetryExportFailing"]
        assert fired.annotations["summary"].startswith("Metric exports to the collector are failing")
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" in fired.annotations["description"]
        tester.advance("6m")  # the exports work again: no failure in the 5 minute window
        tester.assert_inactive("TelemetryExportFailing")


def test_one_failure_is_pending_before_it_fires() -> None:
    with RuleTester(builtin=True, interval="10s") as tester:
        tester.count(FAILURES)
        tester.step()
        tester.step()
        tester.assert_pending("TelemetryExportFailing")


def test_no_failure_counted_never_fires() -> None:
    with RuleTester(builtin=True, interval="10s") as tester:
        tester.advance("10m")
        tester.assert_inactive("TelemetryExportFailing")


# --- reader mode: the exports of the host's PeriodicExportingMetricReader ---------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _reader_mode(
    results: Sequence[MetricExportResult | type[Exception]],
) -> tuple[ScriptedExporter, PeriodicExportingMetricReader, AlertingMetricReader, MeterProvider, Clock]:
    clock = Clock()
    exporter = ScriptedExporter(results)
    periodic = PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)
    alerting = AlertingMetricReader(Settings(mode="reader"), channels=[], clock=clock, start_timer=False)
    provider = MeterProvider(metric_readers=[periodic, alerting], shutdown_on_exit=False)
    return exporter, periodic, alerting, provider, clock


def _firing(alerting: AlertingMetricReader, name: str) -> bool:
    system = alerting.system
    assert system is not None
    return any(a.alert == name and a.state is AlertState.FIRING for a in system.manager.active())


def test_reader_mode_counts_the_failed_exports_of_the_periodic_reader_and_the_rule_fires(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fail = MetricExportResult.FAILURE
    exporter, periodic, alerting, provider, clock = _reader_mode([fail])
    try:
        assert alerting.system is not None
        provider.get_meter("app").create_counter("app.requests").add(1)
        with caplog.at_level(logging.INFO, "otel_alerting"):
            for _ in range(15):  # an export every 10 s, each one failing, for 2.5 minutes
                clock.now += 10
                periodic.collect()
                alerting.collect()
        assert exporter.calls == 15
        assert _firing(alerting, "TelemetryExportFailing")
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert [w for w in warnings if "ScriptedExporter failed (FAILURE returned)" in w] == warnings[:1]
        assert len([w for w in warnings if "counted in otel_alerting.export.failures" in w]) == 1
    finally:
        provider.shutdown()


def test_reader_mode_passes_results_and_exceptions_through_and_successes_are_not_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ok = MetricExportResult.SUCCESS
    exporter, _periodic, alerting, provider, _clock = _reader_mode([ok, ConnectionError, ok])
    counted: list[None] = []
    system = alerting.system
    assert system is not None
    system.record_export_failure = lambda: counted.append(None)  # type: ignore[method-assign]
    data = MetricsData(resource_metrics=[])
    try:
        assert exporter.export(data) is ok
        with pytest.raises(ConnectionError):  # the exporter's own exception, unchanged
            exporter.export(data)
        assert len(counted) == 1
        with caplog.at_level(logging.INFO, "otel_alerting"):
            assert exporter.export(data) is ok
        assert len(counted) == 1
        assert any("works again" in r.getMessage() for r in caplog.records)
    finally:
        provider.shutdown()


def test_reader_mode_without_a_periodic_reader_wraps_nothing_and_never_raises() -> None:
    assert watch_exports(object(), lambda: None) == 0
    assert watch_exports(MeterProvider(shutdown_on_exit=False), lambda: None) == 0


def test_two_alerting_readers_count_each_failure_once() -> None:
    exporter = ScriptedExporter([MetricExportResult.FAILURE])
    periodic = PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)
    counted: list[None] = []
    provider = MeterProvider(metric_readers=[periodic], shutdown_on_exit=False)
    try:
        assert watch_exports(provider, lambda: counted.append(None)) == 1
        assert watch_exports(provider, lambda: counted.append(None)) == 0
        exporter.export(MetricsData(resource_metrics=[]))
        assert len(counted) == 1
    finally:
        provider.shutdown()


def test_export_mode_does_not_wrap_the_exporters_of_other_readers() -> None:
    exporter = ScriptedExporter([MetricExportResult.FAILURE])
    original = exporter.export
    periodic = PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)
    alerting = AlertingMetricReader(Settings(mode="export"), channels=[], exporters=[], start_timer=False)
    provider = MeterProvider(metric_readers=[periodic, alerting], shutdown_on_exit=False)
    try:
        assert exporter.export == original
    finally:
        provider.shutdown()


def test_reader_mode_finds_a_periodic_reader_registered_after_the_alerting_reader() -> None:
    exporter = ScriptedExporter([MetricExportResult.FAILURE])
    periodic = PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)
    alerting = AlertingMetricReader(Settings(mode="reader"), channels=[], start_timer=False)
    provider = MeterProvider(metric_readers=[alerting, periodic], shutdown_on_exit=False)
    counted: list[None] = []
    system = alerting.system
    assert system is not None
    system.record_export_failure = lambda: counted.append(None)  # type: ignore[method-assign]
    try:
        provider.get_meter("app").create_counter("app.requests").add(1)  # without data the SDK exports nothing
        periodic.collect()
        assert (exporter.calls, len(counted)) == (1, 1)
    finally:
        provider.shutdown()
