"""``prefork_app`` with the plugin's HTTP surface mounted under ``/alerting`` (its
Alertmanager API v2 included, writes allowed without a token: the test binds loopback),
as a service mounts it in its own WSGI app (docs/http.md). Every answer names the worker
that gave it in the header ``X-Worker-Pid``: the test sees which workers know a silence.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from prefork_app import application as _application

from otel_alerting.http import make_wsgi_app

_alerting = make_wsgi_app(allow_writes=True)


def application(environ: dict[str, Any], start_response: Callable[..., object]) -> Iterable[bytes]:
    def named(status: str, headers: list[tuple[str, str]], *args: object) -> object:
        return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))], *args)

    path = str(environ.get("PATH_INFO", ""))
    if path.startswith("/alerting/"):
        inner = {**environ, "SCRIPT_NAME": "/alerting", "PATH_INFO": path[len("/alerting") :]}
        return _alerting(inner, named)
    return _application(environ, named)
