"""Delivers notifications on a background event loop, one worker per channel.

``submit`` never blocks and never does I/O: it appends to a bounded per-channel
queue and wakes the worker. A full queue drops its lowest-severity notification,
and every notification ends counted as delivered, failed or dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value

from ..channels.base import Channel, DeliveryResult
from .model import Batch, Notification

__all__ = ["DeliveryOutcome", "Dispatcher"]

_logger = logging.getLogger(__name__)

#: outcome names, as counted in ``otel_alerting.notifications``
DELIVERED, FAILED, DROPPED = "delivered", "failed", "dropped"


@dataclass(frozen=True)
class DeliveryOutcome:
    channel: str
    outcome: str
    count: int
    latency: float | None
    error: str | None = None


OutcomeListener = Callable[[DeliveryOutcome], None]


class _Lane:
    """One channel's queue and counters; touched from any thread under ``lock``."""

    def __init__(self, channel: Channel, capacity: int) -> None:
        self.channel = channel
        self.capacity = capacity
        self.queue: deque[Notification] = deque()
        self.counts: Counter[str] = Counter()
        self.last_error: str | None = None
        self.wake: asyncio.Event | None = None
        self.busy = False


class Dispatcher:
    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        queue_size: int = 1000,
        max_attempts: int = 3,
        backoff: float = 0.5,
        deadline: float = 30.0,
        listener: OutcomeListener | None = None,
    ) -> None:
        self._lanes = [_Lane(channel, queue_size) for channel in channels]
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._deadline = deadline
        self._listener = listener
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._closed = False
        self._start()
        if hasattr(os, "register_at_fork"):
            ref = weakref.WeakMethod(self._after_fork_in_child)

            def after_in_child() -> None:
                method = ref()
                if method is not None:
                    method()

            os.register_at_fork(after_in_child=after_in_child)

    @property
    def channels(self) -> list[Channel]:
        return [lane.channel for lane in self._lanes]

    # --- threads and loop ----------------------------------------------------

    def _start(self) -> None:
        if not self._lanes:
            return
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="otel-alerting-notify", daemon=True)
        self._thread.start()
        self._ready.wait(5.0)

    def _run(self) -> None:
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                detach(token)

    async def _main(self) -> None:
        for lane in self._lanes:
            lane.wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._ready.set()
        workers = [asyncio.ensure_future(self._worker(lane)) for lane in self._lanes]
        await self._stop.wait()
        for lane in self._lanes:
            assert lane.wake is not None
            lane.wake.set()
        await asyncio.gather(*workers, return_exceptions=True)
        for lane in self._lanes:
            try:
                await lane.channel.close()
            except Exception:
                _logger.debug("closing channel %s failed", lane.channel.name, exc_info=True)

    def _after_fork_in_child(self) -> None:
        # The parent's notifications are the parent's to deliver; the child starts empty.
        self._lock = threading.Lock()
        for lane in self._lanes:
            lane.queue.clear()
            lane.busy = False
        self._loop = None
        if not self._closed:
            self._start()

    # --- submitting --------------------------------------------------------

    def submit(self, notifications: Sequence[Notification]) -> None:
        """Queue ``notifications`` for every channel; never blocks."""
        if not notifications:
            return
        dropped: list[tuple[_Lane, Notification]] = []
        with self._lock:
            if self._closed:
                dropped = [(lane, n) for lane in self._lanes for n in notifications]
            else:
                for lane in self._lanes:
                    for n in notifications:
                        victim = _enqueue(lane, n)
                        if victim is not None:
                            dropped.append((lane, victim))
        for lane, victim in dropped:
            self._record(lane, DROPPED, 1, None, "queue full" if not self._closed else "shut down")
            _logger.warning(
                "notification %s (%s) dropped for channel %s: %s",
                victim.alert,
                victim.severity.name,
                lane.channel.name,
                "queue full" if not self._closed else "dispatcher shut down",
            )
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake_all)
            except RuntimeError:
                pass  # the loop closed between the check and the call

    def _wake_all(self) -> None:
        for lane in self._lanes:
            if lane.wake is not None and lane.queue:
                lane.wake.set()

    # --- delivering ------------------------------------------------------

    async def _worker(self, lane: _Lane) -> None:
        assert lane.wake is not None
        while True:
            await lane.wake.wait()
            lane.wake.clear()
            while True:
                with self._lock:
                    batch = list(lane.queue)
                    lane.queue.clear()
                    lane.busy = bool(batch)
                if not batch:
                    break
                await self._deliver(lane, batch)
                with self._lock:
                    lane.busy = False
            if self._stop.is_set():
                return

    async def _deliver(self, lane: _Lane, batch: list[Notification]) -> None:
        deadline = time.monotonic() + self._deadline
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await asyncio.wait_for(
                    lane.channel.send(Batch(lane.channel.name, tuple(batch))), max(deadline - time.monotonic(), 0.001)
                )
            except asyncio.TimeoutError:
                result = DeliveryResult.failed("delivery deadline exceeded", retryable=False)
            except Exception as exc:
                result = DeliveryResult.failed(f"{type(exc).__name__} in channel", retryable=False)
                _logger.debug("channel %s raised", lane.channel.name, exc_info=True)
            if result.ok:
                latency = max(time.time() - min(n.at for n in batch), 0.0)
                self._record(lane, DELIVERED, len(batch), latency, None)
                return
            wait = result.retry_after
            if wait is None:
                wait = self._backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
            if not result.retryable or attempt >= self._max_attempts or time.monotonic() + wait > deadline:
                self._record(lane, FAILED, len(batch), None, result.error)
                return
            await asyncio.sleep(wait)

    def _record(self, lane: _Lane, outcome: str, count: int, latency: float | None, error: str | None) -> None:
        with self._lock:
            lane.counts[outcome] += count
            if outcome == FAILED and error != lane.last_error:
                lane.last_error = error
                _logger.error(
                    "channel %s failed to deliver %d notification(s): %s",
                    lane.channel.name,
                    count,
                    error,
                )
        if self._listener is not None:
            try:
                self._listener(DeliveryOutcome(lane.channel.name, outcome, count, latency, error))
            except Exception:
                _logger.debug("outcome listener failed", exc_info=True)

    # --- reading and stopping -----------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {lane.channel.name: dict(lane.counts) for lane in self._lanes}

    def pending(self) -> int:
        with self._lock:
            return sum(len(lane.queue) + (1 if lane.busy else 0) for lane in self._lanes)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queue is empty; False if the timeout passed first."""
        end = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() >= end:
                return False
            time.sleep(0.005)
        return True

    def shutdown(self, timeout: float = 10.0) -> None:
        if self._closed:
            return
        end = time.monotonic() + timeout
        self.flush(timeout)
        with self._lock:
            self._closed = True
            leftovers = [(lane, len(lane.queue)) for lane in self._lanes if lane.queue]
            for lane in self._lanes:
                lane.queue.clear()
        for lane, count in leftovers:
            self._record(lane, DROPPED, count, None, "shut down")
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(max(end - time.monotonic(), 0.1))


def _enqueue(lane: _Lane, n: Notification) -> Notification | None:
    """Append ``n``; when full, evict the oldest of the lowest severity (maybe ``n``)."""
    queue = lane.queue
    if len(queue) < lane.capacity:
        queue.append(n)
        return None
    lowest = min(queue, key=lambda item: item.severity)
    if n.severity <= lowest.severity:
        return n
    queue.remove(lowest)
    queue.append(n)
    return lowest
