"""What a state store holds, and what one write changes: plain values only, so that
any store (a file, a server) can keep them as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Changes", "NotificationLogKey", "Record", "SavedState"]

#: one saved item: JSON-ready values (strings, numbers, None, lists, string-keyed dicts)
Record = Mapping[str, Any]

#: (fingerprint, receiver): one entry of the notification log
NotificationLogKey = tuple[str, str]


@dataclass(frozen=True)
class SavedState:
    #: by fingerprint: the manager's ``export_state`` records
    alerts: Mapping[str, Record] = field(default_factory=dict)
    #: by silence id: the silences' ``export`` records
    silences: Mapping[str, Record] = field(default_factory=dict)
    #: what each receiver was last sent of each alert: ``{"status", "severity", "at"}``
    nflog: Mapping[NotificationLogKey, Record] = field(default_factory=dict)


@dataclass(frozen=True)
class Changes:
    """What one evaluation changed; written in one transaction."""

    alerts: Mapping[str, Record] = field(default_factory=dict)
    removed_alerts: frozenset[str] = frozenset()
    #: every silence (they replace the saved ones); None: unchanged
    silences: Mapping[str, Record] | None = None
    nflog: Mapping[NotificationLogKey, Record] = field(default_factory=dict)
    removed_nflog: frozenset[NotificationLogKey] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.alerts or self.removed_alerts or self.silences is not None or self.nflog or self.removed_nflog)
