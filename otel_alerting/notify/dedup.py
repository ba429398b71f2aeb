"""The dedup stage for processes that share one alert state (the workers of a pre-fork
server, or the replicas of a service sharing a Redis), after Alertmanager's dedup stage
over its notification log.

Each process evaluates its own metrics and runs its own lifecycles and notification
groups. Before a batch goes to the channels, each of its notifications is *claimed* in
the shared notification log, atomically: the first process to claim a FIRING (or an
escalation) sends it and records it, the others find it recorded and stay silent.

A process holds a *lease* on each alert it has told firing; the leases of a process
live while it renews them (one heartbeat per evaluation) and expire ``lease`` seconds
after its last one. A RESOLVED is sent by the last holder to let go; the others only
let go of their lease. An alert told firing whose every lease has expired (its holders
died) is resolved by whichever process finds it so first (``orphans``).

A process that stops cleanly (SIGTERM, the end of a script) marks itself stopped, with
the time of its last heartbeat: it no longer speaks for its alerts, but they are not
orphans either. They still held when it stopped, and the next process to start restores
them from the alert records and resolves them itself if they no longer hold. So a
stopped holder's lease keeps an alert from the search of every process that was already
running when it stopped (the other workers stopping with it, a master that outlives its
workers); a process started after the stop has restored what it could, and what it did
not restore (a rule removed, a per-worker alert of a worker that is gone) is no longer
evaluated by anyone: its search resolves it. A process that has stopped runs no search.

A shared log that fails is logged once and the stage lets everything through: a page
sent twice beats a page lost.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import socket
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..rules.model import Severity
from .model import Batch, Change, Notification, Status

__all__ = [
    "Claim",
    "Lease",
    "SharedDedup",
    "SharedLog",
    "decide",
    "episode_start",
    "from_record",
    "granted",
    "holder_id",
    "to_record",
]

_logger = logging.getLogger(__name__)

#: one entry of the notification log: ``{"status", "severity", "at"}``, and for a FIRING
#: ``"notification"``, what a process needs to resolve it for a holder that died
LogRecord = Mapping[str, Any]

#: the reason a RESOLVED built from the log gives
ORPHAN_REASON = "every process that fired it stopped evaluating it (its lease expired)"


@dataclass(frozen=True)
class Lease:
    """Another process's live lease on an alert."""

    severity: int
    #: the process stopped cleanly: it no longer speaks for the alert (its lease still
    #: keeps the alert from being taken for an orphan, see ``SharedLog.orphans``)
    stopped: bool = False


@dataclass(frozen=True)
class Claim:
    """A notification one process is about to hand to ``receiver``."""

    fingerprint: str
    receiver: str
    status: str
    severity: int
    #: for a repeat: the least time since the last send to this receiver (None: not a repeat)
    repeat_after: float | None
    #: what the log holds once the claim is granted
    record: LogRecord


def decide(claim: Claim, entry: LogRecord | None, others: Sequence[Lease], now: float) -> bool:
    """Whether ``claim`` is sent, given the log's ``entry`` for its (alert, receiver)
    and the live leases of the other processes on its alert."""
    speaking = [lease.severity for lease in others if not lease.stopped]
    told_firing = entry is not None and entry.get("status") == Status.FIRING.value
    if claim.status == Status.RESOLVED.value:
        # only the last holder resolves, and only what someone told firing
        return not speaking and told_firing
    if any(severity > claim.severity for severity in speaking):
        return False  # the process that sees it most severe speaks for it
    if told_firing and entry is not None and entry.get("severity") == claim.severity:
        if claim.repeat_after is None:
            return False
        return bool(now - float(entry.get("at", 0.0)) >= claim.repeat_after)
    return True


def episode_start(entry: LogRecord | None) -> float | None:
    """When the alert the log told firing started (None: nothing told firing)."""
    if entry is None or entry.get("status") != Status.FIRING.value:
        return None
    try:
        return float(entry["notification"]["starts_at"])
    except (KeyError, TypeError, ValueError):
        return None


def granted(claim: Claim, entry: LogRecord | None) -> LogRecord:
    """What the log holds once ``claim`` is granted: a change of an alert told firing
    keeps the start it was told (each process saw it start at its own evaluation)."""
    start = episode_start(entry)
    if start is None or "notification" not in claim.record:
        return claim.record
    return {**claim.record, "notification": {**claim.record["notification"], "starts_at": start}}


@runtime_checkable
class SharedLog(Protocol):
    """What a state store shared by several processes offers the dedup stage. Each
    method is one atomic change; each raises on failure (the stage logs it)."""

    def hold(self, holder: str, expires: float, held: Mapping[str, int], released: Collection[str]) -> None:
        """Renew ``holder``'s heartbeat until ``expires``, take (or change the severity
        of) its leases in ``held`` (fingerprint -> severity), drop those in ``released``."""
        ...

    def claim(self, holder: str, now: float, claims: Sequence[Claim]) -> list[float | bool | None]:
        """Decide each claim with ``decide`` and record those granted (as ``granted``
        gives), all at once. For each: False if refused, else the start of the alert
        the log told firing (None: it told none)."""
        ...

    def orphans(self, now: float, retention: float, limit: int, since: float = 0.0) -> list[tuple[str, str, LogRecord]]:
        """The entries told FIRING with no lease left, recorded as resolved now, as
        (fingerprint, receiver, entry before); and the log kept bounded (entries not
        firing older than ``retention`` go, then the oldest past ``limit``). A lease is
        left while its holder's heartbeat lives, or, when the holder stopped cleanly
        after ``since`` (the searching process's start), until the holder leaves the log
        (``retention`` after its last heartbeat): only a lease that expired without a
        clean stop, or that a process started since has not taken over, makes an orphan."""
        ...

    def stop(self, holder: str, at: float) -> None:
        """``holder`` stopped cleanly; ``at``: its last heartbeat (its leases stay, see
        ``orphans``)."""
        ...


def holder_id() -> str:
    """This process's name in the shared log: host, pid and a random part (a pid
    reused later, or in another container, is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def to_record(n: Notification, now: float) -> dict[str, Any]:
    record: dict[str, Any] = {"status": n.status.value, "severity": int(n.severity), "at": now}
    if n.status is Status.FIRING:
        record["notification"] = {
            "alert": n.alert,
            "labels": dict(n.labels),
            "annotations": dict(n.annotations),
            "value": _finite(n.value),
            "threshold": _finite(n.threshold),
            "starts_at": n.starts_at,
            "expr": n.expr,
        }
    return record


def from_record(fingerprint: str, entry: LogRecord, now: float) -> Notification:
    """The RESOLVED of the FIRING ``entry`` records (KeyError, TypeError, ValueError if
    it holds no notification)."""
    saved = entry["notification"]
    value = saved["value"]
    starts_at = float(saved["starts_at"])
    return Notification(
        alert=str(saved["alert"]),
        status=Status.RESOLVED,
        change=Change.RESOLVED,
        severity=Severity(int(entry["severity"])),
        labels={str(k): str(v) for k, v in saved["labels"].items()},
        annotations={str(k): str(v) for k, v in saved["annotations"].items()},
        value=value,
        threshold=saved["threshold"],
        starts_at=starts_at,
        at=now,
        ends_at=now,
        fired_for=max(now - starts_at, 0.0),
        reason=ORPHAN_REASON,
        last_firing_value=value,
        expr=str(saved.get("expr", "")),
        fingerprint=fingerprint,
    )


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or infinity: the log keeps those as no value
    return value if value is not None and math.isfinite(value) else None


def _told_start(n: Notification, start: float | bool | None) -> Notification:
    # receivers see one alert with one start, whichever process speaks for it
    if start is None or isinstance(start, bool) or start == n.starts_at:
        return n
    fired_for = None if n.fired_for is None else max(n.at - start, 0.0)
    return dataclasses.replace(n, starts_at=start, fired_for=fired_for)


#: group key -> the repeat interval of its route (None: the group is gone)
RepeatInterval = Callable[[str], float | None]


class SharedDedup:
    def __init__(
        self,
        log: SharedLog,
        lease: float,
        *,
        start: float,
        nflog_retention: float = 24 * 3600.0,
        nflog_limit: int = 10_000,
    ) -> None:
        self.log = log
        self.lease = lease
        self.holder = holder_id()
        #: when this process read the store: holders that stopped cleanly since hold
        #: their alerts against its search (a forked child keeps its parent's: it
        #: knows what the parent read)
        self._start = start
        #: the time of the last heartbeat (the stop is recorded with it)
        self._last = start
        self._stopped = False
        self._retention = nflog_retention
        self._limit = nflog_limit
        #: fingerprint -> severity this process holds a lease on
        self._held: dict[str, int] = {}
        #: what the next heartbeat still has to tell the log
        self._taken: dict[str, int] = {}
        self._released: set[str] = set()
        # the first search for orphans waits one lease: processes starting together
        # (a deploy) take their leases first
        self._next_sweep = start + lease
        self._error: str | None = None

    def after_fork(self) -> None:
        """In a forked child: another process, holding what the parent held (its
        manager has the same alerts), under a name of its own."""
        self.holder = holder_id()
        self._taken = dict(self._held)
        self._released.clear()

    def hold(self, notifications: Sequence[Notification], now: float) -> None:
        """Take or let go of leases as this evaluation's ``notifications`` say, and
        renew the heartbeat (every evaluation)."""
        if self._stopped:
            # an evaluation after the stop (a timer's last tick) must not renew the heartbeat:
            # that would erase the stop, and the leases would expire as a crash's
            return
        for n in notifications:
            fp = n.fingerprint
            if n.status is Status.FIRING:
                if self._held.get(fp) != int(n.severity):
                    self._held[fp] = self._taken[fp] = int(n.severity)
                    self._released.discard(fp)
            elif self._held.pop(fp, None) is not None:
                self._taken.pop(fp, None)
                self._released.add(fp)
        try:
            self.log.hold(self.holder, now + self.lease, self._taken, self._released)
        except Exception as exc:
            self._failed(exc)
            return  # told again with the next heartbeat
        self._taken = {}
        self._released = set()
        self._last = max(self._last, now)
        self._recovered()

    def filter(self, batches: Sequence[Batch], now: float, repeat_interval: RepeatInterval) -> list[Batch]:
        """The batches with only what this process is to send (claimed in the log)."""
        claims: list[Claim] = []
        for batch in batches:
            repeat = repeat_interval(batch.group_key) if batch.repeat else None
            for n in batch.notifications:
                record = to_record(n, now)
                # half the interval: the repeats of the processes' groups fall due close together
                after = None if repeat is None else repeat / 2
                claims.append(Claim(n.fingerprint, batch.channel, n.status.value, int(n.severity), after, record))
        if not claims:
            return list(batches)
        try:
            answers = iter(self.log.claim(self.holder, now, claims))
        except Exception as exc:
            self._failed(exc)
            return list(batches)
        self._recovered()
        out: list[Batch] = []
        for batch in batches:
            kept = tuple(
                _told_start(n, decision) for n in batch.notifications if (decision := next(answers)) is not False
            )
            if kept:
                out.append(Batch(batch.channel, kept, batch.group_key, dict(batch.group_labels), batch.repeat))
        return out

    def orphans(self, now: float) -> list[Batch]:
        """The RESOLVED of alerts whose holders all died, at most once per third of a
        lease (the search reads the whole log); none once this process has stopped."""
        if self._stopped or now < self._next_sweep:
            return []
        self._next_sweep = now + self.lease / 3
        try:
            found = self.log.orphans(now, self._retention, self._limit, since=self._start)
        except Exception as exc:
            self._failed(exc)
            return []
        batches: list[Batch] = []
        for fingerprint, receiver, entry in found:
            try:
                resolved = from_record(fingerprint, entry, now)
            except (KeyError, TypeError, ValueError, AttributeError):
                _logger.warning(
                    "otel-alerting: alert %s of %s has no saved notification to resolve", fingerprint, receiver
                )
                continue
            batches.append(Batch(receiver, (resolved,), f"{receiver}|orphan|{fingerprint}", {}))
        if batches:
            _logger.info("otel-alerting: %d alert(s) resolved for processes whose lease expired", len(batches))
        return batches

    def stop(self) -> None:
        """This process stops cleanly: it searches for orphans and renews its heartbeat
        no more, and its alerts wait for the next process to start (see the module)."""
        self._stopped = True
        try:
            self.log.stop(self.holder, self._last)
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if error != self._error:
            _logger.error(
                "otel-alerting: the shared notification log failed (%s); notifications are sent without "
                "deduplication until it works again",
                error,
            )
            self._error = error

    def _recovered(self) -> None:
        if self._error is not None:
            _logger.warning("otel-alerting: the shared notification log works again")
            self._error = None

    @property
    def held(self) -> Mapping[str, int]:
        return dict(self._held)
