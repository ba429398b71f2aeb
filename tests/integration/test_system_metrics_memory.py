"""The memory instrumentation beside a real SystemMetricsInstrumentor on one
MeterProvider: each shared metric comes from one scope, decided at each collection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation import system_metrics  # the test extra installs it: never skipped
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_alerting.instrumentation.memory import MemoryInstrumentor, system_metrics_emits

OURS = "otel_alerting.instrumentation.memory"
THEIRS = "opentelemetry.instrumentation.system_metrics"


@pytest.fixture
def provider() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    MemoryInstrumentor().instrument(meter_provider=provider)
    try:
        yield provider, reader
    finally:
        MemoryInstrumentor().uninstrument()
        provider.shutdown()


def scopes(reader: InMemoryMetricReader) -> dict[str, set[str]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, set[str]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.data.data_points:
                    found.setdefault(metric.name, set()).add(sm.scope.name)
    return found


def test_ours_stop_while_system_metrics_emits_them_and_resume_after(
    provider: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    meter_provider, reader = provider
    assert not system_metrics_emits("process.memory.usage")
    before = scopes(reader)
    assert before["process.memory.usage"] == before["system.memory.utilization"] == {OURS}

    # configured to emit only one of the two: the other stays ours
    instrumentor = system_metrics.SystemMetricsInstrumentor(config={"system.memory.utilization": ["used"]})
    instrumentor.instrument(meter_provider=meter_provider)
    try:
        assert system_metrics_emits("system.memory.utilization")
        assert not system_metrics_emits("process.memory.usage")
        during = scopes(reader)
        assert during["system.memory.utilization"] == {THEIRS}
        assert during["process.memory.usage"] == {OURS}
        assert during["otel_alerting.memory.utilization"] == during["otel_alerting.memory.limit"] == {OURS}
    finally:
        instrumentor.uninstrument()
    assert not system_metrics_emits("system.memory.utilization")
    # its instruments stay on the provider after uninstrument (they cannot be removed);
    # ours report again
    assert OURS in scopes(reader)["system.memory.utilization"]
