"""/health served three ways, each in a real server: the ASGI app mounted in Starlette
under uvicorn, the WSGI app mounted in Flask under waitress, the standalone server;
and a second server on a taken port, which only warns."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from otel_alerting.config import Settings
from otel_alerting.http import HealthServer, Renderer, make_asgi_app, make_wsgi_app, start_server
from otel_alerting.http.report import ReportSources
from otel_alerting.instrumentation.probes.state import DependencyKey, HealthBoard

from ..support.ports import HOST, free_port, port_open
from ..support.waiting import wait_until

BOARD = HealthBoard()


def renderer() -> Renderer:
    sources = ReportSources(board=lambda: BOARD, caches=lambda: None, memory=lambda: {"available": True})
    return Renderer(lambda: None, settings=Settings(), sources=sources)


def get(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def check_health(base: str) -> None:
    BOARD.record(DependencyKey("redis"), True)
    status, body = get(f"{base}/health")
    assert (status, body["status"]) == (200, "ok")
    BOARD.record(DependencyKey("redis"), False)
    status, body = get(f"{base}/health")
    assert (status, body["status"], body["reasons"]) == (503, "failing", ["dependency redis is down"])
    assert get(f"{base}/nothing-here") == (404, {"error": "not found"})
    assert get(f"{base}/health", "POST", b"{}")[0] == 405
    assert get(f"{base}/health", "POST", b"x" * 70_000)[0] == 413
    BOARD.record(DependencyKey("redis"), True)


@pytest.fixture
def uvicorn_starlette() -> Iterator[str]:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    # as docs/http.md shows it
    app = Starlette(
        routes=[
            Route("/", lambda request: PlainTextResponse("the service")),
            Mount("/alerting", app=make_asgi_app(renderer())),
        ]
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "uvicorn to start", 15)
    yield f"http://{HOST}:{port}"
    server.should_exit = True
    thread.join(10)


def test_asgi_app_mounted_in_starlette_under_uvicorn(uvicorn_starlette: str) -> None:
    check_health(f"{uvicorn_starlette}/alerting")
    with urllib.request.urlopen(f"{uvicorn_starlette}/", timeout=5) as response:
        assert response.read() == b"the service"


@pytest.fixture
def waitress_flask() -> Iterator[str]:
    from flask import Flask
    from waitress.server import create_server
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    # as docs/http.md shows it
    app = Flask("service")
    app.add_url_rule("/", "index", lambda: "the service")
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/alerting": make_wsgi_app(renderer())})  # type: ignore[method-assign]
    port = free_port()
    server = create_server(app, host=HOST, port=port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: port_open(port), "waitress to listen", 15)
    yield f"http://{HOST}:{port}"
    server.close()
    thread.join(10)


def test_wsgi_app_mounted_in_flask_under_waitress(waitress_flask: str) -> None:
    check_health(f"{waitress_flask}/alerting")
    with urllib.request.urlopen(f"{waitress_flask}/", timeout=5) as response:
        assert response.read() == b"the service"


def test_standalone_server_and_a_second_one_on_the_same_port(caplog: pytest.LogCaptureFixture) -> None:
    server = HealthServer(renderer(), HOST, free_port())
    assert server.start()
    try:
        assert server.address is not None
        host, port = server.address
        check_health(f"http://{host}:{port}")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="otel_alerting"):
            second = start_server(Settings(http_port=port), lambda: None)
        assert second is None
        warnings = [r for r in caplog.records if r.name == "otel_alerting" and r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "cannot serve /health" in warnings[0].getMessage()
        # the first goes on serving
        assert get(f"http://{host}:{port}/health")[0] == 200
    finally:
        server.close()
    assert not port_open(port)
