"""The process's alerts as Alertmanager's ``gettableAlert`` and ``alertGroup``.

Firing alerts are ``active``, or ``suppressed`` with the silences (ids) and the
inhibiting alerts (fingerprints) that mute them, decided as the notification
pipeline decides. Pending alerts are listed as ``unprocessed`` (Alertmanager's state
for an alert it has not routed yet) with the label ``alertstate="pending"``, so any
Alertmanager client reads them and a filter can select them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..durations import format_duration
from ..engine.lifecycle import AlertState
from ..engine.manager import AlertSnapshot
from ..notify.matchers import Matcher
from ..notify.routing import routing_labels
from ..rules.model import RateExpr, RatioExpr, Rule
from ..rules.template import render
from .alertmanager_shapes import timestamp

if TYPE_CHECKING:
    from ..system import AlertingSystem

__all__ = ["AlertFilter", "alert_groups", "gettable_alerts"]

PENDING_LABEL = ("alertstate", "pending")
#: an alert not refreshed for this many evaluations counts as resolved (Prometheus's rule)
_RESEND_EVALUATIONS = 4


@dataclass(frozen=True)
class AlertFilter:
    """The query of ``GET /api/v2/alerts``: each flag false leaves out that kind."""

    active: bool = True
    silenced: bool = True
    inhibited: bool = True
    unprocessed: bool = True
    matchers: tuple[Matcher, ...] = ()
    receiver: re.Pattern[str] | None = None

    def keeps(self, alert: Mapping[str, Any]) -> bool:
        status = alert["status"]
        if status["state"] == "active" and not self.active:
            return False
        if status["state"] == "unprocessed" and not self.unprocessed:
            return False
        if (status["silencedBy"] and not self.silenced) or (status["inhibitedBy"] and not self.inhibited):
            return False
        if not all(m.matches(alert["labels"]) for m in self.matchers):
            return False
        names = [r["name"] for r in alert["receivers"]]
        return self.receiver is None or any(self.receiver.fullmatch(n) for n in names)


def gettable_alerts(system: AlertingSystem, now: float, chosen: AlertFilter = AlertFilter()) -> list[dict[str, Any]]:
    snapshots = system.manager.active()
    firing = [(s.fingerprint, _labels(s)) for s in snapshots if s.state is AlertState.FIRING]
    rules = {r.alert: r for r in system.manager.rules}
    updated = system.last_evaluation if system.last_evaluation is not None else now
    ends = updated + _RESEND_EVALUATIONS * system.settings.interval_ms / 1000.0
    alerts = []
    for snapshot in snapshots:
        labels = _labels(snapshot)
        receivers = _receivers(system, labels)
        silenced_by = [s.id for s in system.silences.list(now) if s.mutes(labels, now)]
        inhibited_by = _inhibited_by(system, labels, firing)
        pending = snapshot.state is AlertState.PENDING
        state = "unprocessed" if pending else "suppressed" if silenced_by or inhibited_by else "active"
        since = snapshot.fired_at if snapshot.fired_at is not None else snapshot.active_since
        rule = rules.get(snapshot.alert)
        alert = {
            "labels": labels,
            "annotations": _annotations(rule, snapshot) if rule is not None else {},
            "startsAt": timestamp(since if since is not None else updated),
            "endsAt": timestamp(ends),
            "updatedAt": timestamp(updated),
            "fingerprint": snapshot.fingerprint,
            "receivers": [{"name": name} for name in receivers],
            # no generatorURL: there is no page that shows the rule (Alertmanager omits it too)
            "status": {"state": state, "silencedBy": silenced_by, "inhibitedBy": inhibited_by},
        }
        if chosen.keeps(alert):
            alerts.append(alert)
    return alerts


def alert_groups(system: AlertingSystem, alerts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``alerts`` grouped as the routes group them, one group per receiver."""
    groups: dict[tuple[str, str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
    for alert in alerts:
        for route in system.pipeline.route.resolve(alert["labels"]):
            group_labels = route.group_labels(alert["labels"])
            for receiver in route.receivers:
                key = (receiver, route.path, tuple(sorted(group_labels.items())))
                group = groups.setdefault(key, {"labels": group_labels, "receiver": {"name": receiver}, "alerts": []})
                group["alerts"].append(alert)
    return list(groups.values())


def _labels(snapshot: AlertSnapshot) -> dict[str, str]:
    if snapshot.severity is None or snapshot.state is AlertState.PENDING:
        return {**snapshot.labels, PENDING_LABEL[0]: PENDING_LABEL[1]}
    return routing_labels(snapshot.labels, snapshot.severity)


def _receivers(system: AlertingSystem, labels: Mapping[str, str]) -> list[str]:
    routes = system.pipeline.route.resolve(labels)
    return list(dict.fromkeys(name for route in routes for name in route.receivers))


def _inhibited_by(
    system: AlertingSystem, labels: Mapping[str, str], firing: Sequence[tuple[str, Mapping[str, str]]]
) -> list[str]:
    rules = [r for r in system.pipeline.inhibitor.rules if r.is_target(labels)]
    return [fp for fp, source in firing if any(r.inhibits(source, labels) for r in rules)]


def _annotations(rule: Rule, snapshot: AlertSnapshot) -> dict[str, str]:
    """The rule's annotations rendered with the alert's present values (the fields
    its notifications are rendered with)."""
    severity = snapshot.severity.name if snapshot.severity is not None else ""
    values = {
        "alert": rule.alert,
        "value": snapshot.value,
        "threshold": snapshot.threshold,
        "severity": severity,
        "state": snapshot.state.value.upper(),
        "labels": snapshot.labels,
        "for": format_duration(rule.for_),
        "window": format_duration(rule.expr.window) if isinstance(rule.expr, (RateExpr, RatioExpr)) else "",
        "expr": rule.expr.describe(),
        "last_firing_value": snapshot.value,
    }
    return {key: render(text, values) for key, text in rule.annotations.items()}
