"""A local HTTP service standing in for Slack, Mattermost or PagerDuty.

It runs ``http.server`` on a thread on 127.0.0.1, checks every request (path,
content type, JSON, then the service's documented payload rules), records it, and
answers from a script: each queued ``Reply`` answers one request, then ``default``.
A reply with ``delay`` hangs that long (or until the receiver stops).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .service_payload_rules import mattermost_problems, pagerduty_problems, slack_problems

__all__ = ["Received", "Receiver", "Reply", "mattermost_service", "pagerduty_service", "slack_service"]

Validator = Callable[[Any, int], list[str]]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    problems: list[str]


class Receiver:
    def __init__(
        self,
        validate: Validator,
        *,
        path: str,
        default: Reply,
        invalid: Callable[[list[str]], Reply],
        wrong_path: Reply,
    ) -> None:
        self.validate = validate
        self.path = path
        self.default = default
        self.invalid = invalid
        self.wrong_path = wrong_path
        self.requests: list[Received] = []
        self.script: deque[Reply] = deque()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                reply = receiver._answer(self.path, dict(self.headers), raw)
                if reply.delay:
                    receiver._closed.wait(reply.delay)
                body = reply.body.encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (its timeout fired)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="test-http-receiver", daemon=True
        )

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        problems: list[str] = []
        body: Any = None
        if path != self.path:
            problems.append(f"unknown path {path!r}")
        if headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            problems.append(f"Content-Type {headers.get('Content-Type')!r}, expected application/json")
        try:
            body = json.loads(raw)
        except ValueError:
            problems.append("the body is not JSON")
        else:
            problems += self.validate(body, len(raw))
        with self._lock:
            self.requests.append(Received(path, headers, body, problems))
            if path != self.path:
                return self.wrong_path
            if problems:
                return self.invalid(problems)
            return self.script.popleft() if self.script else self.default

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    @property
    def bodies(self) -> list[Any]:
        return [r.body for r in self.requests]

    @property
    def problems(self) -> list[str]:
        return [p for r in self.requests for p in r.problems]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


# --- the three services, as their documentation describes their answers -----------------

SLACK_PATH = "/services/T0001/B0001/slackT0kenV4lue0123456789"
MATTERMOST_PATH = "/hooks/mmK3yV4lue0123456789abcd"
PAGERDUTY_PATH = "/v2/enqueue"


def slack_service(path: str = SLACK_PATH) -> Receiver:
    """200 ``ok``; 400 ``invalid_payload``; 404 ``no_service`` for an unknown hook."""
    return Receiver(
        lambda body, size: slack_problems(body),
        path=path,
        default=Reply(200, "ok", {"Content-Type": "text/plain"}),
        invalid=lambda problems: Reply(400, "invalid_payload", {"Content-Type": "text/plain"}),
        wrong_path=Reply(404, "no_service", {"Content-Type": "text/plain"}),
    )


def mattermost_service(path: str = MATTERMOST_PATH) -> Receiver:
    """200 ``ok``; 400 with Mattermost's JSON error otherwise."""

    def error(message: str) -> Reply:
        body = json.dumps({"id": "web.incoming_webhook.error", "message": message, "status_code": 400})
        return Reply(400, body, {"Content-Type": "application/json"})

    return Receiver(
        lambda body, size: mattermost_problems(body),
        path=path,
        default=Reply(200, "ok", {"Content-Type": "text/plain"}),
        invalid=lambda problems: error("; ".join(problems)),
        wrong_path=error("Invalid webhook."),
    )


def pagerduty_service(path: str = PAGERDUTY_PATH) -> Receiver:
    """202 ``Event processed``; 400 ``invalid event`` with the errors."""
    ok = json.dumps({"status": "success", "message": "Event processed"})
    return Receiver(
        pagerduty_problems,
        path=path,
        default=Reply(202, ok, {"Content-Type": "application/json"}),
        invalid=lambda problems: Reply(
            400,
            json.dumps({"status": "invalid event", "message": "Event object is invalid", "errors": problems}),
            {"Content-Type": "application/json"},
        ),
        wrong_path=Reply(404, "Not Found", {"Content-Type": "text/plain"}),
    )
