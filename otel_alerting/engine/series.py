"""Per-series state: turns cumulative or delta points into values and increases.

Every point the SDK hands over gives the series' current value (cumulative, whatever
the temporality) and its increase since the previous collection. Cumulative counters
are differenced with reset detection, as PromQL's ``increase`` does; delta points are
summed into a running total.

This runs once per collection over every point of every watched metric, so it is
written in columns rather than per point. ``MetricState.update`` returns a ``Batch``:
the values, increases and freshness of one metric's points as lists. With cumulative
temporality the SDK hands over the same attribute objects, in the same order, on
every collection; a ``_Layout`` remembers them, and while they stay the same (the
common, steady case) a collection is handled with list operations that run in C, and
the rules reuse what they worked out for each position (does the selector match,
which group). Anything else (a new or vanished series, a counter reset, a changed
start time, delta points, histograms) goes through the per-point path, which is the
reference behaviour and rebuilds the layout.

A delta series sends no point for an interval with no measurement, where a cumulative
one repeats its unchanged total. ``MetricState.carry`` gives, for such series, the point
cumulative temporality would have given (the running total, no increase) in a batch
marked ``carried``, until the series has had no point for ``horizon`` seconds; then it
is forgotten, as every series without a point for that long is (``prune``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import repeat
from operator import add, itemgetter, sub
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    Metric,
    Sum,
)

__all__ = ["Batch", "HistogramValue", "MetricState", "Sample"]

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

#: the shape of a metric's points; a layout is only reused for the same shape
_GAUGE = ("gauge",)
_HISTOGRAM = ("histogram",)


class _Series:
    __slots__ = ("attributes", "last_seen", "raw", "start_ns", "total")

    def __init__(
        self, attributes: Mapping[str, Any], raw: Reading, start_ns: int, total: Reading, last_seen: float
    ) -> None:
        self.attributes = attributes
        self.raw = raw
        self.start_ns = start_ns
        self.total = total
        self.last_seen = last_seen


@dataclass(frozen=True)
class Sample:
    """One series at one collection."""

    attributes: Mapping[str, Any]
    value: Reading
    increase: Reading
    time: float
    #: a gauge reported a point, or a counter or histogram increased
    fresh: bool


class Route:
    """Which points of a layout one rule reads, and the group of each of them.

    Built once per layout and reused on every collection the layout holds.
    """

    __slots__ = ("_getters", "_group_positions", "_groups", "_positions", "_widest", "index", "keys", "unique")

    def __init__(self, index: list[int] | None, keys: list[tuple[str, ...]]) -> None:
        #: positions of the selected points; None when every point is selected
        self.index = index
        #: group key of each selected point
        self.keys = keys
        #: no two selected points share a group
        self.unique = len(set(keys)) == len(keys)
        self._groups: list[tuple[tuple[str, ...], list[int]]] | None = None
        self._getters: list[tuple[tuple[str, ...], Callable[[list[Any]], Any], bool]] | None = None
        self._positions: dict[tuple[str, ...], int] | None = None
        self._group_positions: dict[tuple[str, ...], int] | None = None
        self._widest: int | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def pick(self, column: list[Any]) -> list[Any]:
        """The entries of ``column`` (one per point) for the selected points."""
        index = self.index
        if index is None:
            return column
        return [column[i] for i in index]

    def head(self, limit: int) -> Route:
        """The selected points whose position in the batch is below ``limit``."""
        index = self.index if self.index is not None else range(len(self.keys))
        n = bisect_left(index, limit)
        return Route(list(index[:n]), self.keys[:n])

    def groups(self) -> list[tuple[tuple[str, ...], list[int]]]:
        """(group key, positions among the selected points), groups in first-seen order."""
        if self._groups is None:
            positions: dict[tuple[str, ...], list[int]] = {}
            for i, key in enumerate(self.keys):
                found = positions.get(key)
                if found is None:
                    positions[key] = [i]
                else:
                    found.append(i)
            self._groups = list(positions.items())
        return self._groups

    def positions(self) -> dict[tuple[str, ...], int]:
        """Group key -> position among the selected points (for a route whose groups are distinct)."""
        if self._positions is None:
            self._positions = {key: i for i, key in enumerate(self.keys)}
        return self._positions

    def group_positions(self) -> dict[tuple[str, ...], int]:
        """Group key -> position of the group in ``getters``."""
        if self._group_positions is None:
            self._group_positions = {key: i for i, (key, _) in enumerate(self.groups())}
        return self._group_positions

    def widest(self) -> int:
        """The most selected points a group has."""
        if self._widest is None:
            self._widest = max((len(positions) for _, positions in self.groups()), default=0)
        return self._widest

    def getters(self) -> list[tuple[tuple[str, ...], Callable[[list[Any]], Any], bool]]:
        """Per group: (key, a getter of its entries from a column of the selected points,
        whether it has a single entry). The getter gives that entry, or else a tuple of
        the group's entries in order: taken in C rather than a list built per group."""
        if self._getters is None:
            self._getters = [(key, itemgetter(*positions), len(positions) == 1) for key, positions in self.groups()]
        return self._getters


#: at most this many distinct increases are counted as few (see ``_Layout.extremes``)
_FEW = 64


class _Layout:
    """The points of one metric in one scope, as the last collection reported them."""

    __slots__ = (
        "attributes",
        "few",
        "identical",
        "keys",
        "kind",
        "objects",
        "raws",
        "routes",
        "seen",
        "starts",
        "totals",
    )

    def __init__(
        self,
        kind: tuple[Any, ...],
        objects: list[Any],
        attributes: list[Mapping[str, Any]],
        keys: list[Any],
        raws: list[Any],
        starts: list[Any] | None,
        totals: list[Any],
        seen: float,
    ) -> None:
        self.kind = kind
        #: the SDK's attribute objects, compared with the next collection's (identity first)
        self.objects = objects
        #: the same, with None and empty attributes as ``{}`` (what rules see)
        self.attributes = attributes
        self.keys = keys
        self.raws = raws
        #: start times as the SDK gave them (None for gauges: not tracked)
        self.starts = starts
        self.totals = totals
        self.seen = seen
        self.routes: dict[int, Route] = {}
        #: the last collection handed over these very objects (the SDK keeps one attribute
        #: object per series across cumulative collections; delta ones are new each time)
        self.identical = True
        #: the last increases took few distinct values (see ``extremes``)
        self.few = True

    def extremes(self, values: list[Any], previous: list[Any]) -> tuple[Any, Any]:
        """The smallest and the largest increase from ``previous`` to ``values`` (same
        length, not empty).

        Counters mostly grow by a few small whole numbers between two collections:
        a set of the increases is then one pass in C, where min and max are two, and
        no column of them is built (a rule that reads them works them out again). A
        set of many distinct values costs more than both, so it is not tried again
        while the increases stay that varied.
        """
        if self.few:
            distinct = set(map(sub, values, previous))
            self.few = len(distinct) <= _FEW
            return min(distinct), max(distinct)
        increases = list(map(sub, values, previous))
        smallest, largest = min(increases), max(increases)
        # whole numbers this close together are few again
        self.few = type(smallest) is int and type(largest) is int and largest - smallest <= _FEW
        return smallest, largest

    def route(
        self,
        slot: int,
        matches: Callable[[Mapping[str, Any]], bool],
        group: Callable[[Mapping[str, Any]], tuple[str, ...]],
    ) -> Route:
        """The route of consumer ``slot``, built on first use with ``matches`` and ``group``."""
        found = self.routes.get(slot)
        if found is None:
            attributes = self.attributes
            selected = [i for i, a in enumerate(attributes) if matches(a)]
            if len(selected) == len(attributes):
                found = Route(None, [group(a) for a in attributes])
            else:
                found = Route(selected, [group(attributes[i]) for i in selected])
            self.routes[slot] = found
        return found


class Batch:
    """One metric's points at one collection, in columns (one entry per point)."""

    __slots__ = (
        "_fresh",
        "_increases",
        "_previous",
        "carried",
        "histogram",
        "largest",
        "layout",
        "steady",
        "time",
        "values",
    )

    def __init__(
        self,
        layout: _Layout,
        values: list[Any],
        time: float,
        *,
        increases: list[Any] | None = None,
        previous: list[Any] | None = None,
        fresh: list[bool] | None = None,
        histogram: bool = False,
        carried: bool = False,
        steady: bool = False,
        largest: Any = None,
    ) -> None:
        self.layout = layout
        #: the current value (a running total for delta points) of each point
        self.values = values
        self.time = time
        #: every reading is a HistogramValue (else every reading is a float)
        self.histogram = histogram
        #: delta series that sent no point this collection, with their unchanged totals
        #: (see ``MetricState.carry``)
        self.carried = carried
        #: the same series as the layout's previous collection, in the same order, and
        #: no counter reset: each increase is the value minus the previous value
        self.steady = steady
        #: when known, the largest of the increases (a steady counter's, worked out with
        #: its reset check)
        self.largest = largest
        self._increases = increases
        self._previous = previous
        self._fresh = fresh

    @property
    def attributes(self) -> list[Mapping[str, Any]]:
        return self.layout.attributes

    def increases(self) -> list[Any]:
        """Each point's increase since the previous collection (worked out on first use)."""
        if self._increases is None:
            assert self._previous is not None
            self._increases = list(map(sub, self.values, self._previous))
        return self._increases

    def fresh(self) -> list[bool]:
        """Per point: a gauge reported it, or a counter or histogram increased."""
        if self._fresh is None:
            self._fresh = list(map(bool, self.increases()))
        return self._fresh


class MetricState:
    """The series of one metric name, kept between collections.

    ``horizon``: a series with no point for that many seconds is forgotten (no longer
    carried, dropped at the next ``prune``).
    """

    def __init__(self, name: str, observe_from_ns: int, horizon: float = 600.0, increases: bool = True) -> None:
        self.name = name
        self.horizon = horizon
        #: some rule reads increases or freshness (else only current values are read,
        #: and the steady path skips the reset check)
        self.increases = increases
        self._observe_from_ns = observe_from_ns
        #: per scope, the series by their attributes
        self._series: dict[str, dict[Any, _Series]] = {}
        self._layouts: dict[str, _Layout] = {}
        #: scopes whose last points were delta, and whether they were histograms
        self._delta: dict[str, bool] = {}
        #: some scope's last points were delta: ``carry`` may have something to give
        self.carrying = False
        self.overflowed = False

    def update(self, metric: Metric, scope: str, now: float) -> Batch | None:
        """Take one collection's points of ``metric``; None for a kind rules cannot read."""
        data = metric.data
        kind: tuple[Any, ...]
        delta = False
        if isinstance(data, Gauge):
            kind = _GAUGE
        elif isinstance(data, Sum):
            delta = data.aggregation_temporality == AggregationTemporality.DELTA
            kind = (Sum, delta, bool(data.is_monotonic))
        elif isinstance(data, Histogram):
            delta = data.aggregation_temporality == AggregationTemporality.DELTA
            kind = _HISTOGRAM
        else:
            return None
        if delta:
            self._delta[scope] = kind is _HISTOGRAM
            self.carrying = True
        elif self._delta:
            self._delta.pop(scope, None)
            self.carrying = bool(self._delta)
        # number points: histograms take the per-point path (they have no layout)
        points: Any = data.data_points
        layout = self._layouts.get(scope)
        # a layout older than the horizon holds forgotten series: the per-point path renews them
        if layout is not None and layout.kind == kind and layout.seen >= now - self.horizon:
            raws = None
            objects = layout.objects
            if layout.identical:
                # One pass reads each point once: its first read is most of the cost
                # once the points no longer fit in the CPU's cache.
                raws = [p.value for p, o in zip(points, objects) if p.attributes is o]
                if not len(raws) == len(points) == len(objects):
                    raws = None
            if raws is None and [p.attributes for p in points] == objects:
                # equal objects (delta points bring new ones): for the SDK as for us,
                # equal attributes are the same series
                layout.identical = False
                raws = [p.value for p in points]
            if raws is not None:
                batch = self._steady(layout, raws, now)
                if batch is not None:
                    return batch
        if isinstance(data, Histogram):
            return self._histograms(data, scope, now)
        return self._numbers(kind, points, scope, now)

    def samples(self, metric: Metric, scope: str, now: float) -> Iterator[Sample]:
        """The points of ``metric`` as ``Sample`` objects (updates the state first)."""
        batch = self.update(metric, scope, now)
        if batch is None:
            return iter(())
        return map(Sample, batch.attributes, batch.values, batch.increases(), repeat(now), batch.fresh())

    # --- the steady path: same series, same order, no reset ----------------------

    def _steady(self, layout: _Layout, raws: list[Any], now: float) -> Batch | None:
        # ``raws``: the values as the SDK gives them (int or float): both add and compare
        # alike, and results are made floats when read (see GroupValues)
        previous = layout.raws
        kind = layout.kind
        if kind is _GAUGE:
            layout.raws = layout.totals = raws
            layout.seen = now
            return Batch(layout, raws, now, previous=previous, fresh=[True] * len(raws), steady=True)
        _, delta, monotonic = kind
        if delta:
            totals = list(map(add, layout.totals, raws))
            layout.raws = raws
            layout.totals = totals
            layout.seen = now
            return Batch(layout, totals, now, increases=raws, steady=True)
        # A cumulative series restarts with a lower value. Its start time is not read:
        # the SDK keeps one aggregation per attribute set for the life of the process,
        # with one start time, and hands over that aggregation's attribute object.
        largest = None
        if monotonic and self.increases and raws:
            # the largest increase also keeps a rate's bound (see CounterWindow)
            smallest, largest = layout.extremes(raws, previous)
            if smallest < 0:
                return None  # a counter restarted: the per-point path tells which one
        layout.raws = layout.totals = raws
        layout.seen = now
        return Batch(layout, raws, now, previous=previous, steady=True, largest=largest)

    def _write_back(self, scope: str, layout: _Layout) -> None:
        """Copy a layout's columns into the per-series state."""
        series = self._series.get(scope, {})
        starts = layout.starts
        seen = layout.seen
        for i, key in enumerate(layout.keys):
            state = series.get(key)
            if state is None:
                continue
            state.raw = layout.raws[i]
            state.total = layout.totals[i]
            if starts is not None:
                state.start_ns = starts[i] or 0
            state.last_seen = seen

    def _retire(self, scope: str) -> None:
        layout = self._layouts.pop(scope, None)
        if layout is not None:
            self._write_back(scope, layout)

    def _adopt(self, scope: str, layout: _Layout, delta: bool) -> None:
        # Two points of one collection on one series (attributes equal as Python values
        # but told apart by the SDK, such as 1 and True) must be taken one after the
        # other: no layout for them. A delta layout must hold every series of its scope,
        # so that a collection taken on it leaves none to carry.
        unique = len(set(layout.keys)) == len(layout.keys)
        if unique and (not delta or len(layout.keys) == len(self._series.get(scope, ()))):
            self._layouts[scope] = layout

    # --- the per-point path ----------------------------------------------------

    def _numbers(self, kind: tuple[Any, ...], points: Any, scope: str, now: float) -> Batch:
        before = self._layouts.get(scope)
        self._retire(scope)
        series = self._series.setdefault(scope, {})
        observe_from = self._observe_from_ns
        oldest = now - self.horizon
        gauge = kind is _GAUGE
        delta = monotonic = False
        if not gauge:
            _, delta, monotonic = kind
        objects: list[Any] = []
        attributes_list: list[Mapping[str, Any]] = []
        keys: list[Any] = []
        raws: list[float] = []
        starts: list[Any] = []
        values: list[Reading] = []
        increases: list[Reading] = []
        fresh: list[bool] = []
        for point in points:
            objects.append(point.attributes)
            attributes = point.attributes or {}
            if OVERFLOW_ATTRIBUTE in attributes:
                self.overflowed = True
            key = frozenset(attributes.items())
            raw = float(point.value)
            state = series.get(key)
            if state is not None and state.last_seen < oldest:
                state = None  # forgotten (prune drops it later): a new series
            if gauge:
                increase = raw - state.raw if state is not None else 0.0  # type: ignore[operator]
                if state is None:
                    series[key] = _Series(attributes, raw, 0, raw, now)
                else:
                    state.raw = state.total = raw
                    state.last_seen = now
                total = raw
                is_fresh = True
            else:
                start_raw = point.start_time_unix_nano
                start = start_raw or 0
                if delta:
                    increase = raw
                    total = raw if state is None else state.total + raw  # type: ignore[operator]
                else:
                    total = raw
                    if state is None:
                        # A series born after we started watching counted every increase
                        # in front of us; an older one only gives us its baseline.
                        increase = raw if start >= observe_from else 0.0
                    elif monotonic and raw < state.raw:  # type: ignore[operator]
                        # counter reset: it restarted from zero (a decrease, as PromQL
                        # tells it; see _steady for why start times are not compared)
                        increase = raw
                    else:
                        increase = raw - state.raw  # type: ignore[operator]
                if state is None:
                    series[key] = _Series(attributes, raw, start, total, now)
                else:
                    state.raw = raw
                    state.total = total
                    state.start_ns = start
                    state.last_seen = now
                starts.append(start_raw)
                is_fresh = increase != 0
            attributes_list.append(attributes)
            keys.append(key)
            raws.append(raw)
            values.append(total)
            increases.append(increase)
            fresh.append(is_fresh)
        layout = _Layout(kind, objects, attributes_list, keys, raws, None if gauge else starts, values, now)
        if before is not None:
            # what the last layout learnt of this metric's points still holds
            layout.identical = before.identical
            layout.few = before.few
        self._adopt(scope, layout, delta)
        return Batch(layout, values, now, increases=increases, fresh=fresh)

    def _histograms(self, data: Histogram, scope: str, now: float) -> Batch:
        self._retire(scope)
        series = self._series.setdefault(scope, {})
        observe_from = self._observe_from_ns
        oldest = now - self.horizon
        delta = data.aggregation_temporality == AggregationTemporality.DELTA
        objects: list[Any] = []
        attributes_list: list[Mapping[str, Any]] = []
        keys: list[Any] = []
        values: list[Reading] = []
        increases: list[Reading] = []
        fresh: list[bool] = []
        for point in data.data_points:
            objects.append(point.attributes)
            attributes = point.attributes or {}
            if OVERFLOW_ATTRIBUTE in attributes:
                self.overflowed = True
            key = frozenset(attributes.items())
            raw = HistogramValue(
                float(point.count),
                float(point.sum),
                tuple(float(c) for c in point.bucket_counts),
                tuple(float(b) for b in point.explicit_bounds),
            )
            state = series.get(key)
            if state is not None and state.last_seen < oldest:
                state = None  # forgotten (prune drops it later): a new series
            previous = state.raw if state is not None else None
            assert previous is None or isinstance(previous, HistogramValue)
            increase: HistogramValue
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
                series[key] = _Series(attributes, raw, point.start_time_unix_nano or 0, total, now)
            else:
                state.raw = raw
                state.total = total
                state.start_ns = point.start_time_unix_nano or 0
                state.last_seen = now
            attributes_list.append(attributes)
            keys.append(key)
            values.append(total)
            increases.append(increase)
            fresh.append(increase.count != 0)
        # Histograms always take this path: a layout here only carries the routes.
        layout = _Layout(_HISTOGRAM, objects, attributes_list, keys, [], [], values, now)
        return Batch(layout, values, now, increases=increases, fresh=fresh, histogram=True)

    # --- delta series without a point ----------------------------------------

    def carry(self, now: float) -> list[Batch]:
        """The delta series that sent no point in the collection taken at ``now``.

        The SDK sends no delta point for an interval without measurements; cumulative
        temporality would repeat the unchanged total. One ``carried`` batch per scope
        gives each such series' running total (no increase, not fresh), as long as its
        last point is at most ``horizon`` seconds old. Call once per collection, after
        ``update`` has taken the collection's points.
        """
        out: list[Batch] = []
        if not self._delta:
            return out
        older_than = now - self.horizon
        for scope, histogram in self._delta.items():
            layout = self._layouts.get(scope)
            if layout is not None:
                if layout.seen == now:
                    continue  # taken on its layout, which holds every series of the scope
                self._retire(scope)
            idle = [
                (key, state)
                for key, state in self._series.get(scope, {}).items()
                if older_than <= state.last_seen < now
            ]
            if not idle:
                continue
            attributes = [state.attributes for _, state in idle]
            keys = [key for key, _ in idle]
            values = [state.total for _, state in idle]
            zero: Reading = EMPTY_HISTOGRAM if histogram else 0.0
            layout = _Layout(
                _HISTOGRAM if histogram else (Sum, True, False), attributes, attributes, keys, [], None, values, now
            )
            out.append(
                Batch(
                    layout,
                    values,
                    now,
                    increases=[zero] * len(values),
                    fresh=[False] * len(values),
                    histogram=histogram,
                    carried=True,
                )
            )
        return out

    def prune(self, older_than: float) -> int:
        """Forget series not reported since ``older_than``; returns how many."""
        for scope, layout in list(self._layouts.items()):
            self._write_back(scope, layout)
            if layout.seen < older_than:
                del self._layouts[scope]
        forgotten = 0
        for scope, series in list(self._series.items()):
            stale = [key for key, state in series.items() if state.last_seen < older_than]
            for key in stale:
                del series[key]
            forgotten += len(stale)
            if not series:
                del self._series[scope]
                self._delta.pop(scope, None)
        self.carrying = bool(self._delta)
        return forgotten

    def __len__(self) -> int:
        return sum(map(len, self._series.values()))
