"""Writes what each evaluation changed to a ``StateStore``, and keeps it bounded.

The keeper remembers what it last wrote, so a write holds only the alerts whose record
changed (most evaluations change none). Alert records are this process's own (under its
``holder`` name); silences are written as changes (created, updated, expired: merged by
id in the store), read back as the changes other processes made (``read_silences``),
and deleted from the store by whichever process finds them past ``silence_retention``.
A write that fails is logged once (and again only when the error changes) and retried
with the next evaluation: what it held is still different from what was written. The
notification log keeps one entry per alert and receiver; entries of resolved or
forgotten alerts go after ``nflog_retention``, and the oldest past ``nflog_limit``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping

from ..notify.dedup import holder_id
from .model import Changes, NotificationLogKey, Record, SavedState
from .store import StateError, StateStore

__all__ = ["SentEntry", "StateKeeper"]

_logger = logging.getLogger(__name__)

#: (fingerprint, receiver, status, severity): one notification handed to a receiver
SentEntry = tuple[str, str, str, int]

#: writes between two sweeps of the notification log
_SWEEP_EVERY = 60


class StateKeeper:
    def __init__(
        self,
        store: StateStore,
        *,
        nflog_retention: float = 24 * 3600.0,
        nflog_limit: int = 10_000,
        silence_retention: float = 24 * 3600.0,
    ) -> None:
        self.store = store
        self._retention = nflog_retention
        self._limit = nflog_limit
        self._silence_retention = silence_retention
        #: this process's name for its alert records (the shared log's holder, when there is one)
        self.holder = holder_id()
        #: this process's alert records as last written
        self._alerts: dict[str, Record] = {}
        #: the silences as the store holds them, as far as this process knows
        self._silences: dict[str, Record] = {}
        self._silence_seq = 0
        self._nflog: dict[NotificationLogKey, Record] = {}
        self._sent: dict[NotificationLogKey, Record] = {}
        #: alerts changed or removed since the last write that succeeded
        self._pending: dict[str, Record] = {}
        self._pending_removed: set[str] = set()
        self._writes = 0
        #: the store's notification log is written by the processes' claims, not here
        self.shared_log = False
        self._error: str | None = None
        self._lock = threading.Lock()

    def load(self) -> SavedState:
        """What the store holds (StateError if it cannot be read); taken as written."""
        saved = self.store.load()
        with self._lock:
            self._alerts = {}  # the records of other processes: this one has written none
            self._silences = dict(saved.silences)
            self._silence_seq = saved.silence_seq
            self._nflog = dict(saved.nflog)
        return saved

    def read_silences(self) -> dict[str, Record]:
        """The silences other processes changed since the last read ({} if the store
        cannot be read: logged as a failed write is, and read again next time)."""
        with self._lock:
            try:
                changed, self._silence_seq = self.store.silences_since(self._silence_seq)
            except Exception as exc:  # a store must not take the evaluation down
                self._failed(str(exc) if isinstance(exc, StateError) else f"{type(exc).__name__}: {exc}")
                return {}
            self._silences.update(changed)
            return changed

    def after_fork(self, holder: str | None = None) -> None:
        """In a forked child: another process, whose alert records are still to be
        written under its own name (``holder``, the shared log's)."""
        self.holder = holder_id() if holder is None else holder
        self._lock = threading.Lock()
        self._alerts = {}
        self.store.after_fork()

    def sent(self, entries: Iterable[SentEntry], now: float) -> None:
        """Notifications handed to receivers; written with the next ``write``."""
        with self._lock:
            for fingerprint, receiver, status, severity in entries:
                self._sent[(fingerprint, receiver)] = {"status": status, "severity": severity, "at": now}

    def write(
        self,
        alerts: Mapping[str, Record],
        silences: Mapping[str, Record],
        now: float,
        *,
        removed: Iterable[str] | None = None,
    ) -> bool:
        """Write what differs from the last write, in one transaction; False if the
        store failed (logged, not raised). ``alerts``: every alert, or with ``removed``
        (the manager's ``export_changes``) only those changed since the last call and
        the fingerprints gone; what a failed write held is written with the next."""
        with self._lock:
            if removed is None:
                self._pending = dict(alerts)
                self._pending_removed = {fp for fp in self._alerts if fp not in alerts}
            else:
                for fp in removed:
                    self._pending.pop(fp, None)
                    self._pending_removed.add(fp)
                for fp, record in alerts.items():
                    self._pending[fp] = record
                    self._pending_removed.discard(fp)
            changes = self._changes(silences, now)
            if not changes:
                self._pending.clear()
                self._pending_removed.clear()
                return True
            try:
                self.store.save(changes)
            except StateError as exc:
                self._failed(str(exc))
                return False
            except Exception as exc:  # a store must not take the evaluation down
                self._failed(f"{type(exc).__name__}: {exc}")
                return False
            self._written(changes)
            self._pending.clear()
            self._pending_removed.clear()
        return True

    def _changes(self, silences: Mapping[str, Record], now: float) -> Changes:
        upserts = {fp: record for fp, record in self._pending.items() if self._alerts.get(fp) != record}
        changed_silences = {i: record for i, record in silences.items() if self._silences.get(i) != record}
        # only a silence this process forgot past its retention leaves the store: one it
        # has not read yet is another process's, never deleted here
        horizon = now - self._silence_retention
        gone_silences = frozenset(
            i for i, record in self._silences.items() if i not in silences and _ended_before(record, horizon)
        )
        removed = frozenset(fp for fp in self._pending_removed if fp in self._alerts)
        nflog = {key: record for key, record in self._sent.items() if self._nflog.get(key) != record}
        swept: frozenset[NotificationLogKey] = frozenset()
        self._writes += 1
        # a shared log (see notify.dedup) is written and bounded by the claims themselves
        if self._writes % _SWEEP_EVERY == 1 and not self.shared_log:
            alerts = {**self._alerts, **self._pending}
            for fp in removed:
                alerts.pop(fp, None)
            swept = self._sweep({**self._nflog, **nflog}, alerts, now)
            nflog = {key: record for key, record in nflog.items() if key not in swept}
        return Changes(
            upserts,
            removed,
            changed_silences,
            nflog,
            frozenset(key for key in swept if key in self._nflog),
            gone_silences,
            self.holder,
            now,
        )

    def _sweep(
        self, nflog: Mapping[NotificationLogKey, Record], alerts: Mapping[str, Record], now: float
    ) -> frozenset[NotificationLogKey]:
        horizon = now - self._retention
        gone = {
            key
            for key, record in nflog.items()
            if record["at"] < horizon and (record["status"] != "FIRING" or key[0] not in alerts)
        }
        kept = len(nflog) - len(gone)
        if kept > self._limit:
            oldest = sorted((record["at"], key) for key, record in nflog.items() if key not in gone)
            gone.update(key for _, key in oldest[: kept - self._limit])
        return frozenset(gone)

    def _written(self, changes: Changes) -> None:
        self._alerts.update(changes.alerts)
        for fp in changes.removed_alerts:
            del self._alerts[fp]
        self._silences.update(changes.silences)
        for silence_id in changes.removed_silences:
            self._silences.pop(silence_id, None)
        self._nflog.update(changes.nflog)
        for key in changes.removed_nflog:
            del self._nflog[key]
        self._sent.clear()
        if self._error is not None:
            _logger.warning("otel-alerting: alert state is written to %s again", self.store.description)
            self._error = None

    def _failed(self, error: str) -> None:
        if error != self._error:
            _logger.error("otel-alerting: alert state not saved (%s); retried with the next evaluation", error)
            self._error = error

    @property
    def error(self) -> str | None:
        """The last write's error, while writes fail."""
        return self._error

    def notified(self) -> dict[str, dict[str, float]]:
        """By fingerprint: the receivers last sent it FIRING, and when."""
        with self._lock:
            told: dict[str, dict[str, float]] = {}
            for (fp, receiver), record in {**self._nflog, **self._sent}.items():
                if record["status"] == "FIRING":
                    told.setdefault(fp, {})[receiver] = float(record["at"])
            return told

    def close(self) -> None:
        with self._lock:
            try:
                self.store.close()
            except Exception:
                _logger.debug("otel-alerting: closing the state store failed", exc_info=True)


def _ended_before(record: Record, horizon: float) -> bool:
    try:
        return float(record["ends_at"]) < horizon
    except (KeyError, TypeError, ValueError):
        return True  # a record no process can read: nothing to keep
