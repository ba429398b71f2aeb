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
from typing import Any

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
        #: grows whenever what ``export`` gives changes: a saved state is written again
        #: only for the alerts whose revision moved
        self.revision = 0

    def export(self) -> dict[str, Any]:
        """The state a restart must keep, as plain values (JSON-ready): the ``for``
        progress of each level, what fires and since when. The latest value is left out
        (it changes at every evaluation; the next one brings it back)."""
        return {
            "created_at": self.created_at,
            "state": self.state.value,
            "severity": None if self.severity is None else int(self.severity),
            "active_since": self.active_since,
            "fired_at": self.fired_at,
            "since": [[int(s), t] for s, t in self._since.items()],
            "cleared": [[int(s), t] for s, t in self._cleared.items()],
            "firing": sorted(int(s) for s in self._firing),
        }

    @classmethod
    def restore(cls, rule: Rule, labels: Mapping[str, str], saved: Mapping[str, Any]) -> Alert:
        """An alert in the state ``export`` gave; ValueError (or KeyError, TypeError) if
        ``saved`` does not fit ``rule`` (a level it no longer has)."""
        levels = {int(s): s for s, _ in rule.thresholds}

        def level(value: object) -> Severity:
            if not isinstance(value, int) or value not in levels:
                raise ValueError(f"no level {value!r} in rule {rule.alert}")
            return levels[value]

        alert = cls(rule, labels, float(saved["created_at"]))
        alert.state = AlertState(saved["state"])
        alert.severity = None if saved["severity"] is None else level(saved["severity"])
        alert.active_since = _time(saved["active_since"])
        alert.fired_at = _time(saved["fired_at"])
        alert._since = {level(s): float(t) for s, t in saved["since"]}
        alert._cleared = {level(s): float(t) for s, t in saved["cleared"]}
        alert._firing = {level(s) for s in saved["firing"]}
        if (alert.severity is None) != (alert.state is not AlertState.FIRING):
            raise ValueError(f"state {alert.state.value} with severity {alert.severity}")
        return alert

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
            if self._since or self._cleared or self._firing:
                self.revision += 1
            self._since.clear()
            self._cleared.clear()
            self._firing.clear()
            return self._settle(now, None)
        self.value = value
        lowest = rule.thresholds[0][0]
        for severity, threshold in rule.thresholds:
            holds = rule.holds(threshold, value)
            if not holds and severity is lowest and self._firing and rule.recovery is not None:
                holds = not rule.recovered(value)
            self._track(severity, holds, now)
        firing = {
            severity
            for severity, _ in rule.thresholds
            if (since := self._since.get(severity)) is not None and now - since >= rule.for_
        }
        if firing != self._firing:
            self.revision += 1
        self._firing = firing
        return self._settle(now, value)

    def _track(self, severity: Severity, holds: bool, now: float) -> None:
        """Start (or go on counting) the time ``severity``'s condition holds, or forget it."""
        if holds:
            if severity not in self._since:
                self._since[severity] = now
                self.revision += 1
            if self._cleared.pop(severity, None) is not None:
                self.revision += 1
            return
        # As Prometheus: a firing level keeps firing while less than keep_firing_for has
        # passed since the first evaluation at which its condition was false (measuring
        # from the last true evaluation made a keep_firing_for of one interval do
        # nothing). Its `since` is kept, so a condition back in that time continues the
        # same firing alert.
        if severity in self._firing:
            if severity not in self._cleared:
                self._cleared[severity] = now
                self.revision += 1
            if now - self._cleared[severity] < self.rule.keep_firing_for:
                return
        if self._since.pop(severity, None) is not None:
            self.revision += 1
        # for the lifecycle only a tidy-up (a level that is not firing never reads its
        # entry, and one that holds again drops it above); a saved state loses it too
        if self._cleared.pop(severity, None) is not None:
            self.revision += 1

    def _settle(self, now: float, value: float | None) -> list[Transition]:
        """Take the state the levels give; the transitions that makes, in order."""
        previous_state, previous = self.state, self.severity
        self.severity = max(self._firing) if self._firing else None
        self.state = self._current_state()
        if self.state is not previous_state or self.severity != previous:
            self.revision += 1
        if self.state is AlertState.FIRING and value is not None:
            self.last_firing_value = value
        if previous_state is AlertState.INACTIVE and self.state is not AlertState.INACTIVE:
            self.active_since = now
        out = self._severity_change(previous, now, value)
        pending = _pending_change(previous_state, self.state)
        if pending is not None:  # pending or not, the alert has no severity before or after
            out.append(Transition(pending, now, value, None, None, self.threshold))
        if self.severity is None:
            self.fired_at = None
            self.last_firing_value = None
        if self.state is AlertState.INACTIVE:
            self.active_since = None
        return out

    def _current_state(self) -> AlertState:
        if self.severity is not None:
            return AlertState.FIRING
        return AlertState.PENDING if self._since else AlertState.INACTIVE

    def _severity_change(self, previous: Severity | None, now: float, value: float | None) -> list[Transition]:
        severity = self.severity
        if severity is None:
            return [] if previous is None else [self._resolved(previous, now, value)]
        if previous is None:
            self.fired_at = now
            kind = TransitionKind.FIRED
        elif severity > previous:
            kind = TransitionKind.ESCALATED
        elif severity < previous:
            kind = TransitionKind.DEESCALATED
        else:
            return []
        return [Transition(kind, now, value, severity, previous, self.threshold)]

    def _resolved(self, previous: Severity, now: float, value: float | None) -> Transition:
        fired_at = self.fired_at
        assert fired_at is not None  # set when it fired
        return Transition(
            TransitionKind.RESOLVED,
            now,
            value,
            None,
            previous,
            self.threshold,
            reason=self._why_resolved(value),
            fired_for=now - fired_at,
            last_firing_value=self.last_firing_value,
        )

    def _why_resolved(self, value: float | None) -> str:
        rule = self.rule
        if value is None:
            return "no data"
        side = "below" if rule.direction == "above" else "above"
        if rule.recovery is not None:
            return f"value {value:g} back {side} recovery level {rule.recovery:g}"
        return f"value {value:g} back {side} threshold {rule.thresholds[0][1]:g}"


def _time(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise TypeError(f"not a time: {value!r}")
    return float(value)


def _pending_change(previous: AlertState, state: AlertState) -> TransitionKind | None:
    if state is AlertState.PENDING and previous is AlertState.INACTIVE:
        return TransitionKind.PENDING
    if state is AlertState.INACTIVE and previous is AlertState.PENDING:
        return TransitionKind.PENDING_CLEARED
    return None
