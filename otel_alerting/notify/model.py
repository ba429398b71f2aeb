"""The notification value every channel receives."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..rules.model import Severity

__all__ = ["Batch", "Change", "Notification", "Status", "fingerprint"]


class Status(enum.Enum):
    FIRING = "FIRING"
    RESOLVED = "RESOLVED"


class Change(enum.Enum):
    """Why this notification was sent."""

    FIRED = "fired"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Notification:
    """One alert at one moment, as people and systems are told about it.

    Times are Unix seconds. ``labels`` identify the alert (``alertname``, the rule's
    labels and its group labels); ``severity`` is kept apart so the identity stays
    the same through escalation.
    """

    alert: str
    status: Status
    change: Change
    severity: Severity
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    value: float | None
    threshold: float | None
    starts_at: float
    at: float
    previous_severity: Severity | None = None
    ends_at: float | None = None
    fired_for: float | None = None
    reason: str | None = None
    #: the value at the last evaluation that found the alert firing (on RESOLVED,
    #: what Prometheus would have sent as the value)
    last_firing_value: float | None = None
    expr: str = ""
    fingerprint: str = field(default="")

    @property
    def group_labels(self) -> dict[str, str]:
        return {k: v for k, v in self.labels.items() if k != "alertname"}


@dataclass(frozen=True)
class Batch:
    """What one channel is told in one delivery: alerts of one notification group.

    ``group_key`` identifies the group (route and group label values) and stays the
    same across deliveries; ``group_labels`` are the values of the route's
    ``group_by`` labels. ``repeat`` marks a re-send of still-firing alerts after
    ``repeat_interval``.
    """

    channel: str
    notifications: tuple[Notification, ...]
    group_key: str = ""
    group_labels: Mapping[str, str] = field(default_factory=dict)
    repeat: bool = False

    @property
    def severity(self) -> Severity:
        return max(n.severity for n in self.notifications)

    @property
    def firing(self) -> tuple[Notification, ...]:
        return tuple(n for n in self.notifications if n.status is Status.FIRING)

    @property
    def resolved(self) -> tuple[Notification, ...]:
        return tuple(n for n in self.notifications if n.status is Status.RESOLVED)

    @property
    def common_labels(self) -> dict[str, str]:
        """Labels every alert of the batch shares, as Alertmanager's ``commonLabels``."""
        first, *rest = self.notifications
        return {k: v for k, v in first.labels.items() if all(n.labels.get(k) == v for n in rest)}

    @property
    def common_annotations(self) -> dict[str, str]:
        first, *rest = self.notifications
        return {k: v for k, v in first.annotations.items() if all(n.annotations.get(k) == v for n in rest)}


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable id of an alert identity, independent of its severity."""
    digest = hashlib.sha256()
    for key in sorted(labels):
        digest.update(key.encode())
        digest.update(b"\xff")
        digest.update(labels[key].encode())
        digest.update(b"\xff")
    return digest.hexdigest()[:16]
