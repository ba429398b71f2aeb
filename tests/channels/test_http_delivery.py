"""The HTTP delivery shared by webhook, alertmanager, slack, mattermost and pagerduty:
one mapping of responses and exceptions (the same status classes and retries in both
wordings), errors scrubbed before they are cut, log records of our own requests
rewritten and the application's left alone, the whole-request limit."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from otel_alerting.channels._http_delivery import (
    HttpSender,
    ServiceWording,
    WebhookWording,
    Wording,
    exception_result,
    response_result,
    url_secrets,
)

from .channel_builders import run

TOKEN = "T0kenInThePath-8675309"
URL = f"https://hooks.example/services/{TOKEN}"
SHOWN = "https://hooks.example/[secure]"
SECRETS = url_secrets(URL, token_in_path=True)
WORDINGS: dict[str, Wording] = {"webhook": WebhookWording(), "slack": ServiceWording("slack")}


def reply(status: int, body: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, text=body, headers=headers)


DELIVERED, RETRIED, REFUSED = (200, 202, 204), (408, 429, 500, 503), (301, 302, 400, 401, 404)
STATUS_CLASSES = [
    *((status, True, False) for status in DELIVERED),
    *((status, False, True) for status in RETRIED),
    *((status, False, False) for status in REFUSED),
]


@pytest.mark.parametrize("wording", sorted(WORDINGS))
@pytest.mark.parametrize(("status", "ok", "retryable"), STATUS_CLASSES)
def test_status_classes_are_the_same_in_both_wordings(wording: str, status: int, ok: bool, retryable: bool) -> None:
    result = response_result(reply(status, headers={"Retry-After": "3"}), SHOWN, WORDINGS[wording], SECRETS)
    assert (result.ok, result.retryable) == (ok, retryable)
    assert result.retry_after == (3.0 if retryable else None)


@pytest.mark.parametrize(
    ("wording", "status", "body", "error"),
    [
        ("webhook", 503, "busy", f"HTTP 503 from {SHOWN}"),
        ("webhook", 302, "", f"HTTP 302 from {SHOWN} (redirects are not followed)"),
        ("webhook", 400, "bad\npayload", f"HTTP 400 from {SHOWN}: bad payload"),
        ("slack", 500, "rollup_error", f"slack: HTTP 500 from {SHOWN}: rollup_error"),
        ("slack", 302, "", f"slack: HTTP 302 from {SHOWN}"),
    ],
)
def test_each_wording_reads_as_documented(wording: str, status: int, body: str, error: str) -> None:
    assert response_result(reply(status, body), SHOWN, WORDINGS[wording], SECRETS).error == error


@pytest.mark.parametrize(
    ("exc", "retryable", "webhook", "slack"),
    [
        (httpx.ReadTimeout("t"), True, f"ReadTimeout: no answer from {SHOWN} within 5s", None),
        (asyncio.TimeoutError(), True, None, f"slack: no answer from {SHOWN} within 5s"),
        (httpx.ConnectError("refused"), True, f"ConnectError talking to {SHOWN} (refused)", None),
        (httpx.UnsupportedProtocol("ftp"), False, f"UnsupportedProtocol for {SHOWN}", None),
        (httpx.InvalidURL("port"), False, None, f"slack: InvalidURL sending to {SHOWN}: port"),
        (
            RuntimeError("boom"),
            False,
            f"RuntimeError sending to {SHOWN}",
            f"slack: RuntimeError sending to {SHOWN}: boom",
        ),
    ],
)
def test_exceptions_map_once_and_read_as_documented(
    exc: BaseException, retryable: bool, webhook: str | None, slack: str | None
) -> None:
    for name, expected in (("webhook", webhook), ("slack", slack)):
        result = exception_result(exc, SHOWN, WORDINGS[name], 5.0, SECRETS)
        assert not result.ok and result.retryable is retryable
        if expected is not None:
            assert result.error == expected


@pytest.mark.parametrize("wording", sorted(WORDINGS))
def test_a_secret_at_the_cut_or_in_a_url_is_not_shown(wording: str) -> None:
    # cut first and cleaned after, the body would show the token's first 15 characters
    at_the_cut = response_result(reply(404, "x" * 185 + TOKEN), SHOWN, WORDINGS[wording], SECRETS)
    in_a_url = response_result(reply(404, f"see {URL}?again=1"), SHOWN, WORDINGS[wording], SECRETS)
    failure = exception_result(httpx.ConnectError(f"cannot reach {URL}"), SHOWN, WORDINGS[wording], 1.0, SECRETS)
    for result in (at_the_cut, in_a_url, failure):
        assert result.error is not None and "[secure]" in result.error
        assert TOKEN[:8] not in result.error
    assert f"see {SHOWN}" in (in_a_url.error or "")


def test_a_long_body_is_quoted_on_one_line_up_to_200_characters() -> None:
    result = response_result(reply(400, "y" * 150 + "\n\t  " + "z" * 150), SHOWN, WebhookWording(), SECRETS)
    assert result.error == f"HTTP 400 from {SHOWN}: " + "y" * 150 + " " + "z" * 48 + "…"


def test_only_our_requests_log_records_are_rewritten(caplog: pytest.LogCaptureFixture) -> None:
    app_url = f"https://app.example/own/{TOKEN}"

    async def both() -> None:
        sender = HttpSender(1.0, SECRETS, WebhookWording(), transport=httpx.MockTransport(lambda _: reply(200)))
        assert (await sender.post_json(URL, b"{}", SHOWN)).ok
        await sender.aclose()
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: reply(200))) as app:
            await app.post(app_url)  # the application's own request, logged as it is

    caplog.set_level(logging.INFO, logger="httpx")
    run(both())
    ours, apps = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert ours.startswith(f"HTTP Request: POST {SHOWN} ") and TOKEN not in ours
    assert apps.startswith(f"HTTP Request: POST {app_url} ")


def test_the_whole_request_limit_cuts_what_no_phase_limit_sees() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        # the peer's slowness under test: a mock transport has no connect or read phase to time out
        await asyncio.sleep(0.3)
        return reply(200)

    async def post(whole_request: bool) -> tuple[bool, bool, str | None]:
        sender = HttpSender(
            0.05, SECRETS, ServiceWording("pagerduty"), whole_request=whole_request, transport=httpx.MockTransport(slow)
        )
        try:
            result = await sender.post_json(URL, b"{}", SHOWN)
        finally:
            await sender.aclose()
        return result.ok, result.retryable, result.error

    assert run(post(False)) == (True, False, None)
    assert run(post(True)) == (False, True, f"pagerduty: no answer from {SHOWN} within 0.05s")


def test_each_loop_gets_its_own_client_and_closes_only_its_own() -> None:
    sender = HttpSender(1.0, (), WebhookWording(), transport=httpx.MockTransport(lambda _: reply(204)))
    clients: list[httpx.AsyncClient] = []

    async def use() -> None:
        assert (await sender.post_json("http://h.example/", b"{}", "http://h.example")).ok
        clients.append(sender._client_for_loop())

    run(use())
    run(use())
    first, second = clients
    assert first is not second
    run(sender.aclose())  # on a third loop: the second loop's client is dropped, not closed
    assert not second.is_closed
