"""Builders shared by the unit tests: rules, SDK MetricsData by hand, notifications."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

from otel_alerting.notify.model import Change, Notification, Status
from otel_alerting.rules.model import Expr, Rule, Selector, Severity, ValueExpr

CUMULATIVE = AggregationTemporality.CUMULATIVE
DELTA = AggregationTemporality.DELTA

#: start_time_unix_nano of points "born" after the evaluator started watching
BORN = 2_000


def rule(
    alert: str = "A",
    expr: Expr | None = None,
    *,
    above: Mapping[str, float] | None = None,
    below: Mapping[str, float] | None = None,
    **kwargs: Any,
) -> Rule:
    """A Rule built directly (no loader); ``above={"medium": 1, "high": 2}``."""
    if above is None and below is None:
        above = {"high": 10.0}
    direction = "above" if above is not None else "below"
    ladder = above if above is not None else below
    assert ladder is not None
    thresholds = tuple(sorted(((Severity.parse(k), float(v)) for k, v in ladder.items()), key=lambda x: x[0]))
    return Rule(
        alert=alert,
        expr=expr if expr is not None else ValueExpr(Selector("m")),
        direction=direction,  # type: ignore[arg-type]
        thresholds=thresholds,
        **kwargs,
    )


def number(value: float, start: int = BORN, **attributes: Any) -> NumberDataPoint:
    return NumberDataPoint(attributes, start, start + 1, value)


def hist(
    counts: Sequence[int],
    bounds: Sequence[float],
    total: float | None = None,
    start: int = BORN,
    **attributes: Any,
) -> HistogramDataPoint:
    """A histogram point from per-bucket counts (``len(bounds) + 1`` of them)."""
    assert len(counts) == len(bounds) + 1
    return HistogramDataPoint(
        attributes,
        start,
        start + 1,
        sum(counts),
        float(sum(counts)) if total is None else total,
        list(counts),
        list(bounds),
        0.0,
        0.0,
    )


def gauge_metric(name: str, *points: NumberDataPoint) -> Metric:
    return Metric(name, None, None, Gauge(list(points)))


def sum_metric(
    name: str, *points: NumberDataPoint, temporality: AggregationTemporality = CUMULATIVE, monotonic: bool = True
) -> Metric:
    return Metric(name, None, None, Sum(list(points), temporality, monotonic))


def hist_metric(name: str, *points: HistogramDataPoint, temporality: AggregationTemporality = CUMULATIVE) -> Metric:
    return Metric(name, None, None, Histogram(list(points), temporality))


def data(*metrics: Metric, scope: str = "app") -> MetricsData:
    return MetricsData(
        [
            ResourceMetrics(
                Resource.create({}),
                [ScopeMetrics(InstrumentationScope(scope), list(metrics), "")],
                "",
            )
        ]
    )


def scopes(*groups: tuple[str, Sequence[Metric]]) -> MetricsData:
    """One MetricsData with several instrumentation scopes."""
    return MetricsData(
        [
            ResourceMetrics(
                Resource.create({}),
                [ScopeMetrics(InstrumentationScope(name), list(metrics), "") for name, metrics in groups],
                "",
            )
        ]
    )


def notification(
    severity: Severity = Severity.HIGH,
    status: Status = Status.FIRING,
    *,
    alert: str = "QueueBacklog",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    at: float = 1_750_000_000.0,
    **kwargs: Any,
) -> Notification:
    return Notification(
        alert=alert,
        status=status,
        change=kwargs.pop("change", Change.FIRED if status is Status.FIRING else Change.RESOLVED),
        severity=severity,
        labels=dict(labels) if labels is not None else {"alertname": alert, "queue": "ingest"},
        annotations=dict(annotations or {}),
        value=kwargs.pop("value", 612.0),
        threshold=kwargs.pop("threshold", 500.0),
        starts_at=kwargs.pop("starts_at", at),
        at=at,
        fingerprint=kwargs.pop("fingerprint", "abc123"),
        **kwargs,
    )
