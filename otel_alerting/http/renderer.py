"""One renderer for every way of serving: a request (method, path, headers, body) in,
a ``Response`` out. The standalone server, the ASGI app and the WSGI app only
translate their protocol to this call, as prometheus_client's ``exposition`` and
``asgi`` share one ``generate_latest``.

Every answer is JSON, errors too, and none carries a stack trace, except the status
page (``page``), which is HTML. ``may_write`` decides whether a request may change
state (the token, or where it is served).
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..active import active_system
from ..config import Settings, load_settings
from . import page
from .alertmanager_api import API_PREFIX, Request, answer_api
from .report import FAILING, ReportSources, build_report
from .responses import Response, html_response, json_response

if TYPE_CHECKING:
    from ..system import AlertingSystem

__all__ = [
    "MAX_BODY",
    "Renderer",
    "Response",
    "bearer_token_matches",
    "declared_too_large",
    "error_response",
    "html_response",
    "json_response",
    "too_large",
]

_logger = logging.getLogger("otel_alerting")

#: the largest request body read, in bytes; a longer one is refused with 413
MAX_BODY = 64 * 1024
HEALTH = "/health"
_READS = ("GET", "HEAD")


def error_response(status: int, message: str, **extra: str) -> Response:
    response = json_response(status, {"error": message})
    return Response(response.status, response.body, response.headers + tuple(extra.items()))


def bearer_token_matches(authorization: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    if authorization is None:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


class Renderer:
    """Answers requests about ``system()`` (the process's active system by default).

    ``settings`` (the token, the status of a failing report) default to the
    system's own, or to the environment's when there is no system.
    """

    def __init__(
        self,
        system: Callable[[], AlertingSystem | None] = active_system,
        *,
        settings: Settings | None = None,
        sources: ReportSources | None = None,
        allow_writes: bool = False,
    ) -> None:
        """``allow_writes``: accept requests that change state without a token when
        none is configured (the standalone server on loopback; a mounted app only
        when asked). With a token configured, writes always need it."""
        self._system = system
        self.allow_writes = allow_writes
        self._settings = settings
        self._sources = sources
        self._sampling: AlertingSystem | None = None
        self._lock = threading.Lock()

    @property
    def sources(self) -> ReportSources:
        if self._sources is None:
            from .sources import default_sources

            self._sources = default_sources()
        return self._sources

    def settings(self, system: AlertingSystem | None) -> Settings:
        if self._settings is not None:
            return self._settings
        if system is not None:
            return system.settings
        self._settings = load_settings()
        return self._settings

    # --- the report ----------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        return self._report(self._system())

    def _report(self, system: AlertingSystem | None) -> dict[str, Any]:
        self._sample_caches_of(system)
        return build_report(system, self.sources)

    def _sample_caches_of(self, system: AlertingSystem | None) -> None:
        """From the first report on, the cache window is also sampled at each
        evaluation, so that its rate covers the window between two reports."""
        if system is None or self._sampling is system:
            return
        with self._lock:
            if self._sampling is system:
                return
            self._sampling = system
        sources = self.sources

        def sample(_: object) -> None:
            metrics = sources.caches()
            if metrics is not None:
                from .caches import totals_by_cache

                sources.cache_window.sample(sources.wall_clock(), totals_by_cache(metrics))

        system.subscribe(sample)

    # --- requests ------------------------------------------------------------------

    def may_write(self, headers: Mapping[str, str]) -> bool:
        """Whether a request that changes state may: with a token configured, only
        with it; without one, only where ``allow_writes`` says so."""
        token = self.settings(self._system()).http_token
        if token is None:
            return self.allow_writes
        return bearer_token_matches(headers.get("authorization"), token.reveal())

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes = b"", query: str = ""
    ) -> Response:
        """The answer to one request; never raises. ``path`` is relative to where
        the app is mounted; ``query`` is the query string, without its ``?``."""
        try:
            return self._route(method.upper(), path.rstrip("/") or "/", headers, body, query)
        except Exception:
            _logger.exception("otel-alerting: answering %s %s failed", method, path)
            return error_response(500, "internal error")

    def _route(self, method: str, path: str, headers: Mapping[str, str], body: bytes, query: str) -> Response:
        if len(body) > MAX_BODY:
            return too_large()
        if path.startswith(API_PREFIX):
            return answer_api(Request(method, path, query, headers, body), self._system(), self.may_write)
        if path == HEALTH:
            if method not in _READS:
                return error_response(405, f"{method} is not allowed on {HEALTH}", Allow=", ".join(_READS))
            system = self._system()
            report = self._report(system)
            status = self.settings(system).http_failing_status if report["status"] == FAILING else 200
            return json_response(status, report, head=method == "HEAD")
        if path == page.PAGE:
            return html_response(*page.serve_page(self, method, headers), head=method == "HEAD")
        if path.startswith(page.SILENCES):
            return html_response(*page.serve_silence_form(self, method, path, headers, body))
        return error_response(404, "not found")


def too_large() -> Response:
    return error_response(413, f"request body larger than {MAX_BODY} bytes")


def declared_too_large(content_length: str | None) -> Response | None:
    """The answer to a request whose declared length is bad or too large, before
    its body is read; None when it may be read."""
    if content_length is None or not content_length.strip():
        return None
    if not content_length.strip().isdigit():
        return error_response(400, "invalid Content-Length")
    return too_large() if int(content_length) > MAX_BODY else None
