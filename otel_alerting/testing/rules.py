"""Unit tests for alert rules, the counterpart of ``promtool test rules``.

Measurements go through a real ``MeterProvider`` into the real alerting reader;
only time is simulated. Example::

    from otel_alerting.testing import RuleTester

    def test_queue_backlog_escalates():
        tester = RuleTester("rules.yaml", interval="1s")
        tester.gauge("app.queue.depth", 600, queue="ingest")
        tester.advance("30s")
        tester.assert_firing("QueueBacklog", "high", queue="ingest")
        tester.gauge("app.queue.depth", 10, queue="ingest")
        tester.advance("1s")
        tester.assert_resolved("QueueBacklog", queue="ingest")
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, UpDownCounter
from opentelemetry.sdk.metrics.export import AggregationTemporality

from ..config import Settings
from ..durations import parse_duration
from ..engine.lifecycle import AlertState
from ..engine.manager import AlertSnapshot
from ..notify.model import Notification, Status
from ..reader import AlertingMetricReader
from ..rules.model import Severity
from ..system import AlertingSystem

__all__ = ["FakeClock", "RuleTester"]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RuleTester:
    """Feed measurements over simulated time and assert on the alerts.

    ``rules`` is a path to a rules file (or several), or None for the built-in pack
    alone. ``builtin`` adds the built-in pack beside the files. ``environ`` feeds
    the ``OTEL_PYTHON_ALERTING_RULE_*`` overrides. ``temporality="delta"`` makes the
    SDK hand over delta points, as an exporter preferring delta would.
    """

    def __init__(
        self,
        rules: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        *,
        builtin: bool | None = None,
        interval: str | float = "1s",
        cooldown: str | float = 0,
        environ: Mapping[str, str] | None = None,
        temporality: str = "cumulative",
    ) -> None:
        if rules is None:
            paths: tuple[str, ...] = ()
        elif isinstance(rules, (str, os.PathLike)):
            paths = (os.fspath(rules),)
        else:
            paths = tuple(os.fspath(p) for p in rules)
        self.interval = parse_duration(interval)
        if self.interval <= 0:  # advance() divides by it
            raise ValueError(f"interval must be positive, not {interval!r}")
        self.clock = FakeClock()
        self.notifications: list[Notification] = []
        settings = Settings(
            interval_ms=math.inf,
            rules_paths=paths,
            default_rules=builtin if builtin is not None else not paths,
            cooldown_s=parse_duration(cooldown),
            channels=(),
        )
        delta: dict[type, AggregationTemporality] = {
            Counter: AggregationTemporality.DELTA,
            UpDownCounter: AggregationTemporality.DELTA,
            Histogram: AggregationTemporality.DELTA,
        }
        cumulative = dict.fromkeys(delta, AggregationTemporality.CUMULATIVE)
        self.reader = AlertingMetricReader(
            settings,
            environ=dict(environ or {}),
            channels=[],
            clock=self.clock,
            start_timer=False,
            preferred_temporality=delta if temporality == "delta" else cumulative,
        )
        system = self.reader.system
        if system is None:
            raise RuntimeError("the alerting system did not start")
        problems = [str(e) for e in system.rule_set.errors]
        if problems:
            raise ValueError("invalid rules:\n  " + "\n  ".join(problems))
        self.system: AlertingSystem = system
        system.subscribe(self.notifications.extend)
        self.provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)
        self._meter = self.provider.get_meter("otel_alerting.testing")
        self._gauges: dict[str, dict[frozenset[tuple[str, Any]], float]] = {}
        self._instruments: dict[str, Any] = {}
        self._evaluated = False

    # --- measurements -------------------------------------------------------

    def gauge(self, metric: str, value: float | None, **attributes: Any) -> None:
        """Set a gauge series; ``None`` removes it (the series stops reporting)."""
        series = self._gauges.get(metric)
        if series is None:
            series = self._gauges[metric] = {}

            def observe(options: CallbackOptions, series: dict[frozenset[tuple[str, Any]], float] = series) -> Any:
                return [Observation(v, dict(k)) for k, v in series.items()]

            self._meter.create_observable_gauge(metric, callbacks=[observe])
        key = frozenset(attributes.items())
        if value is None:
            series.pop(key, None)
        else:
            series[key] = value

    def count(self, metric: str, amount: float = 1, **attributes: Any) -> None:
        """Add to a monotonic counter."""
        self._instrument(metric, "counter").add(amount, attributes)

    def add(self, metric: str, amount: float, **attributes: Any) -> None:
        """Add to an up-down counter (may be negative)."""
        self._instrument(metric, "updown").add(amount, attributes)

    def observe(self, metric: str, value: float, **attributes: Any) -> None:
        """Record one observation in a histogram (default buckets)."""
        self._instrument(metric, "histogram").record(value, attributes)

    def _instrument(self, metric: str, kind: str) -> Any:
        existing = self._instruments.get(metric)
        if existing is not None:
            return existing
        created: Any
        if kind == "counter":
            created = self._meter.create_counter(metric)
        elif kind == "updown":
            created = self._meter.create_up_down_counter(metric)
        else:
            created = self._meter.create_histogram(metric)
        self._instruments[metric] = created
        return created

    # --- time -------------------------------------------------------------

    def evaluate(self) -> list[Notification]:
        """Evaluate at the current simulated time; returns the notifications."""
        before = len(self.notifications)
        self.reader.collect()
        self._evaluated = True
        return self.notifications[before:]

    def step(self) -> list[Notification]:
        """Move one interval forward and evaluate; returns that step's notifications.

        As in ``promtool test rules``, the first step also evaluates at the start
        (time 0), so ``for: 30s`` fires after ``advance("30s")``.
        """
        out = [] if self._evaluated else self.evaluate()
        self.clock.advance(self.interval)
        return out + self.evaluate()

    def advance(self, duration: str | float) -> list[Notification]:
        """Evaluate once per interval over ``duration``; returns its notifications."""
        steps = max(1, round(parse_duration(duration) / self.interval))
        out: list[Notification] = []
        for _ in range(steps):
            out.extend(self.step())
        return out

    # --- reading and asserting -----------------------------------------------

    def alerts(self) -> list[AlertSnapshot]:
        return self.system.manager.active()

    def find(self, alert: str, **labels: Any) -> AlertSnapshot | None:
        wanted = {k: str(v) for k, v in labels.items()}
        for snapshot in self.alerts():
            if snapshot.alert == alert and all(snapshot.labels.get(k) == v for k, v in wanted.items()):
                return snapshot
        return None

    def assert_firing(self, alert: str, severity: str | Severity, **labels: Any) -> AlertSnapshot:
        expected = severity if isinstance(severity, Severity) else Severity.parse(severity)
        found = self.find(alert, **labels)
        if found is None or found.state is not AlertState.FIRING or found.severity is not expected:
            raise AssertionError(f"expected {alert}{_fmt(labels)} FIRING at {expected.name}; {self._describe(found)}")
        return found

    def assert_pending(self, alert: str, **labels: Any) -> AlertSnapshot:
        found = self.find(alert, **labels)
        if found is None or found.state is not AlertState.PENDING:
            raise AssertionError(f"expected {alert}{_fmt(labels)} PENDING; {self._describe(found)}")
        return found

    def assert_inactive(self, alert: str, **labels: Any) -> None:
        found = self.find(alert, **labels)
        if found is not None:
            raise AssertionError(f"expected {alert}{_fmt(labels)} inactive; {self._describe(found)}")

    def assert_resolved(self, alert: str, **labels: Any) -> Notification:
        """The alert is inactive and its last notification is a RESOLVED one."""
        self.assert_inactive(alert, **labels)
        wanted = {k: str(v) for k, v in labels.items()}
        for n in reversed(self.notifications):
            if n.alert == alert and all(n.labels.get(k) == v for k, v in wanted.items()):
                if n.status is Status.RESOLVED:
                    return n
                break
        raise AssertionError(f"expected a RESOLVED notification for {alert}{_fmt(labels)}")

    def _describe(self, found: AlertSnapshot | None) -> str:
        if found is None:
            active = ", ".join(f"{a.alert}{_fmt(a.labels)}={a.state.value}" for a in self.alerts()) or "none"
            return f"it is inactive (active alerts: {active})"
        severity = found.severity.name if found.severity else "-"
        return f"it is {found.state.value} at {severity} with value {found.value}"

    def close(self) -> None:
        self.provider.shutdown()

    def __enter__(self) -> RuleTester:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fmt(labels: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in labels.items() if k != "alertname"}
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) + "}" if shown else ""
