"""The plugin's HTTP surface: ``/health``, served three ways from one ``Renderer``.

- ``make_asgi_app()``: mount in Starlette, FastAPI or any ASGI framework;
- ``make_wsgi_app()``: mount in Flask, Django or any WSGI framework;
- ``HealthServer``: the standalone server the plugin starts when
  ``OTEL_PYTHON_ALERTING_HTTP_PORT`` is set (``start_server``);

and ``health_report()``, the report as a dict for a service that builds its own
``/health``. See docs/http.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import Settings
from .asgi import make_asgi_app
from .renderer import MAX_BODY, Renderer, Response
from .report import DEGRADED, FAILING, OK
from .server import HealthServer, is_loopback
from .wsgi import make_wsgi_app

if TYPE_CHECKING:
    from ..system import AlertingSystem

__all__ = [
    "DEGRADED",
    "FAILING",
    "MAX_BODY",
    "OK",
    "HealthServer",
    "Renderer",
    "Response",
    "health_report",
    "make_asgi_app",
    "make_wsgi_app",
    "start_server",
]


def health_report() -> dict[str, Any]:
    """The health report of the process's alerting system, as served on ``/health``."""
    return Renderer().report()


def start_server(settings: Settings, system: Callable[[], AlertingSystem | None]) -> HealthServer | None:
    """The standalone server for ``settings`` (its port and host), serving; None
    when no port is set or the port cannot be bound (logged once)."""
    if settings.http_port is None:
        return None
    renderer = Renderer(system, settings=settings, allow_writes=is_loopback(settings.http_host))
    server = HealthServer(renderer, settings.http_host, settings.http_port)
    return server if server.start() else None
