"""The life of one alert: inactive -> pending -> firing(severity) -> resolved.

Each severity level behaves like one Prometheus alerting rule: its condition must
hold for ``for`` before it fires, and it keeps firing ``keep_firing_for`` after the
condition stops. The alert fires at the highest firing level, so escalation and
de-escalation are changes of one identity. With ``recovery`` set, the lowest level
keeps holding until the value is back past the recovery level (hysteresis).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from ..rules.model import Rule, Severity

__all__ = ["Alert", "AlertState", "Transition", "TransitionKind"]


class AlertState(enum.Enum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


class TransitionKind(enum.Enum):
    PENDING = "pending"
    PENDING_CLEARED = "pending_cleared"
    FIRED = "fired"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Transition:
    kind: TransitionKind
    at: float
    value: float | None
    severity: Severity | None
    previous_severity: Severity | None
    threshold: float | None
    #: for RESOLVED: why, and how long the alert fired
    reason: str | None = None
    fired_for: float | None = None
    #: for RESOLVED: the value at the last evaluation that found the alert firing
    #: (for a downtime rule, the length of the outage)
    last_firing_value: float | None = None


class Alert:
    """Mutable state of one (rule, group labels) identity; driven by ``step``."""

    def __init__(self, rule: Rule, labels: Mapping[str, str], now: float) -> None:
        self.rule = rule
        self.labels = dict(labels)
        self.created_at = now
        self.state = AlertState.INACTIVE
        self.severity: Severity | None = None
        self.value: float | None = None
        self.active_since: float | None = None
        self.fired_at: float | None = None
        self.last_firing_value: float | None = None
        self.last_evaluated: float = now
        self._since: dict[Severity, float] = {}
        #: first evaluation at which a firing level's condition was false (keep_firing_for)
        self._cleared: dict[Severity, float] = {}
        self._firing: set[Severity] = set()

    @property
    def threshold(self) -> float | None:
        if self.severity is not None:
            return self.rule.threshold_of(self.severity)
        return self.rule.thresholds[0][1]

    def step(self, value: float | None, now: float) -> list[Transition]:
        """Advance to ``now`` given the latest value (None: no data)."""
        self.last_evaluated = now
        rule = self.rule
        if value is None:
            if rule.no_data == "keep":
                return []
            self._since.clear()
            self._cleared.clear()
            self._firing.clear()
            return self._settle(now, None, reason="no data")
        self.value = value
        lowest = rule.thresholds[0][0]
        for severity, threshold in rule.thresholds:
            holds = rule.holds(threshold, value)
            if not holds and severity is lowest and self._firing and rule.recovery is not None:
                holds = not rule.recovered(value)
            if holds:
                self._since.setdefault(severity, now)
                self._cleared.pop(severity, None)
            elif severity in self._firing and rule.keep_firing_for > 0:
                # As Prometheus: a firing level keeps firing while less than
                # keep_firing_for has passed since the first evaluation at which its
                # condition was false (measuring from the last true evaluation made a
                # keep_firing_for of one interval do nothing). Its `since` is kept, so
                # a condition back in that time continues the same firing alert.
                cleared = self._cleared.setdefault(severity, now)
                if now - cleared >= rule.keep_firing_for:
                    self._since.pop(severity, None)
                    self._cleared.pop(severity, None)
            else:
                self._since.pop(severity, None)
                self._cleared.pop(severity, None)
        firing: set[Severity] = set()
        for severity, _ in rule.thresholds:
            since = self._since.get(severity)
            if since is not None and now - since >= rule.for_:
                firing.add(severity)
        self._firing = firing
        return self._settle(now, value, reason=None)

    def _settle(self, now: float, value: float | None, reason: str | None) -> list[Transition]:
        previous_state, previous = self.state, self.severity
        severity = max(self._firing) if self._firing else None
        if severity is not None:
            state = AlertState.FIRING
        elif self._since:
            state = AlertState.PENDING
        else:
            state = AlertState.INACTIVE
        self.severity, self.state = severity, state
        if state is AlertState.FIRING and value is not None:
            self.last_firing_value = value
        out: list[Transition] = []

        def emit(kind: TransitionKind, **extra: object) -> None:
            out.append(
                Transition(kind, now, value, severity, previous, self.threshold, **extra)  # type: ignore[arg-type]
            )

        if previous_state is AlertState.INACTIVE and state is not AlertState.INACTIVE:
            self.active_since = now
        if previous is None and severity is not None:
            self.fired_at = now
            emit(TransitionKind.FIRED)
        elif previous is not None and severity is None:
            fired_for = now - self.fired_at if self.fired_at is not None else None
            emit(
                TransitionKind.RESOLVED,
                reason=reason or self._why_resolved(value),
                fired_for=fired_for,
                last_firing_value=self.last_firing_value,
            )
            self.fired_at = None
            self.last_firing_value = None
        elif previous is not None and severity is not None and severity != previous:
            emit(TransitionKind.ESCALATED if severity > previous else TransitionKind.DEESCALATED)
        if state is AlertState.PENDING and previous_state is AlertState.INACTIVE:
            emit(TransitionKind.PENDING)
        elif state is AlertState.INACTIVE and previous_state is AlertState.PENDING:
            emit(TransitionKind.PENDING_CLEARED)
        if state is AlertState.INACTIVE:
            self.active_since = None
        return out

    def _why_resolved(self, value: float | None) -> str:
        rule = self.rule
        if value is None:
            return "no data"
        side = "below" if rule.direction == "above" else "above"
        if rule.recovery is not None:
            return f"value {value:g} back {side} recovery level {rule.recovery:g}"
        return f"value {value:g} back {side} threshold {rule.thresholds[0][1]:g}"
