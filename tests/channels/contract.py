"""The channel contract's per-channel adapters (``ADAPTERS``), used by ``test_contract.py``.

An adapter builds its channel against a real local peer that plays one ``Failure``
(the suite's ``HttpReceiver``; aiosmtpd for email; ``HttpReceiver`` as an OTLP/HTTP
logs receiver for otel_logs) and returns what one send did (``Attempt``). Where a
contract point does not apply, ``instead(failure)`` says why and gives the check of
the documented behaviour that the suite runs in its place: no point is silently
skipped.
"""

from __future__ import annotations

import asyncio
import io
import logging
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import aiosmtplib
import httpx
import trustme
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

from otel_alerting.channels import Channel, ConsoleChannel, DeliveryResult, LogChannel
from otel_alerting.channels.alertmanager import AlertmanagerChannel, load_alertmanager_config
from otel_alerting.channels.email import EmailChannel, EmailConfig, load_email_config, smtp_failure
from otel_alerting.channels.otel_logs import EVENT_NAME, OtelLogsChannel
from otel_alerting.channels.pagerduty import PagerDutyChannel, PagerDutyConfig, load_pagerduty_config
from otel_alerting.channels.slack import SlackChannel, SlackConfig, load_mattermost_config, load_slack_config
from otel_alerting.channels.webhook import WebhookChannel, load_webhook_config
from otel_alerting.notify.model import Batch
from otel_alerting.secrets import Secret

from ..support.http import HttpReceiver, Reply
from ..support.ports import free_port
from .channel_builders import batch, firing
from .fake_smtp_service import SmtpServer, server_tls_context
from .services import mattermost_service, pagerduty_service, slack_service

__all__ = ["ADAPTERS", "Adapter", "Attempt", "Failure", "Instead"]


class Failure(Enum):
    SERVER_ERROR = "a 5xx (or 408)"
    THROTTLED = "a 429 with Retry-After"
    TIMEOUT = "no answer within the channel's time limit"
    REJECTED = "a permanent 4xx"
    REFUSED = "connection refused"


#: what the peer answers (the status is the adapter's: HTTP, or SMTP for email)
RETRY_AFTER = 7.0
#: the peer's slowness under test: far beyond every channel's time limit here
HANG = 30.0


@dataclass(frozen=True)
class Attempt:
    result: DeliveryResult
    #: seconds the send took
    elapsed: float
    #: everything the channel shows of itself: reprs, str, describe()
    shown: tuple[str, ...]
    #: what the peer received (headers, paths, bodies), to prove the secret was used
    peer_saw: str = ""


@dataclass(frozen=True)
class Instead:
    """A contract point that does not apply: why, and the documented behaviour checked
    in its place."""

    why: str
    check: Callable[[], None]


def _shown(channel: Channel, config: object) -> tuple[str, ...]:
    texts = [repr(config), str(config), repr(channel), str(channel), channel.describe()]
    describe = getattr(config, "describe", None)
    if describe is not None:
        texts.append(describe())
    return tuple(texts)


def _deliver(channel: Channel, sent: Batch) -> DeliveryResult:
    async def go() -> DeliveryResult:
        try:
            return await channel.send(sent)
        finally:
            await channel.close()

    return asyncio.run(go())


def _timed_send(
    channel: Channel, *, after: Callable[[Channel], Awaitable[None]] | None = None
) -> tuple[DeliveryResult, float]:
    async def go() -> tuple[DeliveryResult, float]:
        started = time.monotonic()
        try:
            result = await channel.send(batch(firing()))
            elapsed = time.monotonic() - started
            if after is not None:
                await after(channel)
            return result, elapsed
        finally:
            await channel.close()

    return asyncio.run(go())


class Adapter(ABC):
    name: str = ""
    #: what must never be shown, and what a telling part of it is (its first 12 characters)
    secrets: tuple[str, ...] = ()
    #: the channel's own time limit in these tests, seconds
    timeout = 0.3
    #: the statuses each failure is played with
    retried: tuple[int, ...] = (408, 500, 502, 503)
    rejected: tuple[int, ...] = (400, 401, 403, 404)
    delivered: tuple[int, ...] = (200,)

    def instead(self, failure: Failure | None) -> Instead | None:
        """None: the point applies (``failure`` None is the no-leak point)."""
        return None

    @abstractmethod
    def attempt(self, failure: Failure | None, status: int | None = None, *, echo: bool = False) -> Attempt:
        """One send against a peer that plays ``failure`` with ``status`` (None: a peer
        that accepts with ``status``); ``echo``: the peer's error body quotes the request."""

    def words(self, failure: Failure, status: int | None, port: int) -> tuple[str, ...]:
        """What the error of ``failure`` says (the channel's documented wording)."""
        return ()

    #: what the logs of the no-leak run must show (the path that could leak did run)
    logs: tuple[str, ...] = ()

    def evidence(self) -> list[str]:
        """Other texts that must not show the secret: loader errors for bad values of
        it, errors made from exceptions that quote it."""
        return []

    @abstractmethod
    def deliver(self, sent: Batch) -> list[bytes]:
        """What a peer that accepts everything received for ``sent``: each request
        body, mail or written line, as it arrived."""


# --- HTTP channels against the one receiver ----------------------------------------------------


class HttpAdapter(Adapter):
    #: the path on the peer (may hold a secret)
    path = "/"

    def receiver(self) -> HttpReceiver:
        return HttpReceiver()

    @abstractmethod
    def channel(self, base: str) -> tuple[Channel, object]:
        """The channel (and its configuration) sending to ``base`` + ``self.path``."""

    def reply(self, failure: Failure | None, status: int | None, echo: bool) -> Reply | None:
        if failure is None:
            return Reply(status) if status is not None else None
        if failure is Failure.THROTTLED:
            return Reply(429, "slow down", {"Retry-After": f"{RETRY_AFTER:g}"}, echo=echo)
        if failure is Failure.TIMEOUT:
            return Reply(200, delay=HANG)
        if failure is Failure.REFUSED:
            return None
        assert status is not None
        headers = {"Retry-After": "3"} if status == 503 else {}
        return Reply(status, f"refused {status}", headers, echo=echo)

    async def after_send(self, channel: Channel) -> None:
        """What the channel does after a send, before it is closed."""

    def attempt(self, failure: Failure | None, status: int | None = None, *, echo: bool = False) -> Attempt:
        with self.receiver() as peer:
            reply = self.reply(failure, status, echo)
            if reply is not None:
                peer.script(reply)
            base = f"http://127.0.0.1:{free_port()}" if failure is Failure.REFUSED else peer.url
            channel, config = self.channel(base)
            result, elapsed = _timed_send(channel, after=self.after_send)
            assert peer.problems == [], peer.problems  # every payload as the service documents it
            seen = "\n".join(f"{r.path}\n{r.headers}\n{r.body.decode(errors='replace')}" for r in peer.requests)
        return Attempt(result, elapsed, _shown(channel, config), seen)

    def deliver(self, sent: Batch) -> list[bytes]:
        with self.receiver() as peer:
            channel, _ = self.channel(peer.url)
            result = _deliver(channel, sent)
            assert result.ok, result
            assert peer.problems == [], peer.problems  # the service takes it as it documents
            return [r.body for r in peer.requests]

    def words(self, failure: Failure, status: int | None, port: int) -> tuple[str, ...]:
        if failure in (Failure.SERVER_ERROR, Failure.REJECTED):
            return (f"HTTP {status}",)
        if failure is Failure.THROTTLED:
            return ("HTTP 429",)
        if failure is Failure.TIMEOUT:
            return (f"within {self.timeout:g}s",)
        return ("ConnectError",)


WEBHOOK_SECRETS = ("tok3n-in-path-webhook", "qu3ry-token-webhook", "h3ader-value-webhook", "s1gning-k3y-webhook")


class WebhookAdapter(HttpAdapter):
    name = "webhook"
    secrets = WEBHOOK_SECRETS
    path = f"/hooks/{WEBHOOK_SECRETS[0]}?token={WEBHOOK_SECRETS[1]}"
    delivered = (200, 204)

    def env(self, base: str) -> dict[str, str]:
        return {
            "OTEL_PYTHON_ALERTING_WEBHOOK_URL": base + self.path,
            "OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS": f"Authorization=Bearer {self.secrets[2]}",
            "OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY": self.secrets[3],
            "OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT": f"{self.timeout * 1000:g}ms",
        }

    def channel(self, base: str) -> tuple[Channel, object]:
        config, errors = load_webhook_config(self.env(base))
        assert not errors and config is not None, errors
        return WebhookChannel(config), config

    def words(self, failure: Failure, status: int | None, port: int) -> tuple[str, ...]:
        shown = f"http://127.0.0.1:{port}/[secure]"
        if failure is Failure.SERVER_ERROR:
            return (f"HTTP {status} from {shown}",)
        if failure is Failure.REJECTED:
            return (f"HTTP {status} from {shown}: refused {status}",)
        if failure is Failure.TIMEOUT:
            return (f"ReadTimeout: no answer from {shown} within {self.timeout:g}s",)
        return super().words(failure, status, port)

    def evidence(self) -> list[str]:
        def failing(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError(f"cannot reach {request.url} with {request.headers['authorization']}")

        config, _ = load_webhook_config(self.env("http://h.example"))
        assert config is not None
        result, _ = _timed_send(WebhookChannel(config, transport=httpx.MockTransport(failing)))
        texts = [result.error or ""]
        for bad in (
            {"OTEL_PYTHON_ALERTING_WEBHOOK_URL": "ftp://h.example" + self.path},
            {
                "OTEL_PYTHON_ALERTING_WEBHOOK_URL": "http://h/",
                "OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS": f"Bad Name={self.secrets[2]}",
            },
        ):
            texts += [str(e) for e in load_webhook_config(bad)[1]]
        return texts


class ServiceAdapter(HttpAdapter):
    """Slack and Mattermost: the token is the webhook URL's last path segment."""

    service: str = "slack"

    def receiver(self) -> HttpReceiver:
        return (slack_service if self.service == "slack" else mattermost_service)(self.path)

    def channel(self, base: str) -> tuple[Channel, object]:
        config = SlackConfig(Secret(base + self.path), self.service, None, None, self.timeout)  # type: ignore[arg-type]
        return SlackChannel(config), config

    def words(self, failure: Failure, status: int | None, port: int) -> tuple[str, ...]:
        shown = f"http://127.0.0.1:{port}/[secure]"
        if failure in (Failure.SERVER_ERROR, Failure.REJECTED):
            return (f"{self.name}: HTTP {status} from {shown}: refused {status}",)
        if failure is Failure.TIMEOUT:
            return (f"{self.name}: no answer from {shown} within {self.timeout:g}s",)
        return super().words(failure, status, port)

    def evidence(self) -> list[str]:
        loader = load_slack_config if self.service == "slack" else load_mattermost_config
        variable = f"OTEL_PYTHON_ALERTING_{self.service.upper()}_WEBHOOK_URL"
        texts: list[str] = []
        for url in (f"htp:/broken{self.path}", f"http://127.0.0.1:99999{self.path}"):
            config, errors = loader({variable: url})
            texts += [repr(config), *(str(e) for e in errors), *(repr(e) for e in errors)]
        broken = SlackChannel(SlackConfig(Secret(f"http://127.0.0.1:99999{self.path}"), self.service, timeout=1.0))  # type: ignore[arg-type]
        result, _ = _timed_send(broken)  # httpx rejects the URL itself: its message quotes it
        assert not result.ok
        return [*texts, result.error or "", repr(result)]


class SlackAdapter(ServiceAdapter):
    name = service = "slack"
    secrets = ("sLackT0kenLeakCheck2718281828",)
    path = f"/services/T0001/B0001/{secrets[0]}"
    rejected = (400, 403, 404, 410)


class MattermostAdapter(ServiceAdapter):
    name = service = "mattermost"
    secrets = ("mmHookKeyLeakCheck1414213562",)
    path = f"/hooks/{secrets[0]}"


class PagerDutyAdapter(HttpAdapter):
    name = "pagerduty"
    secrets = ("PdR0utingKeyLeakCheck16180339887",)  # 32 characters, as PagerDuty requires
    path = "/v2/enqueue"
    delivered = (202,)

    def receiver(self) -> HttpReceiver:
        return pagerduty_service()

    def channel(self, base: str) -> tuple[Channel, object]:
        config = PagerDutyConfig(Secret(self.secrets[0]), base + self.path, "svc", self.timeout)
        return PagerDutyChannel(config), config

    def words(self, failure: Failure, status: int | None, port: int) -> tuple[str, ...]:
        shown = f"http://127.0.0.1:{port}/v2/enqueue"
        if failure in (Failure.SERVER_ERROR, Failure.REJECTED):
            return (f"pagerduty: HTTP {status} from {shown}: refused {status}",)
        if failure is Failure.TIMEOUT:
            return (f"pagerduty: no answer from {shown} within {self.timeout:g}s",)
        return super().words(failure, status, port)

    def evidence(self) -> list[str]:
        texts: list[str] = []
        for key in (self.secrets[0] + "x", self.secrets[0]):
            config, errors = load_pagerduty_config({"OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": key})
            texts += [repr(config), *(str(e) for e in errors), *(repr(e) for e in errors)]
        return texts


class AlertmanagerAdapter(HttpAdapter):
    """``auth``: ``bearer`` (and a token in the path), ``basic``, or ``userinfo`` (the
    credentials in the URL itself). Each failed send is followed by a re-send, whose
    failure is logged."""

    delivered = (200, 204)
    logs = ("re-sending 1 alert(s) to Alertmanager failed",)

    def __init__(self, auth: str) -> None:
        self.auth = auth
        self.ahead = 0.0
        self.name = "alertmanager" if auth == "bearer" else f"alertmanager-{auth}"
        self.secrets = {
            "bearer": ("b3arer-t0ken-am", "t0kenInPath-1234567"),
            "basic": ("pa55word-basic-am", "t0kenInPath-1234567"),
            "userinfo": ("us3rpass-in-url", "t0kenInPath-1234567"),
        }[auth]
        self.path = f"/{self.secrets[1]}"

    def env(self, base: str) -> dict[str, str]:
        env = {"OTEL_PYTHON_ALERTING_ALERTMANAGER_TIMEOUT": f"{self.timeout * 1000:g}ms"}
        if self.auth == "bearer":
            env["OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN"] = self.secrets[0]
        elif self.auth == "basic":
            env["OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME"] = "admin"
            env["OTEL_PYTHON_ALERTING_ALERTMANAGER_PASSWORD"] = self.secrets[0]
        else:
            base = base.replace("http://", f"http://admin:{self.secrets[0]}@")
        env["OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS"] = base + self.path
        return env

    def channel(self, base: str) -> tuple[Channel, object]:
        config, errors = load_alertmanager_config(self.env(base))
        assert not errors and config is not None, errors
        return AlertmanagerChannel(config, clock=self.clock), config

    def clock(self) -> float:
        return time.time() + self.ahead

    async def after_send(self, channel: Channel) -> None:
        assert isinstance(channel, AlertmanagerChannel)
        self.ahead = 3600.0  # past any re-send delay: the re-send path runs, and logs, too
        try:
            await channel.resend_due()
        finally:
            self.ahead = 0.0

    def evidence(self) -> list[str]:
        texts: list[str] = []
        for bad in (
            {"OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS": f"ftp://admin:{self.secrets[0]}@am/{self.secrets[1]}"},
            {
                "OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS": f"http://admin:{self.secrets[0]}@am/{self.secrets[1]}",
                "OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN": self.secrets[0],
            },
            {
                "OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS": "http://am",
                "OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN": self.secrets[0],
                "OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME": "u",
            },
        ):
            texts += [str(e) for e in load_alertmanager_config(bad)[1]]
        return texts


# --- email against aiosmtpd ---------------------------------------------------------------------

EMAIL_USER = "alerts@example.com"
#: SMTP's transient (4xx) and permanent (5xx) replies stand for HTTP's 5xx and 4xx
SMTP_REPLIES = {
    451: "451 4.3.0 Try again later",
    452: "452 4.3.1 Out of storage",
    421: "421 4.7.0 Too many messages, slow down",
    554: "554 5.7.1 Rejected",
    550: "550 5.1.1 Mailbox unavailable",
}


class EmailAdapter(Adapter):
    name = "email"
    secrets = ("Smtp-P4ssw0rd-leakcheck-31415",)
    timeout = 1.0  # STARTTLS and AUTH in every send, on a shared machine
    retried = (451, 452)
    rejected = (554, 550)
    delivered = (250,)

    def __init__(self) -> None:
        self._tls: tuple[ssl.SSLContext, str] | None = None

    def tls(self) -> tuple[ssl.SSLContext, str]:
        """A server certificate and the CA file that trusts it, made once."""
        if self._tls is None:
            ca = trustme.CA()
            ca_file = Path(self._tmp()) / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_file))
            self._tls = (server_tls_context(ca.issue_cert("127.0.0.1")), str(ca_file))
        return self._tls

    @staticmethod
    def _tmp() -> str:
        import tempfile

        return tempfile.mkdtemp(prefix="contract-email-")

    def config(self, port: int, password: str | None = None) -> EmailConfig:
        _, ca_file = self.tls()
        return EmailConfig(
            "127.0.0.1",
            EMAIL_USER,
            ("oncall@example.com",),
            port,
            EMAIL_USER,
            Secret(password or self.secrets[0]),
            "starttls",
            True,
            ca_file,
            self.timeout,
        )

    @contextmanager
    def server(self, port: int, password: str) -> Iterator[SmtpServer]:
        context, _ = self.tls()
        with SmtpServer(port, starttls=context, users={EMAIL_USER: password}) as server:
            yield server

    def attempt(self, failure: Failure | None, status: int | None = None, *, echo: bool = False) -> Attempt:
        port = free_port()
        channel = EmailChannel(self.config(port))
        shown = _shown(channel, channel._config)
        if failure is Failure.REFUSED:
            result, elapsed = _timed_send(channel)
            return Attempt(result, elapsed, shown)
        with self.server(port, self.secrets[0]) as server:
            if failure is Failure.TIMEOUT:
                server.data_delay = HANG
            elif failure is not None:
                status = 421 if failure is Failure.THROTTLED else status
                assert status is not None
                reply = SMTP_REPLIES[status]
                server.data_reply = f"{reply} for {self.secrets[0]}" if echo else reply  # a server that echoes it
            result, elapsed = _timed_send(channel)
            # the server takes AUTH only with this password: a mail it accepted saw it
            seen = self.secrets[0] if any(mail.auth_login == EMAIL_USER for mail in server.received) else ""
        return Attempt(result, elapsed, shown, seen)

    def deliver(self, sent: Batch) -> list[bytes]:
        port = free_port()
        with self.server(port, self.secrets[0]) as server:
            result = _deliver(EmailChannel(self.config(port)), sent)
            assert result.ok, result
            return [mail.raw for mail in server.received]

    def instead(self, failure: Failure | None) -> Instead | None:
        if failure is not Failure.THROTTLED:
            return None

        def check() -> None:
            attempt = self.attempt(Failure.SERVER_ERROR, 421)
            assert not attempt.result.ok and attempt.result.retryable, attempt.result
            assert attempt.result.retry_after is None  # the dispatcher's own backoff applies

        return Instead("SMTP has no Retry-After: a 421 (slow down) is retryable, with the dispatcher's backoff", check)

    def words(self, failure: Failure, status: int | None, port: int) -> tuple[str, ...]:
        if failure in (Failure.SERVER_ERROR, Failure.REJECTED):
            return (str(status),)
        if failure is Failure.TIMEOUT:
            return (f"email: no answer from 127.0.0.1:{port} within {self.timeout:g}s",)
        return ("cannot reach 127.0.0.1:",)

    def evidence(self) -> list[str]:
        password = self.secrets[0]
        port = free_port()
        channel = EmailChannel(self.config(port))
        with self.server(port, "another-password"):
            refused, _ = _timed_send(channel)  # the password is refused
        assert not refused.ok and not refused.retryable, refused
        texts = [refused.error or "", repr(refused)]
        for exc in (
            aiosmtplib.SMTPAuthenticationError(535, f"bad {password}"),
            OSError(f"x {password}"),
            ValueError(password),
        ):
            texts.append(smtp_failure(exc, "h:25", 1.0, [Secret(password)]).error or "")
        base = {"ALERT_SMTP_HOST": "h", "ALERT_TO_EMAILS": "a@example.com", "ALERT_SMTP_PASSWORD": password}
        for env in (base, {**base, "ALERT_SMTP_USER": "a@example.com"}):
            config, errors = load_email_config(env)
            texts += [repr(config), *(str(e) for e in errors), *(repr(e) for e in errors)]
        return texts


# --- otel_logs: the SDK's OTLP exporter to the receiver ----------------------------------------


class OtelLogsAdapter(Adapter):
    """The channel hands records to the SDK's logs pipeline: its send succeeds once they
    are handed over, and the OTLP exporter delivers them on its own, retrying 429, 502,
    503 and 504 (honouring Retry-After) and connection errors within its own timeout.
    The secret is the exporter's: an Authorization header to the collector."""

    name = "otel_logs"
    secrets = ("0tlp-Auth-T0ken-leakcheck-577215",)
    timeout = 1.0  # the exporter's
    retried = (503,)
    rejected = (400,)

    @contextmanager
    def pipeline(self, peer_url: str, timeout: float) -> Iterator[tuple[OtelLogsChannel, LoggerProvider]]:
        exporter = OTLPLogExporter(
            f"{peer_url}/v1/logs", headers={"Authorization": f"Bearer {self.secrets[0]}"}, timeout=timeout
        )
        provider = LoggerProvider()
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=10))
        try:
            yield OtelLogsChannel(logger_provider=provider), provider
        finally:
            provider.shutdown()

    def receiver(self) -> HttpReceiver:
        return HttpReceiver(Reply(200, headers={"Content-Type": "application/x-protobuf"}))

    def reply(self, failure: Failure | None, status: int | None) -> Reply | None:
        if failure is Failure.THROTTLED:
            return Reply(429, headers={"Retry-After": "0.5"})
        if failure is Failure.TIMEOUT:
            return Reply(200, delay=HANG)
        if failure in (Failure.SERVER_ERROR, Failure.REJECTED):
            assert status is not None
            return Reply(status, f"refused {status}")
        return None

    def run(self, failure: Failure | None, status: int | None = None) -> tuple[Attempt, HttpReceiver, float]:
        """The attempt, the peer, and how long flushing the exporter took."""
        with self.receiver() as peer:
            reply = self.reply(failure, status)
            if reply is not None:
                peer.script(reply)
            url = f"http://127.0.0.1:{free_port()}" if failure is Failure.REFUSED else peer.url
            # the exporter's first backoff is about 1 s: its time limit must leave room for it
            timeout = 3.0 if failure is Failure.SERVER_ERROR else self.timeout
            with self.pipeline(url, timeout) as (channel, provider):
                started = time.monotonic()
                result = asyncio.run(channel.send(batch(firing())))
                elapsed = time.monotonic() - started
                flushed = time.monotonic()
                provider.force_flush(int(timeout * 1000 * 3))
                flush_took = time.monotonic() - flushed
                shown = (repr(channel), str(channel), channel.describe())
            seen = "\n".join(str(r.headers) for r in peer.requests)
        return Attempt(result, elapsed, shown, seen), peer, flush_took

    def attempt(self, failure: Failure | None, status: int | None = None, *, echo: bool = False) -> Attempt:
        return self.run(failure, status)[0]

    def deliver(self, sent: Batch) -> list[bytes]:
        with self.receiver() as peer:
            with self.pipeline(peer.url, self.timeout * 5) as (channel, provider):
                result = asyncio.run(channel.send(sent))
                assert result.ok, result
                assert provider.force_flush(int(self.timeout * 5000))
            return [r.body for r in peer.requests]

    def instead(self, failure: Failure | None) -> Instead | None:
        if failure is None:
            return None
        why = {
            Failure.SERVER_ERROR: "the OTLP exporter retries a 503 itself: the send is delivered, the peer gets two",
            Failure.THROTTLED: "the OTLP exporter waits the 429's Retry-After itself before its retry",
            Failure.TIMEOUT: "the send never waits for the collector; the exporter gives up within its own timeout",
            Failure.REJECTED: "the OTLP exporter does not retry a 400: one request, the send still delivered",
            Failure.REFUSED: "the send never waits for the collector; the exporter gives up within its own timeout",
        }[failure]

        def check() -> None:
            status = {Failure.SERVER_ERROR: 503, Failure.REJECTED: 400}.get(failure)
            attempt, peer, flush_took = self.run(failure, status)
            assert attempt.result == DeliveryResult.delivered(), attempt.result
            assert attempt.elapsed < 0.5, "the send waited for the collector"
            requests = peer.requests
            if failure in (Failure.SERVER_ERROR, Failure.THROTTLED):
                first, retry = requests
                assert retry.body == first.body
                records = [
                    record
                    for resource in ExportLogsServiceRequest.FromString(retry.body).resource_logs
                    for scope in resource.scope_logs
                    for record in scope.log_records
                ]
                assert [r.event_name for r in records] == [EVENT_NAME]
                if failure is Failure.THROTTLED:
                    assert retry.at - first.at >= 0.45, "the exporter did not wait for Retry-After"
            elif failure is Failure.REJECTED:
                assert len(requests) == 1
            else:
                assert flush_took < self.timeout + 1.5, f"the exporter took {flush_took:.2f}s to give up"

        return Instead(why, check)


# --- log and console: no remote ----------------------------------------------------------------


class LocalAdapter(Adapter):
    """log and console write locally: no peer to fail, retry or time out, and no secret
    in their configuration."""

    def make(self) -> Channel:
        return LogChannel() if self.name == "log" else ConsoleChannel(io.StringIO())

    def deliver(self, sent: Batch) -> list[bytes]:
        if self.name == "console":
            stream = io.StringIO()
            assert _deliver(ConsoleChannel(stream, colour="never"), sent).ok
            return [stream.getvalue().encode()]
        # the line a handler with the usual format writes
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        logger = logging.getLogger("otel_alerting.alerts")
        logger.addHandler(handler)
        try:
            assert _deliver(LogChannel(), sent).ok
        finally:
            logger.removeHandler(handler)
        return [stream.getvalue().encode()]

    def attempt(self, failure: Failure | None, status: int | None = None, *, echo: bool = False) -> Attempt:
        channel = self.make()
        result, elapsed = _timed_send(channel)
        return Attempt(result, elapsed, (repr(channel), channel.describe()))

    def instead(self, failure: Failure | None) -> Instead | None:
        def check() -> None:
            attempt = self.attempt(None)
            assert attempt.result == DeliveryResult.delivered(), attempt.result
            assert attempt.elapsed < 1.0
            assert self.make().describe().startswith(self.name)
            if self.name == "console":  # its one failure: the stream is gone, which a retry cannot mend

                class Broken(io.StringIO):
                    def write(self, s: str) -> int:
                        raise OSError("stream closed")

                result, _ = _timed_send(ConsoleChannel(Broken()))
                assert not result.ok and not result.retryable and result.retry_after is None

        what = "no secret in its configuration" if failure is None else f"no remote peer to give {failure.value}"
        return Instead(f"{self.name} writes locally, {what}: a send is delivered at once", check)


class LogAdapter(LocalAdapter):
    name = "log"


class ConsoleAdapter(LocalAdapter):
    name = "console"


ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter
    for adapter in (
        LogAdapter(),
        ConsoleAdapter(),
        EmailAdapter(),
        SlackAdapter(),
        MattermostAdapter(),
        WebhookAdapter(),
        PagerDutyAdapter(),
        AlertmanagerAdapter("bearer"),
        AlertmanagerAdapter("basic"),
        AlertmanagerAdapter("userinfo"),
        OtelLogsAdapter(),
    )
}
