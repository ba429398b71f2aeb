"""Values that must never reach a log line, a repr, an exception or ``check`` output."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

__all__ = ["REDACTED", "Secret", "redact_url", "scrub"]

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
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
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
