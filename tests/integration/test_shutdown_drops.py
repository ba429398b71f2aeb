"""The dispatcher's shutdown against a real webhook peer that never answers in time:
the shutdown keeps to its timeout, and what was still queued or being delivered is
counted as dropped and logged once, with the count."""

from __future__ import annotations

import logging
import time

import pytest

from otel_alerting.channels.webhook import WebhookChannel, load_webhook_config
from otel_alerting.notify.dispatcher import Dispatcher
from otel_alerting.notify.model import Batch
from otel_alerting.rules.model import Severity

from ..support.http import HttpReceiver, Reply
from ..support.waiting import wait_until
from ..unit.helpers import notification

SHUTDOWN_TIMEOUT_S = 0.5


def test_what_the_shutdown_timeout_cuts_off_is_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with HttpReceiver(default=Reply(delay=30.0)) as hook:  # cut short when the receiver stops
        config, errors = load_webhook_config(
            {"OTEL_PYTHON_ALERTING_WEBHOOK_URL": f"{hook.url}/hook", "OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT": "20s"}
        )
        assert not errors
        channel = WebhookChannel(config)
        dispatcher = Dispatcher([channel], deadline=60.0)
        dispatcher.submit(
            [
                Batch(channel.name, (notification(Severity.CRITICAL),)),
                Batch(channel.name, tuple(notification(Severity.HIGH, alert=f"A{i}") for i in range(3))),
                Batch(channel.name, (notification(Severity.LOW),)),
            ]
        )
        wait_until(lambda: hook.requests, "the first delivery to reach the peer", 5)
        caplog.set_level(logging.WARNING, logger="otel_alerting")
        started = time.monotonic()
        dispatcher.shutdown(SHUTDOWN_TIMEOUT_S)
        took = time.monotonic() - started
        wait_until(
            lambda: dispatcher.counts()[channel.name].get("dropped") == 5,
            "the five notifications counted as dropped",
            5,
            seen=dispatcher.counts,
        )
    assert took < SHUTDOWN_TIMEOUT_S + 0.5, took
    assert dispatcher.counts()[channel.name] == {"dropped": 5}
    lines = [r.getMessage() for r in caplog.records if "undelivered" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "5 notification(s) undelivered, counted as dropped: webhook 5" in lines[0]
