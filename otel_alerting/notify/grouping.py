"""Aggregation groups: what each channel has been told, and when to tell it more.

Like Alertmanager's dispatcher, a group collects the alerts of one route and one set
of ``group_by`` values for one channel, waits ``group_wait`` before its first
delivery, then at most every ``group_interval``, and re-sends what still fires
every ``repeat_interval``. Unlike it, a resolution, an escalation or a CRITICAL
alert goes out at once: in-process evaluation has nothing to batch them with that
is worth minutes of delay. Each group remembers what its channel was told, so a
muted alert is delivered when the mute ends, and a RESOLVED only follows a FIRING
that was delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..rules.model import Severity
from .model import Batch, Change, Notification, Status
from .routing import Route

__all__ = ["Group", "GroupFlush", "MuteCheck"]

#: returns why ``notification`` is muted ("silenced by <id>", "inhibited by <alert>") or None
MuteCheck = Callable[[Notification], "str | None"]


@dataclass
class Group:
    key: str
    channel: str
    route: Route
    labels: dict[str, str]
    created: float
    alerts: dict[str, Notification] = field(default_factory=dict)
    #: what the channel was told fires, by fingerprint: always ``(FIRING, severity)``, as a
    #: delivered resolution removes the alert. Each told alert is in ``alerts``.
    told: dict[str, tuple[Status, Severity]] = field(default_factory=dict)
    muted: dict[str, str] = field(default_factory=dict)
    flushed: float | None = None
    repeated: float | None = None

    def put(self, notification: Notification) -> None:
        self.alerts[notification.fingerprint] = notification

    def withdraw(self, notification: Notification) -> None:
        """The alert no longer routes here (it changed severity): the channel was told it
        fires, so it is told it is over, for this channel, as Alertmanager would when the
        alert's label set changes."""
        fp = notification.fingerprint
        if fp not in self.alerts:
            return
        if fp not in self.told:  # never delivered: nothing to take back
            del self.alerts[fp]
            return
        previous = self.alerts[fp]
        self.alerts[fp] = replace(
            previous,
            status=Status.RESOLVED,
            change=Change.RESOLVED,
            at=notification.at,
            ends_at=notification.at,
            value=notification.value,
            reason=f"now {notification.severity.name}, which this route does not send here",
        )

    def next_wake(self) -> float | None:
        """When ``flush`` may next have something to send; None if nothing waits.

        As in ``flush``: unmuted changes wait for ``group_wait`` (or ``group_interval``),
        and only without them does the ``repeat_interval`` count. A time already past
        at which ``flush`` would send nothing (alerts told and unchanged, muted ones)
        must not be returned: it would be asked for again at once, forever. Muted
        alerts are looked at again by every evaluation.
        """
        timers = self.route.timers
        if any(self.told.get(fp) != (n.status, n.severity) and fp not in self.muted for fp, n in self.alerts.items()):
            return self.created + timers.group_wait if self.flushed is None else self.flushed + timers.group_interval
        if self.repeated is not None and self.told:
            return self.repeated + timers.repeat_interval
        return None


@dataclass(frozen=True)
class GroupFlush:
    batch: Batch | None
    #: alerts found muted for the first time in this pass: (notification, reason)
    newly_muted: tuple[tuple[Notification, str], ...] = ()


def flush(group: Group, now: float, muted: MuteCheck, force: bool = False) -> GroupFlush:
    """Decide what ``group`` delivers at ``now`` and record it as told."""
    changes, newly_muted = _changes(group, muted)
    if not changes:
        return GroupFlush(_repeat(group, now, muted), newly_muted)
    if not (force or _due(group, changes, now)):
        return GroupFlush(None, newly_muted)
    _record(group, changes, now)
    return GroupFlush(Batch(group.channel, tuple(changes), group.key, dict(group.labels)), newly_muted)


def _changes(group: Group, muted: MuteCheck) -> tuple[list[Notification], tuple[tuple[Notification, str], ...]]:
    """What the channel has not been told yet and may be told now, and the alerts found
    muted for the first time (or for another reason)."""
    changes: list[Notification] = []
    newly_muted: list[tuple[Notification, str]] = []
    for fp, n in list(group.alerts.items()):
        told = group.told.get(fp)
        if (n.status, n.severity) == told:
            continue
        if n.status is Status.RESOLVED and told is None:
            # never told it fired (muted, or resolved within group_wait): nothing to close
            del group.alerts[fp]
            group.muted.pop(fp, None)
            continue
        if n.status is Status.FIRING and _is_muted(group, n, muted, newly_muted):
            continue
        changes.append(n)
    return changes, tuple(newly_muted)


def _is_muted(group: Group, n: Notification, muted: MuteCheck, newly_muted: list[tuple[Notification, str]]) -> bool:
    """Whether firing ``n`` is muted now; a new reason goes into ``newly_muted``."""
    reason = muted(n)
    if reason is None:
        group.muted.pop(n.fingerprint, None)
        return False
    if group.muted.get(n.fingerprint) != reason:
        group.muted[n.fingerprint] = reason
        newly_muted.append((n, reason))
    return True


def _due(group: Group, changes: list[Notification], now: float) -> bool:
    """Whether ``changes`` go out at ``now``: at once if one is urgent, else once
    ``group_wait`` (before the first delivery) or ``group_interval`` has passed."""
    if any(_urgent(n, group.told.get(n.fingerprint)) for n in changes):
        return True
    timers = group.route.timers
    if group.flushed is None:
        return now - group.created >= timers.group_wait
    return now - group.flushed >= timers.group_interval


def _urgent(n: Notification, told: tuple[Status, Severity] | None) -> bool:
    """A CRITICAL alert, a resolution or an escalation is worth no wait."""
    return n.severity is Severity.CRITICAL or n.status is Status.RESOLVED or _escalates(n, told)


def _repeat(group: Group, now: float, muted: MuteCheck) -> Batch | None:
    """What still fires, again, once ``repeat_interval`` has passed since the last delivery.
    Only called when nothing changed: each alert told fires as told."""
    if group.repeated is None or now - group.repeated < group.route.timers.repeat_interval:
        return None
    # the repeat is due even when all it would re-send is muted now: skipped, not
    # retried at once (which would spin until the mute ends)
    group.repeated = now
    firing = tuple(n for fp in group.told if muted(n := group.alerts[fp]) is None)
    return Batch(group.channel, firing, group.key, dict(group.labels), repeat=True) if firing else None


def _escalates(n: Notification, told: tuple[Status, Severity] | None) -> bool:
    if told is None:
        return False
    # a change of a told alert has another severity: `>=` would be the same
    return n.severity > told[1]  # pragma: no mutate (equivalent, see above)


def _record(group: Group, sent: list[Notification], now: float) -> None:
    for n in sent:
        if n.status is Status.RESOLVED:
            del group.alerts[n.fingerprint]
            del group.told[n.fingerprint]
        else:
            group.told[n.fingerprint] = (n.status, n.severity)
    group.flushed = now
    group.repeated = now
