"""Rules x series -> one value per alert group, once per collection.

Only metrics that some rule reads are looked at: the cost of an evaluation grows with
the watched series, not with everything the application records. Each watched metric
has a ``MetricState`` that turns its points into values and increases; each rule takes
the points of its groups (a series knows its group for every rule that reads it, see
``series``) and gives one value per group at the end of the collection.

Silence. A group with no point keeps its place for a while: a ``rate``/``ratio`` window
keeps its last total (the rate falls to 0, as for a counter that stops increasing), a
``value`` group reads no data, an ``absent`` group keeps counting. Once it has had no
point for the rule's horizon (``horizon``: 10 minutes, or twice the window, or twice
what an ``absent`` rule waits for, whichever is longer) it is forgotten, so churning
attribute values do not grow the state without bound. Delta series that sent no point
are carried at their unchanged total for ``value`` rules (see ``MetricState.carry``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce as fold_left
from operator import add

from opentelemetry.sdk.metrics.export import MetricsData

from ..rules.model import AbsentExpr, RateExpr, RatioExpr, Rule, Selector, ValueExpr
from .quantile import bucket_quantile
from .results import NO_VALUES, GroupKey, RuleResult
from .series import Attributes, HistogramValue, MetricState, MetricUpdate, Reading
from .windows import Windows

__all__ = ["FORGET_AFTER", "Evaluator", "GroupKey", "RuleResult", "horizon"]

#: the shortest time a group or series goes without a point before it is forgotten
FORGET_AFTER = 600.0

#: how many evaluations pass between two sweeps of forgotten series
_PRUNE_EVERY = 64


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


def _check(selector: Selector, histogram: bool) -> None:
    """Raise what reading an update with ``selector`` raises (every point of an update
    has the same type, so an update is read whole or not at all)."""
    if selector.field == "quantile":
        if not histogram:
            raise ValueError(f"{selector.metric} is not a histogram: a quantile needs one")
    elif histogram:
        if selector.field not in ("count", "sum"):
            raise ValueError(f"{selector.metric} is a histogram: read it with field: count, sum or quantile")
    elif selector.field != "value":
        raise ValueError(f"{selector.metric} is not a histogram: field {selector.field} needs one")


def _number(selector: Selector, reading: Reading) -> float:
    """What ``selector`` reads as a number: the value, or a histogram's count or sum."""
    if isinstance(reading, HistogramValue):
        return reading.count if selector.field == "count" else reading.sum
    return reading


def reduce_group(reduce: str, values: Sequence[float]) -> float:
    """A group's value from its series' values in order: ``sum`` and ``avg`` add them in
    order (as a running total would), ``last`` is the last one."""
    if reduce == "sum":
        return fold_left(add, values)
    if reduce == "avg":
        return fold_left(add, values) / len(values)
    if reduce == "max":
        return max(values)
    if reduce == "min":
        return min(values)
    return values[-1]


class _RuleState(ABC):
    """One rule's state between collections: it takes the points of its groups
    (``observe``), then gives a value per group (``finish``)."""

    #: takes the ``carried`` updates of delta series without a point (``value`` only: for
    #: a window a carried point adds nothing, and ``absent`` wants real points)
    carries = False

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.by = rule.by
        self.horizon = horizon(rule)

    def group(self, attributes: Attributes) -> GroupKey:
        return tuple([_label(attributes.get(key, "")) for key in self.by])

    @abstractmethod
    def selectors(self) -> Sequence[tuple[str, Selector]]:
        """(role, selector) pairs this rule reads."""

    def check(self, role: str, update: MetricUpdate) -> None:
        """Raise if the side ``role`` cannot read ``update``."""
        _check(dict(self.selectors())[role], update.histogram)

    @abstractmethod
    def observe(self, role: str, slot: int, update: MetricUpdate) -> None:
        """Take the points of ``update`` whose group for consumer ``slot`` is set
        (``check`` has passed)."""

    @abstractmethod
    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        """The value of each group at ``now`` (``previous``: the last evaluation)."""


class _ValueState(_RuleState):
    """Reduces the current value of the series of each group."""

    carries = True

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, ValueExpr)
        self.expr = rule.expr
        self._tick: dict[GroupKey, list[Reading]] = {}
        self._known: set[GroupKey] = set()
        #: known groups without a point, and the time of their last one
        self._silent: dict[GroupKey, float] = {}

    def selectors(self) -> Sequence[tuple[str, Selector]]:
        return (("value", self.expr.selector),)

    def observe(self, role: str, slot: int, update: MetricUpdate) -> None:
        selector = self.expr.selector
        numbers = update.histogram and selector.field != "quantile"  # a histogram's count or sum
        tick = self._tick
        for groups, reading in zip(update.groups, update.values):
            group = groups[slot]
            if group is not None:
                tick.setdefault(group, []).append(_number(selector, reading) if numbers else reading)

    def _value(self, readings: list[Reading]) -> float | None:
        if self.expr.selector.field == "quantile":
            merged = fold_left(HistogramValue.plus, readings)  # type: ignore[arg-type]
            assert isinstance(merged, HistogramValue) and self.expr.selector.quantile is not None
            return bucket_quantile(self.expr.selector.quantile, merged.bounds, merged.buckets)
        return reduce_group(self.expr.reduce or "last", readings)  # type: ignore[arg-type]

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        tick, self._tick = self._tick, {}
        known = self._known
        if not tick and not known:
            return NO_VALUES
        out: dict[GroupKey, float | None] = dict.fromkeys(known)
        for group, readings in tick.items():
            out[group] = self._value(readings)
        missing = known.difference(tick)
        silent = self._silent
        if missing:  # known groups without a point: no data, then forgotten
            for key in [k for k in silent if k not in missing]:
                del silent[key]
            oldest = now - self.horizon
            for key in missing:
                # not silent before: its last point was in the previous evaluation
                if silent.setdefault(key, previous) < oldest:
                    del silent[key]
                    del out[key]
                    known.discard(key)
        else:
            silent.clear()
        known.update(out)
        return out


class _RateState(_RuleState):
    """Per-second increase of a counter (or a histogram's count or sum) over a window."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, RateExpr)
        self.expr = rule.expr
        self._windows = Windows(rule.expr.window, self.horizon)
        self._tick: dict[GroupKey, list[float]] = {}

    def selectors(self) -> Sequence[tuple[str, Selector]]:
        return (("rate", self.expr.selector),)

    def observe(self, role: str, slot: int, update: MetricUpdate) -> None:
        _add_counts(self._tick, self.expr.selector, slot, update)

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        tick, self._tick = self._tick, {}
        windows = self._windows
        windows.take_counts(tick, now, previous)
        gone = windows.advance(now)
        if not windows.groups and not gone:
            return NO_VALUES
        out = windows.rates(now)
        out.update(dict.fromkeys(gone))  # groups forgotten now: no data once, then nothing
        return out


def _add_counts(tick: dict[GroupKey, list[float]], selector: Selector, slot: int, update: MetricUpdate) -> None:
    """Add the points of ``update`` to ``tick``: per group, [sum of values, sum of increases]."""
    histogram = update.histogram  # a histogram's count or sum, else the numbers as they are
    for groups, value, increase in zip(update.groups, update.values, update.increases):
        group = groups[slot]
        if group is None:
            continue
        if histogram:
            value, increase = _number(selector, value), _number(selector, increase)
        found = tick.get(group)
        if found is None:
            tick[group] = [value, increase]  # type: ignore[list-item]
        else:
            found[0] += value  # type: ignore[operator]
            found[1] += increase  # type: ignore[operator]


class _HistogramRateState(_RuleState):
    """A quantile of a histogram's increase over a window."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, RateExpr) and rule.expr.selector.quantile is not None
        self.expr = rule.expr
        self._quantile = rule.expr.selector.quantile
        self._windows = Windows(rule.expr.window, self.horizon, histograms=True)
        self._tick: dict[GroupKey, HistogramValue] = {}
        self._known: set[GroupKey] = set()

    def selectors(self) -> Sequence[tuple[str, Selector]]:
        return (("rate", self.expr.selector),)

    def observe(self, role: str, slot: int, update: MetricUpdate) -> None:
        tick = self._tick
        for groups, increase in zip(update.groups, update.increases):
            group = groups[slot]
            if group is not None:
                assert isinstance(increase, HistogramValue)
                found = tick.get(group)
                tick[group] = increase if found is None else found.plus(increase)

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        tick, self._tick = self._tick, {}
        windows = self._windows
        windows.take_histograms(tick, now, previous)
        windows.advance(now)
        out: dict[GroupKey, float | None] = {}
        for key, group in windows.groups.items():
            grew, _ = group.increase(now)
            assert isinstance(grew, HistogramValue)
            out[key] = bucket_quantile(self._quantile, grew.bounds, grew.buckets)
        gone = self._known.difference(out)
        if gone:  # groups with a value last time and no window now
            out.update(dict.fromkeys(gone))
        self._known = {k for k, v in out.items() if v is not None}
        return out


class _RatioState(_RuleState):
    """Increase of the numerator over increase of the denominator, per group, in one window."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, RatioExpr)
        self.expr = rule.expr
        self._sides = {"numerator": rule.expr.numerator, "denominator": rule.expr.denominator}
        self._windows = {role: Windows(rule.expr.window, self.horizon) for role in self._sides}
        self._ticks: dict[str, dict[GroupKey, list[float]]] = {role: {} for role in self._sides}
        self._known: set[GroupKey] = set()

    def selectors(self) -> Sequence[tuple[str, Selector]]:
        return tuple(self._sides.items())

    def check(self, role: str, update: MetricUpdate) -> None:
        if self._sides[role].field == "quantile":
            raise ValueError("a ratio reads numbers (field value, count or sum), not a quantile")
        super().check(role, update)

    def observe(self, role: str, slot: int, update: MetricUpdate) -> None:
        _add_counts(self._ticks[role], self._sides[role], slot, update)

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        increases = {}
        for role, windows in self._windows.items():
            tick, self._ticks[role] = self._ticks[role], {}
            windows.take_counts(tick, now, previous)
            windows.advance(now)
            increases[role] = windows.increases(now)
        numerators = increases["numerator"]
        denominators = increases["denominator"]
        out: dict[GroupKey, float | None] = dict.fromkeys(self._known)
        floor = self.expr.min_denominator
        for key, den in denominators.items():
            num = numerators.get(key, 0.0)
            assert not isinstance(num, HistogramValue) and not isinstance(den, HistogramValue)
            out[key] = num / den if den > 0 and den >= floor else None
        self._known = set(denominators)
        return out


class _AbsentState(_RuleState):
    """Seconds since each group last had new data."""

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

    def selectors(self) -> Sequence[tuple[str, Selector]]:
        return (("absent", self.expr.selector),)

    def check(self, role: str, update: MetricUpdate) -> None:
        """Any update can be read: only freshness counts."""

    def observe(self, role: str, slot: int, update: MetricUpdate) -> None:
        fresh_at, seen = self._fresh, self._seen
        time, start = update.time, self._start
        for groups, fresh in zip(update.groups, update.fresh):
            group = groups[slot]
            if group is not None:
                seen[group] = time
                if fresh:
                    fresh_at[group] = time
                else:
                    fresh_at.setdefault(group, start)

    def finish(self, now: float, previous: float) -> Mapping[GroupKey, float | None]:
        fresh_at, seen = self._fresh, self._seen
        oldest = now - self.horizon
        for key in [k for k, t in seen.items() if t < oldest]:
            del seen[key]
            self._last_data = max(self._last_data, fresh_at.pop(key))
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


#: the sides of one rule that read one metric: (consumer slot, role), in slot order
_Sides = list[tuple[int, str]]


@dataclass
class _Watched:
    """One metric some rule reads: its series, and who reads them."""

    state: MetricState
    #: per rule reading the metric, its sides
    readers: list[tuple[_RuleState, _Sides]]
    #: the same, for the rules that take carried delta points
    carried: list[tuple[_RuleState, _Sides]]


def _selection(rule_state: _RuleState, selector: Selector) -> Callable[[Attributes], GroupKey | None]:
    def select(attributes: Attributes) -> GroupKey | None:
        return rule_state.group(attributes) if selector.matches(attributes) else None

    return select


class Evaluator:
    """Feeds each collection to the rules that read its metrics."""

    def __init__(self, rules: Sequence[Rule], start: float, start_ns: int) -> None:
        self._previous = start
        self._states = [_state_for(rule, start) for rule in rules]
        consumers: dict[str, list[tuple[_RuleState, str, Selector]]] = {}
        for state in self._states:
            for role, selector in state.selectors():
                consumers.setdefault(selector.metric, []).append((state, role, selector))
        self._watched: dict[str, _Watched] = {}
        for name, found in consumers.items():
            readers: dict[_RuleState, _Sides] = {}
            for slot, (state, role, _) in enumerate(found):
                readers.setdefault(state, []).append((slot, role))
            # a series is kept as long as the longest horizon of the rules reading it
            metric = MetricState(
                name,
                [_selection(state, selector) for state, _, selector in found],
                start_ns,
                max(state.horizon for state, _, _ in found),
            )
            pairs = list(readers.items())
            self._watched[name] = _Watched(metric, pairs, [(s, sides) for s, sides in pairs if s.carries])
        #: metrics that went past the cardinality limit (for good: see MetricState)
        self.overflowed: set[str] = set()
        self._evaluations = 0

    @property
    def rules(self) -> list[Rule]:
        return [state.rule for state in self._states]

    @property
    def watched_metrics(self) -> frozenset[str]:
        return frozenset(self._watched)

    def overflowed_metrics(self) -> list[str]:
        return sorted(self.overflowed)

    def evaluate(self, data: MetricsData | None, now: float) -> list[RuleResult]:
        """One collection: every rule's value per group at ``now``."""
        failed: dict[_RuleState, str] = {}
        if data is not None:
            for resource_metrics in data.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    scope = scope_metrics.scope.name
                    for metric in scope_metrics.metrics:
                        watched = self._watched.get(metric.name)
                        if watched is None:
                            continue
                        update = watched.state.update(metric, scope, now)
                        if update is not None:
                            _feed(watched.readers, update, failed)
                        if watched.state.overflowed:
                            self.overflowed.add(metric.name)
        for watched in self._watched.values():
            if watched.state.carrying:
                for update in watched.state.carry(now):
                    _feed(watched.carried, update, failed)
        results = [self._finish(state, failed.get(state), now) for state in self._states]
        self._previous = now
        self._evaluations += 1
        if self._evaluations % _PRUNE_EVERY == 0:
            for watched in self._watched.values():
                watched.state.prune(now - watched.state.horizon)
        return results

    def _finish(self, state: _RuleState, error: str | None, now: float) -> RuleResult:
        if error is None:
            try:
                return RuleResult(state.rule, state.finish(now, self._previous))
            except Exception as exc:
                error = _describe(exc)
        return RuleResult(state.rule, NO_VALUES, error)


def _feed(readers: list[tuple[_RuleState, _Sides]], update: MetricUpdate, failed: dict[_RuleState, str]) -> None:
    """Hand one update to the rules that read its metric; a rule that cannot read it
    is marked failed for this collection."""
    for state, sides in readers:
        if state in failed:
            continue
        try:
            _observe(state, sides, update)
        except Exception as exc:
            failed[state] = _describe(exc)


def _observe(state: _RuleState, sides: _Sides, update: MetricUpdate) -> None:
    """Feed one update to the sides of one rule, as the rule would see the points one
    at a time, each side in turn: if a side cannot read the update, the rule stops at the
    first point that side selects, and the other sides keep what came before that point
    (the sides before it in order, that point too)."""
    stop: tuple[int, int] | None = None
    error: Exception | None = None
    for order, (slot, role) in enumerate(sides):
        try:
            state.check(role, update)
        except Exception as exc:
            first = next((i for i, groups in enumerate(update.groups) if groups[slot] is not None), None)
            if first is not None and (stop is None or (first, order) < stop):
                stop, error = (first, order), exc
    for order, (slot, role) in enumerate(sides):
        if stop is None:
            state.observe(role, slot, update)
        else:
            state.observe(role, slot, update.head(stop[0] + 1 if order < stop[1] else stop[0]))
    if error is not None:
        raise error


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
