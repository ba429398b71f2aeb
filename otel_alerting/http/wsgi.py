"""The WSGI app: mount it in Flask, Django or any WSGI framework.

app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/alerting": make_wsgi_app()})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .renderer import Renderer, declared_too_large

__all__ = ["WSGIApp", "make_wsgi_app"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
_REASONS |= {405: "Method Not Allowed", 411: "Length Required", 415: "Unsupported Media Type"}
_REASONS |= {413: "Content Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


def make_wsgi_app(renderer: Renderer | None = None, *, allow_writes: bool = False) -> WSGIApp:
    """A WSGI app answering for the process's alerting system (or ``renderer``'s).
    With no token configured, it accepts writes (silences) only with ``allow_writes``."""
    render = renderer if renderer is not None else Renderer(allow_writes=allow_writes)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        for key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = str(environ[key])
        response = declared_too_large(headers.get("content-length"))
        if response is None:
            length = int(headers.get("content-length") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            path = environ.get("PATH_INFO", "") or "/"
            query = str(environ.get("QUERY_STRING", ""))
            response = render.handle(environ.get("REQUEST_METHOD", "GET"), path, headers, body, query)
        reason = _REASONS.get(response.status, "Unknown")
        start_response(f"{response.status} {reason}", list(response.headers))
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else response.body]

    return app
