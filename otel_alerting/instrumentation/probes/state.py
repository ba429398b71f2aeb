"""The health of each dependency: one board, written by the probes (and, for an
embedded ChromaDB, by the outcome of real operations), read by the metric callbacks.

The board only holds state; it does no I/O. Writers call ``record`` after each check;
the callbacks call ``snapshots`` at collection, which computes the downtime against
the board's clock, so the downtime grows between checks too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ...forking import after_fork_in_child

__all__ = [
    "DependencyKey",
    "HealthBoard",
    "HealthSnapshot",
    "Transition",
    "default_board",
    "error_type_of",
]

_logger = logging.getLogger("otel_alerting.dependencies")

Clock = Callable[[], float]

DEPENDENCY_NAME = "otel_alerting.dependency.name"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"


@dataclass(frozen=True)
class DependencyKey:
    """The identity of one dependency, and of its metric series."""

    name: str
    address: str | None = None
    port: int | None = None

    def attributes(self) -> dict[str, str | int]:
        attributes: dict[str, str | int] = {DEPENDENCY_NAME: self.name}
        if self.address is not None:
            attributes[SERVER_ADDRESS] = self.address
        if self.port is not None:
            attributes[SERVER_PORT] = self.port
        return attributes

    def describe(self) -> str:
        if self.address is None:
            return self.name
        where = self.address if self.port is None else f"{self.address}:{self.port}"
        return f"{self.name} ({where})"


@dataclass(frozen=True)
class HealthSnapshot:
    key: DependencyKey
    up: bool
    downtime: float
    """Seconds since the first failed check of the current outage; 0 when up."""
    outage_started: float | None
    checks: int
    last_checked: float
    last_error_type: str | None
    latency: float | None = None
    """Seconds the last check took, when its writer measured it."""


@dataclass(frozen=True)
class Transition:
    """A dependency went down (``up`` False) or recovered after ``outage`` seconds."""

    key: DependencyKey
    up: bool
    at: float
    outage: float | None = None


@dataclass
class _Health:
    up: bool
    outage_started: float | None
    checks: int
    last_checked: float
    last_error_type: str | None
    latency: float | None = None


class HealthBoard:
    """Thread-safe health per dependency, with an injectable clock.

    A transition is logged once: at WARNING when a dependency goes down (or is down
    at its first check), at INFO when it recovers, with the length of the outage.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._health: dict[DependencyKey, _Health] = {}
        after_fork_in_child(self._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        # A lock held by a parent's thread at fork() stays held forever in the child.
        self._lock = threading.Lock()

    def record(
        self,
        key: DependencyKey,
        ok: bool,
        *,
        at: float | None = None,
        error_type: str | None = None,
        message: str | None = None,
        latency: float | None = None,
    ) -> Transition | None:
        """Record one check (or one real operation) of ``key``; never raises.

        ``at`` is when the check started (the board's clock by default): the first
        failed check of an outage starts the downtime. ``message`` is logged as is:
        callers pass it already scrubbed of secrets.
        """
        now = self.clock() if at is None else at
        with self._lock:
            health = self._health.get(key)
            if health is None:
                health = self._health[key] = _Health(ok, None if ok else now, 0, now, None)
                transition = None if ok else Transition(key, False, now)
            elif ok and not health.up:
                started = health.outage_started if health.outage_started is not None else now
                transition = Transition(key, True, now, max(now - started, 0.0))
                health.up, health.outage_started = True, None
            elif not ok and health.up:
                transition = Transition(key, False, now)
                health.up, health.outage_started = False, now
            else:
                transition = None
            health.checks += 1
            health.last_checked = now
            health.last_error_type = None if ok else (error_type or "error")
            health.latency = latency
        if transition is not None:
            _log_transition(transition, error_type, message)
        return transition

    def snapshots(self) -> list[HealthSnapshot]:
        now = self.clock()
        with self._lock:
            items = list(self._health.items())
            return [
                HealthSnapshot(
                    key,
                    h.up,
                    0.0 if h.up or h.outage_started is None else max(now - h.outage_started, 0.0),
                    h.outage_started,
                    h.checks,
                    h.last_checked,
                    h.last_error_type,
                    h.latency,
                )
                for key, h in items
            ]

    def get(self, key: DependencyKey) -> HealthSnapshot | None:
        for snapshot in self.snapshots():
            if snapshot.key == key:
                return snapshot
        return None

    def forget(self, key: DependencyKey) -> None:
        with self._lock:
            self._health.pop(key, None)


def _log_transition(transition: Transition, error_type: str | None, message: str | None) -> None:
    name = transition.key.describe()
    if transition.up:
        _logger.info("otel-alerting: dependency %s is back up after %.1fs of downtime", name, transition.outage or 0.0)
    elif message:
        _logger.warning("otel-alerting: dependency %s is down: %s: %s", name, error_type or "error", message)
    else:
        _logger.warning("otel-alerting: dependency %s is down: %s", name, error_type or "error")


def error_type_of(exc: BaseException) -> str:
    """The exception's class as ``error.type`` wants it: fully qualified, without the
    private modules a library defines it in (``httpx.ConnectError``, not
    ``httpx._exceptions.ConnectError``); built-in exceptions by their bare name."""
    cls = type(exc)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    public = []
    for part in module.split("."):
        if part.startswith("_"):
            break
        public.append(part)
    return ".".join([*public, cls.__qualname__])


_default_board: HealthBoard | None = None
_default_lock = threading.Lock()


def default_board() -> HealthBoard:
    """The process-wide board the instrumentors share unless given their own."""
    global _default_board
    with _default_lock:
        if _default_board is None:
            _default_board = HealthBoard()
        return _default_board
