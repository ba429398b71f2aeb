"""The export of folded deltas against the SDK's own cumulative aggregation.

One real MeterProvider feeds two readers the same measurements: a cumulative
``InMemoryMetricReader`` (what the SDK would export) and a reader that takes counters
and histograms as deltas, whose collections go through ``CumulativeExport``. The SDK's
clock is replaced by a counter, so that both readers collect at the same instant and
start times can be compared."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pytest
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import (
    AlwaysOnExemplarFilter,
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics._internal import _view_instrument_match, instrument, metric_reader_storage
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    HistogramDataPoint,
    InMemoryMetricReader,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_alerting.cumulative import CumulativeExport, exports_folded

DELTA = AggregationTemporality.DELTA
CUMULATIVE = AggregationTemporality.CUMULATIVE


class SdkClock:
    """The SDK's ``time_ns`` where it dates aggregations, collections and observations."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_000_000_000
        for module in (_view_instrument_match, instrument, metric_reader_storage):
            monkeypatch.setattr(module, "time_ns", lambda: self.now)


def points(data: MetricsData) -> dict[tuple[str, str, frozenset[Any]], dict[str, Any]]:
    """Every point by (scope, metric, attributes), with its metric's kind."""
    found: dict[tuple[str, str, frozenset[Any]], dict[str, Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = {
                    "type": type(metric.data).__name__,
                    "temporality": getattr(metric.data, "aggregation_temporality", None),
                    "monotonic": getattr(metric.data, "is_monotonic", None),
                    "unit": metric.unit,
                    "description": metric.description,
                }
                for point in metric.data.data_points:
                    key = (sm.scope.name, metric.name, frozenset((point.attributes or {}).items()))
                    assert key not in found, key
                    found[key] = {**kind, **vars(point)}
    return found


def without_start(found: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {key: {k: v for k, v in point.items() if k != "start_time_unix_nano"} for key, point in found.items()}


def test_folded_deltas_equal_the_sdks_cumulative_export(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SdkClock(monkeypatch)
    cumulative = InMemoryMetricReader()
    delta = InMemoryMetricReader(preferred_temporality={Counter: DELTA, Histogram: DELTA})
    provider = MeterProvider(
        metric_readers=[cumulative, delta], exemplar_filter=AlwaysOnExemplarFilter(), shutdown_on_exit=False
    )
    meter = provider.get_meter("app")
    other = provider.get_meter("other", "1.0")
    ints = meter.create_counter("app.requests", unit="1", description="requests")
    floats = meter.create_counter("app.seconds", unit="s")
    latency = meter.create_histogram("app.latency", unit="ms", explicit_bucket_boundaries_advisory=[1.0, 10.0, 100.0])
    default_buckets = other.create_histogram("other.size")
    queue = meter.create_up_down_counter("app.queue")
    temperature = meter.create_gauge("app.temperature")
    total = [0]

    def observe(options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(total[0], {"source": "callback"})

    meter.create_observable_counter("app.observed", callbacks=[observe])
    fold = CumulativeExport(cardinality_limit=2000)
    #: the step at which each series was first collected
    first_measured: dict[tuple[str, str, frozenset[Any]], int] = {}
    collections = [clock.now]

    def measure(step: int) -> None:
        routes = ["/a", "/b", "/c"] if step % 3 == 0 else ["/a"]  # /b and /c idle for two collections
        for i, route in enumerate(routes):
            ints.add(step + i, {"route": route, "method": "GET"})
            floats.add(0.1 * (step + 1), {"route": route})
            latency.record(0.5 + 7.3 * step * (i + 1), {"route": route})
        if step in (1, 4):
            latency.record(250.0, {"route": "/late"})  # first seen after a collection
            ints.add(7, {"route": "/late", "method": "POST"})
        if step < 2:
            default_buckets.record(3 * step + 1, {"k": "v"})  # then idle to the end
        queue.add(5 - 2 * step, {"q": "jobs"})
        if step % 2 == 0:
            temperature.set(20.5 + step, {"room": "a"})
        total[0] += 3 * step

    for step in range(7):
        clock.now += 1_000  # measurements happen after the last collection
        measure(step)
        clock.now += 1_000
        collections.append(clock.now)
        expected = cumulative.get_metrics_data()
        assert expected is not None
        data = delta.get_metrics_data()
        assert data is not None
        for key in points(data):
            first_measured.setdefault(key, step)
        fold.add(data)
        want, have = points(expected), points(fold.snapshot())
        assert without_start(have) == without_start(want), f"collection {step + 1}"
        for key, point in have.items():
            start, sdk_start = point["start_time_unix_nano"], want[key]["start_time_unix_nano"]
            if key[1] not in ("app.requests", "app.seconds", "app.latency", "other.size"):
                assert start == sdk_start, key  # exported as collected
            elif first_measured[key] == 0:
                assert start == sdk_start, key  # both: the first measurement
            else:
                # the SDK's: its first measurement; here: the collection before it
                assert start == collections[first_measured[key]] < sdk_start, key
    late = ("app", "app.latency", frozenset({("route", "/late")}))
    assert have[late]["count"] == 2 and have[late]["bucket_counts"] == (0, 0, 0, 2)
    assert have[("other", "other.size", frozenset({("k", "v")}))]["count"] == 2  # idle since collection 2
    assert type(have[("app", "app.requests", frozenset({("route", "/a"), ("method", "GET")}))]["value"]) is int
    assert any(point["exemplars"] for point in have.values())  # compared too
    provider.shutdown()


def test_series_past_the_limit_are_merged_into_the_overflow_series_as_the_sdk_merges_them(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    SdkClock(monkeypatch)
    limit = 5
    cumulative = InMemoryMetricReader(cardinality_limits={Counter: limit})
    delta = InMemoryMetricReader(preferred_temporality={Counter: DELTA}, cardinality_limits={Counter: limit})
    provider = MeterProvider(metric_readers=[cumulative, delta], shutdown_on_exit=False)
    jobs = provider.get_meter("app").create_counter("app.jobs")
    fold = CumulativeExport(cardinality_limit=limit)
    with caplog.at_level(logging.WARNING, logger="otel_alerting"):
        for step in range(6):
            for i in range(2):  # two new series per collection, each measured once
                jobs.add(step + 1, {"job": f"j{2 * step + i}"})
            expected = cumulative.get_metrics_data()
            data = delta.get_metrics_data()
            assert expected is not None and data is not None
            assert len(points(data)) == 2  # the delta reader holds only the live ones
            fold.add(data)
            assert without_start(points(fold.snapshot())) == without_start(points(expected)), f"collection {step}"
    have = points(fold.snapshot())
    assert len(have) == limit + 1
    overflow = have[("app", "app.jobs", frozenset({("otel.metric.overflow", True)}))]
    assert overflow["value"] == 3 + 4 + 4 + 5 + 5 + 6 + 6
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert "app.jobs" in warnings[0] and "alerting still sees each of them" in warnings[0]
    provider.shutdown()


def _histogram(bounds: tuple[float, ...], counts: tuple[int, ...], start: int, now: int) -> MetricsData:
    point = HistogramDataPoint(
        attributes={"k": "v"},
        start_time_unix_nano=start,
        time_unix_nano=now,
        count=sum(counts),
        sum=float(sum(counts)),
        bucket_counts=counts,
        explicit_bounds=bounds,
        min=1.0,
        max=2.0,
    )
    metric = Metric("h", None, None, HistogramData(data_points=[point], aggregation_temporality=DELTA))
    scope = ScopeMetrics(InstrumentationScope("s"), [metric], "")
    return MetricsData([ResourceMetrics(Resource.create({}), [scope], "")])


def test_new_bucket_bounds_start_the_series_again() -> None:
    fold = CumulativeExport(cardinality_limit=10)
    fold.add(_histogram((1.0,), (1, 1), 10, 20))
    fold.add(_histogram((1.0,), (2, 0), 20, 30))
    (point,) = points(fold.snapshot()).values()
    assert (point["bucket_counts"], point["count"], point["start_time_unix_nano"]) == ((3, 1), 4, 10)
    fold.add(_histogram((1.0, 5.0), (0, 1, 1), 30, 40))
    (point,) = points(fold.snapshot()).values()
    assert (point["bucket_counts"], point["count"], point["sum"]) == ((0, 1, 1), 2, 2.0)
    assert (point["start_time_unix_nano"], point["time_unix_nano"]) == (30, 40)


class Preferring(MetricExporter):
    """An exporter with the given preferences that exports nothing."""

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("preferences", "folded"),
    [
        ({}, True),
        ({"preferred_temporality": {Counter: CUMULATIVE, UpDownCounter: CUMULATIVE}}, True),
        ({"preferred_temporality": {Counter: DELTA, ObservableCounter: DELTA, Histogram: DELTA}}, False),
        ({"preferred_temporality": {Counter: DELTA, Histogram: DELTA}}, False),  # lowmemory
        ({"preferred_temporality": {ObservableCounter: DELTA}}, False),
        ({"preferred_temporality": {UpDownCounter: DELTA}}, False),  # any delta wanted
        ({"preferred_aggregation": {Histogram: ExponentialBucketHistogramAggregation()}}, False),
    ],
)
def test_the_gate_folds_only_for_an_exporter_wanting_cumulative_data_and_explicit_bucket_histograms(
    preferences: dict[str, Any], folded: bool
) -> None:
    assert exports_folded(Preferring(**preferences)) is folded


def test_a_delta_exponential_histogram_from_a_view_is_exported_as_collected_and_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    delta = InMemoryMetricReader(preferred_temporality={Histogram: DELTA})
    view = View(instrument_name="app.size", aggregation=ExponentialBucketHistogramAggregation())
    provider = MeterProvider(metric_readers=[delta], views=[view], shutdown_on_exit=False)
    size = provider.get_meter("app").create_histogram("app.size")
    fold = CumulativeExport(cardinality_limit=10)
    with caplog.at_level(logging.ERROR, logger="otel_alerting"):
        for value in (1.0, 2.0):
            size.record(value)
            data = delta.get_metrics_data()
            assert data is not None
            fold.add(data)
    (metric,) = [m for rm in fold.snapshot().resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
    assert isinstance(metric.data, ExponentialHistogram) and metric.data.aggregation_temporality is DELTA
    assert metric.data.data_points[0].count == 1  # the latest interval only
    (error,) = [r.getMessage() for r in caplog.records]
    assert "app.size" in error and "OTEL_PYTHON_ALERTING_MODE=reader" in error
    provider.shutdown()
