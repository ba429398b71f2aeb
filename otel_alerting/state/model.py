"""What a state store holds, and what one write changes: plain values only, so that
any store (a file, a server) can keep them as JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Changes", "NotificationLogKey", "Record", "SavedState", "furthest", "silence_stamp"]

#: one saved item: JSON-ready values (strings, numbers, None, lists, string-keyed dicts)
Record = Mapping[str, Any]

#: (fingerprint, receiver): one entry of the notification log
NotificationLogKey = tuple[str, str]


@dataclass(frozen=True)
class SavedState:
    #: by fingerprint: the manager's ``export_state`` records (of every process that
    #: keeps one, the ``furthest``)
    alerts: Mapping[str, Record] = field(default_factory=dict)
    #: by silence id: the silences' ``export`` records
    silences: Mapping[str, Record] = field(default_factory=dict)
    #: what each receiver was last sent of each alert: ``{"status", "severity", "at"}``
    nflog: Mapping[NotificationLogKey, Record] = field(default_factory=dict)
    #: the store's count of silence changes when they were read (see ``silences_since``)
    silence_seq: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Changes:
    """What one evaluation of one process changed; written in one transaction."""

    #: the process's own alert records (by fingerprint), and those it forgot: another
    #: process's records are never changed, unless its lease has ended (superseded)
    alerts: Mapping[str, Record] = field(default_factory=dict)
    removed_alerts: frozenset[str] = frozenset()
    #: silences created or changed, merged by id: the later ``updated_at`` wins
    silences: Mapping[str, Record] = field(default_factory=dict)
    nflog: Mapping[NotificationLogKey, Record] = field(default_factory=dict)
    removed_nflog: frozenset[NotificationLogKey] = frozenset()
    #: silences found past their retention
    removed_silences: frozenset[str] = frozenset()
    #: the process whose alert records these are (its name in the shared log), and when
    holder: str = ""
    at: float = 0.0

    def __bool__(self) -> bool:
        return bool(
            self.alerts
            or self.removed_alerts
            or self.silences
            or self.nflog
            or self.removed_nflog
            or self.removed_silences
        )


def silence_stamp(record: Record) -> float:
    """When a saved silence last changed (its ``updated_at``, else its start): of two
    versions of one silence, the later is kept, as Alertmanager merges its silences."""
    try:
        stamp = record.get("updated_at")
        return float(record["starts_at"] if stamp is None else stamp)
    except (KeyError, TypeError, ValueError):
        return float("-inf")


def _progress(record: Record) -> tuple[int, int, float]:
    try:
        lifecycle = record["lifecycle"]
        state = {"firing": 2, "pending": 1}.get(str(lifecycle.get("state")), 0)
        severity = lifecycle.get("severity")
        since = lifecycle.get("active_since")
        return state, int(severity or 0), -float("inf" if since is None else since)
    except (KeyError, TypeError, ValueError, AttributeError):
        return -1, 0, -float("inf")


def furthest(records: Iterable[Record]) -> Record:
    """Of the records several processes keep of one alert, the one furthest along:
    firing before pending before inactive, then the highest severity, then the earliest
    start (the most ``for`` progress). One whole record: its parts stay coherent."""
    return max(records, key=_progress)
