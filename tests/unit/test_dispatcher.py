"""The dispatcher runs its own event loop thread: tests wait with bounded polling
(``flush(timeout)`` or ``wait_until``) and then assert, never a bare sleep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, get_value

from otel_alerting.channels import Channel, DeliveryResult
from otel_alerting.notify.dispatcher import DeliveryOutcome, Dispatcher
from otel_alerting.notify.model import Batch, Notification
from otel_alerting.rules.model import Severity

from ..support.waiting import wait_until
from .helpers import notification

L, M, H, C = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL
TIMEOUT = 5.0


class Gate:
    """Holds a channel's send until ``set()`` from the test's thread: the send awaits an
    asyncio event on its own loop, woken by the set (no polling)."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def set(self) -> None:
        with self._lock:
            self._open.set()
            for loop, event in self._waiters:
                with contextlib.suppress(RuntimeError):  # a dispatcher shut down meanwhile: nothing waits there
                    loop.call_soon_threadsafe(event.set)

    def is_set(self) -> bool:
        return self._open.is_set()

    async def wait(self) -> None:
        event = asyncio.Event()
        with self._lock:
            if self._open.is_set():
                return
            self._waiters.append((asyncio.get_running_loop(), event))
        await event.wait()


class Recorder(Channel):
    """Records batches; optionally held at a gate, or answering scripted results."""

    def __init__(
        self,
        name: str,
        results: Sequence[DeliveryResult] = (),
        gate: Gate | None = None,
        error: Exception | None = None,
    ) -> None:
        self.name = name
        self.results = list(results)
        self.gate = gate
        self.error = error
        self.batches: list[list[Notification]] = []
        self.attempts = 0
        self.entered = threading.Event()
        self.closed = False
        self.threads: set[str] = set()
        self.suppressed: list[object] = []

    async def send(self, batch: Batch) -> DeliveryResult:
        notifications = batch.notifications
        self.attempts += 1
        self.threads.add(threading.current_thread().name)
        self.suppressed.append(get_value(_SUPPRESS_INSTRUMENTATION_KEY))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        self.batches.append(list(notifications))
        if self.results:
            return self.results.pop(0)
        return DeliveryResult.delivered()

    async def close(self) -> None:
        self.closed = True

    @property
    def delivered(self) -> list[Notification]:
        return [n for batch in self.batches for n in batch]


def submit(dispatcher: Dispatcher, notifications: Sequence[Notification], *, one_batch: bool = False) -> None:
    """Queue ``notifications`` for every channel: one batch each, or all in one batch."""
    groups = [tuple(notifications)] if one_batch else [(n,) for n in notifications]
    dispatcher.submit([Batch(c.name, g) for c in dispatcher.channels for g in groups if g])


@pytest.fixture
def make() -> Iterator[Callable[..., Dispatcher]]:
    made: list[tuple[Dispatcher, list[Channel]]] = []

    def factory(channels: Sequence[Channel], **kwargs: Any) -> Dispatcher:
        dispatcher = Dispatcher(channels, **{"backoff": 0.001, **kwargs})
        made.append((dispatcher, list(channels)))
        return dispatcher

    yield factory
    for dispatcher, channels in made:
        for channel in channels:
            gate = getattr(channel, "gate", None)
            if gate is not None:
                gate.set()
        dispatcher.shutdown(TIMEOUT)


def test_delivers_to_every_channel_off_the_calling_thread(make: Callable[..., Dispatcher]) -> None:
    a, b = Recorder("a"), Recorder("b")
    outcomes: list[DeliveryOutcome] = []
    dispatcher = make([a, b], listener=outcomes.append)
    batch = [notification(H), notification(M, alert="Other")]
    submit(dispatcher, batch, one_batch=True)
    assert dispatcher.flush(TIMEOUT)
    assert a.delivered == batch
    assert b.delivered == batch
    assert dispatcher.counts() == {"a": {"delivered": 2}, "b": {"delivered": 2}}
    assert sorted((o.channel, o.outcome, o.count) for o in outcomes) == [("a", "delivered", 2), ("b", "delivered", 2)]
    assert all(o.latency is not None and o.latency >= 0 for o in outcomes)
    assert a.threads == {"otel-alerting-notify"}
    assert threading.current_thread().name not in a.threads
    # the channels' own I/O makes no telemetry
    assert a.suppressed == [True]


def test_submit_of_nothing_does_nothing(make: Callable[..., Dispatcher]) -> None:
    a = Recorder("a")
    dispatcher = make([a])
    submit(dispatcher, [])
    assert dispatcher.flush(TIMEOUT)
    assert a.attempts == 0
    assert dispatcher.counts() == {"a": {}}


def test_no_channels_is_a_no_op() -> None:
    dispatcher = Dispatcher([])
    dispatcher.submit([Batch("nowhere", (notification(),))])
    assert dispatcher.flush(0.1)
    assert dispatcher.pending() == 0
    dispatcher.shutdown(0.1)


def test_full_queue_drops_the_lowest_severity_and_counts_it(
    make: Callable[..., Dispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate()
    channel = Recorder("slow", gate=gate)
    outcomes: list[DeliveryOutcome] = []
    # every drop logged (no interval between lines): the lines name what each drop lost;
    # the bounded log of a storm is tests/unit/test_drop_log.py's
    dispatcher = make([channel], queue_size=2, listener=outcomes.append, drop_log_interval=0)
    first = notification(L, alert="InFlight")
    submit(dispatcher, [first])
    assert channel.entered.wait(TIMEOUT)  # the worker holds it: the queue is empty again

    low, high = notification(L, alert="Low"), notification(H, alert="High")
    medium, low2 = notification(M, alert="Medium"), notification(L, alert="Low2")
    critical = notification(C, alert="Critical")
    submit(dispatcher, [low, high])  # two batches, queue full: [low, high]
    submit(dispatcher, [medium])  # evicts low (the lowest): [high, medium]
    submit(dispatcher, [low2])  # lower than anything queued: dropped itself
    submit(dispatcher, [critical])  # evicts medium: [high, critical]
    assert dispatcher.counts() == {"slow": {"dropped": 3}}
    assert dispatcher.pending() == 3  # two queued and one in flight

    gate.set()
    assert dispatcher.flush(TIMEOUT)
    # the most severe queued batch goes first
    assert [n.alert for n in channel.delivered] == ["InFlight", "Critical", "High"]
    assert dispatcher.counts() == {"slow": {"dropped": 3, "delivered": 3}}
    assert [o.outcome for o in outcomes].count("dropped") == 3
    dropped_logs = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert any("Low (LOW)" in m and "queue full" in m for m in dropped_logs)
    assert any("Medium" in m for m in dropped_logs)


def test_retryable_failure_is_retried_until_delivered(make: Callable[..., Dispatcher]) -> None:
    channel = Recorder("flaky", results=[DeliveryResult.failed("503 from receiver", retryable=True)])
    dispatcher = make([channel], max_attempts=3)
    submit(dispatcher, [notification()])
    assert dispatcher.flush(TIMEOUT)
    assert channel.attempts == 2
    assert dispatcher.counts() == {"flaky": {"delivered": 1}}


def test_retry_after_from_the_channel_is_used(make: Callable[..., Dispatcher]) -> None:
    channel = Recorder(
        "limited",
        results=[DeliveryResult.failed("429", retryable=True, retry_after=0.05)],
    )
    dispatcher = make([channel], backoff=100.0, deadline=10.0)
    started = time.monotonic()
    submit(dispatcher, [notification()])
    # with backoff=100 s only the channel's retry_after lets this finish in time
    assert dispatcher.flush(TIMEOUT)
    assert time.monotonic() - started >= 0.05
    assert dispatcher.counts() == {"limited": {"delivered": 1}}


def test_retries_stop_after_max_attempts_and_the_failure_is_counted(
    make: Callable[..., Dispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    failure = DeliveryResult.failed("503 from receiver", retryable=True)
    channel = Recorder("down", results=[failure] * 10)
    outcomes: list[DeliveryOutcome] = []
    dispatcher = make([channel], max_attempts=3, listener=outcomes.append)
    submit(dispatcher, [notification(), notification(alert="B")], one_batch=True)
    assert dispatcher.flush(TIMEOUT)
    assert channel.attempts == 3
    assert dispatcher.counts() == {"down": {"failed": 2}}
    assert [(o.outcome, o.count, o.error) for o in outcomes] == [("failed", 2, "503 from receiver")]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "down" in r.getMessage()]
    assert len(errors) == 1 and "503 from receiver" in errors[0].getMessage()


def test_non_retryable_failure_is_not_retried(make: Callable[..., Dispatcher]) -> None:
    channel = Recorder("strict", results=[DeliveryResult.failed("401 bad token", retryable=False)])
    dispatcher = make([channel], max_attempts=5)
    submit(dispatcher, [notification()])
    assert dispatcher.flush(TIMEOUT)
    assert channel.attempts == 1
    assert dispatcher.counts() == {"strict": {"failed": 1}}


def test_raising_channel_counts_as_failed_and_does_not_affect_another(make: Callable[..., Dispatcher]) -> None:
    broken = Recorder("broken", error=RuntimeError("secret-token-in-message"))
    fine = Recorder("fine")
    outcomes: list[DeliveryOutcome] = []
    dispatcher = make([broken, fine], listener=outcomes.append)
    submit(dispatcher, [notification()])
    assert dispatcher.flush(TIMEOUT)
    submit(dispatcher, [notification(alert="Second")])
    assert dispatcher.flush(TIMEOUT)
    assert dispatcher.counts() == {"broken": {"failed": 2}, "fine": {"delivered": 2}}
    assert [n.alert for n in fine.delivered] == ["QueueBacklog", "Second"]
    assert broken.attempts == 2  # a raise is not retried
    failed = [o for o in outcomes if o.outcome == "failed"]
    # the error names the exception type, not its message (it may hold a secret)
    assert {o.error for o in failed} == {"RuntimeError in channel"}


def test_a_hanging_channel_does_not_block_another(make: Callable[..., Dispatcher]) -> None:
    gate = Gate()
    stuck, fine = Recorder("stuck", gate=gate), Recorder("fine")
    dispatcher = make([stuck, fine])
    submit(dispatcher, [notification()])
    submit(dispatcher, [notification(alert="Second")])
    wait_until(lambda: len(fine.delivered) == 2, "the healthy channel to deliver both", TIMEOUT)
    assert stuck.batches == []
    assert not dispatcher.flush(0.01)  # the stuck one is still pending
    gate.set()
    assert dispatcher.flush(TIMEOUT)
    assert len(stuck.delivered) == 2


def test_delivery_deadline_bounds_a_hanging_channel(make: Callable[..., Dispatcher]) -> None:
    gate = Gate()
    stuck = Recorder("stuck", gate=gate)
    outcomes: list[DeliveryOutcome] = []
    dispatcher = make([stuck], deadline=0.05, listener=outcomes.append)
    submit(dispatcher, [notification()])
    assert dispatcher.flush(TIMEOUT)
    assert dispatcher.counts() == {"stuck": {"failed": 1}}
    assert outcomes[0].error == "delivery deadline exceeded"


def test_shutdown_delivers_what_is_queued_and_closes_channels() -> None:
    channel = Recorder("a")
    dispatcher = Dispatcher([channel])
    submit(dispatcher, [notification(), notification(alert="B")])
    dispatcher.shutdown(TIMEOUT)
    assert len(channel.delivered) == 2
    assert channel.closed
    # after shutdown nothing is queued, and nothing is lost silently
    submit(dispatcher, [notification(alert="Late")])
    assert dispatcher.counts() == {"a": {"delivered": 2, "dropped": 1}}
    dispatcher.shutdown(TIMEOUT)  # a second shutdown is harmless


def test_shutdown_counts_undelivered_notifications_as_dropped() -> None:
    gate = Gate()
    channel = Recorder("stuck", gate=gate)
    dispatcher = Dispatcher([channel])
    try:
        submit(dispatcher, [notification()])
        assert channel.entered.wait(TIMEOUT)
        submit(dispatcher, [notification(alert="B"), notification(alert="C")])
        dispatcher.shutdown(0.05)
        # the two queued and the one the channel still held when the time was up
        assert dispatcher.counts()["stuck"] == {"dropped": 3}
        assert dispatcher.pending() == 0
    finally:
        gate.set()
        dispatcher.shutdown(TIMEOUT)
