"""The channel contract, run against every channel (as Alertmanager runs
``AssertNotifyLeaksNoSecret`` and ``RetryTests`` against each notifier): no secret
leaks, retry on 5xx and on 429 with Retry-After, a time limit, no retry on a permanent
4xx, and a refused connection is worth a retry. ``contract.ADAPTERS`` says how each
channel meets a failure; where a point does not apply, the adapter says why and the
documented behaviour is checked instead, so every (channel, point) pair below runs.
"""

from __future__ import annotations

import logging

import pytest

from otel_alerting.channels import DeliveryResult

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
