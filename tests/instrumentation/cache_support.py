"""A fresh MeterProvider + InMemoryMetricReader per test, and the cache metric read back.

Import ``harness_fixture`` into a test module to get the ``harness`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric, NumberDataPoint, Sum

from otel_alerting.instrumentation.cache import CACHE_NAME, CACHE_REQUESTS, CACHE_RESULT, CacheMetrics

__all__ = ["Harness", "harness_fixture"]


class Harness:
    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        self.metrics = CacheMetrics(self.provider)

    def metric(self) -> Metric | None:
        data = self.reader.get_metrics_data()
        if data is None:
            return None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == CACHE_REQUESTS:
                        return metric
        return None

    def points(self) -> list[dict[str, Any]]:
        """Each data point's attributes, plus its value under ``"value"``."""
        metric = self.metric()
        if metric is None:
            return []
        return [
            {**dict(point.attributes or {}), "value": point.value}
            for point in metric.data.data_points
            if isinstance(point, NumberDataPoint)
        ]

    def counts(self) -> dict[tuple[str, str], int]:
        """(cache name, result) -> total over every other attribute; zero series left out."""
        totals: dict[tuple[str, str], int] = {}
        for point in self.points():
            if point["value"]:
                key = (str(point[CACHE_NAME]), str(point[CACHE_RESULT]))
                totals[key] = totals.get(key, 0) + int(point["value"])
        return totals

    def assert_shape(self) -> None:
        metric = self.metric()
        assert metric is not None
        assert metric.unit == "{request}"
        assert isinstance(metric.data, Sum)
        assert metric.data.is_monotonic


@pytest.fixture(name="harness")
def harness_fixture() -> Iterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        h.provider.shutdown()
