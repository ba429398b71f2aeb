"""How many lines the dispatcher's drops write: one when a channel first drops for a
reason, then at most one per interval with the count since the line before.

Every drop is still counted, exactly, by the dispatcher (``otel_alerting.notifications``
and ``/health``); this only decides which drops are also *told* in the log. A storm
against a full queue drops thousands of batches a second, and a line for each would
flood the log and, when standard error is a pipe nobody reads, block the thread writing
them (the evaluation thread: Python's logging has no non-blocking mode).

``note`` and ``pending`` return the lines to write instead of writing them, so that the
caller writes them after releasing its own lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DropLine", "DropLog"]


@dataclass(frozen=True)
class DropLine:
    """A line to log: ``count`` notifications dropped for ``channel`` because of
    ``reason`` since the line before (``first`` when there was none), over ``seconds``."""

    channel: str
    reason: str
    count: int
    sample: str
    first: bool
    seconds: float

    def message(self, interval: float) -> tuple[str, tuple[object, ...]]:
        """The %-style format and its arguments."""
        if self.first:
            return (
                "otel-alerting: dropped for channel %s (%s): %s; further drops for this channel and "
                "reason are logged at most every %.0f s, every one is counted (/health, "
                "otel_alerting.notifications)",
                (self.channel, self.reason, self.sample, interval),
            )
        return (
            "otel-alerting: dropped for channel %s (%s): %s more notification(s) dropped since the "
            "last line %.0f s ago, latest: %s",
            (self.channel, self.reason, f"{self.count:,}", self.seconds, self.sample),
        )


class _Key:
    __slots__ = ("count", "last_line", "sample")

    def __init__(self, now: float) -> None:
        #: notifications dropped since the last line
        self.count = 0
        self.last_line = now
        self.sample = ""


class DropLog:
    """Decides the lines; thread-safe (its lock is held only for its own bookkeeping)."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._keys: dict[tuple[str, str], _Key] = {}
        self._lock = threading.Lock()

    def note(self, channel: str, reason: str, count: int, sample: str) -> DropLine | None:
        """``count`` notifications dropped (``sample`` names some): the line to write
        now, if any."""
        now = self._clock()
        with self._lock:
            key = self._keys.get((channel, reason))
            if key is None:
                self._keys[(channel, reason)] = _Key(now)
                return DropLine(channel, reason, count, sample, True, 0.0)
            key.count += count
            key.sample = sample
            if now - key.last_line < self.interval:
                return None
            return self._line(channel, reason, key, now)

    def pending(self) -> list[DropLine]:
        """A line for each channel and reason with drops not yet told (at shutdown)."""
        now = self._clock()
        with self._lock:
            return [self._line(c, r, key, now) for (c, r), key in sorted(self._keys.items()) if key.count]

    @staticmethod
    def _line(channel: str, reason: str, key: _Key, now: float) -> DropLine:
        line = DropLine(channel, reason, key.count, key.sample, False, max(now - key.last_line, 0.0))
        key.count = 0
        key.last_line = now
        return line
