"""Rule states: what each kind of rule keeps between collections, and its value per group.

A rule takes the points of its groups (``observe``) during a collection, then gives one
value per group (``finish``). Silence: a group with no point keeps its place for a
while: a ``rate``/``ratio`` window keeps its last total (the rate falls to 0, as for a
counter that stops increasing), a ``value`` group reads no data, an ``absent`` group
keeps counting. Once it has had no point for the rule's horizon (``horizon``) it is
forgotten, so churning attribute values do not grow the state without bound.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import reduce as fold_left
from operator import add

from ..rules.model import AbsentExpr, RateExpr, RatioExpr, Rule, Selector, ValueExpr
from .quantile import bucket_quantile
from .results import NO_VALUES, GroupKey
from .series import Attributes, HistogramValue, MetricUpdate, Reading
from .windows import Windows

__all__ = ["FORGET_AFTER", "RuleState", "horizon", "reduce_group", "state_for"]

#: the shortest time a group or series goes without a point before it is forgotten
FORGET_AFTER = 600.0


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
    if reduce == "count":
        return float(len(values))
    return values[-1]


class RuleState(ABC):
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


class _ValueState(RuleState):
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
        for groups, reading, _, _ in update.points:
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
        quantile = self.expr.selector.field == "quantile"
        for group, readings in tick.items():
            # every reduction of a single number is that number
            out[group] = readings[0] if len(readings) == 1 and not quantile else self._value(readings)  # type: ignore[assignment]
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


class _RateState(RuleState):
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
    for groups, value, increase, _ in update.points:
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


class _HistogramRateState(RuleState):
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
        for groups, _, increase, _ in update.points:
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


class _RatioState(RuleState):
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


class _AbsentState(RuleState):
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
        for groups, _, _, fresh in update.points:
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


def state_for(rule: Rule, start: float) -> RuleState:
    expr = rule.expr
    if isinstance(expr, ValueExpr):
        return _ValueState(rule)
    if isinstance(expr, RateExpr):
        return _HistogramRateState(rule) if expr.selector.field == "quantile" else _RateState(rule)
    if isinstance(expr, RatioExpr):
        return _RatioState(rule)
    return _AbsentState(rule, start)
