"""The plugin's own metrics, so any backend sees the alerting system's state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

from .own_work import OWN_WORK
from .version import __version__

if TYPE_CHECKING:  # the otel_logs channel reads the names below during bootstrap
    from .engine.evaluator import RuleResult
    from .engine.manager import AlertManager
    from .notify.dispatcher import DeliveryOutcome

__all__ = ["SelfTelemetry"]

ALERT_NAME = "otel_alerting.alert.name"
ALERT_SEVERITY = "otel_alerting.alert.severity"
ALERT_STATE = "otel_alerting.alert.state"
CHANNEL = "otel_alerting.channel"
OUTCOME = "otel_alerting.outcome"
METRIC_NAME = "otel_alerting.metric.name"
FAILURE_STEP = "otel_alerting.failure.step"

# Evaluations take micro- to milliseconds and deliveries milliseconds to seconds:
# the SDK's default buckets (0, 5, 10, ... 10000) would put nearly all in the first.
EVALUATION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class SelfTelemetry:
    """Instruments on the application's MeterProvider, fed by the alerting system.

    The reader creates them with the MeterProvider, during bootstrap; the alerting
    system, assembled later, ``bind``-s its manager to them. Until then the gauges
    report nothing."""

    def __init__(
        self,
        provider: MeterProvider,
        manager: AlertManager | None = None,
        overflowed: Callable[[], list[str]] | None = None,
    ) -> None:
        self._manager = manager
        self._overflowed = overflowed
        self._refused: Callable[[], dict[str, int]] | None = None
        self._reported: set[tuple[str, str, str]] = set()
        meter = provider.get_meter("otel_alerting", __version__)
        meter.create_observable_gauge(
            "otel_alerting.alerts",
            callbacks=[self._observe_alerts],
            unit="{alert}",
            description="Alerts by rule, severity and state (pending or firing).",
        )
        meter.create_observable_gauge(
            "otel_alerting.cardinality.overflow",
            callbacks=[self._observe_overflow],
            unit="1",
            description="1 for each watched metric whose series went past the cardinality limit.",
        )
        meter.create_observable_gauge(
            "otel_alerting.rule.series.refused",
            callbacks=[self._observe_refused],
            unit="{series}",
            description="Series a rule does not read, past its series limit: they cannot alert.",
        )
        self._notifications = meter.create_counter(
            "otel_alerting.notifications",
            unit="{notification}",
            description="Notifications by channel and outcome (delivered, failed, dropped).",
        )
        self._latency = meter.create_histogram(
            "otel_alerting.notification.latency",
            unit="s",
            description="From the evaluation that produced a notification to its delivery.",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self._duration = meter.create_histogram(
            "otel_alerting.evaluation.duration",
            unit="s",
            description="Time to evaluate every rule on one collection.",
            explicit_bucket_boundaries_advisory=EVALUATION_BUCKETS,
        )
        self._forward_drops = meter.create_counter(
            "otel_alerting.export.dropped",
            unit="{batch}",
            description="Collections not forwarded in export mode because the exporter fell behind.",
        )
        self._export_failures = meter.create_counter(
            "otel_alerting.export.failures",
            unit="{export}",
            description="Exports of collected metrics that failed in export mode (FAILURE returned or raised).",
        )
        self._errors = meter.create_counter(
            "otel_alerting.rule.errors",
            unit="{error}",
            description="Rule evaluations that raised, by rule.",
        )
        self._failures = meter.create_counter(
            "otel_alerting.plugin.failures",
            unit="{failure}",
            description="Failures of the plugin's own work (evaluation, state save, probes...), by step.",
        )

    def bind(
        self,
        manager: AlertManager,
        overflowed: Callable[[], list[str]],
        refused: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self._manager = manager
        self._overflowed = overflowed
        self._refused = refused

    def _observe_alerts(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._manager is None:
            return
        counts = self._manager.state_counts()
        current = {key for key, value in counts.items() if value}
        # A series that was reported goes to 0 rather than vanishing, so a backend
        # sees the alert end instead of going stale.
        for key in self._reported | current:
            alert, severity, state = key
            yield Observation(
                counts.get(key, 0),
                {ALERT_NAME: alert, ALERT_SEVERITY: severity, ALERT_STATE: state},
            )
        self._reported |= current

    def _observe_overflow(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._overflowed is None:
            return
        for name in self._overflowed():
            yield Observation(1, {METRIC_NAME: name})

    def _observe_refused(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._refused is None:
            return
        for rule, count in self._refused().items():
            yield Observation(count, {ALERT_NAME: rule})

    def record_outcome(self, outcome: DeliveryOutcome) -> None:
        attributes: dict[str, Any] = {CHANNEL: outcome.channel, OUTCOME: outcome.outcome}
        self._notifications.add(outcome.count, attributes)
        if outcome.latency is not None:
            self._latency.record(outcome.latency, {CHANNEL: outcome.channel})

    def record_forward_drop(self) -> None:
        self._forward_drops.add(1)

    def record_export_failure(self) -> None:
        self._export_failures.add(1, context=OWN_WORK)

    def record_failure(self, step: str, count: int = 1) -> None:
        """``count`` failures of a step of the plugin's own work (``failure_log.STEPS``)."""
        self._failures.add(count, {FAILURE_STEP: step}, context=OWN_WORK)

    def record_evaluation(self, seconds: float, results: Iterable[RuleResult]) -> None:
        """One evaluation: its duration, and the rules that failed in it."""
        # the context it ran in, given: the SDK would look it up on each record
        self._duration.record(seconds, context=OWN_WORK)
        for result in results:
            if result.error is not None:
                self._errors.add(1, {ALERT_NAME: result.rule.alert}, context=OWN_WORK)
