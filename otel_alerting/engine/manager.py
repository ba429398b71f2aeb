"""Alert manager: drives lifecycles, keeps history and statistics, decides what to tell.

What receivers have been told is tracked per alert and reconciled with the alert's
actual state on every evaluation, so a notification held back by the cooldown is
sent once the cooldown has passed if it is still true, and a RESOLVED is only sent
for an alert whose FIRING was sent. This is the one place the health endpoint and
the CLI read alert state from.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..durations import format_duration
from ..notify.model import Change, Notification, Status, fingerprint
from ..rules.model import RateExpr, RatioExpr, Rule, Severity
from ..rules.template import render
from .lifecycle import Alert, AlertState, Transition, TransitionKind
from .results import GroupKey, RuleResult, crossing

__all__ = ["AlertManager", "AlertSnapshot", "HistoryEntry", "ManagerStats"]

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistoryEntry:
    alert: str
    labels: dict[str, str]
    transition: Transition


@dataclass(frozen=True)
class AlertSnapshot:
    alert: str
    labels: dict[str, str]
    state: AlertState
    severity: Severity | None
    value: float | None
    threshold: float | None
    active_since: float | None
    fired_at: float | None
    fingerprint: str


@dataclass
class ManagerStats:
    evaluations: int = 0
    fired: int = 0
    resolved: int = 0
    escalated: int = 0
    deescalated: int = 0
    notifications: int = 0
    suppressed_by_cooldown: int = 0
    rule_errors: int = 0
    fired_by_severity: Counter[str] = field(default_factory=Counter)
    fired_by_rule: Counter[str] = field(default_factory=Counter)
    #: (channel, outcome) -> notifications: delivered, failed or dropped
    deliveries: Counter[tuple[str, str]] = field(default_factory=Counter)


@dataclass
class _Tracked:
    alert: Alert
    labels: dict[str, str]
    fingerprint: str
    #: severity receivers were last told is firing; None: nothing firing was told
    notified: Severity | None = None
    notified_starts_at: float = 0.0
    #: when each (severity, change) was last told, for the cooldown
    sent_at: dict[tuple[Severity, Change], float] = field(default_factory=dict)
    held: bool = False
    last_resolution: Transition | None = None
    #: restored from a saved state: no data before this time is the restart's gap, not
    #: the alert's (the first collections may not hold its series yet)
    restored_until: float | None = None
    #: what receivers were told changed since the last ``export_changes``
    dirty: bool = True
    #: the lifecycle's revision at the last ``export_changes`` (-1: never exported)
    exported: int = -1


class AlertManager:
    def __init__(self, rules: Sequence[Rule], cooldown: float = 60.0, history_size: int = 1000) -> None:
        self._rules = {rule.alert: rule for rule in rules}
        self._cooldown = cooldown
        self._alerts: dict[str, dict[GroupKey, _Tracked]] = {}
        self._history: deque[HistoryEntry] = deque(maxlen=history_size)
        self._rule_errors: dict[str, str] = {}
        self._stats = ManagerStats()
        self._lock = threading.RLock()
        #: fingerprints forgotten since the last ``export_changes`` (None: not kept, no
        #: one reads the changes)
        self._forgotten: list[str] | None = None

    # --- evaluation -------------------------------------------------------

    def process(self, results: Sequence[RuleResult], now: float) -> list[Notification]:
        """Step every alert with one evaluation's results; returns what to notify."""
        out: list[Notification] = []
        with self._lock:
            self._stats.evaluations += 1
            for result in results:
                rule = result.rule
                if result.error is not None:
                    self._rule_failed(rule, result.error)
                    continue
                if self._rule_errors and self._rule_errors.pop(rule.alert, None) is not None:
                    _logger.info("rule %s evaluates again", rule.alert)
                values = result.values
                alerts = self._alerts.get(rule.alert)
                if not values and not alerts:
                    continue  # a rule whose metric has no series (yet): nothing to step
                if alerts:
                    for key, tracked in list(alerts.items()):
                        self._step_restored(tracked, values.get(key), now)
                # groups that reach the rule's lowest threshold start an alert
                for key in crossing(values, rule.thresholds[0][1], rule.direction == "above"):
                    if alerts is None or key not in alerts:
                        self._step(self._track(rule, key, now), values.get(key), now)
                        alerts = self._alerts[rule.alert]
            for name, alerts in list(self._alerts.items()):
                for key, tracked in list(alerts.items()):
                    notification = self._reconcile(tracked, now)
                    if notification is not None:
                        out.append(notification)
                    if self._forgettable(tracked, now):
                        del alerts[key]
                        if self._forgotten is not None:
                            self._forgotten.append(tracked.fingerprint)
                if not alerts:
                    del self._alerts[name]
        return out

    def _all(self) -> list[_Tracked]:
        return [tracked for alerts in self._alerts.values() for tracked in alerts.values()]

    def _track(self, rule: Rule, key: GroupKey, now: float) -> _Tracked:
        group = dict(zip(rule.by, key))
        labels = {"alertname": rule.alert, **rule.labels, **group}
        tracked = _Tracked(Alert(rule, group, now), labels, fingerprint(labels))
        self._alerts.setdefault(rule.alert, {})[key] = tracked
        return tracked

    def _step(self, tracked: _Tracked, value: float | None, now: float) -> None:
        for transition in tracked.alert.step(value, now):
            self._history.append(HistoryEntry(tracked.alert.rule.alert, tracked.labels, transition))
            kind = transition.kind
            if kind is TransitionKind.FIRED:
                self._stats.fired += 1
                assert transition.severity is not None
                self._stats.fired_by_severity[transition.severity.name] += 1
                self._stats.fired_by_rule[tracked.alert.rule.alert] += 1
            elif kind is TransitionKind.RESOLVED:
                self._stats.resolved += 1
                tracked.last_resolution = transition
            elif kind is TransitionKind.ESCALATED:
                self._stats.escalated += 1
            elif kind is TransitionKind.DEESCALATED:
                self._stats.deescalated += 1

    def _step_restored(self, tracked: _Tracked, value: float | None, now: float) -> None:
        until = tracked.restored_until
        if until is not None:
            if value is None and now < until:
                return
            tracked.restored_until = None
        self._step(tracked, value, now)

    def _rule_failed(self, rule: Rule, error: str) -> None:
        if self._rule_errors.get(rule.alert) != error:
            _logger.error("rule %s (%s) cannot be evaluated: %s", rule.alert, rule.source, error)
            self._stats.rule_errors += 1
        self._rule_errors[rule.alert] = error

    def _reconcile(self, tracked: _Tracked, now: float) -> Notification | None:
        alert = tracked.alert
        desired = alert.severity if alert.state is AlertState.FIRING else None
        if desired == tracked.notified:
            tracked.held = False
            return None
        if desired is None:
            previous = tracked.notified
            assert previous is not None
            tracked.notified = None
            tracked.dirty = True
            self._stats.notifications += 1
            return self._notification(tracked, Status.RESOLVED, Change.RESOLVED, previous, None, now)
        previous = tracked.notified
        change = Change.FIRED if previous is None else Change.ESCALATED if desired > previous else Change.DEESCALATED
        # The cooldown holds back a repeat: the same change to the same severity within
        # the cooldown (an alert that flaps, or swings between two severities). A change
        # the receivers have not heard lately (a de-escalation after an escalation) goes
        # out, so they are never left believing a severity the alert no longer has.
        last = tracked.sent_at.get((desired, change))
        if last is not None and now - last < self._cooldown:
            if not tracked.held:
                self._stats.suppressed_by_cooldown += 1
                tracked.held = True
            return None
        tracked.held = False
        if previous is None:
            tracked.notified_starts_at = alert.fired_at if alert.fired_at is not None else now
        tracked.notified = desired
        tracked.sent_at[(desired, change)] = now
        tracked.dirty = True
        self._stats.notifications += 1
        return self._notification(tracked, Status.FIRING, change, desired, previous, now)

    def _notification(
        self,
        tracked: _Tracked,
        status: Status,
        change: Change,
        severity: Severity,
        previous: Severity | None,
        now: float,
    ) -> Notification:
        alert, rule = tracked.alert, tracked.alert.rule
        resolution = tracked.last_resolution if status is Status.RESOLVED else None
        value = resolution.value if resolution is not None else alert.value
        threshold = rule.threshold_of(severity)
        template_values = {
            "alert": rule.alert,
            "value": value,
            "threshold": threshold,
            "severity": severity.name,
            "state": status.value,
            "labels": tracked.labels,
            "for": format_duration(rule.for_),
            "window": format_duration(getattr(rule.expr, "window", 0.0))
            if isinstance(rule.expr, (RateExpr, RatioExpr))
            else "",
            "expr": rule.expr.describe(),
            "last_firing_value": resolution.last_firing_value if resolution is not None else value,
        }
        annotations = {key: render(text, template_values) for key, text in rule.annotations.items()}
        return Notification(
            alert=rule.alert,
            status=status,
            change=change,
            severity=severity,
            labels=dict(tracked.labels),
            annotations=annotations,
            value=value,
            threshold=threshold,
            starts_at=tracked.notified_starts_at,
            at=now,
            previous_severity=previous,
            ends_at=now if status is Status.RESOLVED else None,
            fired_for=resolution.fired_for if resolution is not None else None,
            reason=resolution.reason if resolution is not None else None,
            last_firing_value=resolution.last_firing_value if resolution is not None else value,
            expr=rule.expr.describe(),
            fingerprint=tracked.fingerprint,
        )

    def _forgettable(self, tracked: _Tracked, now: float) -> bool:
        if tracked.alert.state is not AlertState.INACTIVE or tracked.notified is not None:
            return False
        return all(now - sent >= self._cooldown for sent in tracked.sent_at.values())

    def record_delivery(self, channel: str, outcome: str, count: int) -> None:
        """How notifications ended, per channel (fed by the dispatcher)."""
        with self._lock:
            self._stats.deliveries[(channel, outcome)] += count

    def reset_lock_after_fork(self) -> None:
        """In a forked child: the parent's threads are gone, so is any hold on the lock."""
        self._lock = threading.RLock()

    # --- saved state (see otel_alerting.state) ------------------------------------

    def export_state(self) -> dict[str, dict[str, Any]]:
        """Each tracked alert's lifecycle and what receivers were told, by fingerprint,
        as plain values."""
        with self._lock:
            return {t.fingerprint: _record(t) for t in self._all()}

    def keep_changes(self) -> None:
        """From now on, note what ``export_changes`` needs (the forgotten alerts): called
        once, before the first evaluation, by a system that saves its state."""
        with self._lock:
            if self._forgotten is None:
                self._forgotten = []

    def export_changes(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """What changed since the last call: the records (as ``export_state``) of the
        alerts whose lifecycle or notifications changed, and the fingerprints forgotten
        (since ``keep_changes``). The first call gives every alert. Cheap when little
        changed (most evaluations): no record is built for an alert that did not change."""
        with self._lock:
            changed: dict[str, dict[str, Any]] = {}
            for alerts in self._alerts.values():
                for t in alerts.values():
                    if t.dirty or t.exported != t.alert.revision:
                        changed[t.fingerprint] = _record(t)
                        t.dirty = False
                        t.exported = t.alert.revision
            forgotten = self._forgotten or []
            if self._forgotten is not None:
                self._forgotten = []
            return changed, forgotten

    def export_all_again(self) -> None:
        """The next ``export_changes`` gives every alert (a forked child writes its own
        records of what it inherited)."""
        with self._lock:
            for t in self._all():
                t.exported = -1

    def restore_state(self, saved: Mapping[str, Mapping[str, Any]], now: float, grace: float) -> list[str]:
        """Take back what ``export_state`` gave (before the first evaluation). A record
        that no longer fits the rules (a rule removed or changed) is left out; returns
        why, one line per record left out. Until ``now + grace`` a restored alert is not
        stepped without data."""
        skipped: list[str] = []
        with self._lock:
            for fp, record in saved.items():
                try:
                    self._restore_one(record, now + grace)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    skipped.append(f"alert {fp}: {type(exc).__name__}: {exc}")
        return skipped

    def _restore_one(self, record: Mapping[str, Any], until: float) -> None:
        rule = self._rules[record["alert"]]
        group = {str(k): str(v) for k, v in record["group"].items()}
        if set(group) != set(rule.by):
            raise ValueError(f"rule {rule.alert} groups by {list(rule.by)} now")
        key = tuple(group[name] for name in rule.by)
        labels = {"alertname": rule.alert, **rule.labels, **group}
        alert = Alert.restore(rule, group, record["lifecycle"])
        levels = {int(s): s for s, _ in rule.thresholds}
        notified = record["notified"]
        tracked = _Tracked(
            alert,
            labels,
            fingerprint(labels),
            notified=None if notified is None else levels[notified],
            notified_starts_at=float(record["notified_starts_at"]),
            sent_at={(levels[s], Change(c)): float(at) for s, c, at in record["sent_at"]},
            restored_until=until,
        )
        self._alerts.setdefault(rule.alert, {})[key] = tracked

    def told_firing(self, now: float) -> list[Notification]:
        """A FIRING notification for each alert receivers were told fires (to restore
        what the notification groups hold after a restart); not counted as sent."""
        with self._lock:
            return [
                self._notification(t, Status.FIRING, Change.FIRED, t.notified, None, now)
                for t in self._all()
                if t.notified is not None
            ]

    # --- reading ------------------------------------------------------------

    def active(self) -> list[AlertSnapshot]:
        """Pending and firing alerts, most severe first."""
        with self._lock:
            snapshots = [
                AlertSnapshot(
                    t.alert.rule.alert,
                    dict(t.labels),
                    t.alert.state,
                    t.alert.severity,
                    t.alert.value,
                    t.alert.threshold,
                    t.alert.active_since,
                    t.alert.fired_at,
                    t.fingerprint,
                )
                for t in self._all()
                if t.alert.state is not AlertState.INACTIVE
            ]
        return sorted(snapshots, key=lambda s: (-(s.severity or 0), s.alert, sorted(s.labels.items())))

    def history(self) -> list[HistoryEntry]:
        with self._lock:
            return list(self._history)

    def stats(self) -> ManagerStats:
        with self._lock:
            s = self._stats
            return ManagerStats(
                s.evaluations,
                s.fired,
                s.resolved,
                s.escalated,
                s.deescalated,
                s.notifications,
                s.suppressed_by_cooldown,
                s.rule_errors,
                Counter(s.fired_by_severity),
                Counter(s.fired_by_rule),
                Counter(s.deliveries),
            )

    def rule_errors(self) -> dict[str, str]:
        with self._lock:
            return dict(self._rule_errors)

    def state_counts(self) -> dict[tuple[str, str, str], int]:
        """(alert, severity, state) -> number of alerts; for the ``otel_alerting.alerts`` gauge."""
        counts: Counter[tuple[str, str, str]] = Counter()
        with self._lock:
            for t in self._all():
                state = t.alert.state
                if state is AlertState.INACTIVE:
                    continue
                severity = t.alert.severity or t.alert.rule.thresholds[0][0]
                counts[(t.alert.rule.alert, severity.name, state.value)] += 1
            for name in self._rules:
                counts.setdefault((name, "NONE", "inactive"), 0)
        return dict(counts)

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules.values())


def _record(t: _Tracked) -> dict[str, Any]:
    """One alert's saved record: its lifecycle and what receivers were told."""
    return {
        "alert": t.alert.rule.alert,
        "group": dict(t.alert.labels),
        "lifecycle": t.alert.export(),
        "notified": None if t.notified is None else int(t.notified),
        "notified_starts_at": t.notified_starts_at,
        "sent_at": [[int(s), c.value, at] for (s, c), at in t.sent_at.items()],
    }
