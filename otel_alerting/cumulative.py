"""Delta collections folded back into the cumulative data the SDK would have exported.

In ``export`` mode the alerting reader's single aggregation would follow the exporter:
with cumulative temporality (OTLP's default) the SDK keeps every series ever seen, counts
all of them against the cardinality limit and reports each one at every collection, so
under churn new series end up in the overflow series and cannot alert. Instead the
reader aggregates counters and histograms as deltas (the SDK forgets a series at the
first collection without a measurement of it), and ``CumulativeExport`` turns what it
collects back into cumulative data for the exporter, as the collector's
``deltatocumulative`` processor does: a running total per series, never forgotten.

What differs from the SDK's own cumulative aggregation:

* a series first measured after a collection starts at that collection's time (the
  start of its first delta), not at its first measurement;
* attribute values equal in Python but of another type (``True``, ``1``, ``1.0`` under
  one key) are one series here;
* a delta exponential histogram (only a View can ask for one: ``exports_folded`` turns
  this off when the exporter asks for them) is exported as it is collected, which an
  ERROR says.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from opentelemetry.sdk.metrics import Counter, Exemplar, Histogram
from opentelemetry.sdk.metrics._internal._view_instrument_match import _hash_attributes
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.types import Attributes

from .environment_variables import OTEL_PYTHON_ALERTING_MODE

__all__ = ["OVERFLOW_ATTRIBUTES", "CumulativeExport", "exports_folded"]

_logger = logging.getLogger("otel_alerting")

#: the attributes of the series that takes what is past the limit (the SDK's own)
OVERFLOW_ATTRIBUTES: dict[str, bool] = {"otel.metric.overflow": True}

_Key: TypeAlias = object
_OVERFLOW_KEY: _Key = frozenset(OVERFLOW_ATTRIBUTES.items())
_NO_ATTRIBUTES: _Key = frozenset()

#: the instruments the reader aggregates as deltas for a folded export
_DELTA = (Counter, Histogram)


def exports_folded(exporter: MetricExporter) -> bool:
    """Whether the reader feeding ``exporter`` aggregates counters and histograms as
    deltas and exports them folded: the exporter wants every instrument cumulative
    (so that every delta collected is one to fold; OTLP's ``delta`` and ``lowmemory``
    preferences ask for delta counters), and no exponential histograms (not folded here)."""
    temporality = getattr(exporter, "_preferred_temporality", None) or {}
    aggregation = getattr(exporter, "_preferred_aggregation", None) or {}
    cumulative = AggregationTemporality.DELTA not in temporality.values()
    exponential = any(isinstance(aggregation.get(kind), ExponentialBucketHistogramAggregation) for kind in _DELTA)
    return cumulative and not exponential


@dataclass(slots=True)
class _Series:
    """What a series needs to be exported cumulative: its running totals."""

    attributes: Attributes
    start: int
    total: int | float  # a sum's value, a histogram's sum
    bounds: Sequence[float] = ()
    counts: list[int] = field(default_factory=list)
    count: int = 0
    min: float = math.inf
    max: float = -math.inf


@dataclass(slots=True)
class _Folded:
    """A metric collected as deltas: its series, kept for the life of the process."""

    metric: Metric  # the latest collected (name, description, unit, the kind of data)
    series: dict[_Key, _Series] = field(default_factory=dict)
    #: the exemplars of the latest collection, which are the SDK's cumulative ones too
    exemplars: dict[_Key, Sequence[Exemplar]] = field(default_factory=dict)
    warned: bool = False


@dataclass(slots=True)
class _Latest:
    """A metric exported as collected: its latest collection and which one it was."""

    metric: Metric
    collection: int


_Scopes: TypeAlias = dict[InstrumentationScope, tuple[str, dict[str, "_Folded | _Latest"]]]


class CumulativeExport:
    """Folds each collection (``add``) and builds the cumulative export (``snapshot``).

    Delta sums and explicit-bucket histograms are folded into a running total per
    series; every other metric is exported as the latest collection reported it. Per
    metric, at most ``cardinality_limit`` series are kept, as the SDK keeps them: the
    others are merged into one series with ``otel.metric.overflow=true``.

    Not thread-safe: the caller serializes ``add`` and ``snapshot``.
    """

    def __init__(self, cardinality_limit: int) -> None:
        self._limit = cardinality_limit
        self._resources: dict[Resource, tuple[str, _Scopes]] = {}
        self._collections = 0
        self._time = 0

    def add(self, data: MetricsData) -> None:
        """Fold one collection in: every collection, exported or not."""
        self._collections += 1
        seen_time: int | None = None
        for folded in self._folded():
            folded.exemplars = {}
        for resource_metrics in data.resource_metrics:
            scopes = self._resources.setdefault(resource_metrics.resource, (resource_metrics.schema_url, {}))[1]
            for scope_metrics in resource_metrics.scope_metrics:
                metrics = scopes.get(scope_metrics.scope, ("", {}))[1]
                scopes[scope_metrics.scope] = (scope_metrics.schema_url, metrics)
                for metric in scope_metrics.metrics:
                    if seen_time is None and metric.data.data_points:
                        seen_time = metric.data.data_points[0].time_unix_nano
                    self._add_metric(metrics, metric)
        self._time = seen_time if seen_time is not None else time.time_ns()

    def _folded(self) -> list[_Folded]:
        return [
            kept
            for _, scopes in self._resources.values()
            for _, metrics in scopes.values()
            for kept in metrics.values()
            if isinstance(kept, _Folded)
        ]

    def _add_metric(self, metrics: dict[str, _Folded | _Latest], metric: Metric) -> None:
        data = metric.data
        delta = getattr(data, "aggregation_temporality", None) is AggregationTemporality.DELTA
        if not (delta and isinstance(data, (Sum, HistogramData))):
            if delta and metric.name not in metrics:  # only a View asks for exponential histograms
                _logger.error(
                    "otel-alerting: metric %s is a delta exponential histogram, which the export cannot turn "
                    "into cumulative data: each export carries only its latest interval "
                    "(set %s=reader to export it as the SDK would)",
                    metric.name,
                    OTEL_PYTHON_ALERTING_MODE,
                )
            metrics[metric.name] = _Latest(metric, self._collections)
            return
        kept = metrics.get(metric.name)
        if not (isinstance(kept, _Folded) and type(kept.metric.data) is type(data)):
            kept = metrics[metric.name] = _Folded(metric)
        kept.metric = metric
        sums = isinstance(data, Sum)
        all_series, exemplars = kept.series, kept.exemplars
        # the hot loop: once per point reported, at every collection
        for point in data.data_points:
            attributes = point.attributes
            try:
                key: _Key = frozenset(attributes.items()) if attributes else _NO_ATTRIBUTES
            except TypeError:  # a sequence or mapping value: the SDK's own key (slower)
                key = _hash_attributes(attributes)
            series = all_series.get(key)
            if series is None:
                key, series = self._new_series(kept, key, point)
            if point.exemplars:
                exemplars[key] = point.exemplars
            if sums:
                # the SDK's own order of operations: the same float result
                series.total = point.value + series.total  # type: ignore[union-attr]
            else:
                _fold_histogram(series, point)  # type: ignore[arg-type]

    def _new_series(
        self, kept: _Folded, key: _Key, point: NumberDataPoint | HistogramDataPoint
    ) -> tuple[_Key, _Series]:
        """Where a series not seen before goes: its own, or past the limit the overflow series."""
        if len(kept.series) >= self._limit and key != _OVERFLOW_KEY:
            self._overflowed(kept)
            key = _OVERFLOW_KEY
            series = kept.series.get(key)
            if series is not None:
                return key, series
        attributes = dict(OVERFLOW_ATTRIBUTES) if key == _OVERFLOW_KEY else point.attributes
        series = kept.series[key] = _Series(attributes, point.start_time_unix_nano, 0)
        return key, series

    def _overflowed(self, kept: _Folded) -> None:
        if kept.warned:
            return
        kept.warned = True
        _logger.warning(
            "otel-alerting: metric %s has had more series than the cardinality limit (%d) since the start; "
            "the export merges the others into one series with otel.metric.overflow=true, while alerting "
            "still sees each of them",
            kept.metric.name,
            self._limit,
        )

    def snapshot(self) -> MetricsData:
        """The cumulative export: every series ever folded (to its latest total), and
        the other metrics of the latest collection."""
        resource_metrics = []
        for resource, (resource_schema, scopes) in self._resources.items():
            scope_metrics = []
            for scope, (scope_schema, metrics) in scopes.items():
                exported = [
                    self._export(kept) if isinstance(kept, _Folded) else kept.metric
                    for kept in metrics.values()
                    if isinstance(kept, _Folded) or kept.collection == self._collections
                ]
                if exported:
                    scope_metrics.append(ScopeMetrics(scope=scope, metrics=exported, schema_url=scope_schema))
            if scope_metrics:
                resource_metrics.append(
                    ResourceMetrics(resource=resource, scope_metrics=scope_metrics, schema_url=resource_schema)
                )
        return MetricsData(resource_metrics=resource_metrics)

    def _export(self, kept: _Folded) -> Metric:
        data = kept.metric.data
        now = self._time
        exemplars = kept.exemplars
        if isinstance(data, Sum):
            points: list[NumberDataPoint] = [
                NumberDataPoint(
                    attributes=s.attributes,
                    start_time_unix_nano=s.start,
                    time_unix_nano=now,
                    value=s.total,
                    exemplars=exemplars.get(key, []),
                )
                for key, s in kept.series.items()
            ]
            cumulative: Sum | HistogramData = Sum(
                data_points=points,
                aggregation_temporality=AggregationTemporality.CUMULATIVE,
                is_monotonic=data.is_monotonic,
            )
        else:
            histogram_points = [
                HistogramDataPoint(
                    attributes=s.attributes,
                    start_time_unix_nano=s.start,
                    time_unix_nano=now,
                    count=s.count,
                    sum=s.total,
                    bucket_counts=tuple(s.counts),
                    explicit_bounds=s.bounds,
                    min=s.min,
                    max=s.max,
                    exemplars=exemplars.get(key, []),
                )
                for key, s in kept.series.items()
            ]
            cumulative = HistogramData(
                data_points=histogram_points, aggregation_temporality=AggregationTemporality.CUMULATIVE
            )
        metric = kept.metric
        return Metric(name=metric.name, description=metric.description, unit=metric.unit, data=cumulative)


def _fold_histogram(series: _Series, point: HistogramDataPoint) -> None:
    if tuple(point.explicit_bounds) != tuple(series.bounds) or not series.counts:
        if series.counts:  # new bounds: the series starts again
            series.start, series.total, series.count = point.start_time_unix_nano, 0, 0
            series.min, series.max = math.inf, -math.inf
        series.bounds = point.explicit_bounds
        series.counts = list(point.bucket_counts)
    else:
        series.counts = [a + b for a, b in zip(point.bucket_counts, series.counts, strict=True)]
    series.count += point.count
    series.total = point.sum + series.total
    series.min = min(point.min, series.min)
    series.max = max(point.max, series.max)
