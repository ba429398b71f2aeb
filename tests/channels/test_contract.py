"""The channel contract, run against every channel (as Alertmanager runs
``AssertNotifyLeaksNoSecret`` and ``RetryTests`` against each notifier): no secret
leaks, retry on 5xx and on 429 with Retry-After, a time limit, no retry on a permanent
4xx, and a refused connection is worth a retry. ``contract.ADAPTERS`` says how each
channel meets a failure; where a point does not apply, the adapter says why and the
documented behaviour is checked instead, so every (channel, point) pair below runs.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import re
from collections.abc import Iterator

import pytest

from otel_alerting.channels import DeliveryResult, alertmanager, pagerduty, slack, webhook
from otel_alerting.notify import render
from otel_alerting.notify.model import Notification

from .channel_builders import batch, firing
from .contract import ADAPTERS, RETRY_AFTER, Adapter, Attempt, Failure

#: records made by the test's own peers, which log what they are sent
PEER_LOGGERS = ("mail.log",)


def _cases(points: tuple[Failure, ...]) -> list[tuple[str, Failure, int | None]]:
    cases: list[tuple[str, Failure, int | None]] = []
    for name, adapter in ADAPTERS.items():
        for failure in points:
            statuses: tuple[int | None, ...] = (None,)
            if adapter.instead(failure) is None and failure is Failure.SERVER_ERROR:
                statuses = adapter.retried
            elif adapter.instead(failure) is None and failure is Failure.REJECTED:
                statuses = adapter.rejected
            cases += [(name, failure, status) for status in statuses]
    return cases


def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts: list[str] = []
    for record in caplog.records:
        if record.name.startswith(PEER_LOGGERS):
            continue
        texts += [record.getMessage(), str(record.msg), repr(record.args), record.exc_text or ""]
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(repr(record.exc_info[1]))
    return texts


def assert_no_secret(adapter: Adapter, texts: list[str]) -> None:
    for secret in adapter.secrets:
        for text in texts:
            assert secret not in text, f"{adapter.name}: the secret leaked into {text!r}"
            assert secret[:12] not in text, f"{adapter.name}: part of the secret leaked into {text!r}"


def _texts(attempt: Attempt) -> list[str]:
    return [*attempt.shown, repr(attempt.result), attempt.result.error or ""]


def _run_instead_or(adapter: Adapter, failure: Failure | None) -> bool:
    """Runs the documented check where the point does not apply; True if it did."""
    instead = adapter.instead(failure)
    if instead is None:
        return False
    assert instead.why, f"{adapter.name}: a point that does not apply must say why"
    instead.check()
    return True


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx logs every request URL; httpcore the headers


@pytest.mark.parametrize(("name", "failure", "status"), _cases((Failure.SERVER_ERROR, Failure.REFUSED)))
def test_a_server_error_or_refused_connection_is_retryable(
    name: str, failure: Failure, status: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = ADAPTERS[name]
    if _run_instead_or(adapter, failure):
        return
    attempt = adapter.attempt(failure, status)
    result = attempt.result
    assert not result.ok and result.retryable, result
    assert result.retry_after == (3.0 if status == 503 and name != "email" else None), result
    port = _port(result)
    for words in adapter.words(failure, status, port):
        assert words in (result.error or ""), (words, result.error)
    assert_no_secret(adapter, [*_texts(attempt), *_logged(caplog)])


@pytest.mark.parametrize(("name", "failure", "status"), _cases((Failure.THROTTLED,)))
def test_a_429_is_retryable_after_its_retry_after(
    name: str, failure: Failure, status: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = ADAPTERS[name]
    if _run_instead_or(adapter, failure):
        return
    attempt = adapter.attempt(failure)
    result = attempt.result
    assert not result.ok and result.retryable and result.retry_after == RETRY_AFTER, result
    for words in adapter.words(failure, 429, _port(result)):
        assert words in (result.error or ""), (words, result.error)
    assert_no_secret(adapter, [*_texts(attempt), *_logged(caplog)])


@pytest.mark.parametrize(("name", "failure", "status"), _cases((Failure.TIMEOUT,)))
def test_a_peer_that_does_not_answer_in_time_is_a_retryable_failure_within_the_time_limit(
    name: str, failure: Failure, status: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = ADAPTERS[name]
    if _run_instead_or(adapter, failure):
        return
    attempt = adapter.attempt(failure)
    result = attempt.result
    assert not result.ok and result.retryable, result
    # a shared machine may add to the limit, never halve it
    assert adapter.timeout * 0.8 < attempt.elapsed < adapter.timeout + 1.2, attempt.elapsed
    for words in adapter.words(failure, None, _port(result)):
        assert words in (result.error or ""), (words, result.error)
    assert_no_secret(adapter, [*_texts(attempt), *_logged(caplog)])


@pytest.mark.parametrize(("name", "failure", "status"), _cases((Failure.REJECTED,)))
def test_a_permanent_4xx_is_not_retried(
    name: str, failure: Failure, status: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = ADAPTERS[name]
    if _run_instead_or(adapter, failure):
        return
    attempt = adapter.attempt(failure, status)
    result = attempt.result
    assert not result.ok and not result.retryable and result.retry_after is None, result
    for words in adapter.words(failure, status, _port(result)):
        assert words in (result.error or ""), (words, result.error)
    assert_no_secret(adapter, [*_texts(attempt), *_logged(caplog)])


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_no_secret_in_logs_results_reprs_or_errors_whatever_the_failure(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = ADAPTERS[name]
    if _run_instead_or(adapter, None):
        return
    assert adapter.secrets, f"{name}: the adapter names no secret and gives no reason"
    delivered = [adapter.attempt(None, status) for status in adapter.delivered]
    assert all(a.result == DeliveryResult.delivered() for a in delivered), [a.result for a in delivered]
    assert any(secret in a.peer_saw for a in delivered for secret in adapter.secrets), "the secret was never used"
    texts: list[str] = []
    for attempt in delivered:
        texts += _texts(attempt)
    for failure in Failure:
        statuses = {Failure.SERVER_ERROR: adapter.retried, Failure.REJECTED: adapter.rejected}.get(failure, (None,))
        for status in statuses[:1]:
            # the peer's error bodies quote the request, the secret with it
            attempt = adapter.attempt(failure, status, echo=True)
            assert adapter.instead(failure) is not None or not attempt.result.ok, (failure, attempt.result)
            texts += _texts(attempt)
    texts += adapter.evidence()
    logged = _logged(caplog)
    assert any("HTTP Request" in t for t in logged) or name in ("email", "otel_logs"), "httpx's log was not captured"
    for words in adapter.logs:
        assert any(words in t for t in logged), f"nothing logged {words!r}"
    assert_no_secret(adapter, [*texts, *logged])


def _port(result: DeliveryResult) -> int:
    """The peer's port, as the error names it (0 when it names none)."""
    error = result.error or ""
    marker = "127.0.0.1:"
    if marker not in error:
        return 0
    digits = error.split(marker, 1)[1]
    return int("".join(c for c in digits[:5] if c.isdigit()) or 0)


# --- hostile values: what a label or annotation value can make a channel write ----------------

MEGABYTE = "x" * 1_048_576
#: a value that, written raw, forges a line of its own in the console and the log
FORGED = "ingest\n12:00:00 otel-alerting [RESOLVED:CRITICAL] QueueBacklog queue=ingest value=0 threshold=500"
HOSTILE_LABELS = {
    "alertname": "QueueBacklog",
    "queue": FORGED,
    "crlf": "a\r\nBcc: victim@example.com\r\nSubject: forged",
    "html": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "slack": "<!channel> <@U024BE7LH> <https://evil.example|click here> *bold* `code` &amp;",
    "markdown": "[click](https://evil.example) ![x](https://evil.example/i.png) @all",
    "ansi": "\x1b[2J\x1b[H\x1b]0;owned\x07\x1b[31mred\x00nul\x7fdel\x9bcsi\u202eevil\u2028next",
    "huge": MEGABYTE,
}
HOSTILE_ANNOTATIONS = {
    "summary": "Disk full\r\nBcc: x@example.com <!here> \x1b]2;title\x07 " + MEGABYTE,
    "description": "<b>bold</b>\n# heading\n" + MEGABYTE,
}
#: every control character but the line feed that ends a line
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202e]")


def _hostile(i: int = 0) -> Notification:
    labels = {**HOSTILE_LABELS, "i": str(i)} if i else HOSTILE_LABELS
    return firing(labels=labels, annotations=HOSTILE_ANNOTATIONS, fingerprint=f"fp{i:06d}", expr=MEGABYTE)


def _strings(value: object, skip_plain: bool = False) -> Iterator[str]:
    """Every string of a JSON document that is rendered as markup: Slack's ``plain_text``
    objects (with ``skip_plain``) and the ``fallback`` texts of notifications are shown
    as they are, with no links or mentions."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, skip_plain)
    elif isinstance(value, dict):
        if skip_plain and value.get("type") == "plain_text":
            return
        for key, item in value.items():
            if key != "fallback":
                yield from _strings(item, skip_plain)


def _check_lines(output: bytes, count: int) -> None:
    text = output.decode()
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == count + 1, "a value started a line of its own"
    assert not _CONTROL.search(text), f"a raw control character: {_CONTROL.findall(text)[:5]}"
    assert "\\x1b[2J" in text and "\\n12:00:00" in text  # shown escaped, not dropped


def _check_slack(body: bytes) -> None:
    for text in _strings(json.loads(body), skip_plain=True):
        for markup in ("<!channel>", "<!here>", "<@U", "<https://", "<script>"):
            assert markup not in text, f"{markup!r} reached Slack unescaped: {text[:200]!r}"


def _check_mattermost(body: bytes) -> None:
    for text in _strings(json.loads(body)):
        for markup in ("[click](", "@all", "<script>", "<!here>"):
            assert markup not in text, f"{markup!r} reached Mattermost unescaped: {text[:200]!r}"


def _check_email(raw: bytes) -> None:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_all("Bcc") is None and len(message.get_all("Subject") or []) == 1
    assert "\n" not in str(message["Subject"]) and message["To"] == "oncall@example.com"
    html_part = message.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def _check(name: str, outputs: list[bytes], count: int) -> None:
    if name in ("console", "log"):
        _check_lines(b"".join(outputs), count)
    elif name == "email":
        for raw in outputs:
            _check_email(raw)
    elif name != "otel_logs":
        for body in outputs:
            json.loads(body)  # valid JSON, whatever the values held
            if name == "slack":
                _check_slack(body)
            elif name == "mattermost":
                _check_mattermost(body)


#: bytes one notification may make each channel write when every value is 1 MB
ONE_ALERT_BOUND = 64 * 1024


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_hostile_values_are_escaped_and_a_megabyte_value_gives_bounded_output(name: str) -> None:
    adapter = ADAPTERS[name]
    outputs = adapter.deliver(batch(_hostile()))
    assert outputs, "nothing was delivered"
    size = sum(len(o) for o in outputs)
    print(f"{name}: {len(outputs)} unit(s), {size} bytes for one alert with 1 MB values")
    assert size < ONE_ALERT_BOUND, f"{name} wrote {size} bytes"
    assert b"truncated 10" in b"".join(outputs) or name in ("email", "otel_logs"), "no truncation marker"
    _check(name, outputs, 1)


#: the documented limit of what one delivery writes, per channel (per request, message or line)
UNIT_LIMITS = {
    "console": render.SUMMARY_LIMIT * 6 + 64,  # every character may take six when escaped
    "log": render.LOGFMT_LIMIT + 64,
    "email": 4 * 1024 * 1024,  # 1 MiB of alerts, text and HTML, each quoted-printable or base64
    "slack": slack.BODY_LIMIT,
    "mattermost": slack.BODY_LIMIT,
    "webhook": webhook.BODY_LIMIT,
    "pagerduty": pagerduty.EVENT_LIMIT,
    "otel_logs": 4 * 1024 * 1024,  # the SDK's batch of 200 records
}
STORM = 200


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_a_batch_of_alerts_with_megabyte_values_stays_within_each_channel_s_limits(name: str) -> None:
    adapter = ADAPTERS[name]
    sent = batch(*(_hostile(i) for i in range(1, STORM + 1)))
    outputs = adapter.deliver(sent)
    limit = UNIT_LIMITS.get(name, alertmanager.BODY_LIMIT)
    largest = max(len(o) for o in outputs)
    print(f"{name}: {len(outputs)} unit(s), largest {largest} bytes, total {sum(map(len, outputs))} bytes")
    if name in ("console", "log"):
        lines = b"".join(outputs).split(b"\n")
        assert max(len(line) for line in lines) <= limit
    else:
        assert largest <= limit, f"{name}: {largest} bytes in one delivery"
    _check(name, outputs, STORM)
    if name == "webhook":
        (body,) = outputs
        document = json.loads(body)
        assert document["truncatedAlerts"] > 0 and len(document["alerts"]) + document["truncatedAlerts"] == STORM
    elif name.startswith("alertmanager"):
        assert sum(len(json.loads(o)) for o in outputs) == STORM  # every alert, over several requests
    elif name == "pagerduty":
        assert len(outputs) == STORM
    elif name in ("slack", "mattermost"):
        assert "more alerts" in outputs[0].decode()
