"""The process's own alerting system: the one its alerting reader runs.

Kept apart from ``system`` so that the reader registers itself during bootstrap
without importing the engine; the system is assembled at the reader's first tick,
or at once when asked for here.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .system import AlertingSystem

__all__ = ["active_system", "set_active_reader"]


class _Reader(Protocol):
    @property
    def system(self) -> AlertingSystem | None: ...


_active: weakref.ref[_Reader] | None = None


def active_system() -> AlertingSystem | None:
    """The alerting system the process's alerting reader runs (the one
    ``opentelemetry-instrument`` set up), for the application to reach its silences,
    alerts and statistics; None when there is none. Like the SDK's global providers,
    the last reader built wins."""
    reader = _active() if _active is not None else None
    return reader.system if reader is not None else None


def set_active_reader(reader: _Reader | None) -> None:
    global _active
    _active = weakref.ref(reader) if reader is not None else None
