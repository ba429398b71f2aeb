"""HTTP delivery of the webhook, alertmanager, slack (and mattermost) and pagerduty
channels: each owns one ``HttpSender``, whose ``post`` never raises and returns a
``DeliveryResult``, mapped the same way for all of them:

    2xx                                         -> delivered
    408, 429, 5xx                               -> retryable (``Retry-After`` honoured)
    3xx (redirects are not followed), other 4xx -> not retryable
    timeout, refused, DNS, TLS, reset           -> retryable
    an unusable URL, any other exception        -> not retryable

* one ``httpx.AsyncClient`` per process and event loop: a client's connections belong
  to the loop and the process that opened them, so after ``fork()`` or on another
  loop a new one is opened and the old one is dropped, never touched;
* httpx's timeout applies to each phase (connect, write, read); ``whole_request``
  adds one limit on the whole request, connection included;
* the requests run with OpenTelemetry instrumentation suppressed: the plugin's own
  traffic makes no spans or metrics;
* webhook URLs carry their token (path, query, user info), and httpx logs every
  request URL at INFO (httpcore the response headers, a ``Location``, at DEBUG): the
  records made during our requests are rewritten, and every error text is scrubbed
  of the channel's secrets, with any URL in it reduced to scheme and host;
* errors are worded as each channel documents them (``Wording``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.utils
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
from opentelemetry.instrumentation.utils import suppress_instrumentation

from ..config import ConfigError, EnvReader
from ..notify.channel import DeliveryResult
from ..notify.render import one_line, truncate
from ..secrets import Secret, clean, install_filter, longest_first, own_requests
from ..version import __version__

__all__ = [
    "USER_AGENT",
    "HttpSender",
    "ServiceWording",
    "WebhookWording",
    "Wording",
    "exception_result",
    "header_secrets",
    "http_url",
    "parse_headers",
    "read_headers",
    "response_result",
    "retry_after_seconds",
    "url_secrets",
]

USER_AGENT = f"otel-alerting/{__version__}"

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_EXCERPT = 200


# --- configuration ---------------------------------------------------------------------


def parse_headers(value: str, variable: str) -> tuple[tuple[tuple[str, Secret], ...], list[ConfigError]]:
    """``Authorization=Bearer x,X-Team=a`` (keys and values URL-decoded, as
    ``OTEL_EXPORTER_OTLP_HEADERS``). Errors name the entry, never its value."""
    headers: list[tuple[str, Secret]] = []
    errors: list[ConfigError] = []
    for index, part in enumerate(value.split(","), start=1):
        if not part.strip():
            continue
        key, sep, item = part.partition("=")
        name = unquote(key.strip())
        text = unquote(item.strip())
        if not sep or not _TOKEN.match(name):
            errors.append(ConfigError(variable, f"entry #{index} is not NAME=value with a valid header name"))
        elif any(c in text for c in "\r\n\0"):
            errors.append(ConfigError(variable, f"the value of header {name} holds a line break or NUL"))
        else:
            headers.append((name, Secret(text)))
    return tuple(headers), errors


def read_headers(env: EnvReader, name: str) -> tuple[tuple[str, Secret], ...]:
    """The headers in variable ``name`` (see ``parse_headers``); errors go to ``env``."""
    value, variable = env.lookup(name)
    if value is None:
        return ()
    headers, errors = parse_headers(value, variable)
    env.errors += errors
    return headers


def http_url(url: str) -> bool:
    """Whether ``url`` is an ``http(s)`` URL with a host that httpx can send to."""
    try:
        parts = urlsplit(url)
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# --- what must never be shown ----------------------------------------------------------


def header_secrets(headers: Iterable[tuple[str, Secret]]) -> list[str]:
    """Each header value, and its credential alone (``Bearer abc`` -> ``abc`` too)."""
    found: list[str] = []
    for _, value in headers:
        text = value.reveal()
        found.append(text)
        scheme, sep, credential = text.partition(" ")
        if sep and scheme.isalpha() and credential.strip():
            found.append(credential.strip())
    return found


def url_secrets(url: str | Secret, *, token_in_path: bool = False) -> list[str]:
    """The URL and the parts of it that may be a token on their own: the path (Slack's
    ``/services/T/B/XXXX``), the query and its values, the password, long path
    segments; with ``token_in_path``, the last path segment however short (Slack's
    token, Mattermost's key)."""
    text = url.reveal() if isinstance(url, Secret) else url
    found = [text]
    try:
        found.append(str(httpx.URL(text)))
        parts = urlsplit(text)
        found += [parts.path if parts.path not in ("", "/") else "", parts.query, parts.password or ""]
        if parts.password:  # httpx sends user info as basic authentication
            found.append(
                base64.b64encode(f"{unquote(parts.username or '')}:{unquote(parts.password)}".encode()).decode()
            )
        found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
        segments = parts.path.rstrip("/").split("/")
        found += [segment for segment in segments if len(segment) >= 12]
        if token_in_path:
            found.append(segments[-1])
    except ValueError:
        pass
    found += [unquote(item) for item in found]
    return longest_first(found)


def _excerpt(text: str, secrets: Iterable[str]) -> str:
    """The start of ``text`` on one line, cleaned before it is cut (a secret cut in
    two would no longer be recognised)."""
    return truncate(" ".join(one_line(clean(text, secrets)).split()), _EXCERPT)


# --- results ---------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds == float("inf"):
        return None
    return max(seconds, 0.0)


def _retryable_status(status: int) -> bool:
    """Come back later (408, 429) or the server's problem (5xx)."""
    return status in (408, 429) or status >= 500


def _timed_out(exc: BaseException) -> bool:
    # asyncio's: the whole-request limit; httpx's: the limit of one phase
    return isinstance(exc, asyncio.TimeoutError | httpx.TimeoutException)


def _unusable_url(exc: BaseException) -> bool:
    return isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL)


def _retryable_exception(exc: BaseException) -> bool:
    """A timeout or a transport failure (refused, DNS, TLS, reset); not a URL that
    cannot work, nor a bug."""
    return _timed_out(exc) or (isinstance(exc, httpx.TransportError) and not _unusable_url(exc))


class Wording(Protocol):
    """How a channel's errors read (``docs/channels.md`` quotes them). ``shown`` names
    the target (a redacted URL); ``body`` and ``detail`` are already cleaned."""

    def status(self, status: int, shown: str, body: str) -> str: ...

    def exception(self, exc: BaseException, shown: str, timeout: float, detail: str) -> str: ...


class WebhookWording:
    """webhook and alertmanager: ``HTTP 503 from http://am:9093``, led by the
    exception's type (``ReadTimeout: no answer from ...``); only a rejected request
    quotes the body."""

    def status(self, status: int, shown: str, body: str) -> str:
        if _retryable_status(status):
            return f"HTTP {status} from {shown}"
        if 300 <= status < 400:
            return f"HTTP {status} from {shown} (redirects are not followed)"
        return f"HTTP {status} from {shown}" + (f": {body}" if body else "")

    def exception(self, exc: BaseException, shown: str, timeout: float, detail: str) -> str:
        kind = type(exc).__name__
        if _timed_out(exc):
            return f"{kind}: no answer from {shown} within {timeout:g}s"
        if _unusable_url(exc):
            return f"{kind} for {shown}"
        if isinstance(exc, httpx.TransportError):
            return f"{kind} talking to {shown}" + (f" ({detail})" if detail else "")
        return f"{kind} sending to {shown}"


@dataclass(frozen=True)
class ServiceWording:
    """slack, mattermost and pagerduty: led by the channel's name, quoting the body of
    every failed status (``slack: HTTP 404 from https://hooks.slack.com/[secure]:
    no_service``)."""

    channel: str

    def status(self, status: int, shown: str, body: str) -> str:
        return f"{self.channel}: HTTP {status} from {shown}" + (f": {body}" if body else "")

    def exception(self, exc: BaseException, shown: str, timeout: float, detail: str) -> str:
        if _timed_out(exc):
            return f"{self.channel}: no answer from {shown} within {timeout:g}s"
        return f"{self.channel}: {type(exc).__name__} sending to {shown}" + (f": {detail}" if detail else "")


def _body(response: httpx.Response) -> str:
    try:
        return response.text
    except Exception:  # an undecodable body is not quoted
        return ""


def response_result(response: httpx.Response, shown: str, wording: Wording, secrets: Iterable[str]) -> DeliveryResult:
    """2xx delivered; 408, 429 and 5xx retryable (honouring ``Retry-After``); the rest not."""
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult.delivered()
    error = wording.status(status, shown, _excerpt(_body(response), secrets))
    if _retryable_status(status):
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        return DeliveryResult.failed(error, retryable=True, retry_after=wait)
    return DeliveryResult.failed(error, retryable=False)


def exception_result(
    exc: BaseException, shown: str, wording: Wording, timeout: float, secrets: Iterable[str]
) -> DeliveryResult:
    """A timeout or transport error is retryable; an unusable URL or a bug is not."""
    error = wording.exception(exc, shown, timeout, _excerpt(str(exc), secrets))
    return DeliveryResult.failed(error, retryable=_retryable_exception(exc))


# --- the sender ------------------------------------------------------------------------


class HttpSender:
    """One channel's requests: the client of the running loop in this process, its
    time limits, and its results, worded by ``wording`` and scrubbed of ``secrets``."""

    def __init__(
        self,
        timeout: float,
        secrets: Iterable[str | Secret | None],
        wording: Wording,
        *,
        whole_request: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._secrets = tuple(longest_first(secrets))
        self._wording = wording
        self._whole_request = whole_request
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._owner: tuple[int, asyncio.AbstractEventLoop] | None = None
        install_filter()

    def _client_for_loop(self) -> httpx.AsyncClient:
        owner = (os.getpid(), asyncio.get_running_loop())
        if self._client is None or self._owner != owner:
            # Another loop's or the parent's client is dropped, not closed: closing
            # it here would touch connections this loop and process do not own.
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                transport=self._transport,
                follow_redirects=False,  # a redirect could carry the request to another host
                headers={"User-Agent": USER_AGENT},
            )
            self._owner = owner
        return self._client

    async def _send(self, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        # set before wait_for: its task copies the context
        with own_requests(self._secrets), suppress_instrumentation():
            headers = {**headers, "Content-Type": "application/json"}
            request = self._client_for_loop().post(url, content=body, headers=headers)
            if self._whole_request:
                return await asyncio.wait_for(request, self._timeout)
            return await request

    async def post_json(
        self, url: str, body: bytes, shown: str, headers: Mapping[str, str] | None = None
    ) -> DeliveryResult:
        """POST the JSON ``body`` to ``url``; never raises. ``shown`` names the target in
        errors (a redacted URL)."""
        try:
            response = await self._send(url, body, headers or {})
        except Exception as exc:  # an invalid URL, a bug: never raise into the dispatcher
            return self.failure(exc, shown)
        return response_result(response, shown, self._wording, self._secrets)

    def failure(self, exc: BaseException, shown: str) -> DeliveryResult:
        """``exc``, raised while sending to ``shown``, as a result."""
        return exception_result(exc, shown, self._wording, self._timeout, self._secrets)

    async def aclose(self) -> None:
        client, owner = self._client, self._owner
        self._client = self._owner = None
        if client is not None and owner == (os.getpid(), asyncio.get_running_loop()):
            with contextlib.suppress(Exception):  # closing must not fail the shutdown
                await client.aclose()
