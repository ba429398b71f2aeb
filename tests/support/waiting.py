"""Bounded polling instead of sleeps: ``wait_until`` for something that must happen,
``holds_for`` for something that must not happen during a window. Both fail with what
they waited for and what they saw last."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["holds_for", "wait_until"]

#: how often the condition is looked at: short next to every wait of the suite
INTERVAL = 0.01


def _seen(seen: Callable[[], object] | None) -> str:
    if seen is None:
        return ""
    try:
        return f"; last seen: {seen()!r}"
    except Exception as exc:  # the description must not hide the timeout
        return f"; describing what was seen failed: {type(exc).__name__}"


def wait_until(
    predicate: Callable[[], object],
    what: str,
    timeout: float = 10.0,
    *,
    seen: Callable[[], object] | None = None,
) -> float:
    """Poll ``predicate`` until it is true, for at most ``timeout`` seconds; returns
    how long that took. Fails naming ``what``, with ``seen()`` (the state seen last)."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{_seen(seen)}")
        time.sleep(INTERVAL)  # the polling interval itself, not a wait for an event


def holds_for(
    predicate: Callable[[], object],
    what: str,
    duration: float,
    *,
    seen: Callable[[], object] | None = None,
) -> None:
    """Check that ``predicate`` stays true for ``duration`` seconds (that something
    does not happen while it could), failing as soon as it turns false."""
    start = time.monotonic()
    while True:
        if not predicate():
            elapsed = time.monotonic() - start
            raise AssertionError(f"{what} stopped holding after {elapsed:.2f}s of {duration:g}s{_seen(seen)}")
        if time.monotonic() - start >= duration:
            return
        time.sleep(INTERVAL)  # the polling interval itself, not a wait for an event
