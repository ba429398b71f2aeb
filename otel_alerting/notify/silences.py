"""Silences: label matchers and a time window that mute notifications, with who
created them and why. Created and expired through this Python API (the HTTP API
and the CLI build on it)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .matchers import Matcher

__all__ = ["Silence", "SilenceStore"]


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    comment: str
    created_by: str
    #: when it was last changed (created, updated or expired); None: at ``starts_at``
    updated_at: float | None = None

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        return self.active(now) and all(m.matches(labels) for m in self.matchers)

    def state(self, now: float) -> str:
        """``pending``, ``active`` or ``expired``, as Alertmanager names them."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"


class SilenceStore:
    """Thread-safe; expired silences are kept for ``retention`` seconds, then forgotten."""

    def __init__(self, retention: float = 24 * 3600.0) -> None:
        self._silences: dict[str, Silence] = {}
        self._retention = retention
        self._lock = threading.Lock()
        #: grows with every change: a saved copy is stale while it is behind
        self.revision = 0

    def add(
        self,
        matchers: Sequence[Matcher | str],
        *,
        starts_at: float,
        ends_at: float,
        comment: str,
        created_by: str,
        now: float | None = None,
    ) -> Silence:
        """Create a silence (``now``: when, for ``updated_at``); ``matchers`` as ``Matcher`` or Alertmanager strings
        (``alertname="CacheHitRateLow"``). At least one matcher, and a window that ends
        after it starts, are required (a silence of everything is a mistake)."""
        silence = _checked(uuid.uuid4().hex, matchers, starts_at, ends_at, comment, created_by, now)
        with self._lock:
            self._silences[silence.id] = silence
            self.revision += 1
        return silence

    def update(
        self,
        silence_id: str,
        matchers: Sequence[Matcher | str],
        *,
        starts_at: float,
        ends_at: float,
        comment: str,
        created_by: str,
        now: float,
    ) -> Silence:
        """Change a silence in place, keeping its id; one that has expired is left as
        it was and a new silence is made instead (as Alertmanager does). KeyError if
        there is no such silence; ValueError as ``add``."""
        with self._lock:
            old = self._silences[silence_id]
        new_id = silence_id if old.state(now) != "expired" else uuid.uuid4().hex
        silence = _checked(new_id, matchers, starts_at, ends_at, comment, created_by, now)
        with self._lock:
            self._silences[silence.id] = silence
            self.revision += 1
        return silence

    def expire(self, silence_id: str, now: float) -> Silence:
        """End a silence now; KeyError if there is no such silence."""
        with self._lock:
            silence = self._silences[silence_id]
            if silence.ends_at > now:
                silence = replace(silence, ends_at=max(now, silence.starts_at), updated_at=now)
                self._silences[silence_id] = silence
                self.revision += 1
            return silence

    def get(self, silence_id: str) -> Silence | None:
        with self._lock:
            return self._silences.get(silence_id)

    def list(self, now: float) -> list[Silence]:
        with self._lock:
            horizon = now - self._retention
            for key in [k for k, s in self._silences.items() if s.ends_at < horizon]:
                del self._silences[key]
            return sorted(self._silences.values(), key=lambda s: s.starts_at)

    def export(self, now: float) -> dict[str, dict[str, Any]]:
        """The silences not yet forgotten at ``now``, by id, as plain values."""
        return {
            s.id: {
                "matchers": [str(m) for m in s.matchers],
                "starts_at": s.starts_at,
                "ends_at": s.ends_at,
                "comment": s.comment,
                "created_by": s.created_by,
                "updated_at": s.updated_at,
            }
            for s in self.list(now)
        }

    def restore(self, saved: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
        """Take back what ``export`` gave (here or in another process sharing the
        store), merged by id as Alertmanager merges its silences: a version older than
        the one held (by ``updated_at``) is left. Returns why, one line per silence left
        out."""
        skipped: tuple[str, ...] = ()
        for silence_id, record in saved.items():
            try:
                updated = record["updated_at"]
                # as saved, not checked as a new one is: a silence expired before it
                # started ends when it starts
                silence = Silence(
                    str(silence_id),
                    tuple(Matcher.parse(str(m)) for m in record["matchers"]),
                    float(record["starts_at"]),
                    float(record["ends_at"]),
                    str(record["comment"]),
                    str(record["created_by"]),
                    None if updated is None else float(updated),
                )
            except (KeyError, TypeError, ValueError) as exc:
                skipped += (f"silence {silence_id}: {type(exc).__name__}: {exc}",)
                continue
            with self._lock:
                held = self._silences.get(silence.id)
                if held is None or _stamp(silence) >= _stamp(held):
                    self._silences[silence.id] = silence
        return skipped

    def muting(self, labels: Mapping[str, str], now: float) -> Silence | None:
        with self._lock:
            for silence in self._silences.values():
                if silence.mutes(labels, now):
                    return silence
        return None


def _stamp(silence: Silence) -> float:
    return silence.starts_at if silence.updated_at is None else silence.updated_at


def _checked(
    silence_id: str,
    matchers: Sequence[Matcher | str],
    starts_at: float,
    ends_at: float,
    comment: str,
    created_by: str,
    now: float | None,
) -> Silence:
    parsed = tuple(m if isinstance(m, Matcher) else Matcher.parse(m) for m in matchers)
    if not parsed:
        raise ValueError("a silence needs at least one matcher")
    if all(m.matches({}) for m in parsed):
        raise ValueError("a silence must not match every alert: add a matcher that requires a label value")
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    if not comment.strip() or not created_by.strip():
        raise ValueError("a silence needs a comment and an author")
    return Silence(silence_id, parsed, starts_at, ends_at, comment, created_by, now)
