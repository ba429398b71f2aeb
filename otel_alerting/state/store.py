"""The interface every state store implements (memory, SQLite; Redis can join)."""

from __future__ import annotations

from typing import Protocol

from .model import Changes, Record, SavedState

__all__ = ["StateError", "StateStore"]


class StateError(Exception):
    """The store cannot be read or written: corrupt, foreign, unreachable. The message
    says which and where, and holds no secret."""


class StateStore(Protocol):
    #: where the state is kept, for messages ("memory", a path)
    description: str

    def load(self) -> SavedState:
        """Everything saved; StateError if it cannot be read."""
        ...

    def save(self, changes: Changes) -> None:
        """Apply ``changes`` all at once or not at all; StateError if that failed."""
        ...

    def silences_since(self, seq: int) -> tuple[dict[str, Record], int]:
        """The silences changed (by any process) since the store's count of silence
        changes was ``seq``, and the count now; StateError if they cannot be read. Cheap
        when nothing changed: one read of the count."""
        ...

    def after_fork(self) -> None:
        """In a forked child: drop what the parent's connection shared."""
        ...

    def close(self) -> None: ...
