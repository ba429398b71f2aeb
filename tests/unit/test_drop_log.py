"""A storm's drops: every one counted, the log told once per channel and reason and then
at most once per interval, and nothing logged while the dispatcher's lock is held.
A clock moved by hand; the dispatcher's own thread waited for with bounded polling."""

from __future__ import annotations

import logging
import threading

import pytest

from otel_alerting.channels import DeliveryResult
from otel_alerting.notify.dispatcher import Dispatcher
from otel_alerting.notify.drop_log import DropLog
from otel_alerting.notify.model import Batch
from otel_alerting.rules.model import Severity

from ..support.waiting import wait_until
from .helpers import notification
from .test_dispatcher import TIMEOUT, Gate, Recorder

LOGGER = "otel_alerting.notify.dispatcher"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_line_then_one_per_interval_with_the_count_since() -> None:
    clock = Clock()
    log = DropLog(60.0, clock)
    first = log.note("slack", "queue full", 1, "A (LOW)")
    assert first is not None and first.first and first.sample == "A (LOW)"
    assert [log.note("slack", "queue full", 2, "B (LOW)") for _ in range(500)] == [None] * 500
    assert log.note("slack", "shut down", 1, "C (LOW)") is not None  # another reason: its own first line
    clock.now += 59.9
    assert log.note("slack", "queue full", 1, "D (LOW)") is None
    clock.now += 0.1
    line = log.note("slack", "queue full", 3, "E (LOW)")
    assert line is not None and not line.first
    assert (line.count, line.sample, line.seconds) == (1004, "E (LOW)", 60.0)
    message, args = line.message(log.interval)
    assert message % args == (
        "otel-alerting: dropped for channel slack (queue full): 1,004 more notification(s) dropped "
        "since the last line 60 s ago, latest: E (LOW)"
    )
    assert log.note("slack", "queue full", 1, "F (LOW)") is None
    clock.now += 5
    assert [(p.channel, p.reason, p.count, p.seconds) for p in log.pending()] == [("slack", "queue full", 1, 5.0)]
    assert log.pending() == []  # told once


def test_ten_thousand_drops_write_a_line_per_channel_and_reason_and_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    clock = Clock()
    gates = {name: Gate() for name in ("a", "b")}
    channels = [Recorder(name, gate=gate) for name, gate in gates.items()]
    dispatcher = Dispatcher(channels, queue_size=1, backoff=0.001, drop_log_interval=60.0, clock=clock)
    drops = {"a": 0, "b": 0}

    def storm(count: int) -> None:
        # LOW into a queue holding a LOW: each new batch is dropped itself, "queue full"
        dispatcher.submit(
            [Batch(c.name, (notification(Severity.LOW, alert=f"S{i}"),)) for c in channels for i in range(count)]
        )
        for name in drops:
            drops[name] += count

    try:
        dispatcher.submit([Batch(c.name, (notification(Severity.LOW, alert="InFlight"),)) for c in channels])
        for channel in channels:
            assert channel.entered.wait(TIMEOUT)
        dispatcher.submit([Batch(c.name, (notification(Severity.LOW, alert="Queued"),)) for c in channels])

        storm(2500)  # t=0: the first line per channel, for all the drops of this hand-over
        clock.now += 30
        storm(1000)  # t=30: within the interval, nothing
        clock.now += 31
        storm(400)  # t=61: one line with the count since t=0
        clock.now += 4
        storm(100)  # t=65: within the interval again: these wait
        clock.now += 6
        for gate in gates.values():
            gate.set()
        dispatcher.shutdown(TIMEOUT)  # t=71: what waits is told
        clock.now += 100
        for i in range(999):  # after shutdown, one batch at a time
            dispatcher.submit([Batch(c.name, (notification(Severity.LOW, alert=f"Late{i}"),)) for c in channels])
        clock.now += 60
        dispatcher.submit([Batch(c.name, (notification(Severity.LOW, alert="Last"),)) for c in channels])
        for name in drops:
            drops[name] += 1000
    finally:
        for gate in gates.values():
            gate.set()
        dispatcher.shutdown(TIMEOUT)

    assert sum(drops.values()) == 10_000
    # every drop counted, as before
    assert dispatcher.counts() == {"a": {"dropped": 5000, "delivered": 2}, "b": {"dropped": 5000, "delivered": 2}}
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER and "dropped for channel" in r.getMessage()]
    expected = []
    first5 = "S0 (LOW), S1 (LOW), S2 (LOW), S3 (LOW), S4 (LOW)"
    for name in ("a", "b"):
        expected += [
            f"otel-alerting: dropped for channel {name} (queue full): {first5} and 2,495 more; further drops for "
            "this channel and reason are logged at most every 60 s, every one is counted (/health, "
            "otel_alerting.notifications)",
            f"otel-alerting: dropped for channel {name} (queue full): 1,400 more notification(s) dropped since "
            f"the last line 61 s ago, latest: {first5} and 395 more",
            f"otel-alerting: dropped for channel {name} (queue full): 100 more notification(s) dropped since "
            f"the last line 10 s ago, latest: {first5} and 95 more",
            f"otel-alerting: dropped for channel {name} (dispatcher shut down): Late0 (LOW); further drops for "
            "this channel and reason are logged at most every 60 s, every one is counted (/health, "
            "otel_alerting.notifications)",
            f"otel-alerting: dropped for channel {name} (dispatcher shut down): 999 more notification(s) "
            "dropped since the last line 60 s ago, latest: Last (LOW)",
        ]
    assert sorted(lines) == sorted(expected)
    # the lines account for every drop: each first line tells one, the others their count
    assert sum(_told(m) for m in lines) == sum(drops.values())


def _told(line: str) -> int:
    """How many drops a line tells: the alerts it names on a first line, its count on another."""
    text = line.split(": ", 2)[2]
    if "further drops" in text:
        shown = text.split(";")[0]
        named = shown.split(" and ")[0].count("(")
        return named + (int(shown.split(" and ")[1].split(" more")[0].replace(",", "")) if " and " in shown else 0)
    return int(text.split(" more")[0].replace(",", ""))


class LockProbe(logging.Handler):
    """Notes, for each record of the dispatcher, whether its lock was free while it was
    written (the lock taken here would deadlock, or wait, if the writer held it)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__()
        self.dispatcher = dispatcher
        self.seen: list[tuple[str, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        lock = self.dispatcher._lock
        free = lock.acquire(timeout=1.0)
        if free:
            lock.release()
        self.seen.append((record.getMessage(), free))


def test_nothing_is_logged_while_the_dispatcher_lock_is_held() -> None:
    gate = Gate()
    slow, failing = Recorder("slow", gate=gate), Recorder("failing", [DeliveryResult.failed("down", retryable=False)])
    dispatcher = Dispatcher([slow, failing], queue_size=1, backoff=0.001, drop_log_interval=0)
    probe = LockProbe(dispatcher)
    logger = logging.getLogger(LOGGER)
    logger.addHandler(probe)
    try:
        dispatcher.submit([Batch("slow", (notification(Severity.LOW, alert=f"S{i}"),)) for i in range(3)])
        dispatcher.submit([Batch("failing", (notification(Severity.HIGH),))])
        dispatcher.submit([Batch("nowhere", (notification(Severity.HIGH),))])
        wait_until(lambda: dispatcher.counts()["failing"].get("failed") == 1, "the failure counted")
        gate.set()
        dispatcher.shutdown(TIMEOUT)
    finally:
        logger.removeHandler(probe)
        gate.set()
        dispatcher.shutdown(TIMEOUT)
    messages = [m for m, _ in probe.seen]
    assert any("queue full" in m for m in messages), messages
    assert any("failed to deliver" in m for m in messages), messages
    assert any("nowhere (no such channel)" in m for m in messages), messages
    assert [m for m, free in probe.seen if not free] == []


class BlockingHandler(logging.Handler):
    """A handler writing to a pipe nobody reads: blocks the dispatcher's thread in emit."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked = threading.Event()
        self.unblock = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if threading.current_thread().name == "otel-alerting-notify":
            self.blocked.set()
            self.unblock.wait(TIMEOUT * 2)


def test_a_blocked_log_on_the_dispatcher_thread_does_not_block_submit() -> None:
    failing = Recorder("failing", [DeliveryResult.failed("down", retryable=False)])
    dispatcher = Dispatcher([failing], backoff=0.001)
    handler = BlockingHandler()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    try:
        dispatcher.submit([Batch("failing", (notification(Severity.HIGH),))])
        assert handler.blocked.wait(TIMEOUT), "the failure was not logged"
        submitted = threading.Event()

        def evaluation() -> None:
            dispatcher.submit([Batch("failing", (notification(Severity.HIGH, alert="Next"),))])
            submitted.set()

        threading.Thread(target=evaluation, daemon=True).start()
        assert submitted.wait(TIMEOUT), "submit waited for the dispatcher thread's blocked log line"
    finally:
        handler.unblock.set()
        logger.removeHandler(handler)
        dispatcher.shutdown(TIMEOUT)
