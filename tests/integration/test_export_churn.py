"""Export mode with an exporter that wants cumulative data (OTLP's default), under churn.

The reader aggregates counters as deltas, so the SDK forgets a series at the first
collection without a measurement, and a new series alerts after more series than the
cardinality limit have come and gone; the exporter still receives cumulative data, with
the series past the limit merged into the overflow series as the SDK would merge them.

Real MeterProvider and AlertingMetricReader in export mode, a clock moved by hand."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics._internal.instrument import _Counter
from opentelemetry.sdk.metrics.export import AggregationTemporality, MetricsData, Sum
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation

from otel_alerting.config import Settings
from otel_alerting.engine.lifecycle import AlertState
from otel_alerting.reader import AlertingMetricReader
from otel_alerting.testing import FakeClock

from .test_reader import MemoryExporter

RULES = """
rules:
  - alert: JobFailing
    expr:
      value: {metric: app.jobs, reduce: sum}
      by: [job]
    above: {high: 0.5}
    no_data: resolve
"""

LIMIT = 50
OVERFLOW = frozenset({("otel.metric.overflow", True)})


def jobs_exported(data: MetricsData) -> tuple[AggregationTemporality, dict[frozenset[object], int | float]]:
    (metric,) = [
        m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics if m.name == "app.jobs"
    ]
    assert isinstance(metric.data, Sum)
    values = {
        frozenset(p.attributes.items()) if p.attributes else frozenset(): p.value for p in metric.data.data_points
    }
    return metric.data.aggregation_temporality, values


def test_a_new_series_alerts_after_more_dead_series_than_the_limit_and_the_export_stays_cumulative(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    clock = FakeClock(1_000_000.0)
    exporter = MemoryExporter()  # no preference: cumulative, as OTLP's default
    settings = Settings(
        mode="export", rules_paths=(str(rules),), default_rules=False, cardinality_limit=LIMIT, interval_ms=1000
    )
    reader = AlertingMetricReader(
        settings, environ={}, channels=[], exporters=[exporter], clock=clock, start_timer=False
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        system = reader.system
        assert system is not None and not system.rule_set.errors
        jobs = provider.get_meter("app").create_counter("app.jobs")
        with caplog.at_level(logging.WARNING, logger="otel_alerting"):
            for job in range(2 * LIMIT):  # each measured once, then gone
                jobs.add(job + 1, {"job": f"j{job}"})
                clock.advance(1)
                reader.collect()
            jobs.add(1, {"job": "newcomer"})
            clock.advance(1)
            reader.collect()
        firing = {a.labels.get("job") for a in system.manager.active() if a.state is AlertState.FIRING}
        assert "newcomer" in firing, "a new series past the limit of dead ones does not alert"
        assert not system.evaluator.overflowed  # alerting saw every series
        assert reader.force_flush()
        temporality, values = jobs_exported(exporter.batches[-1])
        assert temporality is AggregationTemporality.CUMULATIVE
        # the SDK's cumulative semantics: the first LIMIT series ever seen, then the overflow series
        assert len(values) == LIMIT + 1
        assert values[frozenset({("job", "j0")})] == 1 and values[frozenset({("job", f"j{LIMIT - 1}")})] == LIMIT
        assert values[OVERFLOW] == sum(range(LIMIT + 1, 2 * LIMIT + 1)) + 1  # the newcomer's 1 too
        warnings = [r.getMessage() for r in caplog.records if "app.jobs" in r.getMessage()]
        assert len(warnings) == 1 and "alerting still sees each of them" in warnings[0], warnings
    finally:
        provider.shutdown()


def test_the_export_interval_holds_cumulative_exports_back_and_every_collection_is_folded(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n")
    exporter = MemoryExporter()
    reader = AlertingMetricReader(
        Settings(mode="export", rules_paths=(str(rules),), default_rules=False, interval_ms=1000),
        environ={},
        channels=[],
        exporters=[exporter],
        start_timer=False,
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    jobs = provider.get_meter("app").create_counter("app.jobs")
    for n in range(5):
        jobs.add(n, {"job": "a"})
        jobs.add(10, {"job": f"once-{n}"})
        reader.collect()  # within OTEL_METRIC_EXPORT_INTERVAL: folded, not exported
    assert exporter.batches == []
    provider.shutdown()
    (batch,) = exporter.batches
    temporality, values = jobs_exported(batch)
    assert temporality is AggregationTemporality.CUMULATIVE
    assert values == {frozenset({("job", "a")}): 10, **{frozenset({("job", f"once-{n}")}): 10 for n in range(5)}}


class ExponentialExporter(MemoryExporter):
    def __init__(self) -> None:
        super().__init__()
        self._preferred_aggregation = {Histogram: ExponentialBucketHistogramAggregation()}


@pytest.mark.parametrize(
    ("exporter", "counters", "folded", "every_collection"),
    [
        (MemoryExporter(), AggregationTemporality.DELTA, True, False),
        (MemoryExporter(delta=True), AggregationTemporality.DELTA, False, True),  # as the exporter wants
        (ExponentialExporter(), AggregationTemporality.CUMULATIVE, False, False),
    ],
    ids=["cumulative", "delta", "exponential histograms"],
)
def test_only_an_exporter_wanting_cumulative_data_and_explicit_buckets_gets_folded_deltas(
    tmp_path: Path, exporter: MemoryExporter, counters: AggregationTemporality, folded: bool, every_collection: bool
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n")
    reader = AlertingMetricReader(
        Settings(mode="export", rules_paths=(str(rules),), default_rules=False),
        environ={},
        channels=[],
        exporters=[exporter],
        start_timer=False,
    )
    try:
        assert reader._instrument_class_temporality[_Counter] is counters  # the SDK's own key
        forwarder = reader._forwarder
        assert forwarder is not None
        assert (forwarder._cumulative is not None) is folded
        assert forwarder._every is every_collection
    finally:
        reader.shutdown()
