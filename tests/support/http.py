"""The one local HTTP peer of the test suite: a real ``http.server`` on 127.0.0.1, on
its own thread, that plays every HTTP role the tests need.

* It records every request (``requests``, ``wait_for(count)``).
* It answers from a script: each queued ``Reply`` answers one request, then
  ``respond(request)`` if given, else ``default``. A reply sets the status, headers
  and body, can hang (``delay``: a peer too slow for the client's time limit), or
  echo the request (a peer that quotes what it was sent, secrets included).
* Given a ``Service`` (Slack, Mattermost, PagerDuty, ...), it checks each request as
  that service would (path, JSON content type, the documented payload rules), keeps
  the problems found with the request, and answers as the service documents.
* ``stop()`` then ``start()`` brings it back on the same port (a peer that goes away
  and returns).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .ports import HOST

__all__ = ["HttpReceiver", "PayloadCheck", "Received", "Reply", "Service"]

#: the documented rules of a payload: (parsed JSON body, size in bytes) -> problems
PayloadCheck = Callable[[Any, int], list[str]]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: seconds to wait before answering (cut short, unanswered, when the receiver stops)
    delay: float = 0.0
    #: answer with the request's line, headers and body (a peer that quotes secrets)
    echo: bool = False


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    #: header names in lower case
    headers: dict[str, str]
    body: bytes
    #: time.monotonic() when the request arrived
    at: float
    #: what the receiver's ``Service`` found wrong with the request (empty: valid)
    problems: tuple[str, ...] = ()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Service:
    """How a documented service checks a request and answers it."""

    path: str
    check: PayloadCheck
    ok: Reply
    invalid: Callable[[list[str]], Reply]
    wrong_path: Reply

    def problems(self, path: str, headers: Mapping[str, str], body: bytes) -> list[str]:
        found: list[str] = []
        if path != self.path:
            found.append(f"unknown path {path!r}")
        content_type = headers.get("content-type", "")
        if content_type.split(";")[0].strip() != "application/json":
            found.append(f"Content-Type {content_type!r}, expected application/json")
        try:
            parsed = json.loads(body)
        except ValueError:
            found.append("the body is not JSON")
        else:
            found += self.check(parsed, len(body))
        return found


class HttpReceiver:
    """``with HttpReceiver() as r: ... r.url ... r.wait_for(1)``."""

    def __init__(
        self,
        default: Reply | None = None,
        *,
        service: Service | None = None,
        respond: Callable[[Received], Reply] | None = None,
        port: int = 0,
    ) -> None:
        self.service = service
        self.default = default or (service.ok if service is not None else Reply())
        self.respond = respond
        self._port = port
        self._replies: deque[Reply] = deque()
        self._requests: list[Received] = []
        self._cond = threading.Condition()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- what the tests read ---------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self._port}"

    @property
    def service_url(self) -> str:
        """The base URL and the service's documented path."""
        assert self.service is not None, "this receiver plays no service"
        return self.url + self.service.path

    @property
    def requests(self) -> list[Received]:
        with self._cond:
            return list(self._requests)

    @property
    def bodies(self) -> list[Any]:
        """Each request's body as JSON (None when it is not JSON)."""
        found: list[Any] = []
        for request in self.requests:
            try:
                found.append(request.json())
            except ValueError:
                found.append(None)
        return found

    @property
    def problems(self) -> list[str]:
        """Every problem the service found, over all requests."""
        return [problem for request in self.requests for problem in request.problems]

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        with self._cond:
            self._replies.extend(replies)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests, waiting up to ``timeout`` for them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= count, timeout):
                seen = [f"{r.method} {r.path}" for r in self._requests]
                raise AssertionError(f"{len(seen)} request(s) within {timeout:g}s, expected {count}: {seen}")
            return list(self._requests[:count])

    # --- answering ---------------------------------------------------------------------

    def _answer(self, request: Received) -> Reply:
        """Records ``request`` and picks its reply."""
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()
            if self.service is not None:
                if request.path != self.service.path:
                    return self.service.wrong_path
                if request.problems:
                    return self.service.invalid(list(request.problems))
            if self._replies:
                return self._replies.popleft()
        return self.respond(request) if self.respond is not None else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self
        release = self._release

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                problems = () if receiver.service is None else receiver.service.problems(self.path, headers, body)
                request = Received(self.command, self.path, headers, body, time.monotonic(), tuple(problems))
                reply = receiver._answer(request)
                # the delay is the peer's slowness under test: a wait the stop cuts short
                if reply.delay and release.wait(reply.delay):
                    return  # stopping: drop the connection unanswered
                payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                if reply.echo:
                    payload = f"{self.command} {self.path}\n{self.headers}".encode() + body
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (its timeout fired)

            do_POST = do_PUT = do_GET = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> HttpReceiver:
        """Listen (again: on the same port as before, once it has one)."""
        self._release = threading.Event()
        server = ThreadingHTTPServer((HOST, self._port), self._handler())
        server.daemon_threads = True
        self._port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="http-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port (connections are refused until ``start()``)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self._release.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
