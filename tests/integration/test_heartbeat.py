"""The heartbeat against a real local HTTP receiver: pings at the interval, none after
shutdown, failures counted and logged once, the URL (its token) never shown."""

from __future__ import annotations

import json
import logging
import time

import pytest

from otel_alerting.channels.log import LogChannel
from otel_alerting.config import load_settings
from otel_alerting.http.report import ReportSources, build_report
from otel_alerting.notify.dispatcher import Dispatcher
from otel_alerting.notify.heartbeat import Heartbeat
from otel_alerting.rules import load_rule_set
from otel_alerting.secrets import Secret
from otel_alerting.system import AlertingSystem
from tests.support.http import HttpReceiver, Reply

TOKEN = "hb-canary-6f1d2c"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _settled(heartbeat: Heartbeat, pings: int, timeout: float = 10.0) -> None:
    """Wait (bounded) until ``pings`` pings have ended, well or not."""
    end = time.monotonic() + timeout
    while heartbeat.succeeded + heartbeat.failed < pings:
        assert time.monotonic() < end, f"{heartbeat.succeeded + heartbeat.failed} ping(s) ended, expected {pings}"
        time.sleep(0.01)


@pytest.fixture
def dispatcher() -> Dispatcher:
    d = Dispatcher([LogChannel()])
    yield d  # type: ignore[misc]
    d.shutdown(1.0)


def test_pings_at_most_once_per_interval_and_none_after_close(dispatcher: Dispatcher) -> None:
    clock = Clock()
    with HttpReceiver() as receiver:
        heartbeat = Heartbeat(Secret(f"{receiver.url}/ping/{TOKEN}"), 60.0, dispatcher.spawn, clock=clock)
        heartbeat.beat()
        (first,) = receiver.wait_for(1)
        assert (first.method, first.path) == ("GET", f"/ping/{TOKEN}")
        _settled(heartbeat, 1)
        for step in (1.0, 30.0, 59.0):  # evaluations within the interval: no ping
            clock.now = 1000.0 + step
            heartbeat.beat()
        clock.now = 1060.0
        heartbeat.beat()
        receiver.wait_for(2)
        _settled(heartbeat, 2)
        heartbeat.close()
        clock.now = 2000.0
        heartbeat.beat()
        time.sleep(0.2)
        assert len(receiver.requests) == 2
        assert (heartbeat.sent, heartbeat.succeeded, heartbeat.failed) == (2, 2, 0)


def test_a_failing_receiver_is_counted_and_logged_once_per_error(
    dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    with HttpReceiver(Reply(500)) as receiver, caplog.at_level(logging.INFO, "otel_alerting"):
        heartbeat = Heartbeat(Secret(f"{receiver.url}/ping/{TOKEN}"), 1.0, dispatcher.spawn, clock=clock, timeout=0.3)
        for ping in range(1, 4):
            heartbeat.beat()
            _settled(heartbeat, ping)
            clock.now += 1.0
        receiver.script(Reply(delay=2.0), Reply(delay=2.0))  # hangs past the time limit
        for ping in range(4, 6):
            started = time.perf_counter()
            heartbeat.beat()
            assert time.perf_counter() - started < 0.05  # the evaluating thread never waits for the peer
            _settled(heartbeat, ping)
            clock.now += 1.0
        receiver.default = Reply(200)
        heartbeat.beat()
        _settled(heartbeat, 6)
    assert (heartbeat.failed, heartbeat.succeeded) == (5, 1)
    assert heartbeat.last_error == "ReadTimeout"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "(HTTP 500)" in warnings[0] and "(ReadTimeout)" in warnings[1]
    assert any("succeeded again" in r.getMessage() for r in caplog.records)
    assert TOKEN not in caplog.text and receiver.url not in caplog.text
    assert TOKEN not in repr(heartbeat)


def test_without_a_running_loop_the_ping_is_counted_as_failed(caplog: pytest.LogCaptureFixture) -> None:
    empty = Dispatcher([])  # no channel: no loop
    clock = Clock()
    heartbeat = Heartbeat(Secret(f"http://127.0.0.1:9/ping/{TOKEN}"), 1.0, empty.spawn, clock=clock)
    with caplog.at_level(logging.WARNING, "otel_alerting"):
        for _ in range(3):
            heartbeat.beat()
            clock.now += 1.0
    assert heartbeat.failed == 3
    assert len(caplog.records) == 1 and "loop is not running" in caplog.records[0].getMessage()


def test_the_system_pings_after_evaluations_and_health_shows_no_url(caplog: pytest.LogCaptureFixture) -> None:
    with HttpReceiver() as receiver:
        env = {
            "OTEL_PYTHON_ALERTING_HEARTBEAT_URL": f"{receiver.url}/ping/{TOKEN}?key={TOKEN}",
            "OTEL_PYTHON_ALERTING_HEARTBEAT_INTERVAL": "200ms",
            "OTEL_PYTHON_ALERTING_CHANNELS": "log",
        }
        settings = load_settings(env)
        assert settings.errors == ()
        assert TOKEN not in repr(settings) and TOKEN not in json.dumps(settings.describe())
        system = AlertingSystem(settings, load_rule_set([], env, include_defaults=False), environ=env)
        assert system.heartbeat is not None
        end = time.monotonic() + 1.0
        while time.monotonic() < end:  # an evaluation every 50 ms for a second
            system.evaluate(None)
            time.sleep(0.05)
        _settled(system.heartbeat, system.heartbeat.sent)
        pings = len(receiver.requests)
        assert 2 <= pings <= 6, pings  # every 200 ms at most, not every 50 ms
        report = build_report(system, ReportSources(lambda: None, lambda: None, dict))
        heartbeat = report["plugin"]["heartbeat"]
        assert heartbeat["configured"] is True and heartbeat["succeeded"] == pings
        assert heartbeat["last_success"] is not None and heartbeat["last_failure"] is None
        assert TOKEN not in json.dumps(report) and receiver.url not in json.dumps(report)
        system.shutdown(1.0)
        time.sleep(0.3)
        system.evaluate(None)  # a late evaluation after shutdown does not ping
        time.sleep(0.2)
        assert len(receiver.requests) == pings
    assert TOKEN not in caplog.text


def test_without_a_url_there_is_no_heartbeat_and_health_says_so() -> None:
    env = {"OTEL_PYTHON_ALERTING_CHANNELS": "log"}
    system = AlertingSystem(load_settings(env), load_rule_set([], env, include_defaults=False), environ=env)
    try:
        assert system.heartbeat is None
        report = build_report(system, ReportSources(lambda: None, lambda: None, dict))
        assert report["plugin"]["heartbeat"] == {"configured": False}
    finally:
        system.shutdown(1.0)


def test_a_bad_url_is_an_error_that_does_not_show_it() -> None:
    settings = load_settings({"OTEL_PYTHON_ALERTING_HEARTBEAT_URL": f"ftp://{TOKEN}"})
    assert settings.heartbeat_url is None
    (error,) = settings.errors
    assert "OTEL_PYTHON_ALERTING_HEARTBEAT_URL" in str(error) and TOKEN not in str(error)
