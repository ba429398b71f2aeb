"""Values that must never reach a log line, a repr, an exception or ``check`` output."""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import SplitResult, quote, quote_plus, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "Secret",
    "clean",
    "install_filter",
    "longest_first",
    "own_requests",
    "redact_location",
    "redact_url",
    "scrub",
]

REDACTED = "[secure]"


class Secret:
    """A string that only ``reveal()`` gives back; everything else prints ``[secure]``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def redact_url(url: str | Secret) -> str:
    """Scheme, host and port only: webhook URLs carry their token in the path
    (Slack's ``/services/T/B/XXXX``), in the query or in the user info."""
    text = url.reveal() if isinstance(url, Secret) else url
    try:
        parts = urlsplit(text)
        netloc = _host_and_port(parts)
    except ValueError:
        return REDACTED
    if not parts.scheme or not parts.hostname:
        return REDACTED
    path = f"/{REDACTED}" if parts.path not in ("", "/") or parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def scrub(text: str, secrets: Iterable[str | Secret | None]) -> str:
    """Replace every occurrence of each secret in ``text``, and of its URL-encoded forms:
    percent-encoded (a path segment, a query value) and form-encoded (spaces as ``+``, as
    ``urlencode`` and httpx write a query string)."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        # shorter ones would scrub common words out of any text
        if not value or len(value) < 4:
            continue
        percent = quote(value, safe="")  # pragma: no mutate (equivalent: a mutant's safe="XXXX" adds letters only)
        for form in (value, percent, quote_plus(value)):
            text = text.replace(form, REDACTED)
    return re.sub(r"(?i)(authorization|token|password|api[_-]?key)=([^&\s]+)", rf"\1={REDACTED}", text)


def redact_location(location: str) -> str:
    """A file path as it is; a store's URL (``redis://user:password@host:6379/0``) without
    its user info and query, which may carry credentials: scheme, host, port and path (a
    database number, a socket's path), which the reader needs to find the store."""
    if "://" not in location:
        return location
    try:
        parts = urlsplit(location)
        netloc = _host_and_port(parts)
    except ValueError:
        return REDACTED
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _host_and_port(parts: SplitResult) -> str:
    """The network location without its user info; a ValueError for a bad port."""
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return netloc


def longest_first(secrets: Iterable[str | Secret | None]) -> list[str]:
    """The texts of ``secrets`` of 4 characters or more (shorter ones would scrub
    ordinary words), longest first, so that a URL is replaced whole before its parts."""
    texts = {s.reveal() if isinstance(s, Secret) else s for s in secrets if s is not None}
    return sorted({t for t in texts if len(t) >= 4}, key=len, reverse=True)


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def clean(text: str, secrets: Iterable[str]) -> str:
    """``text`` with any URL reduced to scheme and host, then without the secrets."""
    return scrub(_URL.sub(lambda m: redact_url(m.group()), text), secrets)


# --- the records httpx and httpcore make while the plugin sends its own requests ---------

#: the secrets of the request being sent in this context, for the log filter below
_OWN_REQUEST: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "otel_alerting_channel_request", default=None
)


class _CleanOwnRequests(logging.Filter):
    """Rewrites the records made while one of our requests is sent: the application's
    own requests are left as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _OWN_REQUEST.get()
        if secrets is not None:
            try:
                message = record.getMessage()
            except Exception:  # a record that cannot format is not ours to fix
                return True
            cleaned = clean(message, secrets)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


_FILTER = _CleanOwnRequests()
# A logger's filters see only the records made on that very logger: httpx logs each
# request URL at INFO, httpcore's loggers the response headers at DEBUG.
_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks")


def install_filter() -> None:
    """Put the filter on httpx's and httpcore's loggers (once)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@contextmanager
def own_requests(secrets: tuple[str, ...]) -> Iterator[None]:
    """Within the block (and the tasks it starts, which copy the context), the records
    of httpx and httpcore show no URL beyond its host and none of ``secrets``."""
    install_filter()
    token = _OWN_REQUEST.set(secrets)
    try:
        yield
    finally:
        _OWN_REQUEST.reset(token)
