"""One JSON POST over httpx, mapped to a DeliveryResult, for the HTTP channels.

    connection refused, DNS, TLS, reset  -> retryable
    timeout (the channel's own)          -> retryable
    408, 429, 5xx                        -> retryable (``Retry-After`` honoured)
    other 3xx and 4xx                    -> not retryable

The request runs with OpenTelemetry instrumentation suppressed, so the plugin's own
traffic makes no spans or metrics. Webhook URLs carry their token in the path, and
httpx logs every request URL at INFO (and httpcore the response headers at DEBUG): a
filter on those loggers rewrites such records, and errors only ever show
``redact_url`` of the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value

from ..notify.render import one_line
from ..secrets import Secret, scrub
from ..version import __version__
from ._http_delivery import retry_after_seconds
from ._http_delivery import url_secrets as delivery_url_secrets
from .base import DeliveryResult

__all__ = ["HttpPoster", "PostOutcome", "http_result", "retry_after", "suppressed", "url_secrets"]

USER_AGENT = f"otel-alerting/{__version__}"


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """No OpenTelemetry instrumentation (httpx, the SDK's own) for the block."""
    token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        yield
    finally:
        detach(token)


def url_secrets(url: str | Secret) -> list[str]:
    """What of a secret URL must never be shown (the shared rules of ``_http_delivery``),
    plus its last path segment however short (Slack's token, Mattermost's key)."""
    found = delivery_url_secrets(url)
    text = url.reveal() if isinstance(url, Secret) else url
    try:
        last = urlsplit(text).path.rstrip("/").rsplit("/", 1)[-1]
    except ValueError:
        return found
    return [*found, last] if len(last) >= 4 and last not in found else found


class _SecretLogFilter(logging.Filter):
    """Rewrites records of the ``httpx`` logger that would show a registered secret."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: dict[str, int] = {}

    def register(self, secrets: Iterable[str]) -> None:
        with self._lock:
            for s in secrets:
                self._secrets[s] = self._secrets.get(s, 0) + 1

    def unregister(self, secrets: Iterable[str]) -> None:
        with self._lock:
            for s in secrets:
                left = self._secrets.get(s, 0) - 1
                if left > 0:
                    self._secrets[s] = left
                else:
                    self._secrets.pop(s, None)

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = sorted(self._secrets, key=len, reverse=True)  # whole URLs before their parts
        if secrets:
            try:
                message = record.getMessage()
            except Exception:  # a record that cannot format is not ours to fix
                return True
            clean = scrub(message, secrets)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_FILTER = _SecretLogFilter()
# A logger's filters see only the records made on that very logger: httpx logs each
# request URL at INFO, httpcore's loggers the response headers (a Location) at DEBUG.
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks"):
    logging.getLogger(_name).addFilter(_FILTER)


#: seconds from a ``Retry-After`` header (delay-seconds or an HTTP-date)
retry_after = retry_after_seconds


@dataclass(frozen=True)
class PostOutcome:
    """A response, or the error that stood in for one."""

    status: int | None = None
    headers: Mapping[str, str] | None = None
    body: str = ""
    failure: DeliveryResult | None = None


def http_result(
    channel: str,
    outcome: PostOutcome,
    where: str,
    secrets: Iterable[str],
    ok: Iterable[int] = range(200, 300),
) -> DeliveryResult:
    """Map a response to a DeliveryResult; the body excerpt is scrubbed of ``secrets``."""
    if outcome.failure is not None:
        return outcome.failure
    status = outcome.status or 0
    if status in ok:
        return DeliveryResult.delivered()
    body = one_line(scrub(outcome.body, secrets), 200).strip()
    error = f"{channel}: HTTP {status} from {where}" + (f": {body}" if body else "")
    headers = outcome.headers or {}
    if status == 429 or status == 408 or 500 <= status < 600:
        return DeliveryResult.failed(error, retryable=True, retry_after=retry_after(headers.get("retry-after")))
    return DeliveryResult.failed(error, retryable=False)


class HttpPoster:
    """An httpx client bound to the event loop it is used on (re-made after a fork or
    on another loop), with a total time limit per request."""

    def __init__(self, channel: str, timeout: float, secrets: Iterable[str]) -> None:
        self._channel = channel
        self._timeout = timeout
        self._secrets = tuple(secrets)
        self._client: httpx.AsyncClient | None = None
        self._owner: tuple[int, asyncio.AbstractEventLoop] | None = None
        self._registered = True
        _FILTER.register(self._secrets)

    def _client_for_loop(self) -> httpx.AsyncClient:
        owner = (os.getpid(), asyncio.get_running_loop())
        if not self._registered:  # used again after close()
            self._registered = True
            _FILTER.register(self._secrets)
        if self._client is None or self._owner != owner:
            # A client made on another loop (or in the parent before a fork) cannot be
            # used or closed here: it is dropped.
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout),
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
            self._owner = owner
        return self._client

    async def post_json(self, url: str, body: bytes, where: str) -> PostOutcome:
        """POST ``body`` (JSON) to ``url``; never raises. ``where`` is how the target is
        named in errors (``redact_url`` of a secret URL)."""
        try:
            client = self._client_for_loop()
            with suppressed():
                response = await asyncio.wait_for(
                    client.post(url, content=body, headers={"Content-Type": "application/json"}),
                    self._timeout,
                )
            return PostOutcome(response.status_code, dict(response.headers), response.text[:2000])
        except (asyncio.TimeoutError, httpx.TimeoutException):
            message = f"{self._channel}: no answer from {where} within {self._timeout:g}s"
            return PostOutcome(failure=DeliveryResult.failed(message, retryable=True))
        except httpx.TransportError as exc:
            return PostOutcome(failure=DeliveryResult.failed(self._describe(exc, where), retryable=True))
        except Exception as exc:  # an invalid URL, a bug: never raise into the dispatcher
            return PostOutcome(failure=DeliveryResult.failed(self._describe(exc, where), retryable=False))

    def _describe(self, exc: BaseException, where: str) -> str:
        detail = one_line(scrub(str(exc), self._secrets), 200).strip()
        return f"{self._channel}: {type(exc).__name__} sending to {where}" + (f": {detail}" if detail else "")

    async def close(self) -> None:
        client, owner = self._client, self._owner
        self._client = self._owner = None
        if self._registered:
            self._registered = False
            _FILTER.unregister(self._secrets)
        if client is not None and owner == (os.getpid(), asyncio.get_running_loop()):
            with contextlib.suppress(Exception):
                await client.aclose()
