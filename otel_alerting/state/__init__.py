"""Alert state kept across restarts: each alert's lifecycle, the silences and the
notification log, in a ``StateStore`` (memory, an SQLite file or Redis).

``system`` loads it once at start and hands the manager and the silences what they
had; after each evaluation a ``StateKeeper`` writes what changed, in one transaction.
The engine never imports this package: it exports and restores plain values.
"""

from __future__ import annotations

from .keeper import StateKeeper
from .memory import MemoryStore
from .model import Changes, NotificationLogKey, Record, SavedState
from .opening import open_store
from .redis_store import RedisStore
from .sqlite import SqliteStore
from .store import StateError, StateStore

__all__ = [
    "Changes",
    "MemoryStore",
    "NotificationLogKey",
    "Record",
    "RedisStore",
    "SavedState",
    "SqliteStore",
    "StateError",
    "StateKeeper",
    "StateStore",
    "open_store",
]
