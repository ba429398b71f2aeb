"""Random workloads for an evaluator: rules and a run of collections built with the SDK's
point types, with churn, gaps, resets, both temporalities, histograms, two scopes and
non-finite values. ``run`` feeds one to any evaluator built from a package's own rule
classes, so that two engines (or an engine and the reference) can be compared."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

START_NS = 1_000
BOUNDS = [0.1, 0.5, 1.0, 5.0]
SERIES = [{"s": f"s{i}", "r": "hit" if i % 3 else "miss"} for i in range(8)]


@dataclass(frozen=True)
class RuleSpec:
    """A rule as plain data: ``kind`` is value, rate, ratio or absent."""

    alert: str
    kind: str
    metric: str
    by: tuple[str, ...]
    field: str = "value"
    reduce: str | None = None
    window: float = 10.0
    min_denominator: float = 0.0
    match: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Scenario:
    rules: tuple[RuleSpec, ...]
    #: (time, data) per collection
    collections: tuple[tuple[float, MetricsData], ...]


def _rule_specs(rng: random.Random) -> tuple[RuleSpec, ...]:
    out: list[RuleSpec] = []
    for i in range(rng.randint(2, 6)):
        by = rng.choice([(), ("s",), ("r",), ("s", "r"), ("missing",)])
        window = rng.choice([2.0, 5.0, 10.0, 30.0, 90.0])
        kind = rng.choice(["value", "rate", "ratio", "absent", "quantile", "hist_rate", "hist_value"])
        name = f"R{i}"
        if kind == "value":
            out.append(
                RuleSpec(
                    name,
                    "value",
                    rng.choice(["c", "u", "g", "d"]),
                    by,
                    reduce=rng.choice([None, "sum", "avg", "max", "min", "last"]),
                )
            )
        elif kind == "rate":
            out.append(RuleSpec(name, "rate", rng.choice(["c", "u", "g", "d"]), by, window=window))
        elif kind == "ratio":
            metric = rng.choice(["c", "d"])
            out.append(RuleSpec(name, "ratio", metric, by, window=window, min_denominator=rng.choice([0.0, 3.0])))
        elif kind == "absent":
            out.append(RuleSpec(name, "absent", rng.choice(["c", "g", "d", "h"]), by))
        elif kind == "quantile":
            out.append(RuleSpec(name, "rate", "h", by, field="quantile", window=window))
        elif kind == "hist_rate":
            out.append(
                RuleSpec(name, "rate", rng.choice(["h", "c"]), by, field=rng.choice(["count", "sum"]), window=window)
            )
        else:
            out.append(
                RuleSpec(
                    name,
                    "value",
                    rng.choice(["h", "g"]),
                    by,
                    field=rng.choice(["count", "sum", "quantile"]),
                    reduce="sum",
                )
            )
        if rng.random() < 0.3:
            spec = out[-1]
            out[-1] = RuleSpec(**{**spec.__dict__, "match": (("r", ("hit",)),)})
    return tuple(out)


def scenario(seed: int, collections: int = 300, non_finite: bool = True) -> Scenario:
    """One random workload; the same ``seed`` gives the same workload."""
    rng = random.Random(seed)
    delta_c = rng.random() < 0.4
    delta_h = rng.random() < 0.4
    two_scopes = rng.random() < 0.3
    totals: dict[tuple[str, int], float] = {}
    hists: dict[int, list[int]] = {}
    starts: dict[tuple[str, int], int] = {}
    now = 0.0
    out: list[tuple[float, MetricsData]] = []
    live = set(rng.sample(range(len(SERIES)), 4))
    for step in range(collections):
        now += rng.choice([0.5, 1.0, 1.0, 1.0, 2.0, 3.0]) + (20.0 if rng.random() < 0.01 else 0.0)
        if rng.random() < 0.08:  # churn: a series comes or goes
            live ^= {rng.randrange(len(SERIES))}
        present = [i for i in sorted(live) if rng.random() < 0.9]  # gaps
        metrics: list[Metric] = []
        c_points, u_points, g_points, d_points, h_points = [], [], [], [], []
        for i in present:
            attrs = SERIES[i]  # one object per series, as the SDK hands them over for cumulative points
            born = starts.setdefault(("c", i), rng.choice([500, START_NS + step]))
            grew = rng.choice([0, 0, 1, 2, 3, 0.5])
            if delta_c:
                if grew:
                    c_points.append(NumberDataPoint(dict(attrs), born, born + 1, grew))
            else:
                total = totals.get(("c", i), 0.0) + grew
                if rng.random() < 0.02:
                    total = rng.choice([0.0, 1.0])  # a reset
                totals[("c", i)] = total
                c_points.append(NumberDataPoint(attrs, born, born + 1, total))
            u = totals.get(("u", i), 0.0) + rng.choice([-2, -1, 0, 1, 2])
            totals[("u", i)] = u
            u_points.append(NumberDataPoint(attrs, born, born + 1, u))
            gauge = rng.uniform(-5, 20)
            if non_finite and rng.random() < 0.02:
                gauge = rng.choice([math.nan, math.inf, -math.inf])
            g_points.append(NumberDataPoint(dict(attrs), 0, 0, gauge))
            if grew:
                d_points.append(NumberDataPoint(dict(attrs), born, born + 1, grew))
            counts = [rng.choice([0, 0, 1, 2]) for _ in range(len(BOUNDS) + 1)]
            if delta_h:
                if sum(counts):
                    h_points.append(_hist(dict(attrs), born, counts))
            else:
                acc = hists.setdefault(i, [0] * (len(BOUNDS) + 1))
                if rng.random() < 0.02:
                    acc[:] = [0] * len(acc)  # a restart
                acc[:] = [a + c for a, c in zip(acc, counts)]
                h_points.append(_hist(attrs, born, list(acc)))
        temporality = AggregationTemporality.DELTA if delta_c else AggregationTemporality.CUMULATIVE
        metrics.append(Metric("c", None, None, Sum(c_points, temporality, True)))
        metrics.append(Metric("u", None, None, Sum(u_points, AggregationTemporality.CUMULATIVE, False)))
        metrics.append(Metric("g", None, None, Gauge(g_points)))
        metrics.append(Metric("d", None, None, Sum(d_points, AggregationTemporality.DELTA, True)))
        h_temporality = AggregationTemporality.DELTA if delta_h else AggregationTemporality.CUMULATIVE
        metrics.append(Metric("h", None, None, Histogram(h_points, h_temporality)))
        rng.shuffle(metrics)
        scopes = [ScopeMetrics(InstrumentationScope("app"), metrics, "")]
        if two_scopes:
            half = len(metrics) // 2
            scopes = [
                ScopeMetrics(InstrumentationScope("app"), metrics[:half], ""),
                ScopeMetrics(InstrumentationScope("lib"), metrics[half:], ""),
            ]
        out.append((now, MetricsData([ResourceMetrics(Resource.create({}), scopes, "")])))
    return Scenario(_rule_specs(rng), tuple(out))


def _hist(attrs: dict[str, str], born: int, counts: list[int]) -> HistogramDataPoint:
    return HistogramDataPoint(attrs, born, born + 1, sum(counts), float(sum(counts)) * 0.7, counts, BOUNDS, 0.0, 0.0)


def build_rules(model: ModuleType, specs: tuple[RuleSpec, ...]) -> list[Any]:
    """The rules of ``specs`` built with a package's ``rules.model`` module."""
    rules = []
    for spec in specs:
        quantile = 0.9 if spec.field == "quantile" else None
        selector = model.Selector(spec.metric, dict(spec.match), spec.field, quantile)
        if spec.kind == "value":
            expr = model.ValueExpr(selector, spec.reduce, spec.by)
        elif spec.kind == "rate":
            expr = model.RateExpr(selector, spec.window, spec.by)
        elif spec.kind == "ratio":
            numerator = model.Selector(spec.metric, {"r": ("hit",)})
            expr = model.RatioExpr(numerator, model.Selector(spec.metric), spec.window, spec.min_denominator, spec.by)
        else:
            expr = model.AbsentExpr(selector, spec.by)
        rules.append(model.Rule(spec.alert, expr, "above", ((model.Severity.HIGH, 1.0),)))
    return rules


Outcome = list[dict[str, Any]]


def run(
    evaluate: Callable[[MetricsData, float], list[Any]], collections: tuple[tuple[float, MetricsData], ...]
) -> Outcome:
    """Each collection's results as {alert: {group: value} or "error: ..."}."""
    out: Outcome = []
    for now, data in collections:
        step: dict[str, Any] = {}
        for result in evaluate(data, now):
            step[result.rule.alert] = f"error: {result.error}" if result.error else dict(result.values)
        out.append(step)
    return out


def differences(a: Outcome, b: Outcome, rel: float = 1e-9) -> list[str]:
    """Where two outcomes differ, beyond float rounding (``rel``)."""
    found = []
    for step, (x, y) in enumerate(zip(a, b)):
        for alert in sorted(set(x) | set(y)):
            vx, vy = x.get(alert), y.get(alert)
            if isinstance(vx, dict) and isinstance(vy, dict):
                if vx.keys() != vy.keys() or any(not _close(vx[k], vy[k], rel) for k in vx):
                    found.append(f"step {step} {alert}: {vx} != {vy}")
            elif vx != vy:
                found.append(f"step {step} {alert}: {vx} != {vy}")
    return found


def _close(x: float | None, y: float | None, rel: float) -> bool:
    if x is None or y is None:
        return x is y
    return math.isclose(x, y, rel_tol=rel, abs_tol=1e-12)
