"""Per-series state: turns cumulative or delta points into values and increases.

Every point the SDK hands over becomes a ``Sample``: the series' current value
(cumulative, whatever the temporality) and its increase since the previous
collection. Cumulative counters are differenced with reset detection, as PromQL's
``increase`` does; delta points are summed into a running total.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    Metric,
    Sum,
)

__all__ = ["HistogramValue", "MetricState", "Sample"]

OVERFLOW_ATTRIBUTE = "otel.metric.overflow"


@dataclass(frozen=True)
class HistogramValue:
    """A histogram reduced to what rules read: count, sum and per-bucket counts."""

    count: float
    sum: float
    buckets: tuple[float, ...]
    bounds: tuple[float, ...]

    def minus(self, other: HistogramValue) -> HistogramValue:
        return HistogramValue(
            self.count - other.count,
            self.sum - other.sum,
            tuple(a - b for a, b in zip(self.buckets, other.buckets)),
            self.bounds,
        )

    def plus(self, other: HistogramValue) -> HistogramValue:
        if not other.buckets:
            return self
        if not self.buckets:
            return other
        return HistogramValue(
            self.count + other.count,
            self.sum + other.sum,
            tuple(a + b for a, b in zip(self.buckets, other.buckets)),
            self.bounds or other.bounds,
        )


EMPTY_HISTOGRAM = HistogramValue(0.0, 0.0, (), ())
Reading = float | HistogramValue


@dataclass
class _Series:
    raw: Reading
    start_ns: int
    total: Reading
    last_seen: float


@dataclass(frozen=True)
class Sample:
    """One series at one collection."""

    attributes: Mapping[str, Any]
    value: Reading
    increase: Reading
    time: float
    #: a gauge reported a point, or a counter or histogram increased
    fresh: bool


class MetricState:
    """The series of one metric name, kept between collections."""

    def __init__(self, name: str, observe_from_ns: int) -> None:
        self.name = name
        self._observe_from_ns = observe_from_ns
        self._series: dict[Any, _Series] = {}
        self.overflowed = False

    def samples(self, metric: Metric, scope: str, now: float) -> Iterator[Sample]:
        data = metric.data
        if isinstance(data, Gauge):
            yield from self._gauges(data, scope, now)
        elif isinstance(data, Sum):
            delta = data.aggregation_temporality == AggregationTemporality.DELTA
            yield from self._numbers(data, scope, now, delta, bool(data.is_monotonic))
        elif isinstance(data, Histogram):
            delta = data.aggregation_temporality == AggregationTemporality.DELTA
            yield from self._histograms(data, scope, now, delta)

    def _gauges(self, data: Gauge, scope: str, now: float) -> Iterator[Sample]:
        series = self._series
        for point in data.data_points:
            attributes = point.attributes or {}
            if OVERFLOW_ATTRIBUTE in attributes:
                self.overflowed = True
            key = (scope, frozenset(attributes.items()))
            value = float(point.value)
            state = series.get(key)
            increase = value - state.raw if state is not None else 0.0  # type: ignore[operator]
            if state is None:
                series[key] = _Series(value, 0, value, now)
            else:
                state.raw = state.total = value
                state.last_seen = now
            yield Sample(attributes, value, increase, now, True)

    def _numbers(self, data: Sum, scope: str, now: float, delta: bool, monotonic: bool) -> Iterator[Sample]:
        series = self._series
        observe_from = self._observe_from_ns
        for point in data.data_points:
            attributes = point.attributes or {}
            if OVERFLOW_ATTRIBUTE in attributes:
                self.overflowed = True
            key = (scope, frozenset(attributes.items()))
            raw = float(point.value)
            state = series.get(key)
            if delta:
                increase = raw
                total = raw if state is None else state.total + raw  # type: ignore[operator]
            else:
                total = raw
                start = point.start_time_unix_nano or 0
                if state is None:
                    # A series born after we started watching counted every increase
                    # in front of us; an older one only gives us its baseline.
                    increase = raw if start >= observe_from else 0.0
                elif monotonic and (raw < state.raw or start != state.start_ns):  # type: ignore[operator]
                    increase = raw  # counter reset: it restarted from zero
                else:
                    increase = raw - state.raw  # type: ignore[operator]
            if state is None:
                series[key] = _Series(raw, point.start_time_unix_nano or 0, total, now)
            else:
                state.raw = raw
                state.total = total
                state.start_ns = point.start_time_unix_nano or 0
                state.last_seen = now
            yield Sample(attributes, total, increase, now, increase != 0)

    def _histograms(self, data: Histogram, scope: str, now: float, delta: bool) -> Iterator[Sample]:
        series = self._series
        observe_from = self._observe_from_ns
        for point in data.data_points:
            attributes = point.attributes or {}
            if OVERFLOW_ATTRIBUTE in attributes:
                self.overflowed = True
            key = (scope, frozenset(attributes.items()))
            raw = HistogramValue(
                float(point.count),
                float(point.sum),
                tuple(float(c) for c in point.bucket_counts),
                tuple(float(b) for b in point.explicit_bounds),
            )
            state = series.get(key)
            previous = state.raw if state is not None else None
            assert previous is None or isinstance(previous, HistogramValue)
            if delta:
                increase = raw
                total = raw if state is None else state.total.plus(raw)  # type: ignore[union-attr]
            else:
                total = raw
                start = point.start_time_unix_nano or 0
                if previous is None or state is None:
                    increase = raw if start >= observe_from else EMPTY_HISTOGRAM
                elif raw.count < previous.count or start != state.start_ns:
                    increase = raw
                else:
                    increase = raw.minus(previous)
            if state is None:
                series[key] = _Series(raw, point.start_time_unix_nano or 0, total, now)
            else:
                state.raw = raw
                state.total = total
                state.start_ns = point.start_time_unix_nano or 0
                state.last_seen = now
            fresh = increase.count != 0
            yield Sample(attributes, total, increase, now, fresh)

    def prune(self, older_than: float) -> int:
        """Forget series not reported since ``older_than``; returns how many."""
        stale = [key for key, state in self._series.items() if state.last_seen < older_than]
        for key in stale:
            del self._series[key]
        return len(stale)

    def __len__(self) -> int:
        return len(self._series)
