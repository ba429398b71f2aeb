"""The notification pipeline, assembled in one place, after Alertmanager's:

    alert manager (dedup, cooldown) -> route -> group -> inhibit/silence -> dispatcher (retry)

Muting is decided when a group is about to deliver, not when an alert arrives, so a
FIRING alert that was muted is delivered once its silence expires or its inhibiting
alert resolves (while still firing), at the next evaluation.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from .grouping import Group, flush
from .matchers import InhibitRule
from .model import Batch, Notification
from .routing import Route, routing_labels
from .silences import SilenceStore

__all__ = ["Inhibitor", "NotificationPipeline"]

#: the labels (with ``severity``) of every alert firing now
FiringLabels = Callable[[], Sequence[Mapping[str, str]]]


class Inhibitor:
    def __init__(self, rules: Sequence[InhibitRule], firing: FiringLabels) -> None:
        self.rules = tuple(rules)
        self._firing = firing

    def muting(self, labels: Mapping[str, str], sources: Sequence[Mapping[str, str]]) -> str | None:
        for rule in self.rules:
            if not rule.is_target(labels):
                continue
            for source in sources:
                if rule.inhibits(source, labels):
                    return f"inhibited by {source.get('alertname', '?')}"
        return None

    def sources(self) -> Sequence[Mapping[str, str]]:
        if not self.rules:
            return ()
        return self._firing()


class NotificationPipeline:
    def __init__(
        self,
        route: Route,
        *,
        inhibitor: Inhibitor,
        silences: SilenceStore,
    ) -> None:
        self.route = route
        self.inhibitor = inhibitor
        self.silences = silences
        self._groups: dict[str, Group] = {}
        #: fingerprint -> keys of the groups holding that alert
        self._holders: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self.muted: Counter[str] = Counter()

    def process(self, notifications: Sequence[Notification], now: float) -> list[Batch]:
        """Route and group new notifications, then deliver whatever groups are due."""
        with self._lock:
            if not notifications and not self._groups and not self._holders:
                return []  # nothing pending: the common case, one per collection
            for n in notifications:
                self._route(n, now)
            return self._flush(now, force=False)

    def flush_due(self, now: float, force: bool = False) -> list[Batch]:
        """Deliver what is due at ``now`` (everything pending with ``force``, at shutdown)."""
        with self._lock:
            return self._flush(now, force)

    def restore(self, notification: Notification, told: Mapping[str, float], now: float) -> None:
        """After a restart: firing ``notification`` was delivered to the channels in
        ``told`` (channel -> when). Their groups hold it as told, so that a repeat or its
        resolution follows as if the process had not stopped; a channel not in ``told``
        is told as usual."""
        with self._lock:
            self._route(notification, now)
            for key in self._holders.get(notification.fingerprint, ()):
                group = self._groups[key]
                at = told.get(group.channel)
                if at is not None:
                    group.told[notification.fingerprint] = (notification.status, notification.severity)
                    group.flushed = group.repeated = max(at, group.flushed or at)

    def repeat_interval(self, group_key: str) -> float | None:
        """The repeat interval of the group's route (None: no such group)."""
        group = self._groups.get(group_key)
        return None if group is None else group.route.timers.repeat_interval

    def idle(self) -> bool:
        """No group holds an alert: nothing is due later (read without the lock: a
        stale answer only defers a wake-up to the next evaluation)."""
        return not self._groups

    def next_wake(self) -> float | None:
        with self._lock:
            times = [t for g in self._groups.values() if (t := g.next_wake()) is not None]
        return min(times) if times else None

    def pending(self) -> int:
        """Alerts whose latest state their channel has not been told."""
        with self._lock:
            return sum(
                1
                for g in self._groups.values()
                for fp, n in g.alerts.items()
                if g.told.get(fp) != (n.status, n.severity)
            )

    def _route(self, n: Notification, now: float) -> None:
        labels = routing_labels(n.labels, n.severity)
        targets: set[str] = set()
        for route in self.route.resolve(labels):
            group_labels = route.group_labels(n.labels)
            for channel in route.receivers:
                key = f"{channel}|{route.path}|" + ",".join(f"{k}={v}" for k, v in sorted(group_labels.items()))
                group = self._groups.get(key)
                if group is None:
                    group = self._groups[key] = Group(key, channel, route, group_labels, now)
                group.put(n)
                targets.add(key)
        holders = self._holders.setdefault(n.fingerprint, set())
        for key in holders - targets:
            group = self._groups.get(key)
            if group is not None:
                group.withdraw(n)
        holders |= targets

    def _flush(self, now: float, force: bool) -> list[Batch]:
        sources = self.inhibitor.sources()

        def muted(n: Notification) -> str | None:
            labels = routing_labels(n.labels, n.severity)
            silence = self.silences.muting(labels, now)
            if silence is not None:
                return f"silenced by {silence.id}"
            return self.inhibitor.muting(labels, sources)

        batches: list[Batch] = []
        for key, group in list(self._groups.items()):
            result = flush(group, now, muted, force)
            for _, reason in result.newly_muted:
                self.muted["silenced" if reason.startswith("silenced") else "inhibited"] += 1
            if result.batch is not None:
                batches.append(result.batch)
            if not group.alerts:
                del self._groups[key]
        live = {fp for g in self._groups.values() for fp in g.alerts}
        for fp in [fp for fp in self._holders if fp not in live]:
            del self._holders[fp]
        return batches
