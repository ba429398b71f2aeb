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

from collections.abc import Callable, Iterator
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
        told = self.told.get(fp)
        if told is None or told[0] is Status.RESOLVED:
            del self.alerts[fp]
            self.told.pop(fp, None)
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
        if self.repeated is not None and any(s is Status.FIRING for s, _ in self.told.values()):
            return self.repeated + timers.repeat_interval
        return None


@dataclass(frozen=True)
class GroupFlush:
    batch: Batch | None
    #: alerts found muted for the first time in this pass: (notification, reason)
    newly_muted: tuple[tuple[Notification, str], ...] = ()


def flush(group: Group, now: float, muted: MuteCheck, force: bool = False) -> GroupFlush:
    """Decide what ``group`` delivers at ``now`` and record it as told."""
    changes: list[Notification] = []
    newly_muted: list[tuple[Notification, str]] = []
    for fp, n in list(group.alerts.items()):
        told = group.told.get(fp)
        desired = (n.status, n.severity)
        if desired == told:
            continue
        if n.status is Status.RESOLVED and (told is None or told[0] is Status.RESOLVED):
            # never told it fired (muted, or resolved within group_wait): nothing to close
            del group.alerts[fp]
            group.told.pop(fp, None)
            group.muted.pop(fp, None)
            continue
        if n.status is Status.FIRING:
            reason = muted(n)
            if reason is not None:
                if group.muted.get(fp) != reason:
                    group.muted[fp] = reason
                    newly_muted.append((n, reason))
                continue
            group.muted.pop(fp, None)
        changes.append(n)
    timers = group.route.timers
    if changes:
        urgent = any(
            n.severity is Severity.CRITICAL
            or n.status is Status.RESOLVED
            or _escalates(n, group.told.get(n.fingerprint))
            for n in changes
        )
        if group.flushed is None:
            due = force or urgent or now - group.created >= timers.group_wait
        else:
            due = force or urgent or now - group.flushed >= timers.group_interval
        if due:
            _record(group, changes, now)
            return GroupFlush(Batch(group.channel, tuple(changes), group.key, dict(group.labels)), tuple(newly_muted))
        return GroupFlush(None, tuple(newly_muted))
    if group.repeated is not None and now - group.repeated >= timers.repeat_interval:
        # the repeat is due even when all it would re-send is muted now: skipped, not
        # retried at once (which would spin until the mute ends)
        group.repeated = now
        firing = tuple(n for n in _still_firing(group) if muted(n) is None)
        if firing:
            return GroupFlush(
                Batch(group.channel, firing, group.key, dict(group.labels), repeat=True), tuple(newly_muted)
            )
    return GroupFlush(None, tuple(newly_muted))


def _escalates(n: Notification, told: tuple[Status, Severity] | None) -> bool:
    return told is not None and told[0] is Status.FIRING and n.severity > told[1]


def _record(group: Group, sent: list[Notification], now: float) -> None:
    for n in sent:
        if n.status is Status.RESOLVED:
            group.alerts.pop(n.fingerprint, None)
            group.told.pop(n.fingerprint, None)
        else:
            group.told[n.fingerprint] = (n.status, n.severity)
    group.flushed = now
    group.repeated = now


def _still_firing(group: Group) -> Iterator[Notification]:
    for fp, (status, _) in group.told.items():
        n = group.alerts.get(fp)
        if status is Status.FIRING and n is not None and n.status is Status.FIRING and fp not in group.muted:
            yield n
