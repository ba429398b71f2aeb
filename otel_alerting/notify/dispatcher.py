"""Delivers batches on a background event loop, one worker per channel.

``submit`` never blocks and never does I/O: it appends to a bounded per-channel
queue and wakes the worker. A full queue drops its lowest-severity batch first,
and every notification ends counted as delivered, failed or dropped. Transient
failures are retried with exponential backoff and jitter until the delivery
deadline; permanent ones are not.

Nothing is logged while the dispatcher's lock is held: a logging handler writing to a
full pipe blocks, and ``submit`` (on the evaluation thread) waits for that lock. Drops
are logged once per channel and reason, then at most once per ``drop_log_interval``
with the count since (``DropLog``), so a storm writes a bounded number of lines.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value

from ..failure_log import FailureLog
from ..forking import after_fork_in_child
from ..rules.model import Severity
from .channel import Channel, DeliveryResult
from .drop_log import DropLine, DropLog
from .event_loop import new_event_loop
from .model import Batch

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
        self.queue = _Queue(capacity)
        self.counts: Counter[str] = Counter()
        self.last_error: str | None = None
        self.wake: asyncio.Event | None = None
        self.busy = False
        #: notifications of the batch being delivered
        self.in_flight = 0


class Dispatcher:
    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        queue_size: int = 1000,
        max_attempts: int | None = None,
        backoff: float = 0.5,
        max_backoff: float = 15.0,
        deadline: float = 120.0,
        listener: OutcomeListener | None = None,
        drop_log_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        failures: FailureLog | None = None,
    ) -> None:
        """``failures``: where a scheduled flush that fails is logged and counted (the
        alerting system's); a log of its own by default."""
        self._drop_log = DropLog(drop_log_interval, clock)
        self._failures = failures if failures is not None else FailureLog()
        self._lanes = [_Lane(channel, queue_size) for channel in channels]
        self._by_name = {lane.channel.name: lane for lane in self._lanes}
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._deadline = deadline
        self._listener = listener
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._closed = False
        #: work beside the channels (``spawn``), cancelled when the loop stops
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._start()
        after_fork_in_child(self._after_fork_in_child)

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
        # its blocking calls (name resolution, the SMTP client's) must still run during
        # the atexit hooks, where the final evaluation's notifications are delivered
        loop = new_event_loop()
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
        # shutdown() has waited for the queues until its deadline: a delivery still
        # running now is abandoned (and counted as dropped), not left retrying behind it
        for task in [*workers, *self._side_tasks]:
            task.cancel()
        await asyncio.gather(*workers, *self._side_tasks, return_exceptions=True)
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
        self._side_tasks = set()
        if not self._closed:
            self._start()

    # --- submitting --------------------------------------------------------

    def submit(self, batches: Sequence[Batch]) -> None:
        """Queue each batch for its channel; never blocks."""
        if not batches:
            return
        dropped: list[tuple[_Lane, Batch, str]] = []
        unknown: list[Batch] = []
        with self._lock:
            for batch in batches:
                lane = self._by_name.get(batch.channel)
                if lane is None:
                    unknown.append(batch)
                    continue
                if self._closed:
                    dropped.append((lane, batch, "dispatcher shut down"))
                    continue
                for victim in lane.queue.put(batch):
                    dropped.append((lane, victim, "queue full"))
        # the drops of one hand-over are noted together: one line names what they lost
        told: dict[tuple[str, str], list[Batch]] = {}
        for batch in unknown:
            told.setdefault((batch.channel, "no such channel"), []).append(batch)
        for lane, victim, why in dropped:
            self._record(lane, DROPPED, len(victim.notifications), None, why)
            told.setdefault((lane.channel.name, why), []).append(victim)
        for (channel, why), victims in told.items():
            line = self._drop_log.note(channel, why, sum(len(v.notifications) for v in victims), _sample(victims))
            if line is not None:
                level = logging.ERROR if why == "no such channel" else logging.WARNING
                _logger.log(level, *_format(line, self._drop_log.interval))
        self._call_in_loop(self._wake_all)

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the dispatcher's thread at wall-clock time ``when``
        (or sooner if an earlier call is already due); one pending call at a time."""

        def schedule() -> None:
            loop = self._loop
            if loop is None:
                return
            if self._timer is not None and self._timer_at is not None and self._timer_at <= when:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = when

            def fire() -> None:
                self._timer = self._timer_at = None
                try:
                    callback()
                except Exception as exc:
                    self._failures.failed("flush", exc, _logger)
                else:
                    self._failures.succeeded("flush", _logger)

            self._timer = loop.call_later(max(when - time.time(), 0.0), fire)

        self._call_in_loop(schedule)

    def spawn(self, work: Callable[[], Coroutine[Any, Any, None]]) -> bool:
        """Run ``work()`` as a task on the dispatcher's loop, beside the channels (the
        heartbeat's pings); never blocks. False when no loop runs (no channel, or shut down)."""
        if self._closed or self._loop is None:
            return False

        def start() -> None:
            task = asyncio.ensure_future(work())
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)

        self._call_in_loop(start)
        return True

    def _call_in_loop(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(callback)
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
                    batch = lane.queue.take()
                    lane.busy = batch is not None
                    lane.in_flight = len(batch.notifications) if batch is not None else 0
                if batch is None:
                    break
                try:
                    await self._deliver(lane, batch)
                finally:
                    with self._lock:
                        lane.busy = False
                        lane.in_flight = 0
            if self._stop.is_set():
                return

    async def _deliver(self, lane: _Lane, batch: Batch) -> None:
        try:
            await self._attempts(lane, batch)
        except asyncio.CancelledError:
            self._record(lane, DROPPED, len(batch.notifications), None, "shut down before delivery")
            raise

    async def _attempts(self, lane: _Lane, batch: Batch) -> None:
        deadline = time.monotonic() + self._deadline
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await asyncio.wait_for(lane.channel.send(batch), max(deadline - time.monotonic(), 0.001))
            except asyncio.TimeoutError:
                result = DeliveryResult.failed("delivery deadline exceeded", retryable=False)
            except Exception as exc:
                result = DeliveryResult.failed(f"{type(exc).__name__} in channel", retryable=False)
                _logger.debug("channel %s raised", lane.channel.name, exc_info=True)
            count = len(batch.notifications)
            if result.ok:
                latency = max(time.time() - min(n.at for n in batch.notifications), 0.0)
                self._record(lane, DELIVERED, count, latency, None)
                return
            wait = result.retry_after
            if wait is None:
                wait = min(self._backoff * (2 ** (attempt - 1)), self._max_backoff) * (0.5 + random.random())
            out_of_attempts = self._max_attempts is not None and attempt >= self._max_attempts
            if not result.retryable or out_of_attempts or time.monotonic() + wait > deadline:
                self._record(lane, FAILED, count, None, result.error)
                return
            await asyncio.sleep(wait)

    def _record(self, lane: _Lane, outcome: str, count: int, latency: float | None, error: str | None) -> None:
        with self._lock:
            lane.counts[outcome] += count
            new_error = outcome == FAILED and error != lane.last_error
            if new_error:
                lane.last_error = error
        if new_error:
            _logger.error("channel %s failed to deliver %d notification(s): %s", lane.channel.name, count, error)
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
            leftovers = [(lane, lane.queue.notifications) for lane in self._lanes if lane.queue]
            # a delivery still running is cancelled below, and counted as dropped when it is
            undelivered = {lane.channel.name: lane.in_flight for lane in self._lanes if lane.in_flight}
            for lane in self._lanes:
                lane.queue.clear()
        for lane, count in leftovers:
            self._record(lane, DROPPED, count, None, "shut down")
            undelivered[lane.channel.name] = undelivered.get(lane.channel.name, 0) + count
        # the drops of the last interval, not yet told
        for line in self._drop_log.pending():
            _logger.warning(*_format(line, self._drop_log.interval))
        if undelivered:
            # one line for the whole loss: a storm cut short at exit must not vanish unseen,
            # nor flood the log while the host is exiting
            _logger.warning(
                "otel-alerting: shutdown timeout (%.3gs) reached with %d notification(s) undelivered, "
                "counted as dropped: %s",
                timeout,
                sum(undelivered.values()),
                ", ".join(f"{name} {count}" for name, count in sorted(undelivered.items())),
            )
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(max(end - time.monotonic(), 0.1))


def _sample(batches: Sequence[Batch]) -> str:
    """The first alerts of ``batches``, for the log."""
    total = sum(len(batch.notifications) for batch in batches)
    first = [n for batch in batches[:5] for n in batch.notifications[:5]][:5]
    shown = ", ".join(f"{n.alert} ({n.severity.name})" for n in first)
    return shown + (f" and {total - len(first):,} more" if total > len(first) else "")


def _format(line: DropLine, interval: float) -> tuple[Any, ...]:
    message, args = line.message(interval)
    return (message, *args)


class _Queue:
    """A channel's pending batches, one FIFO per severity, with a running count of their
    notifications: queueing, evicting and taking the next batch cost the same whatever
    the queue holds (a storm of 10,000 single-alert groups drains as fast as 1,000)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._fifos: dict[Severity, deque[Batch]] = {severity: deque() for severity in sorted(Severity)}
        self._batches = 0
        #: notifications in the queue, the unit of ``capacity``
        self.notifications = 0

    def __len__(self) -> int:
        return self._batches

    def __iter__(self) -> Iterator[Batch]:
        for fifo in self._fifos.values():
            yield from fifo

    def clear(self) -> None:
        for fifo in self._fifos.values():
            fifo.clear()
        self._batches = self.notifications = 0

    def put(self, batch: Batch) -> list[Batch]:
        """Append ``batch``; past capacity (counted in notifications), evict the oldest
        batches of the lowest severity, or the new batch itself when it is the lowest."""
        severity = batch.severity
        self._fifos[severity].append(batch)
        self._batches += 1
        self.notifications += len(batch.notifications)
        evicted: list[Batch] = []
        while self.notifications > self.capacity and self._batches > 1:
            lowest = next(fifo for fifo in self._fifos.values() if fifo)
            # the new batch is the newest of its severity: it goes when nothing is lower
            victim = self._fifos[severity].pop() if severity <= lowest[0].severity else lowest.popleft()
            self._batches -= 1
            self.notifications -= len(victim.notifications)
            evicted.append(victim)
            if victim is batch:
                break
        return evicted

    def take(self) -> Batch | None:
        """The most severe batch first (the oldest among equals): a CRITICAL never waits
        behind a backlog of lower severities, at shutdown least of all."""
        for fifo in reversed(self._fifos.values()):
            if fifo:
                batch = fifo.popleft()
                self._batches -= 1
                self.notifications -= len(batch.notifications)
                return batch
        return None
