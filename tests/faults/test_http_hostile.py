"""Hostile clients against the plugin's HTTP surface: the real standalone server
(``HealthServer``, bound as the plugin binds it) and the ASGI and WSGI apps.

- slow clients (a slowloris: hundreds of connections sending a byte at a time) take
  no thread, are dropped at the request deadline, and ``/health`` goes on answering a
  normal client promptly;
- a body declared over the limit is refused with 413 before it is read;
- an error while answering is a generic 500, logged once in the process, with no
  stack trace and nothing of the error's message in the response;
- loopback by default; writes need the bearer token, compared with
  ``hmac.compare_digest``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import otel_alerting.http.connection as connection
from otel_alerting.config import Settings, load_settings
from otel_alerting.http import MAX_BODY, HealthServer, Renderer, make_asgi_app, make_wsgi_app, start_server
from otel_alerting.http.report import ReportSources
from otel_alerting.http.server import WORKERS
from otel_alerting.instrumentation.probes.state import HealthBoard
from otel_alerting.rules import load_rule_set
from otel_alerting.system import AlertingSystem

from ..support.ports import HOST, free_port
from ..support.waiting import wait_until

CANARY = "canary-5ecret-d0-not-leak"


def sources() -> ReportSources:
    board = HealthBoard()
    return ReportSources(board=lambda: board, caches=lambda: None, memory=lambda: {"available": True})


def broken_system() -> None:
    raise RuntimeError(f"failed with password={CANARY}")


@pytest.fixture
def server() -> Iterator[HealthServer]:
    served = HealthServer(Renderer(lambda: None, settings=Settings(), sources=sources()), HOST, 0)
    assert served.start()
    yield served
    served.close()


def raw(address: tuple[str, int], data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it."""
    with socket.create_connection(address, timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def get_health(address: tuple[str, int]) -> tuple[int, float]:
    started = time.perf_counter()
    reply = raw(address, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return int(reply.split(b" ", 2)[1]), time.perf_counter() - started


def slow_clients(address: tuple[str, int], count: int) -> list[socket.socket]:
    clients = []
    for _ in range(count):
        s = socket.create_connection(address, timeout=5)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        s.setblocking(False)
        clients.append(s)
    return clients


def trickle(clients: list[socket.socket]) -> int:
    """One more byte of header on each slow client; returns how many the server closed."""
    closed = 0
    for s in clients:
        try:
            s.send(b"X")
            if s.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def test_slow_clients_take_no_thread_and_health_keeps_answering(
    server: HealthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "REQUEST_TIMEOUT_S", 2.0)
    assert server.address is not None
    threads_before = threading.active_count()
    clients = slow_clients(server.address, 2 * server.max_connections)
    try:
        latencies: list[float] = []
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            trickle(clients)
            status, took = get_health(server.address)
            assert status == 200
            latencies.append(took)
            # the loop and the rendering pool: never a thread per connection
            assert threading.active_count() - threads_before <= WORKERS + 1, threading.enumerate()
            assert server.open_connections <= server.max_connections
            time.sleep(0.05)  # the slowloris's pace: a byte per connection every 50 ms
        print(f"/health during the slowloris: {len(latencies)} answers, max {max(latencies) * 1000:.1f} ms")
        assert max(latencies) < 1.0, latencies
        # past the request deadline, every slow client has been dropped
        wait_until(lambda: trickle(clients) == len(clients), "every slow client dropped", 5)
        assert server.open_connections == 0
    finally:
        for s in clients:
            s.close()


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(server: HealthServer) -> None:
    assert server.address is not None
    with socket.create_connection(server.address, timeout=5) as s:
        s.sendall(b"POST /api/v2/silences HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        s.sendall(b"x" * 1000)  # the start of a body the server must not wait for
        started = time.monotonic()
        reply = b""
        while chunk := s.recv(65536):  # the server closes after its answer (and a short linger)
            reply += chunk
        answered_in = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 413 "), reply
    assert f"larger than {MAX_BODY} bytes".encode() in reply
    assert answered_in < 3.0, answered_in
    chunked = raw(server.address, b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert chunked.startswith(b"HTTP/1.1 411 "), chunked
    huge_head = b"GET /health HTTP/1.1\r\n" + b"X-A: " + b"a" * (2 * connection.MAX_HEAD) + b"\r\n\r\n"
    assert raw(server.address, huge_head).startswith(b"HTTP/1.1 431 ")
    assert raw(server.address, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")


def test_the_apps_refuse_an_oversize_body_without_reading_it() -> None:
    received: list[int] = []

    async def endless() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": b"x" * 16384, "more_body": True}

    async def call(headers: list[tuple[bytes, bytes]]) -> int:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/api/v2/silences", "headers": headers}
        await make_asgi_app(Renderer(lambda: None, settings=Settings(), sources=sources()))(scope, endless, send)
        return int(sent[0]["status"])

    assert asyncio.run(call([(b"content-length", b"100000000")])) == 413
    assert received == []  # refused on the declared length alone
    assert asyncio.run(call([])) == 413  # streamed without a length: stops past the limit
    assert len(received) * 16384 <= MAX_BODY + 16384

    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("the WSGI app read a body it should have refused")

    statuses: list[str] = []
    app = make_wsgi_app(Renderer(lambda: None, settings=Settings(), sources=sources()))
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v2/silences", "CONTENT_LENGTH": "100000000"}
    environ["wsgi.input"] = Unreadable()  # type: ignore[assignment]
    app(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["413 Content Too Large"]


def test_an_error_is_a_generic_500_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    renderer = Renderer(broken_system, settings=Settings(), sources=sources())  # type: ignore[arg-type]
    served = HealthServer(renderer, HOST, 0)
    assert served.start()
    try:
        assert served.address is not None
        with caplog.at_level(logging.DEBUG, logger="otel_alerting"):
            reply = raw(served.address, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    finally:
        served.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 ")
    assert json.loads(body) == {"error": "internal error"}
    assert CANARY.encode() not in reply and b"Traceback" not in reply
    logged = [r for r in caplog.records if r.exc_info is not None]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]

    # the apps answer the same
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def nothing() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    asyncio.run(make_asgi_app(renderer)({"type": "http", "method": "GET", "path": "/health"}, nothing, send))
    assert sent[0]["status"] == 500 and CANARY.encode() not in sent[1]["body"]
    statuses: list[str] = []
    body_parts = make_wsgi_app(renderer)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/health"}, lambda status, headers: statuses.append(status)
    )
    assert statuses == ["500 Internal Server Error"] and CANARY.encode() not in b"".join(body_parts)


def test_loopback_by_default_and_writes_need_the_token_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hmac

    import otel_alerting.http.renderer as renderer_module

    compared: list[tuple[bytes, bytes]] = []
    compare_digest = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(renderer_module.hmac, "compare_digest", spy)
    env = {"OTEL_PYTHON_ALERTING_HTTP_TOKEN": CANARY, "OTEL_PYTHON_ALERTING_HTTP_PORT": str(free_port())}
    settings = load_settings(env)
    system = AlertingSystem(settings, load_rule_set([], env, include_defaults=True), environ=env)
    served = start_server(settings, lambda: system)
    assert served is not None
    try:
        assert served.address is not None and served.address[0] == "127.0.0.1"
        silence = b'{"matchers": []}'
        request = (
            b"POST /api/v2/silences HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer wrong\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
        ) % (len(silence), silence)
        reply = raw(served.address, request)
    finally:
        served.close()
        system.shutdown(1.0)
    assert reply.startswith(b"HTTP/1.1 401 ") and CANARY.encode() not in reply
    assert compared == [(b"wrong", CANARY.encode())]
