"""The store the configuration names, or memory with the one error that says why."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..secrets import longest_first, redact_location, scrub
from .memory import MemoryStore
from .redis_store import RedisStore
from .sqlite import SqliteStore
from .store import StateError, StateStore

__all__ = ["REDIS_SCHEMES", "open_store"]

#: what makes OTEL_PYTHON_ALERTING_STATE a Redis URL rather than a file's path
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_store(location: str | None) -> tuple[StateStore, str | None]:
    """``location``: a path to an SQLite file, a Redis URL, or None (memory). A store
    that cannot be used gives memory and the reason, without the URL's password (never
    raises)."""
    if location is None:
        return MemoryStore(), None
    redis = location.startswith(REDIS_SCHEMES)
    where = redact_location(location)
    try:
        return (RedisStore(location) if redis else SqliteStore(location)), None
    except StateError as exc:
        return MemoryStore(), _shown(f"{exc}; alert state is kept in memory only (lost at exit)", location)
    except Exception as exc:  # the host never crashes over its alert state
        reason = f"cannot open {where}: {type(exc).__name__}; alert state is kept in memory only"
        return MemoryStore(), _shown(reason, location)


def _shown(reason: str, location: str) -> str:
    # a location written as a URL may carry a password (redis://user:password@host/0);
    # the rest of it (host, port, database) is what the reader needs to find the store
    try:
        parts = urlsplit(location)
        credentials = [parts.password] if "://" in location else []
    except ValueError:
        return "cannot use the state store (a URL that cannot be read); alert state is kept in memory only"
    return scrub(reason, longest_first(credentials))
