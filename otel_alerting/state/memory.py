"""The state kept in memory only: lost at exit (no state file configured, or its fallback)."""

from __future__ import annotations

import threading

from .model import Changes, NotificationLogKey, Record, SavedState, silence_stamp

__all__ = ["MemoryStore"]


class MemoryStore:
    description = "memory"

    def __init__(self) -> None:
        self._alerts: dict[str, Record] = {}
        self._silences: dict[str, Record] = {}
        #: silence id -> the count of silence changes when it last changed
        self._silence_seqs: dict[str, int] = {}
        self._seq = 0
        self._nflog: dict[NotificationLogKey, Record] = {}
        self._lock = threading.Lock()

    def load(self) -> SavedState:
        with self._lock:
            return SavedState(dict(self._alerts), dict(self._silences), dict(self._nflog), self._seq)

    def save(self, changes: Changes) -> None:
        with self._lock:
            self._alerts.update(changes.alerts)
            for fp in changes.removed_alerts:
                self._alerts.pop(fp, None)
            for silence_id, record in changes.silences.items():
                old = self._silences.get(silence_id)
                if old is None or silence_stamp(record) >= silence_stamp(old):
                    self._seq += 1
                    self._silences[silence_id] = record
                    self._silence_seqs[silence_id] = self._seq
            for silence_id in changes.removed_silences:
                self._silences.pop(silence_id, None)
                self._silence_seqs.pop(silence_id, None)
            self._nflog.update(changes.nflog)
            for key in changes.removed_nflog:
                self._nflog.pop(key, None)

    def silences_since(self, seq: int) -> tuple[dict[str, Record], int]:
        with self._lock:
            changed = {i: self._silences[i] for i, at in self._silence_seqs.items() if at > seq}
            return changed, self._seq

    def after_fork(self) -> None:
        self._lock = threading.Lock()

    def close(self) -> None:
        pass
