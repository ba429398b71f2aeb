"""Per-series state: turns each collection's points into values and increases.

Every point the SDK hands over gives its series' current value (cumulative, whatever
the temporality) and its increase since the previous collection. Cumulative counters
are differenced with reset detection, as PromQL's ``increase`` does; delta points are
summed into a running total.

A delta series sends no point for an interval with no measurement, where a cumulative
one repeats its unchanged total. ``MetricState.carry`` gives, for such series, the point
cumulative temporality would have given (the running total, no increase), until the
series has had no point for ``horizon`` seconds; then it is forgotten, as every series
without a point for that long is.

Each series remembers, per rule that reads its metric, the group it belongs to (or that
the rule does not read it): worked out once, when the series is first seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    Sum,
)
from opentelemetry.util.types import AttributeValue

__all__ = ["EMPTY_HISTOGRAM", "HistogramValue", "MetricState", "MetricUpdate", "Reading", "Selection"]

OVERFLOW_ATTRIBUTE = "otel.metric.overflow"

#: the values of a rule's ``by`` attributes, in the rule's order
GroupKey = tuple[str, ...]
Attributes = Mapping[str, AttributeValue]


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

#: which group of one rule a series belongs to, None when the rule does not read it
Selection = Callable[[Attributes], "GroupKey | None"]


class _Series:
    __slots__ = ("attributes", "groups", "last_seen", "raw", "refused", "source", "start_ns", "total")

    def __init__(
        self,
        source: Attributes | None,
        attributes: Attributes,
        groups: tuple[GroupKey | None, ...],
        raw: Reading,
        now: float,
    ) -> None:
        #: the SDK's attribute object this series was last found by (see ``_Scope``)
        self.source = source
        self.attributes = attributes
        #: per consumer of the metric (see ``MetricState``), the group of this series
        self.groups = groups
        #: the value as last reported, and the running total (they differ for delta points)
        self.raw = raw
        self.total = raw
        self.start_ns = 0
        self.last_seen = now
        #: the consumers that would read this series but are at their series limit
        self.refused: tuple[int, ...] = ()


class _Scope:
    """The series of one metric in one instrumentation scope, by their attributes.

    The SDK hands over the same attribute object for a series on every cumulative
    collection, so a series is first looked up by that object's identity: no key is
    built for it. A new object (delta points bring one per collection) is looked up by
    value and remembered in place of the old one.
    """

    __slots__ = ("by_key", "by_object")

    def __init__(self) -> None:
        self.by_key: dict[frozenset[tuple[str, AttributeValue]], _Series] = {}
        #: id of the SDK's attribute object -> its series (the series holds the object,
        #: so the id is not reused while the entry stands)
        self.by_object: dict[int, _Series] = {}

    def by_value(self, source: Attributes | None) -> _Series | None:
        """The series of attributes equal to ``source`` (a new object for a known series,
        or a new series), remembered by ``source`` from now on."""
        found = self.by_key.get(frozenset((source or {}).items()))
        if found is not None:
            self._forget_source(found)
            found.source = source
            self.by_object[id(source)] = found
        return found

    def add(self, series: _Series) -> _Series | None:
        """Keep ``series``; returns the series of the same attributes it replaces."""
        key = frozenset(series.attributes.items())
        replaced = self.by_key.get(key)
        if replaced is not None:
            self._forget_source(replaced)
        self.by_key[key] = series
        self.by_object[id(series.source)] = series
        return replaced

    def drop_older_than(self, older_than: float) -> list[_Series]:
        stale = [key for key, series in self.by_key.items() if series.last_seen < older_than]
        dropped = [self.by_key.pop(key) for key in stale]
        for series in dropped:
            self._forget_source(series)
        return dropped

    def _forget_source(self, series: _Series) -> None:
        if self.by_object.get(id(series.source)) is series:
            del self.by_object[id(series.source)]

    def __len__(self) -> int:
        return len(self.by_key)


#: (groups, value, increase, fresh): one point of a ``MetricUpdate``
Point = tuple[tuple["GroupKey | None", ...], Reading, Reading, bool]


class MetricUpdate:
    """One metric's points in one scope at one collection, one entry per point in the
    order the SDK gave them. Read-only once made."""

    __slots__ = ("carried", "histogram", "points", "time")

    def __init__(self, time: float, histogram: bool, carried: bool = False) -> None:
        self.time = time
        #: every reading is a HistogramValue (else every reading is a float)
        self.histogram = histogram
        #: delta series that sent no point at this collection (see ``MetricState.carry``)
        self.carried = carried
        #: per point: its series' group for each consumer of the metric (looked up once,
        #: read by every rule), its current value (a running total for delta points), its
        #: increase since the previous collection, and whether it is fresh (a gauge
        #: reported it, or a counter or histogram increased)
        self.points: list[Point] = []


def _histogram(point: HistogramDataPoint) -> HistogramValue:
    return HistogramValue(
        float(point.count),
        float(point.sum),
        tuple(float(c) for c in point.bucket_counts),
        tuple(float(b) for b in point.explicit_bounds),
    )


class MetricState:
    """The series of one metric name, kept between collections.

    ``selections``: one per consumer of the metric (a rule's side), in consumer order;
    ``horizon``: a series with no point for that many seconds is forgotten (no longer
    carried, dropped at the next ``prune``, and new again if it comes back);
    ``max_series``: the most series one consumer reads. A new series past it is not read
    by that consumer (counted in ``refused``) until it is seen again after others are
    forgotten: a label with a million values costs a bounded amount per rule.
    """

    def __init__(
        self,
        name: str,
        selections: Sequence[Selection],
        observe_from_ns: int,
        horizon: float = 600.0,
        max_series: int | None = None,
    ) -> None:
        self.name = name
        self.horizon = horizon
        self._selections = tuple(selections)
        self._max_series = max_series
        #: per consumer, the series it reads, and the series it would read past its limit
        self._read = [0] * len(self._selections)
        self.refused = [0] * len(self._selections)
        self._observe_from_ns = observe_from_ns
        #: per scope, its series
        self._series: dict[str, _Scope] = {}
        #: scopes whose last points were delta, and whether they were histograms
        self._delta: dict[str, bool] = {}
        #: some series went past the SDK's cardinality limit (see OVERFLOW_ATTRIBUTE)
        self.overflowed = False

    @property
    def carrying(self) -> bool:
        """Some scope's last points were delta: ``carry`` may have something to give."""
        return bool(self._delta)

    def update(self, metric: Metric, scope: str, now: float) -> MetricUpdate | None:
        """Take one collection's points of ``metric``; None for a kind rules cannot read."""
        data = metric.data
        if isinstance(data, (Gauge, Sum)):
            delta = isinstance(data, Sum) and data.aggregation_temporality == AggregationTemporality.DELTA
            histogram = False
        elif isinstance(data, Histogram):
            delta = data.aggregation_temporality == AggregationTemporality.DELTA
            histogram = True
        else:
            return None
        if delta:
            self._delta[scope] = histogram
        else:
            self._delta.pop(scope, None)
        series = self._series.get(scope)
        if series is None:
            series = self._series[scope] = _Scope()
        update = MetricUpdate(now, histogram)
        if isinstance(data, Gauge):
            self._gauges(series, data.data_points, update)
        elif isinstance(data, Sum):
            self._sums(series, data.data_points, delta, bool(data.is_monotonic), update)
        else:
            self._histograms(series, data.data_points, delta, update)
        return update

    def _find(self, series: _Scope, source: Attributes | None, raw: Reading, now: float) -> tuple[_Series, bool]:
        """The series of the attributes ``source`` and whether it is new (never seen,
        forgotten, or seen with another kind of reading)."""
        state = series.by_object.get(id(source))
        if state is None or state.source is not source:
            state = series.by_value(source)
        if state is not None and state.last_seen >= now - self.horizon and type(state.raw) is type(raw):
            state.last_seen = now
            return state, False
        attributes = source or {}
        if OVERFLOW_ATTRIBUTE in attributes:
            self.overflowed = True
        groups = tuple(select(attributes) for select in self._selections)
        refused: tuple[int, ...] = ()
        if self._max_series is not None:
            groups, refused = self._within_limits(groups)
        state = _Series(source, attributes, groups, raw, now)
        state.refused = refused
        replaced = series.add(state)
        if replaced is not None:
            self._release(replaced)
        return state, True

    def _within_limits(
        self, groups: tuple[GroupKey | None, ...]
    ) -> tuple[tuple[GroupKey | None, ...], tuple[int, ...]]:
        """``groups`` with the consumers at their series limit left out, and those consumers."""
        limit, read = self._max_series, self._read
        assert limit is not None
        refused = tuple(slot for slot, group in enumerate(groups) if group is not None and read[slot] >= limit)
        for slot in refused:
            self.refused[slot] += 1
        if refused:
            groups = tuple(None if slot in refused else group for slot, group in enumerate(groups))
        for slot, group in enumerate(groups):
            if group is not None:
                read[slot] += 1
        return groups, refused

    def _release(self, series: _Series) -> None:
        """``series`` is forgotten: it no longer counts against any consumer's limit."""
        if self._max_series is None:
            return
        for slot, group in enumerate(series.groups):
            if group is not None:
                self._read[slot] -= 1
        for slot in series.refused:
            self.refused[slot] -= 1

    def _gauges(self, series: _Scope, points: Sequence[NumberDataPoint], update: MetricUpdate) -> None:
        now, add = update.time, update.points.append
        for point in points:
            raw = float(point.value)
            state, new = self._find(series, point.attributes, raw, now)
            increase = 0.0 if new else raw - state.raw  # type: ignore[operator]
            state.raw = state.total = raw
            add((state.groups, raw, increase, True))

    def _sums(
        self, series: _Scope, points: Sequence[NumberDataPoint], delta: bool, monotonic: bool, update: MetricUpdate
    ) -> None:
        now, add = update.time, update.points.append
        for point in points:
            raw = float(point.value)
            state, new = self._find(series, point.attributes, raw, now)
            if delta:
                increase = raw
                state.total = raw if new else state.total + raw  # type: ignore[operator]
            elif new:
                # A series born after we started watching counted every increase in
                # front of us; an older one only gives us its baseline.
                increase = raw if (point.start_time_unix_nano or 0) >= self._observe_from_ns else 0.0
                state.total = raw
            elif monotonic and raw < state.raw:  # type: ignore[operator]
                # A counter reset: it restarted from zero. A decrease tells it, as in
                # PromQL; start times are not compared, since the SDK keeps one
                # aggregation (one start time) per series for the life of the process.
                increase = state.total = raw
            else:
                increase = raw - state.raw  # type: ignore[operator]
                state.total = raw
            state.raw = raw
            add((state.groups, state.total, increase, increase != 0))

    def _histograms(
        self, series: _Scope, points: Sequence[HistogramDataPoint], delta: bool, update: MetricUpdate
    ) -> None:
        now, add = update.time, update.points.append
        for point in points:
            raw = _histogram(point)
            state, new = self._find(series, point.attributes, raw, now)
            start = point.start_time_unix_nano or 0
            previous, total = state.raw, state.total
            assert isinstance(previous, HistogramValue) and isinstance(total, HistogramValue)
            increase: HistogramValue
            if delta:
                increase = raw
                state.total = raw if new else total.plus(raw)
            else:
                state.total = raw
                if new:
                    increase = raw if start >= self._observe_from_ns else EMPTY_HISTOGRAM
                elif raw.count < previous.count or start != state.start_ns:
                    increase = raw  # a histogram that restarted
                else:
                    increase = raw.minus(previous)
            state.raw = raw
            state.start_ns = start
            add((state.groups, state.total, increase, increase.count != 0))

    def carry(self, now: float) -> list[MetricUpdate]:
        """The delta series that sent no point in the collection taken at ``now``.

        The SDK sends no delta point for an interval without measurements; cumulative
        temporality would repeat the unchanged total. One ``carried`` update per scope
        gives each such series' running total (no increase, not fresh), as long as its
        last point is at most ``horizon`` seconds old. Call once per collection, after
        ``update`` has taken the collection's points.
        """
        out: list[MetricUpdate] = []
        oldest = now - self.horizon
        for scope, histogram in self._delta.items():
            found = self._series.get(scope)
            idle = [s for s in found.by_key.values() if oldest <= s.last_seen < now] if found is not None else []
            if not idle:
                continue
            update = MetricUpdate(now, histogram, carried=True)
            zero: Reading = EMPTY_HISTOGRAM if histogram else 0.0
            update.points = [(state.groups, state.total, zero, False) for state in idle]
            out.append(update)
        return out

    def prune(self, older_than: float) -> int:
        """Forget series not reported since ``older_than``; returns how many."""
        forgotten = 0
        for scope, series in list(self._series.items()):
            dropped = series.drop_older_than(older_than)
            for state in dropped:
                self._release(state)
            forgotten += len(dropped)
            if not series:
                del self._series[scope]
                self._delta.pop(scope, None)
        return forgotten

    def __len__(self) -> int:
        return sum(map(len, self._series.values()))
