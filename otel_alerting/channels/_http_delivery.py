"""HTTP plumbing of the webhook and Alertmanager channels.

* one ``httpx.AsyncClient`` per process and event loop (a client's connections
  belong to the loop and the process that opened them: after ``fork()`` the child
  opens its own and never touches, let alone closes, the parent's);
* ``KEY=value`` header lists, values kept as secrets;
* responses and transport errors mapped once to a ``DeliveryResult``: connection
  errors, timeouts, 5xx, 408 and 429 (with ``Retry-After``) are retryable, other 4xx
  and 3xx (redirects are not followed) are not. Every text is scrubbed of the
  channel's secrets and names the target by its redacted URL only;
* httpx logs each request's full URL at INFO (``HTTP Request: POST https://...``):
  for the requests these channels make, a filter on the ``httpx`` logger replaces it
  with the redacted URL.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import email.utils
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value

from ..config import ConfigError
from ..durations import parse_duration
from ..secrets import Secret, redact_url, scrub
from ..version import __version__
from .base import DeliveryResult

__all__ = [
    "USER_AGENT",
    "ClientPerLoop",
    "exception_result",
    "header_secrets",
    "parse_headers",
    "parse_timeout",
    "post",
    "response_result",
    "retry_after_seconds",
    "url_secrets",
]

USER_AGENT = f"otel-alerting/{__version__}"

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BODY_EXCERPT = 200

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


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


def url_secrets(url: str | Secret) -> list[str]:
    """The URL and the parts of it that may be a token on their own: the path (Slack's
    ``/services/T/B/XXXX``), the query and its values, the password."""
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
        found += [segment for segment in parts.path.split("/") if len(segment) >= 12]
    except ValueError:
        pass
    found += [unquote(item) for item in found]
    # longest first, so a URL is replaced whole before its parts
    return sorted({item for item in found if len(item) >= 4}, key=len, reverse=True)


#: set while one of these channels sends, for the log filter below
_OWN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("otel_alerting_channel_request", default=False)


class _RedactOwnRequests(logging.Filter):
    """On the ``httpx`` logger: our requests' URLs reduced to scheme and host."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _OWN_REQUEST.get():
            try:
                message = record.getMessage()
            except Exception:  # a record that cannot format is not ours to fix
                return True
            clean = _URL.sub(lambda m: redact_url(m.group()), message)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_FILTER = _RedactOwnRequests()


def _install_filter() -> None:
    httpx_logger = logging.getLogger("httpx")
    if _FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_FILTER)


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
    """``client.post`` with instrumentation suppressed (the plugin's own traffic makes
    no spans or metrics) and httpx's own log line of it redacted."""
    token = _OWN_REQUEST.set(True)
    suppressed = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        return await client.post(url, content=body, headers=dict(headers))
    finally:
        detach(suppressed)
        _OWN_REQUEST.reset(token)


def parse_timeout(raw: str | None, variable: str, default: float) -> tuple[float, list[ConfigError]]:
    if raw is None:
        return default, []
    try:
        seconds = parse_duration(raw)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        return default, [ConfigError(variable, f"invalid value {raw!r}: expected a positive duration such as 10s")]
    return seconds, []


class ClientPerLoop:
    """The ``httpx.AsyncClient`` of the running loop in this process."""

    def __init__(
        self,
        timeout: float,
        *,
        auth: httpx.Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._auth = auth
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._owner: tuple[int, asyncio.AbstractEventLoop] | None = None
        _install_filter()

    def get(self) -> httpx.AsyncClient:
        owner = (os.getpid(), asyncio.get_running_loop())
        if self._client is None or self._owner != owner:
            # Another loop's or the parent's client is dropped, not closed: closing
            # it here would touch connections this loop and process do not own.
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                auth=self._auth,
                transport=self._transport,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
            self._owner = owner
        return self._client

    async def aclose(self) -> None:
        client, owner = self._client, self._owner
        self._client = self._owner = None
        if client is not None and owner == (os.getpid(), asyncio.get_running_loop()):
            await client.aclose()


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


def _clean(text: str, secrets: Iterable[str | Secret | None]) -> str:
    """``text`` without the secrets, and with any URL in it reduced to scheme and host."""
    return _URL.sub(lambda m: redact_url(m.group()), scrub(text, secrets))


def _excerpt(response: httpx.Response, secrets: Iterable[str | Secret | None]) -> str:
    try:
        text = response.text
    except Exception:
        return ""
    text = " ".join(text.split())[:_BODY_EXCERPT]
    return f": {_clean(text, secrets)}" if text else ""


def response_result(response: httpx.Response, target: str, secrets: Iterable[str | Secret | None]) -> DeliveryResult:
    """2xx delivered; 408, 429 and 5xx retryable (honouring ``Retry-After``); the rest not."""
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult.delivered()
    secrets = list(secrets)
    if status in (408, 429) or status >= 500:
        return DeliveryResult.failed(
            f"HTTP {status} from {target}",
            retryable=True,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if 300 <= status < 400:
        return DeliveryResult.failed(f"HTTP {status} from {target} (redirects are not followed)", retryable=False)
    return DeliveryResult.failed(f"HTTP {status} from {target}{_excerpt(response, secrets)}", retryable=False)


def exception_result(
    exc: BaseException, target: str, timeout: float, secrets: Iterable[str | Secret | None]
) -> DeliveryResult:
    """A transport error as a result: timeouts and connection errors are retryable."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return DeliveryResult.failed(f"{kind}: no answer from {target} within {timeout:g}s", retryable=True)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return DeliveryResult.failed(f"{kind} for {target}", retryable=False)
    detail = _clean(str(exc), secrets)
    detail = f" ({detail})" if detail else ""
    if isinstance(exc, httpx.TransportError):
        return DeliveryResult.failed(f"{kind} talking to {target}{detail}", retryable=True)
    return DeliveryResult.failed(f"{kind} sending to {target}", retryable=False)
