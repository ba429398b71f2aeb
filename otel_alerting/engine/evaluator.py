"""Rules x series -> one value per alert group, once per collection.

Only metrics that some rule reads are looked at: the cost of an evaluation grows
with the watched series, not with everything the application records.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from opentelemetry.sdk.metrics.export import MetricsData

from ..rules.model import AbsentExpr, RateExpr, RatioExpr, Rule, Selector, ValueExpr
from .quantile import bucket_quantile
from .series import HistogramValue, MetricState, Reading, Sample

__all__ = ["Evaluator", "GroupKey", "RuleResult"]

_logger = logging.getLogger(__name__)

#: the values of a rule's ``by`` attributes, in the rule's order
GroupKey = tuple[str, ...]


@dataclass(frozen=True)
class RuleResult:
    """What one rule saw in one collection: a value (None: no data) per group."""

    rule: Rule
    values: dict[GroupKey, float | None] = field(default_factory=dict)
    error: str | None = None


class _RuleState(ABC):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.by = rule.by

    def group(self, sample: Sample) -> GroupKey:
        attributes = sample.attributes
        return tuple(str(attributes.get(key, "")) for key in self.by)

    @abstractmethod
    def selectors(self) -> Iterable[tuple[str, Selector]]:
        """(role, selector) pairs this rule reads."""

    @abstractmethod
    def observe(self, role: str, sample: Sample) -> None: ...

    @abstractmethod
    def finish(self, now: float, previous: float) -> dict[GroupKey, float | None]: ...


def _scalar(selector: Selector, reading: Reading) -> float:
    if isinstance(reading, HistogramValue):
        if selector.field == "count":
            return reading.count
        if selector.field == "sum":
            return reading.sum
        raise ValueError(f"{selector.metric} is a histogram: read it with field: count, sum or quantile")
    if selector.field != "value":
        raise ValueError(f"{selector.metric} is not a histogram: field {selector.field} needs one")
    return reading


def _histogram(selector: Selector, reading: Reading) -> HistogramValue:
    if not isinstance(reading, HistogramValue):
        raise ValueError(f"{selector.metric} is not a histogram: a quantile needs one")
    return reading


def _quantile(selector: Selector, value: HistogramValue) -> float | None:
    assert selector.quantile is not None
    return bucket_quantile(selector.quantile, value.bounds, value.buckets)


class _ValueState(_RuleState):
    """Reduces the current value of the series of each group."""

    expr: ValueExpr

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        assert isinstance(rule.expr, ValueExpr)
        self.expr = rule.expr
        self._known: set[GroupKey] = set()
        self._numbers: dict[GroupKey, list[float]] = {}
        self._histograms: dict[GroupKey, HistogramValue] = {}

    def selectors(self) -> Iterable[tuple[str, Selector]]:
        return (("value", self.expr.selector),)

    def observe(self, role: str, sample: Sample) -> None:
        key = self.group(sample)
        selector = self.expr.selector
        if selector.field == "quantile":
            hist = _histogram(selector, sample.value)
            previous = self._histograms.get(key)
            self._histograms[key] = hist if previous is None else previous.plus(hist)
            return
        value = _scalar(selector, sample.value)
        acc = self._numbers.get(key)
        if acc is None:
            # sum, count, max, min, time of last, last
            self._numbers[key] = [value, 1.0, value, value, sample.time, value]
        else:
            acc[0] += value
            acc[1] += 1
            if value > acc[2]:
                acc[2] = value
            if value < acc[3]:
                acc[3] = value
            if sample.time >= acc[4]:
                acc[4] = sample.time
                acc[5] = value

    def finish(self, now: float, previous: float) -> dict[GroupKey, float | None]:
        out: dict[GroupKey, float | None] = dict.fromkeys(self._known)
        reduce = self.expr.reduce or "last"
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
        self._known.update(out)
        self._numbers = {}
        self._histograms = {}
        return out


class _Window:
    """Running totals of one group, one entry per collection, trimmed to a window."""

    __slots__ = ("last_seen", "samples", "total")

    def __init__(self, start: float, zero: Reading) -> None:
        self.total: Reading = zero
        self.samples: deque[tuple[float, Reading]] = deque([(start, zero)])
        self.last_seen = start

    def push(self, now: float, increase: Reading | None, window: float) -> None:
        if increase is not None:
            self.total = _add(self.total, increase)
            self.last_seen = now
        self.samples.append((now, self.total))
        horizon = now - window
        samples = self.samples
        # keep one sample at or before the horizon: it is the base of the increase
        while len(samples) >= 2 and samples[1][0] <= horizon:
            samples.popleft()

    def increase(self) -> tuple[Reading, float]:
        """(increase, covered seconds) from the window's base to now."""
        base_time, base = self.samples[0]
        now, total = self.samples[-1]
        return _sub(total, base), now - base_time


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


class _WindowedState(_RuleState):
    """Shared by rate and ratio: per role and group, increases within ``window``."""

    def __init__(self, rule: Rule, window: float) -> None:
        super().__init__(rule)
        self.window = window
        self._windows: dict[str, dict[GroupKey, _Window]] = {}
        self._tick: dict[str, dict[GroupKey, Reading]] = {}

    def observe(self, role: str, sample: Sample) -> None:
        key = self.group(sample)
        selector = self._selector(role)
        increase: Reading
        if selector.field == "quantile":
            increase = _histogram(selector, sample.increase)
        else:
            increase = _scalar(selector, sample.increase)
        tick = self._tick.setdefault(role, {})
        previous = tick.get(key)
        tick[key] = increase if previous is None else _add(previous, increase)

    @abstractmethod
    def _selector(self, role: str) -> Selector: ...

    def _advance(self, role: str, now: float, previous: float) -> dict[GroupKey, _Window]:
        windows = self._windows.setdefault(role, {})
        tick = self._tick.pop(role, {})
        for key, _increase in tick.items():
            if key not in windows:
                windows[key] = _Window(previous, 0.0)
        for key, window in windows.items():
            window.push(now, tick.get(key), self.window)
        # a group with no point for a whole window is gone
        for key in [k for k, w in windows.items() if w.last_seen < now - self.window]:
            del windows[key]
        return windows


class _RateState(_WindowedState):
    expr: RateExpr

    def __init__(self, rule: Rule) -> None:
        assert isinstance(rule.expr, RateExpr)
        super().__init__(rule, rule.expr.window)
        self.expr = rule.expr
        self._known: set[GroupKey] = set()

    def selectors(self) -> Iterable[tuple[str, Selector]]:
        return (("rate", self.expr.selector),)

    def _selector(self, role: str) -> Selector:
        return self.expr.selector

    def finish(self, now: float, previous: float) -> dict[GroupKey, float | None]:
        out: dict[GroupKey, float | None] = dict.fromkeys(self._known)
        for key, window in self._advance("rate", now, previous).items():
            increase, covered = window.increase()
            if isinstance(increase, HistogramValue):
                out[key] = _quantile(self.expr.selector, increase)
            else:
                out[key] = increase / covered if covered > 0 else None
        self._known = {k for k in out if out[k] is not None}
        return out


class _RatioState(_WindowedState):
    expr: RatioExpr

    def __init__(self, rule: Rule) -> None:
        assert isinstance(rule.expr, RatioExpr)
        super().__init__(rule, rule.expr.window)
        self.expr = rule.expr
        self._known: set[GroupKey] = set()

    def selectors(self) -> Iterable[tuple[str, Selector]]:
        return (("numerator", self.expr.numerator), ("denominator", self.expr.denominator))

    def _selector(self, role: str) -> Selector:
        return self.expr.numerator if role == "numerator" else self.expr.denominator

    def finish(self, now: float, previous: float) -> dict[GroupKey, float | None]:
        numerators = self._advance("numerator", now, previous)
        denominators = self._advance("denominator", now, previous)
        out: dict[GroupKey, float | None] = dict.fromkeys(self._known)
        floor = self.expr.min_denominator
        for key, den_window in denominators.items():
            den, _ = den_window.increase()
            num_window = numerators.get(key)
            num = num_window.increase()[0] if num_window is not None else 0.0
            assert not isinstance(den, HistogramValue) and not isinstance(num, HistogramValue)
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
        self._fresh: dict[GroupKey, float] = {}

    def selectors(self) -> Iterable[tuple[str, Selector]]:
        return (("absent", self.expr.selector),)

    def observe(self, role: str, sample: Sample) -> None:
        key = self.group(sample)
        if sample.fresh:
            self._fresh[key] = sample.time
        else:
            self._fresh.setdefault(key, self._start)

    def finish(self, now: float, previous: float) -> dict[GroupKey, float | None]:
        if not self._fresh:
            return {tuple("" for _ in self.by): now - self._start}
        return {key: now - seen for key, seen in self._fresh.items()}


def _state_for(rule: Rule, start: float) -> _RuleState:
    expr = rule.expr
    if isinstance(expr, ValueExpr):
        return _ValueState(rule)
    if isinstance(expr, RateExpr):
        return _RateState(rule)
    if isinstance(expr, RatioExpr):
        return _RatioState(rule)
    return _AbsentState(rule, start)


class Evaluator:
    """Feeds each collection to the rules that read its metrics."""

    def __init__(self, rules: Sequence[Rule], start: float, start_ns: int) -> None:
        self._start = start
        self._previous = start
        self._states = [_state_for(rule, start) for rule in rules]
        self._metrics: dict[str, MetricState] = {}
        self._consumers: dict[str, list[tuple[_RuleState, str, Selector]]] = {}
        for state in self._states:
            for role, selector in state.selectors():
                self._consumers.setdefault(selector.metric, []).append((state, role, selector))
                self._metrics.setdefault(selector.metric, MetricState(selector.metric, start_ns))
        self._max_window = max([getattr(s.rule.expr, "window", 0.0) for s in self._states] + [300.0])
        self._ticks = 0

    @property
    def rules(self) -> list[Rule]:
        return [state.rule for state in self._states]

    @property
    def watched_metrics(self) -> frozenset[str]:
        return frozenset(self._consumers)

    def overflowed_metrics(self) -> list[str]:
        return sorted(name for name, state in self._metrics.items() if state.overflowed)

    def evaluate(self, data: MetricsData | None, now: float) -> list[RuleResult]:
        failed: dict[int, str] = {}
        if data is not None:
            consumers_by_name = self._consumers
            for resource_metrics in data.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    scope = scope_metrics.scope.name
                    for metric in scope_metrics.metrics:
                        consumers = consumers_by_name.get(metric.name)
                        if consumers is None:
                            continue
                        state = self._metrics[metric.name]
                        for sample in state.samples(metric, scope, now):
                            for rule_state, role, selector in consumers:
                                if id(rule_state) in failed or not selector.matches(sample.attributes):
                                    continue
                                try:
                                    rule_state.observe(role, sample)
                                except Exception as exc:
                                    failed[id(rule_state)] = _describe(exc)
        results = []
        for rule_state in self._states:
            error = failed.get(id(rule_state))
            if error is None:
                try:
                    values = rule_state.finish(now, self._previous)
                except Exception as exc:
                    error = _describe(exc)
            if error is not None:
                results.append(RuleResult(rule_state.rule, {}, error))
            else:
                results.append(RuleResult(rule_state.rule, _finite(values)))
        self._previous = now
        self._ticks += 1
        if self._ticks % 64 == 0:
            for metric_state in self._metrics.values():
                metric_state.prune(now - self._max_window - 60.0)
        return results


def _finite(values: dict[GroupKey, float | None]) -> dict[GroupKey, float | None]:
    return {k: (v if v is None or math.isfinite(v) else None) for k, v in values.items()}


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
