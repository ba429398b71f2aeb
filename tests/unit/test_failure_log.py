"""A step that keeps failing: one ERROR with its traceback per distinct error, then at
most one WARNING per interval with the count since the line before, one INFO when it
works again; every failure counted. A clock moved by hand."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from otel_alerting.failure_log import STEPS, FailureLog

LOGGER = logging.getLogger("tests.failure_log")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _raised(message: str, kind: type[Exception] = OSError) -> Exception:
    try:
        raise kind(message)
    except Exception as exc:
        return exc


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str, bool]]:
    lines = [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    caplog.clear()
    return lines


@pytest.fixture
def caplog(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger=LOGGER.name)
    return caplog


def test_a_hundred_identical_failures_write_one_traceback_then_one_warning_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    log = FailureLog(60.0, clock)
    for _ in range(100):  # 100 ticks within a minute
        log.failed("state_save", _raised("disk I/O error"), LOGGER)
        clock.now += 0.5
    assert caplog.text.count("Traceback") == 1 and "OSError: disk I/O error" in caplog.text
    assert _lines(caplog) == [(logging.ERROR, "otel-alerting: saving the alert state failed", True)]
    assert log.steps()["state_save"].count == 100

    clock.now = 1060.0  # a minute after the ERROR
    log.failed("state_save", _raised("disk I/O error"), LOGGER)
    ((level, message, traceback),) = _lines(caplog)
    assert (level, traceback) == (logging.WARNING, False)
    assert "saving the alert state failed 100 more time(s) in the last 60 s, latest: OSError: disk I/O error" in message

    for _ in range(30):  # the next minute: 30 more, and no line until it has passed
        clock.now += 1.0
        log.failed("state_save", _raised("disk I/O error"), LOGGER)
    assert _lines(caplog) == []
    clock.now += 30.0
    log.failed("state_save", _raised("disk I/O error"), LOGGER)
    ((level, message, traceback),) = _lines(caplog)
    assert level == logging.WARNING and " 31 more time(s) in the last 60 s" in message
    state = log.steps()["state_save"]
    assert (state.count, state.error_type, state.message, state.at, state.failing) == (
        132,
        "OSError",
        "disk I/O error",
        clock.now,
        True,
    )


def test_a_different_error_gets_its_own_traceback_and_a_success_one_info(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = FailureLog(60.0, clock)
    log.failed("evaluation", _raised("first"), LOGGER)
    log.failed("evaluation", _raised("first"), LOGGER)
    log.failed("evaluation", _raised("second"), LOGGER)  # another message
    log.failed("evaluation", _raised("second", ValueError), LOGGER)  # another type
    log.failed("collection", _raised("first"), LOGGER)  # another step
    log.failed("evaluation", _raised("second"), LOGGER)
    assert [(level, traceback) for level, _, traceback in _lines(caplog)] == [(logging.ERROR, True)] * 4
    log.succeeded("evaluation", LOGGER)
    log.succeeded("evaluation", LOGGER)  # told once
    assert _lines(caplog) == [(logging.INFO, "otel-alerting: evaluation works again, after 5 failure(s)", False)]
    steps = log.steps()
    assert (steps["evaluation"].count, steps["evaluation"].failing) == (5, False)
    assert (steps["collection"].count, steps["collection"].failing) == (1, True)


def test_a_step_that_fails_and_works_by_turns_stays_quiet(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = FailureLog(60.0, clock)
    for _ in range(50):
        log.failed("flush", _raised("flaky"), LOGGER)
        clock.now += 0.5
        log.succeeded("flush", LOGGER)
        clock.now += 0.5
    # the first failure and the first recovery, then silence within the minute
    assert [level for level, _, _ in _lines(caplog)] == [logging.ERROR, logging.INFO]
    assert log.steps()["flush"].count == 50
    clock.now += 120.0  # quiet for longer than the interval: told again, with its traceback
    log.failed("flush", _raised("flaky"), LOGGER)
    assert _lines(caplog) == [(logging.ERROR, "otel-alerting: scheduled notification flush failed", True)]


def test_counted_failures_are_shown_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = FailureLog(60.0, clock)
    for _ in range(3):
        log.counted("state_save", "StateError: the store is read-only")
        clock.now += 100.0
    log.succeeded("state_save", LOGGER)
    assert _lines(caplog) == []
    state = log.steps()["state_save"]
    assert (state.count, state.error_type, state.message, state.failing) == (
        3,
        "",
        "StateError: the store is read-only",
        False,
    )


def test_messages_in_the_counts_are_clipped_and_hold_no_secret() -> None:
    log = FailureLog(60.0, Clock())
    log.failed("state_save", _raised("cannot reach redis://admin:s3cr3tPass@db.internal:6379/0 password=hunter22"))
    log.failed("probes", _raised("x" * 1000))
    steps = log.steps()
    message = steps["state_save"].message
    assert "s3cr3tPass" not in message and "hunter22" not in message and "db.internal" in message
    assert len(steps["probes"].message) == 300


def test_every_failure_reaches_the_listener_and_a_late_one_gets_the_counts_so_far() -> None:
    log = FailureLog(60.0, Clock())
    for _ in range(3):
        log.failed("probes", _raised("down"), LOGGER)
    told: list[tuple[str, int]] = []
    log.listen(lambda step, count: told.append((step, count)))
    log.failed("probes", _raised("down"), LOGGER)
    log.counted("state_save", "read-only")
    assert told == [("probes", 3), ("probes", 1), ("state_save", 1)]


def test_it_never_raises_and_writes_no_line_under_its_lock(caplog: pytest.LogCaptureFixture) -> None:
    log = FailureLog(60.0, Clock())

    def broken_listener(step: str, count: int) -> None:
        raise RuntimeError("listener")

    log.listen(broken_listener)
    log.failed("probes", _raised("down"), LOGGER)  # does not raise
    assert log.steps()["probes"].count == 1

    held: list[bool] = []

    class Probe(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # a line written under the log's lock would find it taken (and a handler that
            # calls back into the log would deadlock)
            lock: threading.Lock = log._lock
            acquired = lock.acquire(blocking=False)
            held.append(not acquired)
            if acquired:
                lock.release()

    probe = Probe()
    LOGGER.addHandler(probe)
    try:
        log.failed("collection", _raised("a"), LOGGER)
        log.succeeded("collection", LOGGER)
    finally:
        LOGGER.removeHandler(probe)
    assert held == [False, False]

    def broken_clock() -> float:
        raise RuntimeError("clock")

    FailureLog(60.0, broken_clock).failed("probes", _raised("down"), LOGGER)  # does not raise


def test_every_step_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    section = docs.split("### `otel_alerting.plugin.failures`")[1].split("\n## ")[0]
    assert [step for step in STEPS if f"`{step}`" not in section] == []
