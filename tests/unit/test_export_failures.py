"""Failed exports in export mode: counted, logged once per error, and the built-in
``TelemetryExportFailing`` rule that fires on them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from otel_alerting.export_mode import Forwarder
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
