"""Export mode under opentelemetry-instrument, with the OTLP exporter's default (cumulative)
preferences: the reader aggregates counters as deltas, and what reaches the collector is
still cumulative: one start time per series, a total that never goes down, and every
measurement in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from otel_alerting.testing import OtlpReceiver

from .instrumented import APPS, instrumented_env, run_instrumented

#: opentelemetry.proto.metrics.v1.AggregationTemporality
CUMULATIVE = 2


def request_points(receiver: OtlpReceiver) -> list[Any]:
    """Every point of ``app.requests`` received, in the order of the requests."""
    return [
        (metric.sum, point)
        for request in receiver.requests["/v1/metrics"]
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == "app.requests"
        for point in metric.sum.data_points
    ]


def test_the_collector_receives_cumulative_counters(receiver: OtlpReceiver, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n")
    env = instrumented_env(
        receiver,
        PHASES="0:2",
        OTEL_PYTHON_ALERTING_MODE="export",
        OTEL_PYTHON_ALERTING_RULES=str(rules),
        OTEL_PYTHON_ALERTING_DEFAULT_RULES="false",
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
    )
    run = run_instrumented(APPS / "level_app.py", env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "OTEL_METRICS_EXPORTER=otel_alerting\n" in run.stdout
    received = request_points(receiver)
    assert len(received) >= 3, f"{len(received)} exports of app.requests"
    assert all(data.aggregation_temporality == CUMULATIVE and data.is_monotonic for data, _ in received)
    assert len({point.start_time_unix_nano for _, point in received}) == 1, "the series started again"
    values = [point.as_int for _, point in received]
    assert values == sorted(values), values
    # the app adds 1 every 10 ms or so for 2 s: the last export holds them all, not one interval's
    assert values[-1] >= 100, values
    times = [point.time_unix_nano for _, point in received]
    assert times == sorted(times) and len(set(times)) == len(times), "an export repeated"
