"""The webhook channel against a real local HTTP server: Alertmanager's webhook format
field by field, the HMAC signature as a receiver verifies it, retries, timeouts,
configuration, and no secret anywhere."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from otel_alerting.channels.log import LogChannel
from otel_alerting.channels.webhook import (
    SIGNATURE_HEADER,
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    WebhookConfig,
    load_webhook_config,
    webhook_payload,
)
from otel_alerting.notify.dispatcher import Dispatcher
from otel_alerting.notify.model import Batch, Change, Notification, Status
from otel_alerting.rules.model import Severity
from otel_alerting.secrets import Secret

from ..support.http import HttpReceiver, Reply
from ..support.waiting import wait_until
from ..unit.helpers import notification
from .webhook_format import ZERO_TIME, check_webhook_document, parse_rfc3339

URL = "OTEL_PYTHON_ALERTING_WEBHOOK_URL"
HEADERS = "OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS"
KEY = "OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY"
TIMEOUT = "OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT"
ENABLED = "OTEL_PYTHON_ALERTING_WEBHOOK_ENABLED"
MAX_ALERTS = "OTEL_PYTHON_ALERTING_WEBHOOK_MAX_ALERTS"

NOW = 1_750_000_000.0


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as r:
        yield r


def channel_for(url: str, **env: str) -> WebhookChannel:
    config, errors = load_webhook_config({URL: url, **env})
    assert not errors and config is not None
    return WebhookChannel(config)


def send(channel: WebhookChannel, batch: Batch) -> Any:
    async def go() -> Any:
        try:
            return await channel.send(batch)
        finally:
            await channel.close()

    return asyncio.run(go())


def high(**kwargs: Any) -> Notification:
    labels = {"alertname": "QueueBacklog", "queue": "ingest", "server.address": "redis:6379"}
    kwargs.setdefault("labels", labels)
    kwargs.setdefault("starts_at", NOW - 60)
    return notification(
        Severity.HIGH,
        annotations={"summary": "Queue ingest is backing up", "runbook": "https://runbooks/q"},
        at=NOW,
        fingerprint="f00dfeedf00dfeed",
        **kwargs,
    )


def ended(**kwargs: Any) -> Notification:
    return notification(
        Severity.MEDIUM,
        Status.RESOLVED,
        labels={"alertname": "QueueBacklog", "queue": "billing", "server.address": "redis:6379"},
        annotations={"summary": "Queue billing is backing up"},
        starts_at=NOW - 600,
        at=NOW,
        ends_at=NOW - 5,
        fingerprint="0123456789abcdef",
        **kwargs,
    )


# --- the payload -------------------------------------------------------------------------


def test_payload_is_alertmanagers_webhook_format_field_by_field(receiver: HttpReceiver) -> None:
    batch = Batch("webhook", (high(), ended()), group_key='{}/{severity=~"high"}:{alertname="QueueBacklog"}')
    result = send(channel_for(f"{receiver.url}/alerts?token=abc"), batch)
    assert result.ok, result
    (request,) = receiver.wait_for(1)
    assert request.method == "POST" and request.path == "/alerts?token=abc"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("otel-alerting/")
    doc = request.json()
    check_webhook_document(doc)
    assert doc["version"] == "4"
    assert doc["groupKey"] == '{}/{severity=~"high"}:{alertname="QueueBacklog"}'
    assert doc["truncatedAlerts"] == 0
    assert doc["status"] == "firing"  # one alert of the batch fires
    assert doc["receiver"] == "webhook"
    assert doc["groupLabels"] == {}
    assert doc["commonLabels"] == {"alertname": "QueueBacklog", "server_address": "redis:6379"}
    assert doc["commonAnnotations"] == {}
    assert doc["externalURL"] == ""
    first, second = doc["alerts"]
    assert first == {
        "status": "firing",
        "labels": {"alertname": "QueueBacklog", "queue": "ingest", "server_address": "redis:6379", "severity": "high"},
        "annotations": {"summary": "Queue ingest is backing up", "runbook": "https://runbooks/q"},
        "startsAt": "2025-06-15T15:05:40Z",
        "endsAt": ZERO_TIME,
        "generatorURL": "",
        "fingerprint": "f00dfeedf00dfeed",
    }
    assert parse_rfc3339(first["startsAt"]) == NOW - 60
    assert second["status"] == "resolved"
    assert second["labels"]["severity"] == "medium"
    assert parse_rfc3339(second["startsAt"]) == NOW - 600
    assert parse_rfc3339(second["endsAt"]) == NOW - 5
    assert second["fingerprint"] == "0123456789abcdef"


def test_a_batch_of_resolutions_is_resolved_and_keeps_group_labels() -> None:
    batch = Batch("webhook", (ended(),), group_labels={"queue": "billing"})
    doc = webhook_payload(batch)
    check_webhook_document(doc)
    assert doc["status"] == "resolved"
    assert doc["groupLabels"] == {"queue": "billing"}
    assert doc["groupKey"] == '{}:{queue="billing"}'  # Alertmanager's form when the router gave none
    assert doc["commonAnnotations"] == {"summary": "Queue billing is backing up"}


def test_fractional_times_are_written_as_go_does() -> None:
    doc = webhook_payload(Batch("webhook", (high(starts_at=NOW + 0.25),)))
    assert doc["alerts"][0]["startsAt"] == "2025-06-15T15:06:40.25Z"


def test_severity_is_always_the_current_level_and_names_become_label_names() -> None:
    n = high(labels={"alertname": "A", "severity": "page", "1st.try": "x", "a.b": "1", "a_b": "2", "empty": ""})
    labels = webhook_payload(Batch("webhook", (n,)))["alerts"][0]["labels"]
    assert labels == {"alertname": "A", "severity": "high", "key_1st_try": "x", "a_b": "1;2"}


def test_max_alerts_truncates_and_counts() -> None:
    alerts = tuple(high(labels={"alertname": "A", "n": str(i)}) for i in range(5))
    doc = webhook_payload(Batch("webhook", alerts), max_alerts=2)
    check_webhook_document(doc)
    assert len(doc["alerts"]) == 2 and doc["truncatedAlerts"] == 3


# --- signature -------------------------------------------------------------------------------


def verify(key: bytes, headers: dict[str, str], body: bytes, now: float, tolerance: float = 300) -> bool:
    """What a receiver does (the snippet of the docs)."""
    timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
    signature = headers.get(SIGNATURE_HEADER.lower(), "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


def test_signature_verifies_over_timestamp_and_exact_body(receiver: HttpReceiver) -> None:
    key = "s3cr3t-signing-key"
    assert send(channel_for(receiver.url, **{KEY: key}), Batch("webhook", (high(),))).ok
    (request,) = receiver.wait_for(1)
    assert verify(key.encode(), request.headers, request.body, time.time())
    assert int(request.headers[TIMESTAMP_HEADER.lower()]) == pytest.approx(time.time(), abs=5)
    assert not verify(b"another key", request.headers, request.body, time.time())
    assert not verify(key.encode(), request.headers, request.body + b" ", time.time())  # altered body
    assert not verify(key.encode(), request.headers, request.body, time.time() + 3600)  # a replay an hour later
    json.loads(request.body)  # the signed bytes are the JSON document itself


def test_unsigned_requests_carry_no_signature_headers(receiver: HttpReceiver) -> None:
    assert send(channel_for(receiver.url), Batch("webhook", (high(),))).ok
    (request,) = receiver.wait_for(1)
    assert SIGNATURE_HEADER.lower() not in request.headers and TIMESTAMP_HEADER.lower() not in request.headers
    assert not {STANDARD_ID_HEADER, STANDARD_TIMESTAMP_HEADER, STANDARD_SIGNATURE_HEADER} & set(request.headers)


# The Standard Webhooks library's own verifier, as a receiver runs it: ``Webhook(secret)``
# takes a ``whsec_<base64>`` string, or the raw key as bytes.
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the spec's example secret


@pytest.mark.parametrize(
    ("key", "verifier_secret"),
    [
        pytest.param(WHSEC, WHSEC, id="whsec"),
        pytest.param(WHSEC.rstrip("="), WHSEC, id="whsec-unpadded"),
        pytest.param("s3cr3t-signing-key", b"s3cr3t-signing-key", id="raw"),
    ],
)
def test_standard_webhooks_verifier_accepts_the_delivery_and_rejects_a_changed_body(
    receiver: HttpReceiver, key: str, verifier_secret: str | bytes
) -> None:
    assert send(channel_for(receiver.url, **{KEY: key}), Batch("webhook", (high(),))).ok
    (request,) = receiver.wait_for(1)
    verifier = Webhook(verifier_secret)
    document = verifier.verify(request.body, request.headers)
    assert document["alerts"][0]["labels"]["alertname"] == "QueueBacklog"
    assert request.headers[STANDARD_ID_HEADER].startswith("msg_")
    assert request.headers[STANDARD_TIMESTAMP_HEADER] == request.headers[TIMESTAMP_HEADER.lower()]
    assert request.headers[STANDARD_SIGNATURE_HEADER].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        verifier.verify(request.body.replace(b"QueueBacklog", b"QueueBackl0g"), request.headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(request.body, {**request.headers, STANDARD_ID_HEADER: "msg_other"})
    with pytest.raises(WebhookVerificationError):
        Webhook(b"another key").verify(request.body, request.headers)
    # the first scheme's headers ride along, signed with the key's UTF-8 bytes
    assert verify(key.encode(), request.headers, request.body, time.time())


def test_a_retry_keeps_its_webhook_id_and_another_batch_gets_a_new_one(receiver: HttpReceiver) -> None:
    channel = channel_for(receiver.url, **{KEY: WHSEC})
    batch = Batch("webhook", (high(),))

    async def go() -> None:
        try:
            for each in (batch, batch, Batch("webhook", (high(),), repeat=True)):
                assert (await channel.send(each)).ok
        finally:
            await channel.close()

    asyncio.run(go())
    first, retry, repeat = (r.headers[STANDARD_ID_HEADER] for r in receiver.wait_for(3))
    assert first == retry != repeat


def test_a_whsec_key_that_is_not_base64_is_an_error_that_does_not_show_it() -> None:
    bad = "whsec_not*base64!"
    config, errors = load_webhook_config({URL: "https://hooks.example.test/x", KEY: bad})
    assert config is None and [e.variable for e in errors] == [KEY]
    assert "not shown" in str(errors[0]) and bad not in str(errors[0]) and "not*base64" not in repr(errors[0])


def test_a_bad_whsec_key_built_in_code_fails_the_send_without_showing_it(receiver: HttpReceiver) -> None:
    bad = "whsec_not*base64!"
    channel = WebhookChannel(WebhookConfig(Secret(receiver.url), signing_key=Secret(bad)))
    result = send(channel, Batch("webhook", (high(),)))
    assert not result.ok and not result.retryable
    assert "not base64" in (result.error or "") and bad not in (result.error or "")
    assert receiver.requests == []


def test_custom_headers_are_sent(receiver: HttpReceiver) -> None:
    channel = channel_for(receiver.url, **{HEADERS: "Authorization=Bearer%20tok-123, X-Team=payments"})
    assert send(channel, Batch("webhook", (high(),))).ok
    (request,) = receiver.wait_for(1)
    assert request.headers["authorization"] == "Bearer tok-123"
    assert request.headers["x-team"] == "payments"


# --- retries (the status classes, timeouts and refusals: test_contract.py) -----------------------


def test_a_redirect_is_not_followed(receiver: HttpReceiver) -> None:
    receiver.script(Reply(302, headers={"Location": "http://127.0.0.1:1/"}))
    result = send(channel_for(receiver.url), Batch("webhook", (high(),)))
    assert (result.ok, result.retryable, result.retry_after) == (False, False, None)
    assert "HTTP 302" in (result.error or "") and len(receiver.requests) == 1


def test_retry_after_as_an_http_date(receiver: HttpReceiver) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    receiver.script(Reply(429, headers={"Retry-After": when}))
    result = send(channel_for(receiver.url), Batch("webhook", (high(),)))
    assert result.retryable and result.retry_after == pytest.approx(30, abs=2)


def test_500_then_200_is_delivered_by_the_dispatcher(receiver: HttpReceiver) -> None:
    receiver.script(Reply(500), Reply(429, headers={"Retry-After": "0.2"}))  # then the default 200
    dispatcher = Dispatcher([channel_for(receiver.url)], backoff=0.05, deadline=10)
    try:
        dispatcher.submit([Batch("webhook", (high(),))])
        assert dispatcher.flush(10)
    finally:
        dispatcher.shutdown(5)
    requests = receiver.wait_for(3)
    assert len(receiver.requests) == 3
    assert requests[0].body == requests[1].body == requests[2].body  # the same batch, re-sent as is
    assert requests[2].at - requests[1].at >= 0.19  # Retry-After honoured
    assert dispatcher.counts()["webhook"] == {"delivered": 1}


def test_a_hanging_webhook_blocks_neither_the_caller_nor_another_channel(
    receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.script(Reply(200, delay=30))
    log = LogChannel(logging.getLogger("test.webhook.other"))
    dispatcher = Dispatcher([channel_for(receiver.url, **{TIMEOUT: "1s"}), log], deadline=1.5, max_attempts=1)
    try:
        with caplog.at_level(logging.WARNING, logger="test.webhook.other"):
            started = time.monotonic()
            dispatcher.submit([Batch("webhook", (high(),)), Batch("log", (high(),))])
            assert time.monotonic() - started < 0.05  # submit never waits for a channel
            wait_until(lambda: caplog.records, "the log channel, not held by the hanging webhook", 0.5)
            receiver.wait_for(1)
            assert not dispatcher.counts()["webhook"]  # still hanging
        assert dispatcher.flush(5)
        assert dispatcher.counts()["webhook"] == {"failed": 1}
    finally:
        dispatcher.shutdown(5)


# --- configuration -----------------------------------------------------------------------------


def test_not_configured_without_any_variable() -> None:
    assert load_webhook_config({}) == (None, [])


def test_seed_aliases_configure_the_channel() -> None:
    config, errors = load_webhook_config({"ALERT_WEBHOOK_ENABLED": "true", "ALERT_WEBHOOK_URL": "https://h.example/x"})
    assert not errors and config is not None and config.url == Secret("https://h.example/x")
    config, _ = load_webhook_config({URL: "https://new.example/x", "ALERT_WEBHOOK_URL": "https://old.example/x"})
    assert config is not None and config.url == Secret("https://new.example/x")
    assert load_webhook_config({"ALERT_WEBHOOK_ENABLED": "false", "ALERT_WEBHOOK_URL": "https://h.example/x"}) == (
        None,
        [],
    )


def test_defaults() -> None:
    config, _ = load_webhook_config({URL: "http://127.0.0.1/"})
    assert config == WebhookConfig(Secret("http://127.0.0.1/"), (), None, 5.0, 0)


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({ENABLED: "true"}, URL, "needs a URL"),
        ({"ALERT_WEBHOOK_ENABLED": "yes"}, URL, "ALERT_WEBHOOK_ENABLED"),
        ({KEY: "k3y-value"}, URL, KEY),
        ({ENABLED: "maybe", URL: "http://h/"}, ENABLED, "true or false"),
        ({URL: "ftp://h/x"}, URL, "invalid URL"),
        ({URL: "not a url"}, URL, "invalid URL"),
        ({URL: "http://h/", HEADERS: "no-equals-sign"}, HEADERS, "entry #1"),
        ({URL: "http://h/", HEADERS: "Bad Name=v"}, HEADERS, "entry #1"),
        ({URL: "http://h/", TIMEOUT: "soon"}, TIMEOUT, "positive duration"),
        ({URL: "http://h/", TIMEOUT: "0"}, TIMEOUT, "positive duration"),
        ({URL: "http://h/", MAX_ALERTS: "-1"}, MAX_ALERTS, "0 or more"),
    ],
)
def test_configuration_errors_name_the_variable_and_stop_the_channel(
    env: dict[str, str], variable: str, words: str
) -> None:
    config, errors = load_webhook_config(env)
    assert config is None
    assert [e.variable for e in errors] == [variable]
    assert words in errors[0].message


def test_describe_and_repr_name_no_secret() -> None:
    channel = channel_for(
        "https://hooks.example/services/T0/B0/tok3nvalue?sig=qu3ry",
        **{HEADERS: "Authorization=Bearer h3adervalue,X-Team=a", KEY: "k3yvalue"},
    )
    for text in (channel.describe(), repr(channel), repr(channel._config), str(channel._config)):
        for secret in ("tok3nvalue", "qu3ry", "h3adervalue", "k3yvalue"):
            assert secret not in text
    assert (
        channel.describe()
        == "webhook https://hooks.example/[secure] (timeout 5s; headers Authorization, X-Team; signed)"
    )


def test_send_never_raises_on_an_unexpected_error() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    config, _ = load_webhook_config({URL: "http://h.example/x"})
    assert config is not None
    result = send(WebhookChannel(config, transport=httpx.MockTransport(broken)), Batch("webhook", (high(),)))
    assert not result.ok and not result.retryable and "RuntimeError" in (result.error or "")


def test_escalation_keeps_the_fingerprint_and_changes_the_severity_label() -> None:
    n = high(change=Change.ESCALATED, previous_severity=Severity.MEDIUM)
    m = notification(Severity.CRITICAL, labels=n.labels, fingerprint=n.fingerprint, at=NOW)
    first, second = webhook_payload(Batch("webhook", (n, m)))["alerts"]
    assert first["fingerprint"] == second["fingerprint"]
    assert (first["labels"]["severity"], second["labels"]["severity"]) == ("high", "critical")


def test_deliveries_make_no_spans_even_with_httpx_instrumented(receiver: HttpReceiver) -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:

        async def app_and_channel() -> None:
            async with httpx.AsyncClient() as client:  # the application's own request is traced...
                await client.get(receiver.url)
            await channel_for(receiver.url).send(Batch("webhook", (high(),)))  # ...the channel's is not

        asyncio.run(app_and_channel())
    finally:
        instrumentor.uninstrument()
    assert len(receiver.wait_for(2)) == 2
    methods = [dict(span.attributes or {}) for span in exporter.get_finished_spans()]
    assert [m.get("http.request.method", m.get("http.method")) for m in methods] == ["GET"]
