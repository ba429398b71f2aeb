"""The evaluator against a reference written from the definitions, on random workloads.

The reference keeps the whole history and recomputes every value from it at each
collection, the slow and obvious way: a group's total is the sum of its series'
increases so far, a rate is how much that total grew since the newest collection at or
before the window's start (or since the group's birth). The workloads keep every window
within 60 collections (so the engine snapshots at every collection) and shorter than the
forgetting horizon, where the engine's bounded windows give exactly these values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import reduce
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import AggregationTemporality, Histogram, MetricsData, Sum

from otel_alerting.engine.evaluator import Evaluator
from otel_alerting.engine.quantile import bucket_quantile
from otel_alerting.rules import model

from .engine_scenarios import START_NS, RuleSpec, Scenario, build_rules, differences, run, scenario

Group = tuple[str, ...]
#: a reading: a number, or a histogram as (count, sum, bucket counts)
Reading = Any


def _plus(a: Reading, b: Reading) -> Reading:
    if isinstance(a, tuple):
        return (a[0] + b[0], a[1] + b[1], tuple(x + y for x, y in zip(a[2], b[2])))
    return a + b


def _minus(a: Reading, b: Reading) -> Reading:
    return _plus(a, _scale(b, -1))


def _scale(a: Reading, k: float) -> Reading:
    return (a[0] * k, a[1] * k, tuple(x * k for x in a[2])) if isinstance(a, tuple) else a * k


def _label(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class Reference:
    """Every point of every collection, kept; values recomputed from them."""

    def __init__(self, specs: Sequence[RuleSpec]) -> None:
        self.specs = specs
        self.times: list[float] = []
        #: per collection, per (metric, scope, series): (value, increase, fresh, histogram)
        self.points: list[dict[tuple[str, str, frozenset[Any]], tuple[Reading, Reading, bool, bool]]] = []
        self.attributes: dict[frozenset[Any], dict[str, Any]] = {}
        self.delta: dict[tuple[str, str], bool] = {}
        self.last: dict[tuple[str, str, frozenset[Any]], tuple[Reading, Reading]] = {}
        #: per collection, the series that sent a point
        self.real: list[set[tuple[str, str, frozenset[Any]]]] = []

    def take(self, data: MetricsData, now: float) -> None:
        points: dict[tuple[str, str, frozenset[Any]], tuple[Reading, Reading, bool, bool]] = {}
        for resource in data.resource_metrics:
            for scope_metrics in resource.scope_metrics:
                scope = scope_metrics.scope.name
                for metric in scope_metrics.metrics:
                    self._take_metric(metric, scope, points)
        self.real.append(set(points))
        # delta series with no point: their total, no increase (read by value rules alone)
        for key, (_, total) in self.last.items():
            if self.delta.get(key[:2]) and key not in points:
                zero = (0.0, 0.0, (0.0,) * len(total[2])) if isinstance(total, tuple) else 0.0
                points[key] = (total, zero, False, isinstance(total, tuple))
        self.times.append(now)
        self.points.append(points)

    def _take_metric(self, metric: Any, scope: str, points: dict[Any, Any]) -> None:
        data = metric.data
        is_delta = isinstance(data, (Sum, Histogram)) and data.aggregation_temporality == AggregationTemporality.DELTA
        histogram = isinstance(data, Histogram)
        self.delta[(metric.name, scope)] = is_delta
        for point in data.data_points:
            attributes = dict(point.attributes or {})
            series = frozenset(attributes.items())
            self.attributes[series] = attributes
            key = (metric.name, scope, series)
            raw: Reading = (
                (float(point.count), float(point.sum), tuple(map(float, point.bucket_counts)))
                if histogram
                else float(point.value)
            )
            seen = self.last.get(key)
            born_late = (point.start_time_unix_nano or 0) >= START_NS
            if is_delta:
                total = raw if seen is None else _plus(seen[1], raw)
                increase = raw
            elif isinstance(data, (Sum, Histogram)):
                total = raw
                monotonic = histogram or data.is_monotonic
                if seen is None:
                    increase = raw if born_late else _scale(raw, 0)
                elif monotonic and (raw[0] < seen[0][0] if histogram else raw < seen[0]):
                    increase = raw  # a restart
                else:
                    increase = _minus(raw, seen[0])
            else:  # a gauge
                total = raw
                increase = 0.0 if seen is None else raw - seen[0]
            fresh = True if not isinstance(data, (Sum, Histogram)) else (increase[0] if histogram else increase) != 0
            self.last[key] = (raw, total)
            points[key] = (total, increase, fresh, histogram)

    # --- values ------------------------------------------------------------------

    def _selected(
        self, spec: RuleSpec, metric: str, step: int, side: str = "value", real: bool = False
    ) -> list[tuple[Group, Any]]:
        match = dict(spec.match) if side == "value" else ({"r": ("hit",)} if side == "numerator" else {})
        out = []
        for key, point in self.points[step].items():
            name, _, series = key
            if real and key not in self.real[step]:
                continue
            attributes = self.attributes[series]
            if name != metric or any(
                _label(attributes.get(k)) not in v or k not in attributes for k, v in match.items()
            ):
                continue
            out.append((tuple(_label(attributes.get(k, "")) for k in spec.by), point))
        return out

    def result(self, spec: RuleSpec) -> Any:
        step = len(self.times) - 1
        histogram = spec.metric == "h"
        if spec.kind not in ("absent", "ratio") and (spec.field in ("count", "sum", "quantile")) != histogram:
            # a rule that cannot read its metric: an error whenever it has points, no group ever
            reads = self._selected(spec, spec.metric, step, real=spec.kind != "value")
            return "error" if reads else {}
        return getattr(self, "_" + spec.kind)(spec, step)

    def _read(self, spec: RuleSpec, reading: Reading) -> Any:
        if spec.field == "count":
            return reading[0]
        if spec.field == "sum":
            return reading[1]
        return reading

    def _value(self, spec: RuleSpec, step: int) -> dict[Group, float | None]:
        groups: dict[Group, list[Any]] = defaultdict(list)
        for group, (value, _, _, _) in self._selected(spec, spec.metric, step):
            groups[group].append(self._read(spec, value))
        out: dict[Group, float | None] = dict.fromkeys(self._known(spec, step))
        for group, values in groups.items():
            if spec.field == "quantile":
                merged = reduce(_plus, values)
                out[group] = bucket_quantile(0.9, [0.1, 0.5, 1.0, 5.0], merged[2])
            else:
                how = spec.reduce or "last"
                out[group] = {
                    "sum": lambda v: reduce(lambda a, b: a + b, v),
                    "avg": lambda v: reduce(lambda a, b: a + b, v) / len(v),
                    "max": max,
                    "min": min,
                    "last": lambda v: v[-1],
                }[how](values)
        return out

    def _known(self, spec: RuleSpec, step: int, side: str = "value") -> set[Group]:
        return {g for s in range(step) for g, _ in self._selected(spec, spec.metric, s, side)}

    def _totals(self, spec: RuleSpec, side: str, step: int) -> dict[Group, list[tuple[float, Reading]]]:
        """Per group, (time, total so far) at every collection from its first point on,
        headed by (its birth, 0): the time of the collection before its first point."""
        history: dict[Group, list[tuple[float, Reading]]] = {}
        totals: dict[Group, Reading] = {}
        for s in range(step + 1):
            tick: dict[Group, Reading] = {}
            for group, (_, increase, _, _) in self._selected(spec, spec.metric, s, side):
                read = self._read(spec, increase) if spec.kind != "ratio" else increase
                tick[group] = read if group not in tick else _plus(tick[group], read)
            for group, grew in tick.items():
                if group not in history:
                    history[group] = [(self.times[s - 1] if s else 0.0, _scale(grew, 0))]
                    totals[group] = _scale(grew, 0)
                totals[group] = _plus(totals[group], grew)
            for group in history:
                history[group].append((self.times[s], totals[group]))
        return history

    def _increase(self, history: list[tuple[float, Reading]], now: float, window: float) -> tuple[Reading, float]:
        base = history[0]
        for time, total in history[1:]:
            if time <= now - window:
                base = (time, total)
        return _minus(history[-1][1], base[1]), now - base[0]

    def _rate(self, spec: RuleSpec, step: int) -> dict[Group, float | None]:
        now = self.times[step]
        out: dict[Group, float | None] = {}
        for group, history in self._totals(spec, "value", step).items():
            grew, covered = self._increase(history, now, spec.window)
            if spec.field == "quantile":
                out[group] = bucket_quantile(0.9, [0.1, 0.5, 1.0, 5.0], grew[2])
            else:
                out[group] = grew / covered if covered > 0 else None
        return out

    def _ratio(self, spec: RuleSpec, step: int) -> dict[Group, float | None]:
        now = self.times[step]
        numerators = {
            g: self._increase(h, now, spec.window)[0] for g, h in self._totals(spec, "numerator", step).items()
        }
        out: dict[Group, float | None] = dict.fromkeys(self._known(spec, step, "denominator"))
        for group, history in self._totals(spec, "denominator", step).items():
            den = self._increase(history, now, spec.window)[0]
            num = numerators.get(group, 0.0)
            out[group] = num / den if den > 0 and den >= spec.min_denominator else None
        return out

    def _absent(self, spec: RuleSpec, step: int) -> dict[Group, float | None]:
        now = self.times[step]
        fresh_at: dict[Group, float] = {}
        for s in range(step + 1):
            for group, (_, _, fresh, _) in self._selected(spec, spec.metric, s):
                if fresh:
                    fresh_at[group] = self.times[s]
                else:
                    fresh_at.setdefault(group, 0.0)
        if not fresh_at:
            return {tuple("" for _ in spec.by): now}
        out: dict[Group, float | None] = {g: now - t for g, t in fresh_at.items()}
        if not self._selected(spec, spec.metric, 0):  # the placeholder stood for the metric once
            out.setdefault(tuple("" for _ in spec.by), 0.0)
        return out


def reference_outcome(sc: Scenario) -> list[dict[str, Any]]:
    ref = Reference(sc.rules)
    out = []
    for now, data in sc.collections:
        ref.take(data, now)
        step = {}
        for spec in sc.rules:
            found = ref.result(spec)
            step[spec.alert] = found if found == "error" else {k: v for k, v in found.items()}
        out.append(step)
    return out


def _comparable(outcome: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: ("error" if isinstance(v, str) else v) for k, v in step.items()} for step in outcome]


@pytest.mark.parametrize("seed", range(40))
def test_the_evaluator_gives_what_the_definitions_give(seed: int) -> None:
    sc = scenario(seed, collections=40, non_finite=False)
    # windows the engine snapshots at every collection (the shortest interval is 0.5 s)
    rules = tuple(spec for spec in sc.rules if spec.window / 60 <= 0.5)
    sc = Scenario(rules, sc.collections)
    engine = Evaluator(build_rules(model, rules), 0.0, START_NS)
    got = _comparable(run(engine.evaluate, sc.collections))
    want = reference_outcome(sc)
    found = differences(got, want)
    assert not found, "\n".join(found[:5])
