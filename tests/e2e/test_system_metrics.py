"""End to end: ``process.memory.usage`` and ``system.memory.utilization`` are exported
once under opentelemetry-instrument, by opentelemetry-instrumentation-system-metrics
when it is active and by this package's memory instrumentation when it is not."""

from __future__ import annotations

import importlib

from otel_alerting.testing import OtlpReceiver

from .instrumented import APPS, instrumented_env, run_instrumented

OURS = "otel_alerting.instrumentation.memory"
THEIRS = "opentelemetry.instrumentation.system_metrics"
SHARED = ("process.memory.usage", "system.memory.utilization")
ONLY_OURS = ("otel_alerting.memory.utilization", "otel_alerting.memory.limit")

# the test extra installs it: without it these tests fail here, they never skip
importlib.import_module(THEIRS)


def scopes_by_metric(receiver: OtlpReceiver) -> dict[str, set[str]]:
    """Which instrumentation scopes exported each metric, over every export but the first:
    an export made while opentelemetry-instrument still loads the instrumentors may carry
    our copy once (docs/instrumentation.md)."""
    found: dict[str, set[str]] = {}
    for request in receiver.requests["/v1/metrics"][1:]:
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if getattr(metric, metric.WhichOneof("data")).data_points:
                        found.setdefault(metric.name, set()).add(sm.scope.name)
    return found


def run_level_app(receiver: OtlpReceiver, **env: str) -> str:
    # 2.5 s of the app, exports every second (and at exit). Ours only stops once the
    # system-metrics instrumentor is instrumented: the first export must come after
    # opentelemetry-instrument has loaded every instrumentor, which takes a few hundred
    # ms from cold files on a loaded machine.
    env = {"OTEL_METRIC_EXPORT_INTERVAL": "1000", "PHASES": "1:2.5", **env}
    run = run_instrumented(APPS / "level_app.py", instrumented_env(receiver, **env))
    assert run.returncode == 0, run.stderr
    assert len(receiver.requests["/v1/metrics"]) >= 2, "fewer than two metrics exports reached the receiver"
    return run.stderr


def test_with_system_metrics_active_each_shared_metric_is_exported_once_by_it(receiver: OtlpReceiver) -> None:
    # MemoryPressure made to fire at any use: it reads our own metric, which stays
    stderr = run_level_app(
        receiver,
        OTEL_PYTHON_ALERTING_RULE_MEMORYPRESSURE_ABOVE="medium:0.0001",
        OTEL_PYTHON_ALERTING_RULE_MEMORYPRESSURE_FOR="0.1s",
    )
    scopes = scopes_by_metric(receiver)
    for name in SHARED:
        assert scopes.get(name) == {THEIRS}, (name, scopes.get(name))
    for name in ONLY_OURS:
        assert scopes.get(name) == {OURS}, (name, scopes.get(name))
    assert "[FIRING:MEDIUM] MemoryPressure" in stderr, stderr


def test_without_system_metrics_ours_are_exported(receiver: OtlpReceiver) -> None:
    run_level_app(receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="system_metrics")
    scopes = scopes_by_metric(receiver)
    for name in (*SHARED, *ONLY_OURS):
        assert scopes.get(name) == {OURS}, (name, scopes.get(name))
    assert not any(THEIRS in found for found in scopes.values())


def test_a_metric_system_metrics_is_configured_not_to_emit_is_ours(receiver: OtlpReceiver) -> None:
    run_level_app(receiver, OTEL_PYTHON_SYSTEM_METRICS_EXCLUDED_METRICS="process.memory.*")
    scopes = scopes_by_metric(receiver)
    assert scopes.get("process.memory.usage") == {OURS}
    assert scopes.get("system.memory.utilization") == {THEIRS}
