"""Faults on the whole delivery path, with the real pieces: channels built from the
environment (email over a real aiosmtpd server with STARTTLS and AUTH, webhook and
Slack over real local HTTP receivers, the log channel), the real Dispatcher, and a
real AlertingSystem fed by a MeterProvider through the AlertingMetricReader
(``start_timer=False``: each evaluation is an explicit ``collect()``).

Nothing is mocked but the peers, which are local servers on 127.0.0.1. The
dispatcher works on its own thread: every wait is a bounded poll, never a sleep.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import trustme
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_alerting.channels import Channel, DeliveryResult
from otel_alerting.channels.email import EmailChannel, load_email_config
from otel_alerting.channels.log import ALERTS_LOGGER
from otel_alerting.channels.webhook import WebhookChannel, load_webhook_config
from otel_alerting.notify.dispatcher import DeliveryOutcome, Dispatcher
from otel_alerting.notify.model import Batch
from otel_alerting.reader import AlertingMetricReader
from otel_alerting.rules.model import Severity
from otel_alerting.system import AlertingSystem

from ..channels.channel_builders import firing
from ..channels.fake_smtp_service import SmtpServer, server_tls_context
from ..channels.webhook_format import check_webhook_document
from ..support.http import HttpReceiver, Received, Reply
from ..support.ports import free_port
from ..support.waiting import wait_until

USER = "alerts@example.com"
PASSWORD = "pw-f4ult-t3st-91c2"
#: the application's thread must get its evaluation back in well under any hang
APP_BOUND = 0.050
WAIT = 10.0


class AttemptLog(Channel):
    """The real channel, with the result of each attempt written down (the dispatcher
    counts outcomes, not attempts). It changes nothing it passes on."""

    def __init__(self, inner: Channel) -> None:
        self.name = inner.name
        self.inner = inner
        self.results: list[tuple[float, DeliveryResult]] = []

    async def send(self, batch: Batch) -> DeliveryResult:
        result = await self.inner.send(batch)
        self.results.append((time.monotonic(), result))
        return result

    async def close(self) -> None:
        await self.inner.close()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def alert_ids(requests: list[Received]) -> list[str]:
    """The ``id`` label of every alert the webhook receiver got, in arrival order."""
    ids: list[str] = []
    for request in requests:
        doc = request.json()
        check_webhook_document(doc)
        ids += [alert["labels"]["id"] for alert in doc["alerts"]]
    return ids


# --- a real application: MeterProvider -> AlertingMetricReader -> AlertingSystem ----------

RULES = """
rules:
  - alert: Backlog
    expr:
      value: {metric: app.backlog}
      by: [id]
    above: {low: 1, medium: 2, high: 3, critical: 4}
route:
  receivers: [%(receivers)s]
  group_by: [%(group_by)s]
  group_wait: %(group_wait)s
  group_interval: 0s
"""


class App:
    """A service with one gauge, ``app.backlog`` by ``id``; a value of 1, 2, 3 or 4 fires
    the ``Backlog`` alert of that id at LOW, MEDIUM, HIGH or CRITICAL. Everything is
    configured from the environment, as under ``opentelemetry-instrument``. An
    InMemoryMetricReader on the same MeterProvider reads the plugin's own metrics."""

    def __init__(self, tmp_path: Path, env: Mapping[str, str], *, group_by: str = "'...'", group_wait: str = "0s"):
        receivers = env["OTEL_PYTHON_ALERTING_CHANNELS"]
        rules = tmp_path / "rules.yaml"
        rules.write_text(RULES % {"receivers": receivers, "group_by": group_by, "group_wait": group_wait})
        self.env = {
            "OTEL_PYTHON_ALERTING_RULES": str(rules),
            "OTEL_PYTHON_ALERTING_DEFAULT_RULES": "false",
            "OTEL_PYTHON_ALERTING_COOLDOWN": "0",
            **env,
        }
        self.reader = AlertingMetricReader(environ=self.env, start_timer=False)
        assert self.reader.system is not None
        self.system: AlertingSystem = self.reader.system
        assert self.system.rule_set.errors == (), self.system.rule_set.errors
        self.metrics = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.metrics, self.reader], shutdown_on_exit=False)
        self.backlog: dict[str, float] = {}
        self.provider.get_meter("app").create_observable_gauge("app.backlog", callbacks=[self._observe])
        self._shut = False

    def _observe(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(value, {"id": key}) for key, value in self.backlog.items()]

    def evaluate(self, **backlog: float) -> float:
        """Set the gauge, run one collection (one evaluation) on this thread, and
        return how long the application's thread was held."""
        self.backlog.update(backlog)
        started = time.perf_counter()
        self.reader.collect()
        return time.perf_counter() - started

    def deliveries(self) -> dict[tuple[str, str], int]:
        return {key: count for key, count in self.system.manager.stats().deliveries.items() if count}

    def notifications_metric(self) -> dict[tuple[str, str], int]:
        """``otel_alerting.notifications`` by (channel, outcome), as a backend sees it."""
        data = self.metrics.get_metrics_data()
        assert data is not None
        found: dict[tuple[str, str], int] = {}
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == "otel_alerting.notifications":
                        for point in metric.data.data_points:
                            attributes = point.attributes or {}
                            key = (str(attributes["otel_alerting.channel"]), str(attributes["otel_alerting.outcome"]))
                            found[key] = int(point.value)  # type: ignore[union-attr]
        return found

    def shutdown(self, timeout: float = 5.0) -> None:
        if not self._shut:
            self._shut = True
            self.provider.shutdown(timeout_millis=timeout * 1000)


@pytest.fixture
def apps() -> Iterator[list[App]]:
    made: list[App] = []
    yield made
    for app in made:
        app.shutdown(1.0)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as r:
        yield r


@pytest.fixture
def second_receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as r:
        yield r


# --- email: the SMTP server is down, then comes back -----------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    return server_tls_context(ca.issue_cert("127.0.0.1"))


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def test_an_email_sent_while_the_smtp_server_is_down_arrives_once_it_is_back(
    server_ctx: ssl.SSLContext, ca_file: str
) -> None:
    port = free_port()
    config, errors = load_email_config(
        {
            "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST": "127.0.0.1",
            "OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT": str(port),
            "OTEL_PYTHON_ALERTING_EMAIL_USERNAME": USER,
            "OTEL_PYTHON_ALERTING_EMAIL_PASSWORD": PASSWORD,
            "OTEL_PYTHON_ALERTING_EMAIL_TO": "oncall@example.com",
            "OTEL_PYTHON_ALERTING_EMAIL_CA_FILE": ca_file,
            "OTEL_PYTHON_ALERTING_EMAIL_TIMEOUT": "2s",
        }
    )
    assert errors == [] and config is not None
    email = AttemptLog(EmailChannel(config))
    deadline = 15.0
    outcomes: list[DeliveryOutcome] = []
    dispatcher = Dispatcher([email], backoff=0.05, max_backoff=0.2, deadline=deadline, listener=outcomes.append)
    server = SmtpServer(port, starttls=server_ctx, users={USER: PASSWORD})
    try:
        submitted = time.monotonic()
        dispatcher.submit([Batch("email", (firing(Severity.CRITICAL),))])
        # the server is down: attempts fail (connection refused), and are retried
        wait_until(lambda: len(email.results) >= 3, "three failed attempts")
        down = [result for _, result in email.results]
        assert not any(r.ok for r in down)
        assert all(r.retryable and "cannot reach 127.0.0.1:" in (r.error or "") for r in down), down
        assert PASSWORD not in repr(down)
        assert dispatcher.pending() == 1 and outcomes == []  # still trying, nothing decided

        server.start()
        back = time.monotonic()
        wait_until(lambda: len(server.received) == 1, "the email after the server came back", deadline)
        arrived = time.monotonic()
        assert dispatcher.flush(WAIT)
    finally:
        server.stop()
        dispatcher.shutdown(WAIT)
    assert arrived - submitted < deadline
    assert arrived - back < 2.0, "the retries back off to max_backoff, not further"
    (mail,) = server.received
    assert mail.auth_login == USER and mail.rcpt_tos == ["oncall@example.com"]
    assert mail.message["Subject"] == "[FIRING:CRITICAL] QueueBacklog (queue=ingest)"
    assert dispatcher.counts() == {"email": {"delivered": 1}}
    assert [(o.outcome, o.count) for o in outcomes] == [("delivered", 1)]
    assert [r.ok for _, r in email.results].count(True) == 1


# --- webhook: 500 then 200; 429 with Retry-After -----------------------------------------


def webhook(url: str, **env: str) -> WebhookChannel:
    config, errors = load_webhook_config({"OTEL_PYTHON_ALERTING_WEBHOOK_URL": url, **env})
    assert errors == [] and config is not None
    return WebhookChannel(config)


def test_a_500_then_a_200_delivers_once_after_two_attempts(receiver: HttpReceiver) -> None:
    receiver.script(Reply(500, body=b"upstream unavailable"), Reply(200))
    outcomes: list[DeliveryOutcome] = []
    dispatcher = Dispatcher([webhook(receiver.url)], backoff=0.01, deadline=10.0, listener=outcomes.append)
    try:
        dispatcher.submit([Batch("webhook", (firing(), firing(alert="Second", fingerprint="def456")))])
        assert dispatcher.flush(WAIT)
    finally:
        dispatcher.shutdown(WAIT)
    first, second = receiver.requests  # two attempts reached the receiver, no third
    assert first.body == second.body  # the same document, re-sent
    check_webhook_document(second.json())
    assert [a["labels"]["alertname"] for a in second.json()["alerts"]] == ["QueueBacklog", "Second"]
    # counted once, as two notifications delivered
    assert dispatcher.counts() == {"webhook": {"delivered": 2}}
    assert [(o.outcome, o.count) for o in outcomes] == [("delivered", 2)]


def test_a_429_with_retry_after_is_retried_no_sooner_than_it_asks(receiver: HttpReceiver) -> None:
    receiver.script(Reply(429, headers={"Retry-After": "1"}), Reply(200))
    # a backoff of 10 ms: only Retry-After can explain a wait of a second
    dispatcher = Dispatcher([webhook(receiver.url)], backoff=0.01, max_backoff=0.02, deadline=10.0)
    try:
        dispatcher.submit([Batch("webhook", (firing(),))])
        assert dispatcher.flush(WAIT)
    finally:
        dispatcher.shutdown(WAIT)
    first, second = receiver.requests
    assert 1.0 <= second.at - first.at < 3.0
    assert dispatcher.counts() == {"webhook": {"delivered": 1}}


def test_a_retry_after_beyond_the_deadline_fails_at_once_and_says_why(receiver: HttpReceiver) -> None:
    receiver.script(Reply(429, headers={"Retry-After": "3600"}))
    outcomes: list[DeliveryOutcome] = []
    dispatcher = Dispatcher([webhook(receiver.url)], backoff=0.01, deadline=5.0, listener=outcomes.append)
    try:
        started = time.monotonic()
        dispatcher.submit([Batch("webhook", (firing(),))])
        assert dispatcher.flush(WAIT)
        assert time.monotonic() - started < 2.0  # no waiting for a retry that cannot make the deadline
    finally:
        dispatcher.shutdown(WAIT)
    assert len(receiver.requests) == 1
    assert dispatcher.counts() == {"webhook": {"failed": 1}}
    assert "HTTP 429" in (outcomes[0].error or "")


# --- a receiver that hangs -------------------------------------------------------------


def test_a_hanging_receiver_times_out_and_blocks_neither_the_application_nor_other_channels(
    tmp_path: Path,
    receiver: HttpReceiver,
    second_receiver: HttpReceiver,
    apps: list[App],
) -> None:
    receiver.default = Reply(delay=60.0)  # the webhook's peer accepts and never answers
    handler = Records()
    records = handler.records
    logger = logging.getLogger(ALERTS_LOGGER)
    logger.addHandler(handler)
    try:
        app = App(
            tmp_path,
            {
                "OTEL_PYTHON_ALERTING_CHANNELS": "webhook,slack,log",
                "OTEL_PYTHON_ALERTING_WEBHOOK_URL": receiver.url + "/hook",
                "OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT": "300ms",
                "OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL": second_receiver.url + "/services/T0/B0/XXXXXXXXXXXXXXXX",
            },
        )
        apps.append(app)
        held = [app.evaluate(a=3)]  # HIGH
        receiver.wait_for(1)  # the webhook's first attempt hangs from now on
        # the other channels deliver meanwhile
        second_receiver.wait_for(1)
        wait_until(lambda: len(records) == 1, "the log record")
        assert app.system.dispatcher.counts()["webhook"] == {}
        # the application keeps evaluating, and escalating, while the webhook hangs
        for value in (4, 4, 2, 3):
            held.append(app.evaluate(a=value, b=value))
        # escalations (2), nothing new (0), de-escalations (2), escalations (2)
        second_receiver.wait_for(7)
        wait_until(lambda: len(records) == 7, "the log records of the later evaluations")
        # the channel's own timeout (300 ms) gave up on the first attempt: a retry came
        first, retry = receiver.wait_for(2)
        assert retry.at - first.at >= 0.3
        assert retry.body == first.body
        assert app.system.dispatcher.pending() >= 1  # the webhook's notifications still wait
    finally:
        logger.removeHandler(handler)
    assert max(held) < APP_BOUND, f"evaluations held the application's thread for {held}"
    counts = app.system.dispatcher.counts()
    assert counts["slack"] == {"delivered": 7} and counts["log"] == {"delivered": 7}
    assert "failed" not in counts["webhook"] and "delivered" not in counts["webhook"]


def test_the_delivery_deadline_ends_the_retries_of_a_hanging_receiver_as_failed(receiver: HttpReceiver) -> None:
    receiver.default = Reply(delay=60.0)
    outcomes: list[DeliveryOutcome] = []
    dispatcher = Dispatcher(
        [webhook(receiver.url, OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT="200ms")],
        backoff=0.05,
        deadline=1.0,
        listener=outcomes.append,
    )
    try:
        started = time.perf_counter()
        dispatcher.submit([Batch("webhook", (firing(),))])
        assert time.perf_counter() - started < APP_BOUND
        assert dispatcher.flush(WAIT)
        assert time.perf_counter() - started < 1.0 + 0.5
    finally:
        dispatcher.shutdown(WAIT)
    assert len(receiver.requests) >= 2  # timed out, retried, timed out...
    assert dispatcher.counts() == {"webhook": {"failed": 1}}
    (outcome,) = outcomes
    error = outcome.error or ""
    assert "within 0.2s" in error or error == "delivery deadline exceeded", error


# --- a full queue ------------------------------------------------------------------------


def test_a_full_queue_drops_the_lowest_severities_first_and_counts_them_everywhere(
    tmp_path: Path, receiver: HttpReceiver, apps: list[App], caplog: pytest.LogCaptureFixture
) -> None:
    receiver.script(Reply(delay=1.0))  # the first delivery takes a second: the queue fills behind it
    app = App(
        tmp_path,
        {
            "OTEL_PYTHON_ALERTING_CHANNELS": "webhook",
            "OTEL_PYTHON_ALERTING_WEBHOOK_URL": receiver.url,
            "OTEL_PYTHON_ALERTING_QUEUE_SIZE": "2",
        },
    )
    apps.append(app)
    app.evaluate(inflight=3)
    receiver.wait_for(1)
    # one alert per severity, one group (one batch) each, into a queue of two
    held = app.evaluate(low=1, medium=2, high=3, critical=4)
    assert held < APP_BOUND
    assert app.system.dispatcher.counts()["webhook"] == {"dropped": 2}  # decided in submit, at once
    assert app.system.dispatcher.flush(WAIT)

    assert sorted(alert_ids(receiver.requests)) == ["critical", "high", "inflight"]
    expected = {("webhook", "delivered"): 3, ("webhook", "dropped"): 2}
    assert app.system.dispatcher.counts() == {"webhook": {"delivered": 3, "dropped": 2}}
    assert app.deliveries() == expected
    assert app.notifications_metric() == expected
    dropped = [r.getMessage() for r in caplog.records if "queue full" in r.getMessage()]
    assert any("Backlog (LOW)" in m for m in dropped) and any("Backlog (MEDIUM)" in m for m in dropped)


# --- shutdown ----------------------------------------------------------------------------


def test_a_clean_shutdown_delivers_a_critical_held_behind_a_slow_channel_and_what_waits_in_a_group(
    tmp_path: Path, receiver: HttpReceiver, apps: list[App]
) -> None:
    receiver.default = Reply(delay=0.3)  # slow, but it answers
    app = App(
        tmp_path,
        {"OTEL_PYTHON_ALERTING_CHANNELS": "webhook", "OTEL_PYTHON_ALERTING_WEBHOOK_URL": receiver.url},
        group_by="id",
        group_wait="2s",  # CRITICAL does not wait for it; HIGH does
    )
    apps.append(app)
    app.evaluate(slow=4)
    receiver.wait_for(1)  # in flight
    evaluated = time.monotonic()
    app.evaluate(critical=4, high=3)  # the CRITICAL queues behind it; the HIGH waits for group_wait
    assert app.system.pipeline.pending() == 1

    started = time.monotonic()
    app.shutdown(timeout=5.0)  # as at a clean exit
    took = time.monotonic() - started

    assert took < 5.0
    requests = receiver.requests
    assert sorted(alert_ids(requests)) == ["critical", "high", "slow"]
    assert requests[-1].at - evaluated < 2.0, "the HIGH went out at shutdown, not after its group_wait"
    assert app.system.dispatcher.counts() == {"webhook": {"delivered": 3}}
    assert app.deliveries() == {("webhook", "delivered"): 3}


def test_what_cannot_be_delivered_by_the_shutdown_deadline_is_counted_as_dropped(
    tmp_path: Path, receiver: HttpReceiver, apps: list[App]
) -> None:
    receiver.default = Reply(delay=60.0)
    notify_threads = {t for t in threading.enumerate() if t.name == "otel-alerting-notify"}
    app = App(tmp_path, {"OTEL_PYTHON_ALERTING_CHANNELS": "webhook", "OTEL_PYTHON_ALERTING_WEBHOOK_URL": receiver.url})
    apps.append(app)
    app.evaluate(first=4)
    receiver.wait_for(1)  # in flight, and it will hang
    app.evaluate(second=4, third=3)  # queued behind it

    started = time.monotonic()
    app.shutdown(timeout=0.5)
    assert time.monotonic() - started < 0.5 + 0.5

    # all three are counted: the two queued and the one the hanging peer held
    assert app.system.dispatcher.counts() == {"webhook": {"dropped": 3}}
    assert app.deliveries() == {("webhook", "dropped"): 3}
    assert app.system.dispatcher.pending() == 0
    # and nothing keeps retrying behind the application's back
    left = [t for t in threading.enumerate() if t.name == "otel-alerting-notify" and t not in notify_threads]
    assert not any(t.is_alive() for t in left)
    assert len(receiver.requests) == 1


# --- an idle dispatcher stays idle -------------------------------------------------------


def _cpu_seconds(thread: threading.Thread) -> float:
    """User + system CPU time of one thread, from /proc (Linux)."""
    with open(f"/proc/self/task/{thread.native_id}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_an_alert_that_keeps_firing_after_its_group_interval_leaves_the_notify_thread_idle(
    tmp_path: Path, receiver: HttpReceiver, apps: list[App]
) -> None:
    assert Path("/proc/self/task").is_dir(), "this test reads thread CPU time from /proc (Linux)"
    before = {t for t in threading.enumerate() if t.name == "otel-alerting-notify"}
    # group_interval 0s: from its first delivery on, the group's interval is always over
    app = App(tmp_path, {"OTEL_PYTHON_ALERTING_CHANNELS": "webhook", "OTEL_PYTHON_ALERTING_WEBHOOK_URL": receiver.url})
    apps.append(app)
    (notify,) = [t for t in threading.enumerate() if t.name == "otel-alerting-notify" and t not in before]
    app.evaluate(a=3)
    receiver.wait_for(1)
    assert app.system.dispatcher.flush(WAIT)
    app.evaluate(a=3)  # still firing, unchanged
    start_cpu, start = _cpu_seconds(notify), time.monotonic()
    time.sleep(1.0)  # a measurement window, not a wait for an event
    used = _cpu_seconds(notify) - start_cpu
    assert used < 0.1 * (time.monotonic() - start), f"the notify thread used {used:.2f}s of CPU while idle"
    assert len(receiver.requests) == 1
