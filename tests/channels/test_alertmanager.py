"""The Alertmanager channel: against the real Alertmanager binary with a webhook
receiver behind it (three processes, one notification; resolve; a dead sender's
alert expiring), and against local HTTP servers standing in for Alertmanagers
(several targets, authentication, re-sending, escalation, fork, no secret leaks)."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from otel_alerting.channels._am_alerts import group_key
from otel_alerting.channels.alertmanager import (
    AlertmanagerChannel,
    AlertmanagerConfig,
    alerts_url,
    load_alertmanager_config,
)
from otel_alerting.channels.webhook import webhook_payload
from otel_alerting.notify.model import Batch, Change, Notification, Status
from otel_alerting.rules.model import Severity
from otel_alerting.secrets import Secret

from ..support.http import HttpReceiver, Reply
from ..support.ports import free_port
from ..support.waiting import holds_for, wait_until
from ..unit.helpers import notification
from .alertmanager_server import alertmanager_with_webhook, am_alerts, am_log_count
from .webhook_format import check_webhook_document, parse_rfc3339

T = TypeVar("T")


URLS = "OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS"
USER = "OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME"
PASSWORD = "OTEL_PYTHON_ALERTING_ALERTMANAGER_PASSWORD"
BEARER = "OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN"
TIMEOUT = "OTEL_PYTHON_ALERTING_ALERTMANAGER_TIMEOUT"
RESEND = "OTEL_PYTHON_ALERTING_ALERTMANAGER_RESEND"
INTERVAL = "OTEL_PYTHON_ALERTING_INTERVAL"

LABELS = {"alertname": "CacheHitRateLow", "otel_alerting.cache.name": "sessions", "service.name": "api"}
AM_LABELS = {"alertname": "CacheHitRateLow", "otel_alerting_cache_name": "sessions", "service_name": "api"}


class LoopThread:
    """An event loop on its own thread, as the dispatcher runs channels."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 15) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


def alert(
    status: Status = Status.FIRING,
    severity: Severity = Severity.HIGH,
    *,
    starts_at: float | None = None,
    at: float | None = None,
    **kwargs: Any,
) -> Notification:
    now = time.time() if at is None else at
    kwargs.setdefault("labels", LABELS)
    kwargs.setdefault("fingerprint", "cafe0123cafe0123")
    if status is Status.RESOLVED:
        kwargs.setdefault("ends_at", now)
    return notification(
        severity,
        status,
        alert="CacheHitRateLow",
        annotations={"summary": "Cache sessions hit rate is low"},
        at=now,
        starts_at=now - 30 if starts_at is None else starts_at,
        **kwargs,
    )


def batch(*notifications: Notification) -> Batch:
    return Batch("alertmanager", notifications)


def channel_for(*urls: str, **env: str) -> AlertmanagerChannel:
    config, errors = load_alertmanager_config({URLS: ",".join(urls), **env})
    assert not errors and config is not None, errors
    return AlertmanagerChannel(config)


def posted(request: Any) -> list[dict[str, Any]]:
    assert request.method == "POST" and request.path.endswith("/api/v2/alerts")
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert isinstance(body, list)
    for item in body:
        assert set(item) == {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
    return body


# --- the real Alertmanager ------------------------------------------------------------------


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, HttpReceiver]]:
    with alertmanager_with_webhook(tmp_path) as found:
        yield found


SENDER = textwrap.dedent(
    """
    import asyncio, sys, time
    from otel_alerting.channels.alertmanager import AlertmanagerChannel, load_alertmanager_config
    from otel_alerting.notify.model import Batch, Change, Notification, Status
    from otel_alerting.rules.model import Severity

    config, errors = load_alertmanager_config()
    assert config is not None, errors
    channel = AlertmanagerChannel(config)
    LABELS = {"alertname": "CacheHitRateLow", "otel_alerting.cache.name": "sessions", "service.name": "api"}

    async def main():
        loop = asyncio.get_running_loop()
        while True:
            words = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not words or words[0] == "exit":
                break
            now, starts_at = time.time(), float(words[1])
            status = Status.FIRING if words[0] == "fire" else Status.RESOLVED
            n = Notification(
                "CacheHitRateLow", status, Change.FIRED if status is Status.FIRING else Change.RESOLVED,
                Severity.HIGH, LABELS, {"summary": "Cache sessions hit rate is low"}, 0.2, 0.3, starts_at, now,
                ends_at=now if status is Status.RESOLVED else None, fingerprint="cafe0123cafe0123",
            )
            result = await channel.send(Batch("alertmanager", (n,)))
            print("ok" if result.ok else f"failed {result.error}", flush=True)
        await channel.close()

    asyncio.run(main())
    """
)


class Sender:
    """A separate process with its own AlertmanagerChannel, driven line by line."""

    def __init__(self, base: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update({URLS: base, RESEND: "1s", INTERVAL: "1000"})
        self.process = subprocess.Popen(
            [sys.executable, "-c", SENDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def command(self, line: str, timeout: float = 20) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._lines.get(timeout=timeout)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.command("exit", timeout=0.1)
            except (queue.Empty, OSError):
                pass
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def test_three_processes_firing_one_alert_make_one_notification_and_one_resolve(
    alertmanager: tuple[str, HttpReceiver], tmp_path: Path
) -> None:
    base, hook = alertmanager
    senders = [Sender(base) for _ in range(3)]
    try:
        now = time.time()
        starts = [now - 30, now - 20, now - 10]  # each process saw it start at its own time
        fired = 0.0
        for sender, start in zip(senders, starts):
            assert sender.command(f"fire {start}") == "ok"
            fired = fired or time.monotonic()  # when the first process's send was accepted
        first = hook.wait_for(1, 10)[0]
        first_after = first.at - fired
        ticks = am_log_count(tmp_path, "msg=flushing")
        # each process re-sends three times (3 sends + 9 re-sends), Alertmanager's group ticks three times
        wait_until(
            lambda: (
                am_log_count(tmp_path, 'msg="Received alert"') >= 12
                and am_log_count(tmp_path, "msg=flushing") >= ticks + 3
            ),
            "three rounds of re-sends and three ticks of the group",
            15,
        )
        assert len(hook.requests) == 1, [r.json()["alerts"] for r in hook.requests]
        doc = first.json()
        check_webhook_document(doc)  # the checker agrees with the real thing
        assert doc["status"] == "firing" and len(doc["alerts"]) == 1
        (firing,) = doc["alerts"]
        assert firing["labels"] == {**AM_LABELS, "severity": "high"}
        assert parse_rfc3339(firing["startsAt"]) == pytest.approx(now - 30, abs=0.001)  # the earliest start wins

        # Our webhook channel's document has exactly the real one's shape and labels.
        ours = webhook_payload(batch(alert(starts_at=now - 30)), receiver="hook")
        assert list(ours) == list(doc)
        assert list(ours["alerts"][0]) == list(firing)
        assert ours["alerts"][0]["labels"] == firing["labels"]
        assert ours["alerts"][0]["endsAt"] == firing["endsAt"] == "0001-01-01T00:00:00Z"
        assert group_key({"alertname": "CacheHitRateLow"}) == doc["groupKey"]

        (stored,) = am_alerts(base)  # Alertmanager's own view: one alert, kept alive by the re-sends
        validity = parse_rfc3339(stored["endsAt"]) - parse_rfc3339(stored["updatedAt"])
        assert validity == pytest.approx(4.0, abs=0.05)  # 4 * max(resend 1s, interval 1s)

        resolved_at = time.monotonic()
        for sender, start in zip(senders, starts):
            assert sender.command(f"resolve {start}") == "ok"
        second = hook.wait_for(2, 10)[1]
        resolve_after = second.at - resolved_at
        doc = second.json()
        check_webhook_document(doc)
        assert doc["status"] == "resolved" and len(doc["alerts"]) == 1
        assert doc["alerts"][0]["labels"] == {**AM_LABELS, "severity": "high"}
        assert parse_rfc3339(doc["alerts"][0]["endsAt"]) == pytest.approx(time.time(), abs=3)
        # the resolved alert is re-sent every second (3 resolves + 6 re-sends): no new notification
        ticks = am_log_count(tmp_path, "msg=flushing")
        wait_until(
            lambda: am_log_count(tmp_path, "][resolved]") >= 9 and am_log_count(tmp_path, "msg=flushing") >= ticks + 2,
            "two rounds of re-sent resolutions and two ticks of the group",
            15,
        )
        assert len(hook.requests) == 2
        print(f"\nfirst notification {first_after:.2f}s after the first send, resolve {resolve_after:.2f}s after")
        assert first_after < 3 and resolve_after < 3
    finally:
        for sender in senders:
            sender.close()


def test_the_alert_of_a_dead_sender_expires_at_its_ends_at(
    alertmanager: tuple[str, HttpReceiver], tmp_path: Path
) -> None:
    base, hook = alertmanager
    sender = Sender(base)
    try:
        assert sender.command(f"fire {time.time() - 5}") == "ok"
        hook.wait_for(1, 10)
        wait_until(lambda: am_log_count(tmp_path, 'msg="Received alert"') >= 2, "at least one re-send", 10)
        killed = time.monotonic()
        sender.kill()  # no resolve will ever come from it
        second = hook.wait_for(2, 15)[1]
        expired_after = second.at - killed
        doc = second.json()
        check_webhook_document(doc)
        assert doc["status"] == "resolved"
        print(f"\nresolved by Alertmanager {expired_after:.2f}s after the sender died (endsAt = last send + 4s)")
        assert 2.0 < expired_after < 7.0
    finally:
        sender.close()


def test_an_escalation_resolves_the_old_severity_in_alertmanager(
    alertmanager: tuple[str, HttpReceiver], loop: LoopThread
) -> None:
    base, hook = alertmanager
    channel = AlertmanagerChannel(AlertmanagerConfig((Secret(base),), resend_delay=60))
    now = time.time()
    assert loop.run(channel.send(batch(alert(starts_at=now - 30, at=now)))).ok
    hook.wait_for(1, 10)
    up = alert(severity=Severity.CRITICAL, change=Change.ESCALATED, previous_severity=Severity.HIGH, starts_at=now - 30)
    assert loop.run(channel.send(batch(up))).ok
    doc = hook.wait_for(2, 10)[1].json()
    check_webhook_document(doc)
    states = {a["labels"]["severity"]: a["status"] for a in doc["alerts"]}
    assert states == {"high": "resolved", "critical": "firing"}
    assert doc["status"] == "firing"
    assert [a["labels"]["severity"] for a in am_alerts(base) if a["status"]["state"] == "active"] == ["critical"]
    loop.run(channel.close())


# --- local stand-ins for Alertmanager -----------------------------------------------------------


@pytest.fixture
def am() -> Iterator[HttpReceiver]:
    with HttpReceiver() as r:
        yield r


def test_firing_alerts_end_four_resend_delays_ahead_and_resolved_at_their_end(
    am: HttpReceiver, loop: LoopThread
) -> None:
    channel = channel_for(am.url + "/prefix/", **{RESEND: "1m", INTERVAL: "90000"})
    now = time.time()
    assert loop.run(channel.send(batch(alert(starts_at=now - 30, at=now)))).ok
    assert loop.run(channel.send(batch(alert(Status.RESOLVED, at=now + 5, ends_at=now + 4, starts_at=now - 30)))).ok
    first, second = am.wait_for(2)
    assert first.path == "/prefix/api/v2/alerts"
    (fired,) = posted(first)
    assert fired["labels"] == {**AM_LABELS, "severity": "high"}
    assert fired["annotations"] == {"summary": "Cache sessions hit rate is low"}
    assert parse_rfc3339(fired["startsAt"]) == pytest.approx(now - 30, abs=1e-3)
    # 4 * max(resend 60s, evaluation interval 90s)
    assert parse_rfc3339(fired["endsAt"]) == pytest.approx(time.time() + 360, abs=5)
    (ended,) = posted(second)
    assert ended["labels"] == fired["labels"]
    assert parse_rfc3339(ended["endsAt"]) == pytest.approx(now + 4, abs=1e-3)
    assert channel.firing() == []
    loop.run(channel.close())


def test_firing_alerts_and_recent_resolutions_are_re_sent_until_close(am: HttpReceiver, loop: LoopThread) -> None:
    channel = AlertmanagerChannel(AlertmanagerConfig((Secret(am.url),), resend_delay=0.2, evaluation_interval=0.01))
    assert loop.run(channel.send(batch(alert()))).ok
    requests = am.wait_for(4)
    sends = [posted(r) for r in requests]
    # the first send and a re-send every 0.2s: no more than that over the time they took
    span = requests[-1].at - requests[0].at
    assert len(sends) <= 2 + span / 0.2, [r.at for r in requests]
    ends = [parse_rfc3339(s[0]["endsAt"]) for s in sends]
    assert ends == sorted(ends) and ends[-1] - ends[0] >= 0.3  # endsAt moves ahead with each re-send
    resolved_at = time.time()
    assert loop.run(channel.send(batch(alert(Status.RESOLVED, at=resolved_at)))).ok
    count = len(am.requests)
    later = [posted(r) for r in am.wait_for(count + 2)[count:]]
    assert len(later) >= 2 and all(parse_rfc3339(s[0]["endsAt"]) == pytest.approx(resolved_at, abs=1e-3) for s in later)
    loop.run(channel.close())
    count = len(am.requests)
    # closed: nothing more, and nothing resolved by the close (over two re-send delays)
    holds_for(lambda: len(am.requests) == count, "no request after the close", 0.5, seen=lambda: am.requests[count:])


def test_resolved_alerts_are_forgotten_after_fifteen_minutes(am: HttpReceiver) -> None:
    clock = [time.time()]
    channel = AlertmanagerChannel(AlertmanagerConfig((Secret(am.url),), resend_delay=60), clock=lambda: clock[0])

    async def scenario() -> None:
        await channel.send(batch(alert(Status.RESOLVED, at=clock[0])))
        clock[0] += 14 * 60
        await channel.resend_due()  # still re-sent
        clock[0] += 2 * 60
        await channel.resend_due()  # past retention: dropped, not sent
        await channel.close()

    asyncio.run(scenario())
    assert len(am.requests) == 2


def test_an_escalation_is_the_old_label_set_resolving_and_the_new_one_firing(
    am: HttpReceiver, loop: LoopThread
) -> None:
    channel = channel_for(am.url)
    now = time.time()
    loop.run(channel.send(batch(alert(at=now - 10, starts_at=now - 40))))
    up = alert(
        severity=Severity.CRITICAL, at=now, change=Change.ESCALATED, previous_severity=Severity.HIGH, starts_at=now - 40
    )
    loop.run(channel.send(batch(up)))
    body = {a["labels"]["severity"]: a for a in posted(am.wait_for(2)[1])}
    assert parse_rfc3339(body["high"]["endsAt"]) == pytest.approx(now, abs=1e-3)  # resolved at the escalation
    assert parse_rfc3339(body["critical"]["startsAt"]) == pytest.approx(now, abs=1e-3)  # this label set starts now
    assert parse_rfc3339(body["critical"]["endsAt"]) > time.time() + 200
    assert channel.firing() == [{**AM_LABELS, "severity": "critical"}]
    loop.run(channel.send(batch(alert(Status.RESOLVED, Severity.CRITICAL, at=now + 1))))
    (last,) = posted(am.wait_for(3)[2])
    assert last["labels"]["severity"] == "critical" and channel.firing() == []
    loop.run(channel.close())


def test_large_batches_go_in_requests_of_64_alerts(am: HttpReceiver) -> None:
    alerts = tuple(alert(labels={"alertname": "A", "n": str(i)}, fingerprint=str(i)) for i in range(150))
    channel = channel_for(am.url)
    am.script(Reply(200), Reply(200), Reply(503))
    result = asyncio.run(channel.send(batch(*alerts)))
    assert not result.ok and result.retryable  # the last request found no Alertmanager to take it
    assert [len(posted(r)) for r in am.requests] == [64, 64, 22]
    assert asyncio.run(channel.send(batch(*alerts))).ok  # the retry sends them all again


@pytest.mark.parametrize(
    ("replies", "ok", "retryable"),
    [
        ((Reply(500), Reply(200)), True, False),  # one Alertmanager accepted: delivered, as Prometheus
        ((Reply(503), Reply(503)), False, True),
        ((Reply(429, headers={"Retry-After": "2"}), Reply(502)), False, True),
        ((Reply(400, body=b"invalid label set"), Reply(400)), False, False),
        ((Reply(400), None), False, True),  # None: connection refused, worth a retry
    ],
)
def test_several_alertmanagers(replies: tuple[Reply, Reply | None], ok: bool, retryable: bool) -> None:
    with HttpReceiver(replies[0]) as one, HttpReceiver(replies[1] or Reply()) as two:
        second = two.url if replies[1] is not None else f"http://127.0.0.1:{free_port()}"
        channel = channel_for(one.url, second)

        async def go() -> Any:
            try:
                return await channel.send(batch(alert()))
            finally:
                await channel.close()

        result = asyncio.run(go())
    assert (result.ok, result.retryable) == (ok, retryable), result
    if not ok:
        assert one.url in (result.error or "") and second in (result.error or "")
    if replies[0].status == 429:
        assert result.retry_after == 2.0


@pytest.mark.parametrize(
    ("env", "header"),
    [
        ({USER: "alerting", PASSWORD: "pa55word"}, "Basic " + base64.b64encode(b"alerting:pa55word").decode()),
        ({BEARER: "t0ken-abc"}, "Bearer t0ken-abc"),
        ({}, None),
    ],
)
def test_authentication(am: HttpReceiver, env: dict[str, str], header: str | None) -> None:
    channel = channel_for(am.url, **env)
    asyncio.run(channel.send(batch(alert())))
    (request,) = am.wait_for(1)
    assert request.headers.get("authorization") == header


def test_resend_failures_are_logged_once_and_the_recovery_once(
    am: HttpReceiver, loop: LoopThread, caplog: pytest.LogCaptureFixture
) -> None:
    channel = AlertmanagerChannel(AlertmanagerConfig((Secret(am.url),), resend_delay=0.1, evaluation_interval=0.01))
    am.script(Reply(200), *[Reply(503)] * 4)
    with caplog.at_level(logging.INFO, logger="otel_alerting.channels.alertmanager"):
        assert loop.run(channel.send(batch(alert()))).ok
        am.wait_for(7, 5)
        loop.run(channel.close())
    messages = [r.getMessage() for r in caplog.records if r.name == "otel_alerting.channels.alertmanager"]
    assert sum("failed: HTTP 503" in m for m in messages) == 1, messages
    assert sum("works again" in m for m in messages) == 1, messages


FORK_SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys, threading, time
    from otel_alerting.channels.alertmanager import AlertmanagerChannel, AlertmanagerConfig
    from otel_alerting.notify.model import Batch, Change, Notification, Status
    from otel_alerting.rules.model import Severity
    from otel_alerting.secrets import Secret

    def note(name):
        now = time.time()
        return Notification(name, Status.FIRING, Change.FIRED, Severity.HIGH, {"alertname": name}, {}, 1.0, 0.5,
                            now, now, fingerprint=name)

    class LoopThread:
        def __init__(self):
            self.loop = asyncio.new_event_loop()
            threading.Thread(target=self.loop.run_forever, daemon=True).start()
        def run(self, coro):
            return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    config = AlertmanagerConfig((Secret(sys.argv[1]),), resend_delay=0.2, evaluation_interval=0.01)
    channel = AlertmanagerChannel(config)
    parent_loop = LoopThread()
    assert parent_loop.run(channel.send(Batch("alertmanager", (note("FromParent"),)))).ok
    sys.stdin.readline()  # the test saw the parent's re-sends: its task runs on the parent's loop
    pid = os.fork()
    if pid == 0:
        child_loop = LoopThread()  # as the dispatcher restarts its loop in the child
        ok = child_loop.run(channel.send(Batch("alertmanager", (note("FromChild"),)))).ok
        sys.stdin.readline()  # the test saw the child's re-sends
        names = sorted(labels["alertname"] for labels in channel.firing())
        print("child", ok, names, channel._task_owner[0] == os.getpid(), flush=True)
        child_loop.run(channel.close())
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("parent", os.waitstatus_to_exitcode(status), flush=True)
    """
)


def test_after_fork_the_child_re_sends_on_its_own_loop(am: HttpReceiver, tmp_path: Path) -> None:
    script = tmp_path / "fork_am.py"
    script.write_text(FORK_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    process = subprocess.Popen(
        [sys.executable, str(script), am.url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )

    def sent_by(name: str) -> list[Any]:
        return [r for r in am.requests if any(a["labels"]["alertname"] == name for a in r.json())]

    try:
        assert process.stdin is not None
        wait_until(lambda: len(sent_by("FromParent")) >= 2, "the parent's first send and a re-send", 10)
        process.stdin.write("fork\n")
        process.stdin.flush()
        wait_until(lambda: len(sent_by("FromChild")) >= 3, "the child's first send and two re-sends", 10)
        stdout, stderr = process.communicate("report\n", timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0, stdout + stderr
    assert "child True ['FromChild', 'FromParent'] True" in stdout, stdout + stderr
    assert "parent 0" in stdout, stdout + stderr
    with_child = sent_by("FromChild")
    assert len(with_child) >= 3  # its first send, then re-sends: only the child's task knows this alert


# --- configuration ------------------------------------------------------------------------------


def test_not_configured_without_urls() -> None:
    assert load_alertmanager_config({}) == (None, [])


def test_defaults_and_urls() -> None:
    config, errors = load_alertmanager_config({URLS: " http://am-0:9093 , https://am-1.example/am/ "})
    assert not errors and config is not None
    assert [u.reveal() for u in config.urls] == ["http://am-0:9093", "https://am-1.example/am/"]
    assert (config.timeout, config.resend_delay, config.evaluation_interval, config.validity) == (
        10.0,
        60.0,
        1.0,
        240.0,
    )
    assert alerts_url("http://am-0:9093") == "http://am-0:9093/api/v2/alerts"
    assert alerts_url("https://am-1.example/am/") == "https://am-1.example/am/api/v2/alerts"
    assert alerts_url("http://am/api/v2/alerts") == "http://am/api/v2/alerts"
    config, _ = load_alertmanager_config({URLS: "http://am", RESEND: "30s", INTERVAL: "15000", TIMEOUT: "2s"})
    assert config is not None and (config.resend_delay, config.validity, config.timeout) == (30.0, 120.0, 2.0)


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({PASSWORD: "pa55word"}, URLS, PASSWORD),
        ({URLS: "http://am", USER: "u"}, PASSWORD, "both a username and a password"),
        ({URLS: "http://am", PASSWORD: "pa55word"}, USER, "both"),
        ({URLS: "http://am", USER: "u", PASSWORD: "pa55word", BEARER: "t0ken"}, BEARER, "not both"),
        ({URLS: "am:9093"}, URLS, "entry #1"),
        ({URLS: "http://am, ftp://x"}, URLS, "entry #2"),
        ({URLS: " , "}, URLS, "no URL"),
        ({URLS: "http://u:pa55word@am", BEARER: "t0ken"}, URLS, "holds credentials"),
        ({URLS: "http://am", RESEND: "0s"}, RESEND, "positive duration"),
        ({URLS: "http://am", TIMEOUT: "forever"}, TIMEOUT, "positive duration"),
    ],
)
def test_configuration_errors(env: dict[str, str], variable: str, words: str) -> None:
    config, errors = load_alertmanager_config(env)
    assert config is None
    assert [e.variable for e in errors] == [variable], errors
    assert words in errors[0].message
    assert "pa55word" not in str(errors[0]) and "t0ken" not in str(errors[0])
