"""The state kept in memory only: lost at exit (no state file configured, or its fallback)."""

from __future__ import annotations

import threading

from .model import Changes, NotificationLogKey, Record, SavedState

__all__ = ["MemoryStore"]


class MemoryStore:
    description = "memory"

    def __init__(self) -> None:
        self._alerts: dict[str, Record] = {}
        self._silences: dict[str, Record] = {}
        self._nflog: dict[NotificationLogKey, Record] = {}
        self._lock = threading.Lock()

    def load(self) -> SavedState:
        with self._lock:
            return SavedState(dict(self._alerts), dict(self._silences), dict(self._nflog))

    def save(self, changes: Changes) -> None:
        with self._lock:
            self._alerts.update(changes.alerts)
            for fp in changes.removed_alerts:
                self._alerts.pop(fp, None)
            if changes.silences is not None:
                self._silences = dict(changes.silences)
            self._nflog.update(changes.nflog)
            for key in changes.removed_nflog:
                self._nflog.pop(key, None)

    def after_fork(self) -> None:
        self._lock = threading.Lock()

    def close(self) -> None:
        pass
