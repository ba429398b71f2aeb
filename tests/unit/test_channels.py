from __future__ import annotations

import asyncio
import io
import logging
import re
import shlex
import time

import pytest

from otel_alerting.channels.console import ConsoleChannel
from otel_alerting.channels.log import ALERTS_LOGGER, LogChannel
from otel_alerting.notify.model import Batch, Change, Notification, Status
from otel_alerting.notify.render import format_number, logfmt, summary_line
from otel_alerting.rules.model import Severity

from .helpers import notification

L, M, H, C = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse_logfmt(line: str) -> dict[str, str]:
    """A strict enough logfmt reader: ``key=value`` or ``key="quoted \\" value"``."""
    out = {}
    for token in shlex.split(line, posix=True):
        key, sep, value = token.partition("=")
        assert sep, f"not a key=value pair: {token!r}"
        assert key not in out
        out[key] = value
    return out


def resolved(**kwargs: object) -> Notification:
    return notification(
        H,
        Status.RESOLVED,
        value=42.0,
        fired_for=95.0,
        reason="value 42 back below threshold 100",
        ends_at=1_750_000_095.0,
        **kwargs,  # type: ignore[arg-type]
    )


def batch(*notifications: Notification) -> Batch:
    return Batch("test", tuple(notifications))


# --- rendering ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "n/a"),
        (612.0, "612"),
        (12345.0, "12345"),
        (0.12345, "0.12345"),
        (1e7, "10000000"),
        (0.1234567, "0.123457"),
    ],
)
def test_format_number(value: float | None, text: str) -> None:
    assert format_number(value) == text


def test_summary_line_firing_and_resolved() -> None:
    firing = notification(H, annotations={"summary": "Queue ingest holds 612 items"})
    assert summary_line(firing) == (
        "[FIRING:HIGH] QueueBacklog queue=ingest value=612 threshold=500: Queue ingest holds 612 items"
    )
    escalated = notification(C, change=Change.ESCALATED, previous_severity=H, threshold=1000.0)
    assert summary_line(escalated).endswith("value=612 threshold=1000 (escalated from HIGH)")
    assert summary_line(resolved()) == (
        "[RESOLVED:HIGH] QueueBacklog queue=ingest value=42 fired_for=1m35s (value 42 back below threshold 100)"
    )


def test_logfmt_carries_every_field_and_survives_awkward_values() -> None:
    n = resolved(
        labels={"alertname": "QueueBacklog", "queue": 'in "gest"', "path": "/a b=c"},
        annotations={"summary": "line one\nline two \\ end"},
    )
    fields = parse_logfmt(logfmt(n))
    assert fields == {
        "alert": "QueueBacklog",
        "state": "RESOLVED",
        "severity": "HIGH",
        "change": "resolved",
        "value": "42",
        "threshold": "500",
        "fired_for_s": "95.000",
        "reason": "value 42 back below threshold 100",
        "fingerprint": "abc123",
        "labels.queue": 'in "gest"',
        "labels.path": "/a b=c",
        # newlines are escaped so one notification stays one line
        "annotations.summary": "line one\\nline two \\ end",
    }
    assert "\n" not in logfmt(n)


# --- log channel ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "status", "level"),
    [
        (L, Status.FIRING, logging.WARNING),
        (M, Status.FIRING, logging.WARNING),
        (H, Status.FIRING, logging.ERROR),
        (C, Status.FIRING, logging.CRITICAL),
        (C, Status.RESOLVED, logging.WARNING),
    ],
)
def test_log_channel_level_by_severity(
    severity: Severity, status: Status, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=ALERTS_LOGGER)
    result = asyncio.run(LogChannel().send(batch(notification(severity, status))))
    assert result.ok
    (record,) = [r for r in caplog.records if r.name == ALERTS_LOGGER]
    assert record.name == "otel_alerting.alerts"
    assert record.levelno == level


def test_log_channel_record_is_logfmt_with_structured_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=ALERTS_LOGGER)
    firing = notification(H, annotations={"summary": "Queue ingest holds 612 items"})
    result = asyncio.run(LogChannel().send(batch(firing, resolved())))
    assert result.ok
    first, second = [r for r in caplog.records if r.name == ALERTS_LOGGER]

    parsed = parse_logfmt(first.getMessage())
    assert (parsed["alert"], parsed["state"], parsed["severity"]) == ("QueueBacklog", "FIRING", "HIGH")
    assert (parsed["value"], parsed["threshold"], parsed["labels.queue"]) == ("612", "500", "ingest")
    assert parsed["annotations.summary"] == "Queue ingest holds 612 items"
    assert first.otel_alerting == {  # type: ignore[attr-defined]
        "alert": "QueueBacklog",
        "state": "FIRING",
        "severity": "HIGH",
        "change": "fired",
        "value": 612.0,
        "threshold": 500.0,
        "previous_severity": None,
        "labels": {"queue": "ingest"},
        "annotations": {"summary": "Queue ingest holds 612 items"},
        "fingerprint": "abc123",
        "fired_for_s": None,
        "reason": None,
        "last_firing_value": None,
    }
    assert second.otel_alerting["state"] == "RESOLVED"  # type: ignore[attr-defined]
    assert second.otel_alerting["fired_for_s"] == 95.0  # type: ignore[attr-defined]
    assert second.otel_alerting["reason"] == "value 42 back below threshold 100"  # type: ignore[attr-defined]


def test_log_channel_uses_a_given_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mine")
    asyncio.run(LogChannel(logging.getLogger("mine")).send(batch(notification(M))))
    assert [r.name for r in caplog.records] == ["mine"]


# --- console channel -----------------------------------------------------------------------


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


class BrokenStream(io.StringIO):
    def write(self, s: str) -> int:
        raise OSError("stream closed")


def test_console_writes_one_line_per_notification() -> None:
    stream = io.StringIO()
    n = notification(H, annotations={"summary": "Queue ingest holds 612 items"})
    result = asyncio.run(ConsoleChannel(stream).send(batch(n, resolved())))
    assert result.ok
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    stamp = time.strftime("%H:%M:%S", time.localtime(n.at))
    assert lines[0] == f"{stamp} otel-alerting {summary_line(n)}"
    assert lines[1].endswith(summary_line(resolved()))
    assert not ANSI.search(stream.getvalue())


@pytest.mark.parametrize(
    ("stream_type", "colour", "coloured"),
    [
        (io.StringIO, "auto", False),
        (TtyStream, "auto", True),
        (io.StringIO, "always", True),
        (TtyStream, "never", False),
        (io.StringIO, "never", False),
    ],
)
def test_console_colour_only_on_a_terminal_or_when_forced(
    stream_type: type[io.StringIO], colour: str, coloured: bool
) -> None:
    stream = stream_type()
    asyncio.run(ConsoleChannel(stream, colour=colour).send(batch(notification(H))))
    text = stream.getvalue()
    assert bool(ANSI.search(text)) is coloured
    # the words are the same either way
    assert ANSI.sub("", text).rstrip("\n").endswith(summary_line(notification(H)))


def test_console_colours_differ_by_severity_and_resolved() -> None:
    def colour_of(n: Notification) -> str:
        stream = io.StringIO()
        asyncio.run(ConsoleChannel(stream, colour="always").send(batch(n)))
        match = ANSI.match(stream.getvalue())
        assert match is not None
        assert stream.getvalue().rstrip("\n").endswith("\x1b[0m")
        return match.group(0)

    codes = {colour_of(notification(s)) for s in (L, M, H, C)}
    assert len(codes) == 4
    assert colour_of(resolved()) not in codes


def test_console_defaults_to_standard_error(capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(ConsoleChannel().send(batch(notification(H))))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "[FIRING:HIGH] QueueBacklog" in captured.err


def test_console_write_error_is_a_failed_delivery_not_an_exception() -> None:
    result = asyncio.run(ConsoleChannel(BrokenStream()).send(batch(notification(H))))
    assert not result.ok
    assert not result.retryable
    assert result.error is not None and "stream closed" in result.error


def test_logfmt_keys_stay_parseable_whatever_the_label_names() -> None:
    n = notification(H, labels={"alertname": "A", "my team": "x", "a=b": "y", 'q"': "z"})
    fields = parse_logfmt(logfmt(n))
    assert {k: v for k, v in fields.items() if k.startswith("labels.")} == {
        "labels.my_team": "x",
        "labels.a_b": "y",
        "labels.q_": "z",
    }
