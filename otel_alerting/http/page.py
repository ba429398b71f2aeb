"""The status page: ``GET /`` renders it (``page_view``), and its forms post to
``POST /silences`` (create) and ``POST /silences/{id}/expire``, each answered with a
303 back to the page.

The renderer dispatches here and turns the ``PageAnswer`` into its HTML response;
this module sees the renderer only as a ``PageHost``. Writes from the page pass the
renderer's write check (``_may_write``, the one place it is called). A browser's
plain form cannot send an ``Authorization`` header, so with a token configured the
form has a password field whose value is checked as the bearer token and never
written back into a page. A form post from another site is refused (``Origin`` or
``Sec-Fetch-Site``), so a page elsewhere cannot make the operator's browser silence
alerts on a loopback server that needs no token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import parse_qs, urlsplit

from ..durations import parse_duration
from . import page_view
from .page_view import WriteMode

if TYPE_CHECKING:
    from ..config import Settings
    from ..system import AlertingSystem
    from .report import ReportSources

__all__ = ["PAGE", "SILENCES", "PageAnswer", "PageHost", "serve_page", "serve_silence_form", "split_matchers"]

PAGE = "/"
SILENCES = "/silences"
_EXPIRE = re.compile(r"^/silences/([0-9A-Za-z_-]{1,64})/expire$")
_FORM_TYPE = "application/x-www-form-urlencoded"
#: a form has five fields; more is not a form of this page
_MAX_FIELDS = 10
_FIELDS = ("matchers", "duration", "comment", "author", "token")


class PageAnswer(NamedTuple):
    """An HTML answer: status, page, headers beyond the content's own."""

    status: int
    text: str
    headers: tuple[tuple[str, str], ...]


class PageHost(Protocol):
    """What the page reads of the renderer that serves it."""

    _system: Callable[[], AlertingSystem | None]

    @property
    def sources(self) -> ReportSources: ...

    def settings(self, system: AlertingSystem | None) -> Settings: ...

    def _report(self, system: AlertingSystem | None) -> dict[str, Any]: ...

    def may_write(self, headers: Mapping[str, str]) -> bool: ...


def serve_page(host: PageHost, method: str, headers: Mapping[str, str]) -> PageAnswer:
    if method not in ("GET", "HEAD"):
        return _html_error(405, f"{method} is not allowed here", ("Allow", "GET, HEAD"))
    system = host._system()
    report = host._report(system)
    text = page_view.render_page(system, report, host.sources.wall_clock(), _write_mode(host, headers))
    return PageAnswer(200, text, page_view.SECURITY_HEADERS)


def serve_silence_form(host: PageHost, method: str, path: str, headers: Mapping[str, str], body: bytes) -> PageAnswer:
    expire = _EXPIRE.match(path)
    if path != SILENCES and expire is None:
        return _html_error(404, "not found")
    if method != "POST":
        return _html_error(405, f"{method} is not allowed here", ("Allow", "POST"))
    # relative, so that the page works where the app is mounted (/alerting/ as well as /)
    back = "./" if expire is None else "../../"
    refused = _refused(headers, back)
    if refused is not None:
        return refused
    form = _parse_form(body)
    if form is None:
        return _html_error(400, "the form could not be read", back=back)
    if not _may_write(host, headers, form.get("token", "")):
        return _html_error(403, "writes are not allowed: a valid token is needed", back=back)
    system = host._system()
    if system is None:
        return _html_error(503, "alerting is disabled or did not start", back=back)
    now = host.sources.wall_clock()
    if expire is not None:
        try:
            system.silences.expire(expire.group(1), now)
        except KeyError:
            return _html_error(404, "no such silence", back=back)
        return _back_to_page(back)
    try:
        system.silences.add(
            split_matchers(form.get("matchers", "")),
            starts_at=now,
            ends_at=now + _positive_duration(form.get("duration", "")),
            comment=form.get("comment", ""),
            created_by=form.get("author", ""),
        )
    except ValueError as exc:
        return _html_error(400, f"the silence was not created: {exc}", back=back)
    return _back_to_page(back)


def _may_write(host: PageHost, headers: Mapping[str, str], token: str) -> bool:
    """The write check of the renderer, with the form's token field as the bearer
    token when it has one."""
    if token:
        headers = {**headers, "authorization": f"Bearer {token}"}
    return host.may_write(headers)


def _write_mode(host: PageHost, headers: Mapping[str, str]) -> WriteMode:
    if _may_write(host, headers, ""):
        return WriteMode.OPEN
    if host.settings(host._system()).http_token is not None:
        return WriteMode.TOKEN
    return WriteMode.READ_ONLY


def _refused(headers: Mapping[str, str], back: str) -> PageAnswer | None:
    """A form post from a page of another site is refused (cross-site request forgery)."""
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return _html_error(403, "a form from another site may not change silences", back=back)
    origin = headers.get("origin")
    if origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
        return _html_error(403, "a form from another site may not change silences", back=back)
    if headers.get("content-type", "").split(";")[0].strip().lower() != _FORM_TYPE:
        return _html_error(415, f"the form must be sent as {_FORM_TYPE}", back=back)
    return None


def _parse_form(body: bytes) -> dict[str, str] | None:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items() if name in _FIELDS}


def split_matchers(text: str) -> list[str]:
    """``alertname="X", severity="high"`` (or one a line, or inside ``{}``) as
    matcher strings; commas inside quotes belong to the value."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if not quoted and char in ",\n":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = quoted
        elif char == '"':
            quoted = not quoted
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _positive_duration(text: str) -> float:
    seconds = parse_duration(text.strip() or "-")
    if seconds <= 0:
        raise ValueError(f"the duration must be positive, not {text!r}")
    return seconds


def _back_to_page(relative: str) -> PageAnswer:
    return PageAnswer(303, "", (("Location", relative),))


def _html_error(status: int, message: str, *extra: tuple[str, str], back: str = "./") -> PageAnswer:
    text = page_view.render_error(message, back)
    return PageAnswer(status, text, page_view.SECURITY_HEADERS + extra)
