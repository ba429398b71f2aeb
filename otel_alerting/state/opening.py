"""The store the configuration names, or memory with the one error that says why."""

from __future__ import annotations

from ..secrets import clean, longest_first
from .memory import MemoryStore
from .sqlite import SqliteStore
from .store import StateError, StateStore

__all__ = ["open_store"]


def open_store(location: str | None) -> tuple[StateStore, str | None]:
    """``location``: a path to an SQLite file, or None (memory). A store that cannot be
    used gives memory and the reason (never raises)."""
    if location is None:
        return MemoryStore(), None
    try:
        return SqliteStore(location), None
    except StateError as exc:
        return MemoryStore(), _shown(f"{exc}; alert state is kept in memory only (lost at exit)", location)
    except Exception as exc:  # the host never crashes over its alert state
        reason = f"cannot open {location}: {type(exc).__name__}: {exc}; alert state is kept in memory only"
        return MemoryStore(), _shown(reason, location)


def _shown(reason: str, location: str) -> str:
    # a location written as a URL may carry a password (redis://user:password@host/0)
    return clean(reason, longest_first([location])) if "://" in location else reason
