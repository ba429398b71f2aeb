"""Rules x series -> one value per alert group, once per collection.

Only metrics that some rule reads are looked at: the cost of an evaluation grows
with the watched series, not with everything the application records. Each rule
takes a metric's points as a ``Batch`` (columns, see ``series``) through a ``Route``
cached per layout: which points its selector matches and the group of each, worked
out once rather than on every collection. ``rate`` and ``ratio`` keep their totals in
a ``CounterWindow`` (see ``windows``); a rule's values go to the manager as columns
(``GroupValues``, see ``results``), read only where a threshold may be crossed.

Silence. A group with no point keeps its place for a while: a ``rate``/``ratio`` window
keeps its last total (the rate falls to 0, as for a counter that stops increasing), a
``value`` group reads no data, an ``absent`` group keeps counting. Once it has had no
point for the rule's horizon (``horizon``: 10 minutes, or twice the window, or twice
what an ``absent`` rule waits for, whichever is longer) it is forgotten, so churning
attribute values do not grow the state without bound. Delta series that sent no point
are carried at their unchanged total for ``value`` rules (see ``MetricState.carry``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from functools import reduce as _fold_left
from itertools import chain, repeat
from typing import Any

from opentelemetry.sdk.metrics.export import MetricsData

from ..rules.model import AbsentExpr, RateExpr, RatioExpr, Rule, Selector, ValueExpr
from .quantile import bucket_quantile
from .results import NO_VALUES, GroupedValues, GroupKey, GroupValues, reduce_group
from .series import Batch, HistogramValue, MetricState, Reading, Route
from .windows import CounterWindow, RateValues

__all__ = ["FORGET_AFTER", "Evaluator", "GroupKey", "RuleResult", "horizon"]

_logger = logging.getLogger(__name__)

#: one consumer of a metric: (slot in the metric's consumers, role, selector.matches, rule.group)
_Slot = tuple[int, str, Any, Any]

#: the shortest time a group or series goes without a point before it is forgotten
FORGET_AFTER = 600.0

#: the types of the values rules give, taken by ``RuleResult`` as they are
_COLUMNS = frozenset({GroupValues, GroupedValues, RateValues})


def horizon(rule: Rule) -> float:
    """Seconds a group of ``rule`` (and a series it reads) may go without a point
    before it is forgotten: ``FORGET_AFTER``, or twice the window of a ``rate`` or
    ``ratio``, or twice the highest threshold plus ``for`` of an ``absent`` rule (its
    value is seconds without data: a group must outlive what the rule waits for)."""
    expr = rule.expr
    span = 0.0
    if isinstance(expr, (RateExpr, RatioExpr)):
        span = expr.window
    elif isinstance(expr, AbsentExpr):
        span = max([threshold for _, threshold in rule.thresholds] + [0.0]) + rule.for_
    return max(FORGET_AFTER, 2.0 * span)


def _label(value: object) -> str:
    """An attribute value as a group label: the text ``Selector.matches`` compares
    (``true``/``false`` for booleans, as OTLP and Prometheus write them)."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class RuleResult:
    """What one rule saw in one collection: a value (None: no data) per group.

    Read-only by convention; a plain class rather than a frozen dataclass because one
    is made per rule on every collection."""

    __slots__ = ("error", "rule", "values")

    values: GroupValues

    def __init__(self, rule: Rule, values: Mapping[GroupKey, float | None] | None = None, error: str | None = None):
        self.rule = rule
        #: a dict (as tests write them) is wrapped; the evaluator's own columns are taken
        #: as they are (without ``isinstance``, which on a Mapping subclass runs Python code)
        self.values = values if type(values) in _COLUMNS else GroupValues.of(values or {})  # type: ignore[assignment]
        self.error = error

    def __repr__(self) -> str:
        return f"RuleResult({self.rule.alert!r}, {self.values!r}, error={self.error!r})"


class _RuleState(ABC):
    #: takes the ``carried`` batches of delta series without a point (``value`` only:
    #: for a window a carried point adds nothing, and ``absent`` wants real points)
    carries = False
    #: holds no group and was fed nothing since its ``finish`` last gave ``NO_VALUES``: it
    #: would give them again (the evaluator skips it; ``_feed`` clears this)
    quiet = False

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.by = rule.by
        self.horizon = horizon(rule)
        #: the result of a collection in which the rule has no group
        self.no_values = RuleResult(rule, NO_VALUES)

    def group(self, attributes: Mapping[str, Any]) -> GroupKey:
        return tuple([_label(attributes.get(key, "")) for key in self.by])

    @abstractmethod
    def selectors(self) -> Iterable[tuple[str, Selector]]:
        """(role, selector) pairs this rule reads."""

    @abstractmethod
    def observe(self, role: str, route: Route, batch: Batch) -> None:
        """Take the points of ``batch`` that ``route`` selects (at least one)."""

    @abstractmethod
    def check(self, role: str, batch: Batch) -> None:
        """Raise what ``observe`` would raise for ``batch``, changing nothing."""

    @abstractmethod
    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]: ...


def _check(selector: Selector, histogram: bool) -> None:
    """Raise what reading one batch with ``selector`` raises (every point of a batch
    has the same type, so a batch is read whole or not at all)."""
    if selector.field == "quantile":
        if not histogram:
            raise ValueError(f"{selector.metric} is not a histogram: a quantile needs one")
    elif histogram:
        if selector.field not in ("count", "sum"):
            raise ValueError(f"{selector.metric} is a histogram: read it with field: count, sum or quantile")
    elif selector.field != "value":
        raise ValueError(f"{selector.metric} is not a histogram: field {selector.field} needs one")


def _readings(selector: Selector, readings: list[Any], histogram: bool) -> list[Any]:
    """What ``selector`` reads from a batch's readings: histograms for a quantile, else numbers."""
    _check(selector, histogram)
    if histogram:
        if selector.field == "count":
            return [r.count for r in readings]
        if selector.field == "sum":
            return [r.sum for r in readings]
    return readings


def _quantile(selector: Selector, value: HistogramValue) -> float | None:
    assert selector.quantile is not None
    return bucket_quantile(selector.quantile, value.bounds, value.buckets)


class _ValueState(_RuleState):
    """Reduces the current value of the series of each group."""

    expr: ValueExpr
    carries = True

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, ValueExpr)
        self.expr = rule.expr
        self._known: set[GroupKey] = set()
        #: known groups without a point, and the time of their last one
        self._silent: dict[GroupKey, float] = {}
        self._numbers: dict[GroupKey, list[float]] = {}
        self._histograms: dict[GroupKey, HistogramValue] = {}
        # The first batch of a collection is kept as it is (route, values, time) and
        # reduced per group in ``finish``; a second one folds both into ``_numbers``.
        self._batch: tuple[Route, list[float], float] | None = None
        # set when ``_known`` holds exactly the groups of this route (one point each)
        self._known_route: Route | None = None

    def selectors(self) -> Iterable[tuple[str, Selector]]:
        return (("value", self.expr.selector),)

    def observe(self, role: str, route: Route, batch: Batch) -> None:
        selector = self.expr.selector
        if selector.field == "quantile":
            hists = _readings(selector, route.pick(batch.values), batch.histogram)
            histograms = self._histograms
            for key, hist in zip(route.keys, hists):
                previous = histograms.get(key)
                histograms[key] = hist if previous is None else previous.plus(hist)
            return
        values = _readings(selector, route.pick(batch.values), batch.histogram)
        if self._batch is None and not self._numbers:
            self._batch = (route, values, batch.time)
            return
        if self._batch is not None:
            self._accumulate(*self._batch)
            self._batch = None
        self._accumulate(route, values, batch.time)

    def check(self, role: str, batch: Batch) -> None:
        _check(self.expr.selector, batch.histogram)

    def _accumulate(self, route: Route, values: list[float], time: float) -> None:
        numbers = self._numbers
        for key, value in zip(route.keys, values):
            acc = numbers.get(key)
            if acc is None:
                # sum, count, max, min, time of last, last
                numbers[key] = [value, 1.0, value, value, time, value]
            else:
                acc[0] += value
                acc[1] += 1
                if value > acc[2]:
                    acc[2] = value
                if value < acc[3]:
                    acc[3] = value
                if time >= acc[4]:
                    acc[4] = time
                    acc[5] = value

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        batch = self._batch
        if batch is None and not self._known and not self._numbers and not self._histograms:
            return NO_VALUES
        self._batch = None
        if batch is not None and batch[0] is self._known_route and not self._histograms:
            # the steady case: the same groups as before, all with a point
            route = batch[0]
            if route.unique:  # one point each: every reduction of one point is the point
                return GroupValues(route.keys, batch[1], route.positions())
            return GroupedValues(route.getters(), batch[1], self.expr.reduce or "last", route.group_positions())
        known = self._known
        out: dict[GroupKey, float | None] = dict.fromkeys(known)
        reduce = self.expr.reduce or "last"
        # groups with a point: those of the batch, of _numbers and of _histograms (disjoint)
        reported = len(self._numbers) + len(self._histograms)
        if batch is not None:
            route, values, _ = batch
            if route.unique:
                out.update(zip(route.keys, values))
                reported += len(route.keys)
            else:
                getters = route.getters()
                for key, entries, single in getters:
                    out[key] = entries(values) if single else reduce_group(reduce, entries(values))
                reported += len(getters)
        for key, acc in self._numbers.items():
            if reduce == "sum":
                out[key] = acc[0]
            elif reduce == "avg":
                out[key] = acc[0] / acc[1]
            elif reduce == "max":
                out[key] = acc[2]
            elif reduce == "min":
                out[key] = acc[3]
            else:
                out[key] = acc[5]
        for key, hist in self._histograms.items():
            out[key] = _quantile(self.expr.selector, hist)
        if len(out) > reported:  # known groups without a point: no data, forgotten in time
            self._silence(out, batch[0] if batch is not None else None, now, previous)
        elif self._silent:
            self._silent.clear()
        known.update(out)
        self._known_route = None
        if batch is not None and not self._numbers:
            route = batch[0]
            if len(self._known) == (len(route.keys) if route.unique else len(route.getters())):
                self._known_route = route
        self._numbers = {}
        self._histograms = {}
        return out

    def _silence(self, out: dict[GroupKey, float | None], route: Route | None, now: float, previous: float) -> None:
        """Track the groups of ``out`` that had no point; forget those silent too long."""
        present: Iterable[GroupKey] = chain(self._numbers, self._histograms)
        if route is not None:
            present = chain(present, route.keys)
        missing = self._known.difference(present)
        silent = self._silent
        for key in [k for k in silent if k not in missing]:
            del silent[key]
        oldest = now - self.horizon
        for key in missing:
            # not silent before: its last point was in the previous evaluation
            if silent.setdefault(key, previous) < oldest:
                del silent[key]
                del out[key]
                self._known.discard(key)


class _Window:
    """Running totals of one group of a histogram ``rate`` (a quantile of the increase),
    one entry per collection, trimmed to a window; numbers use ``CounterWindow``.

    ``samples`` holds time, total, time, total, ... flat rather than (time, total)
    pairs: every group appends the same ``now`` object and, while it does not move,
    the same total object, so an entry costs two pointers instead of a new tuple.
    """

    __slots__ = ("last_seen", "samples", "total")

    def __init__(self, start: float, zero: Reading) -> None:
        self.total: Reading = zero
        self.samples: deque[Any] = deque([start, zero])
        self.last_seen = start

    def increase(self) -> tuple[Reading, float]:
        """(increase, covered seconds) from the window's base to now."""
        samples = self.samples
        return _sub(samples[-1], samples[1]), samples[-2] - samples[0]


def _add(a: Reading, b: Reading) -> Reading:
    if isinstance(a, HistogramValue) or isinstance(b, HistogramValue):
        ha = a if isinstance(a, HistogramValue) else HistogramValue(0, 0, (), ())
        hb = b if isinstance(b, HistogramValue) else HistogramValue(0, 0, (), ())
        return ha.plus(hb)
    return a + b


def _sub(a: Reading, b: Reading) -> Reading:
    if isinstance(a, HistogramValue):
        if isinstance(b, HistogramValue) and b.buckets:
            return a.minus(b)
        return a
    assert not isinstance(b, HistogramValue)
    return a - b


class _HistogramRateState(_RuleState):
    """A quantile of a histogram's increase over a window: one ``_Window`` per group."""

    expr: RateExpr

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, RateExpr)
        self.expr = rule.expr
        self.window = rule.expr.window
        self._windows: dict[GroupKey, _Window] = {}
        self._tick: dict[GroupKey, Reading] = {}
        self._known: set[GroupKey] = set()

    def selectors(self) -> Iterable[tuple[str, Selector]]:
        return (("rate", self.expr.selector),)

    def check(self, role: str, batch: Batch) -> None:
        _check(self.expr.selector, batch.histogram)

    def observe(self, role: str, route: Route, batch: Batch) -> None:
        increases = _readings(self.expr.selector, route.pick(batch.increases()), batch.histogram)
        tick = self._tick
        if route.unique:
            for key, increase in zip(route.keys, increases):
                previous = tick.get(key)
                tick[key] = increase if previous is None else _add(previous, increase)
            return
        # several points per group: add each group's increases up, in order
        for key, entries, single in route.getters():
            previous = tick.get(key)
            found = entries(increases)
            if single:
                tick[key] = found if previous is None else _add(previous, found)
            else:
                tick[key] = _fold_left(_add, found) if previous is None else _fold_left(_add, found, previous)

    def _advance(self, now: float, previous: float) -> dict[GroupKey, _Window]:
        windows = self._windows
        tick = self._tick
        self._tick = {}
        for key in tick:
            if key not in windows:
                windows[key] = _Window(previous, 0.0)
        horizon = now - self.window
        for key, window in windows.items():
            increase = tick.get(key)
            if increase is not None:
                window.total = _add(window.total, increase)
                window.last_seen = now
            samples = window.samples
            samples.append(now)
            samples.append(window.total)
            # keep one sample at or before the horizon: it is the base of the increase
            while len(samples) >= 4 and samples[2] <= horizon:
                samples.popleft()
                samples.popleft()
        # a group with no point for the horizon is gone; until then its total stands
        # still and its increase over the window falls to 0
        oldest = now - self.horizon
        for key in [k for k, w in windows.items() if w.last_seen < oldest]:
            del windows[key]
        return windows

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        out: dict[GroupKey, float | None] = {}
        for key, window in self._advance(now, previous).items():
            increase, covered = window.increase()
            if isinstance(increase, HistogramValue):
                out[key] = _quantile(self.expr.selector, increase)
            else:
                out[key] = increase / covered if covered > 0 else None
        gone = self._known.difference(out)
        if gone:  # groups with a rate last time and no window now
            out.update(dict.fromkeys(gone))
        self._known = {k for k, v in out.items() if v is not None}
        return out


def _numbers(selector: Selector) -> Any:
    """What a counter window reads from a column of ``selector``'s readings."""

    def read(column: list[Any], histogram: bool) -> list[Any]:
        return _readings(selector, column, histogram)

    return read


class _RateState(_RuleState):
    """Per-second increase of a counter (or a histogram's count or sum) over a window."""

    expr: RateExpr

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, RateExpr)
        self.expr = rule.expr
        self._window = CounterWindow(rule.expr.window, self.horizon)
        self._read = _numbers(rule.expr.selector)

    def selectors(self) -> Iterable[tuple[str, Selector]]:
        return (("rate", self.expr.selector),)

    def check(self, role: str, batch: Batch) -> None:
        _check(self.expr.selector, batch.histogram)

    def observe(self, role: str, route: Route, batch: Batch) -> None:
        _check(self.expr.selector, batch.histogram)
        self._window.observe(route, batch)

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        gone = self._window.advance(now, previous, self._read)
        if not self._window.keys and not gone:
            return NO_VALUES
        rates = self._window.rates(now)
        if gone:  # groups forgotten now: no data once, then nothing
            out: dict[GroupKey, float | None] = dict(rates.items())
            out.update(dict.fromkeys(gone))
            return out
        return rates


class _RatioState(_RuleState):
    """Increase of the numerator over increase of the denominator, per group, in one window."""

    expr: RatioExpr

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, RatioExpr)
        self.expr = rule.expr
        self._windows = {
            "numerator": CounterWindow(rule.expr.window, self.horizon),
            "denominator": CounterWindow(rule.expr.window, self.horizon),
        }
        self._reads = {"numerator": _numbers(rule.expr.numerator), "denominator": _numbers(rule.expr.denominator)}
        self._known: set[GroupKey] = set()

    def selectors(self) -> Iterable[tuple[str, Selector]]:
        return (("numerator", self.expr.numerator), ("denominator", self.expr.denominator))

    def _selector(self, role: str) -> Selector:
        return self.expr.numerator if role == "numerator" else self.expr.denominator

    def check(self, role: str, batch: Batch) -> None:
        selector = self._selector(role)
        if selector.field == "quantile":
            raise ValueError("a ratio reads numbers (field value, count or sum), not a quantile")
        _check(selector, batch.histogram)

    def observe(self, role: str, route: Route, batch: Batch) -> None:
        self.check(role, batch)
        self._windows[role].observe(route, batch)

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        for role, window in self._windows.items():
            window.advance(now, previous, self._reads[role])
        numerators = self._windows["numerator"].increases(now)
        denominators = self._windows["denominator"].increases(now)
        out: dict[GroupKey, float | None] = dict.fromkeys(self._known)
        floor = self.expr.min_denominator
        for key, den in denominators.items():
            num = numerators.get(key, 0.0)
            out[key] = num / den if den > 0 and den >= floor else None
        self._known = set(denominators)
        return out


class _AbsentState(_RuleState):
    expr: AbsentExpr

    def __init__(self, rule: Rule, start: float) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, AbsentExpr)
        self.expr = rule.expr
        self._start = start
        #: per group, the time of its last new data (start-up if it never had any)
        self._fresh: dict[GroupKey, float] = {}
        #: per group, the time of its last point
        self._seen: dict[GroupKey, float] = {}
        #: the newest data of the groups forgotten so far (start-up before any)
        self._last_data = start
        #: the group with empty labels that stands for the whole metric while no group
        #: has a point; ``_placeholder`` once it has been reported
        self._empty: GroupKey = tuple("" for _ in self.by)
        self._placeholder = False

    def selectors(self) -> Iterable[tuple[str, Selector]]:
        return (("absent", self.expr.selector),)

    def check(self, role: str, batch: Batch) -> None:
        """Any batch can be read: only freshness counts."""

    def observe(self, role: str, route: Route, batch: Batch) -> None:
        fresh_at = self._fresh
        time = batch.time
        start = self._start
        keys = route.keys
        self._seen.update(zip(keys, repeat(time)))
        for key, fresh in zip(keys, route.pick(batch.fresh())):
            if fresh:
                fresh_at[key] = time
            else:
                fresh_at.setdefault(key, start)

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        fresh_at = self._fresh
        seen = self._seen
        oldest = now - self.horizon
        for key in [k for k, t in seen.items() if t < oldest]:
            del seen[key]
            last = fresh_at.pop(key)
            if last > self._last_data:
                self._last_data = last
        if not fresh_at:
            # no group has a point: the metric as a whole, since its last data
            self._placeholder = True
            return {self._empty: now - self._last_data}
        out: dict[GroupKey, float | None] = {key: now - t for key, t in fresh_at.items()}
        if self._placeholder:
            # real groups took over: the placeholder reads 0, so an alert it fired resolves
            out.setdefault(self._empty, 0.0)
        return out


def _state_for(rule: Rule, start: float) -> _RuleState:
    expr = rule.expr
    if isinstance(expr, ValueExpr):
        return _ValueState(rule)
    if isinstance(expr, RateExpr):
        return _HistogramRateState(rule) if expr.selector.field == "quantile" else _RateState(rule)
    if isinstance(expr, RatioExpr):
        return _RatioState(rule)
    return _AbsentState(rule, start)


class Evaluator:
    """Feeds each collection to the rules that read its metrics."""

    def __init__(self, rules: Sequence[Rule], start: float, start_ns: int) -> None:
        self._start = start
        self._previous = start
        self._states = [_state_for(rule, start) for rule in rules]
        self._consumers: dict[str, list[tuple[_RuleState, str, Selector]]] = {}
        for state in self._states:
            for role, selector in state.selectors():
                self._consumers.setdefault(selector.metric, []).append((state, role, selector))
        # a series is kept as long as the longest horizon of the rules reading it
        # only ``value`` rules read current values alone; the others read increases
        self._metrics = {
            name: MetricState(
                name,
                start_ns,
                max(state.horizon for state, _, _ in consumers),
                increases=not all(isinstance(state, _ValueState) for state, _, _ in consumers),
            )
            for name, consumers in self._consumers.items()
        }
        # per metric and rule: its (consumer slot, role, selector.matches, rule.group);
        # two slots when both sides of a ratio read the metric
        self._routing: dict[str, list[tuple[_RuleState, list[_Slot]]]] = {}
        for name, consumers in self._consumers.items():
            by_rule: dict[int, tuple[_RuleState, list[_Slot]]] = {}
            for slot, (state, role, selector) in enumerate(consumers):
                entry = by_rule.setdefault(id(state), (state, []))
                entry[1].append((slot, role, selector.matches, state.group))
            self._routing[name] = list(by_rule.values())
        # who takes the carried batches of delta series without a point
        self._carried_routing = {
            name: [(state, slots) for state, slots in consumers if state.carries]
            for name, consumers in self._routing.items()
        }
        # set once some metric had delta points: only then is there anything to carry
        self._carrying = False
        #: metrics that went past the cardinality limit (for good: see MetricState)
        self.overflowed: set[str] = set()
        self._ticks = 0

    @property
    def rules(self) -> list[Rule]:
        return [state.rule for state in self._states]

    @property
    def watched_metrics(self) -> frozenset[str]:
        return frozenset(self._consumers)

    def overflowed_metrics(self) -> list[str]:
        return sorted(self.overflowed) if self.overflowed else []

    def evaluate(self, data: MetricsData | None, now: float) -> list[RuleResult]:
        failed: dict[int, str] = {}
        if data is not None:
            routing = self._routing
            for resource_metrics in data.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        consumers = routing.get(metric.name)
                        if consumers is None:
                            continue
                        metric_state = self._metrics[metric.name]
                        batch = metric_state.update(metric, scope_metrics.scope.name, now)
                        if batch is not None:
                            _feed(consumers, batch, failed)
                            if metric_state.carrying:
                                self._carrying = True
                            # only the per-point path meets new series
                            if not batch.steady and metric_state.overflowed:
                                self.overflowed.add(metric.name)
        if self._carrying:
            for name, metric_state in self._metrics.items():
                if metric_state.carrying:
                    carried_consumers = self._carried_routing[name]
                    for batch in metric_state.carry(now):
                        _feed(carried_consumers, batch, failed)
        results = []
        previous = self._previous
        for rule_state in self._states:
            if rule_state.quiet:
                results.append(rule_state.no_values)
                continue
            error = failed.get(id(rule_state)) if failed else None
            if error is None:
                try:
                    values = rule_state.finish(now, previous)
                except Exception as exc:
                    error = _describe(exc)
            if error is not None:
                results.append(RuleResult(rule_state.rule, NO_VALUES, error))
            elif values is NO_VALUES:
                rule_state.quiet = True
                results.append(rule_state.no_values)
            else:
                results.append(RuleResult(rule_state.rule, values))
        self._previous = now
        self._ticks += 1
        if self._ticks % 64 == 0:
            for metric_state in self._metrics.values():
                metric_state.prune(now - metric_state.horizon)
        return results


def _feed(consumers: list[tuple[_RuleState, list[_Slot]]], batch: Batch, failed: dict[int, str]) -> None:
    """Hand one batch to the rules that read its metric; a rule that raises is marked failed."""
    layout = batch.layout
    for rule_state, slots in consumers:
        if id(rule_state) in failed:
            continue
        rule_state.quiet = False
        try:
            if len(slots) == 1:
                slot, role, matches, group = slots[0]
                route = layout.route(slot, matches, group)
                if route.keys:
                    rule_state.observe(role, route, batch)
            else:
                _observe_together(rule_state, slots, batch)
        except Exception as exc:
            failed[id(rule_state)] = _describe(exc)


def _observe_together(rule_state: _RuleState, slots: list[_Slot], batch: Batch) -> None:
    """Feed one batch to a rule that reads it through several selectors.

    Point by point, each selector in turn, as the rule would see the points one at a
    time: if one side cannot read the batch, the rule stops at the first point that
    side selects, and the other sides keep what came before that point.
    """
    routes = [(role, batch.layout.route(slot, matches, group)) for slot, role, matches, group in slots]
    stop: tuple[int, int] | None = None
    error: Exception | None = None
    for order, (role, route) in enumerate(routes):
        if not route.keys:
            continue
        try:
            rule_state.check(role, batch)
        except Exception as exc:
            at = (route.index[0] if route.index is not None else 0, order)
            if stop is None or at < stop:
                stop, error = at, exc
    if stop is None or error is None:
        for role, route in routes:
            if route.keys:
                rule_state.observe(role, route, batch)
        return
    for order, (role, route) in enumerate(routes):
        part = route.head(stop[0] + 1 if order < stop[1] else stop[0])
        if part.keys:
            rule_state.observe(role, part, batch)
    raise error


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
