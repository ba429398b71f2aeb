"""What the console and log channels write of a hostile value: escaped control
characters, clipped values with a marker, bounded lines."""

from __future__ import annotations

import asyncio
import io
import logging
import re

import pytest

from otel_alerting.channels.console import ConsoleChannel
from otel_alerting.channels.log import ALERTS_LOGGER, LogChannel
from otel_alerting.notify.model import Batch, Status
from otel_alerting.notify.render import (
    LABEL_LIMIT,
    LOGFMT_LIMIT,
    SUMMARY_LIMIT,
    bounded,
    bounded_batch,
    clip,
    logfmt,
    summary_line,
    visible,
)
from otel_alerting.rules.model import Severity

from .helpers import notification

FORGED = "ingest\n12:00:00 otel-alerting [RESOLVED:CRITICAL] QueueBacklog queue=ingest value=0"
TERMINAL = "\x1b[2J\x1b[H\x1b]0;owned\x07\x00\x7f\x9b\u202e\u2028"
RAW = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202e]")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb\r\n\tc", "a\\nb\\r\\n\\tc"),
        ("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"),
        ("nul\x00del\x7fcsi\x9b", "nul\\x00del\\x7fcsi\\x9b"),
        ("line\u2028para\u2029rtl\u202e", "line\\u2028para\\u2029rtl\\u202e"),
        ("plain text, é and 日本", "plain text, é and 日本"),
    ],
)
def test_visible_escapes_every_control_character(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_clip_keeps_short_values_and_marks_what_it_cuts() -> None:
    assert clip("short", 10) == "short"
    clipped = clip("x" * 1_048_576, 1024)
    assert 1020 < len(clipped) <= 1024
    assert clipped.endswith(f"…[truncated {1_048_576 - clipped.index('…')} chars]")
    assert clip("abcdef", 3) == "abc"  # no room for the marker


def test_bounded_clips_names_and_values_and_keeps_the_fingerprint() -> None:
    n = notification(labels={"alertname": "A", "big": "v" * 5000, "k" * 300: "x"}, annotations={"d": "w" * 9000})
    b = bounded(n)
    assert len(b.labels["big"]) <= LABEL_LIMIT and "…[truncated" in b.labels["big"]
    assert 250 < max(len(k) for k in b.labels) <= 256
    assert len(b.annotations["d"]) <= 4096 and b.fingerprint == n.fingerprint
    small = notification()
    assert bounded(small) is small  # nothing to clip: nothing copied
    same = Batch("c", (small,))
    assert bounded_batch(same) is same


def _console(colour: str, *labels: str) -> str:
    stream = io.StringIO()
    n = notification(Severity.HIGH, Status.FIRING, labels={"alertname": "QueueBacklog", "queue": labels[0]})
    asyncio.run(ConsoleChannel(stream, colour=colour).send(Batch("console", (n,))))
    return stream.getvalue()


@pytest.mark.parametrize("colour", ["never", "always"])
def test_console_a_label_value_cannot_forge_a_line_or_drive_the_terminal(colour: str) -> None:
    out = _console(colour, FORGED + TERMINAL)
    assert out.count("\n") == 1 and out.endswith("\n")
    body = out.replace("\x1b[31m", "").replace("\x1b[0m", "") if colour == "always" else out
    assert not RAW.search(body[:-1]), RAW.findall(body)
    assert "queue=ingest\\n12:00:00 otel-alerting [RESOLVED:CRITICAL]" in body
    assert "\\x1b[2J\\x1b[H\\x1b]0;owned\\x07\\x00\\x7f\\x9b\\u202e\\u2028" in body


def test_console_line_of_a_megabyte_value_is_bounded() -> None:
    out = _console("never", "y" * 1_048_576)
    assert len(out) < SUMMARY_LIMIT + 64 and "…[truncated" in out


def test_log_record_escapes_esc_bel_and_nul(caplog: pytest.LogCaptureFixture) -> None:
    n = notification(labels={"alertname": "A", "queue": FORGED + TERMINAL}, annotations={"summary": "s\x1b[2J\x07"})
    with caplog.at_level(logging.WARNING, logger=ALERTS_LOGGER):
        asyncio.run(LogChannel().send(Batch("log", (n,))))
    (record,) = caplog.records
    message = record.getMessage()
    assert not RAW.search(message), RAW.findall(message)
    assert '"ingest\\n12:00:00 otel-alerting [RESOLVED:CRITICAL]' in message
    assert "\\x1b[2J\\x1b[H\\x1b]0;owned\\x07\\x00" in message


def test_logfmt_of_many_megabyte_values_stays_within_its_limit_and_counts_what_it_left_out() -> None:
    labels = {"alertname": "A", **{f"l{i:02d}": "z" * 1_048_576 for i in range(40)}}
    line = logfmt(notification(labels=labels))
    assert len(line) <= LOGFMT_LIMIT
    kept = line.count("labels.l")
    assert 0 < kept < 40 and line.endswith(f"truncated_fields={40 - kept}")
    assert len(summary_line(notification(labels=labels))) <= SUMMARY_LIMIT
