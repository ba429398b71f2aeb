"""A real HTTP server on 127.0.0.1 for the webhook and Alertmanager channel tests:
records every request and answers from a script (status, headers, body, a delay to
play a hanging peer, or an echo of the request to play a peer that leaks secrets);
and a field-by-field check of Alertmanager's webhook format."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "ZERO_TIME",
    "HttpReceiver",
    "Received",
    "Reply",
    "check_webhook_document",
    "free_port",
    "parse_rfc3339",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: seconds to wait before answering (cut short when the receiver stops)
    delay: float = 0.0
    #: answer with the request's line, headers and body (a peer that echoes secrets)
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

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """``with HttpReceiver() as r: ... r.url ... r.wait_for(1)``; replies come from
    ``script(...)`` in order, then ``default``."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self._replies: deque[Reply] = deque()
        self._requests: list[Received] = []
        self._cond = threading.Condition()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Received(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with receiver._cond:
                    receiver._requests.append(request)
                    reply = receiver._replies.popleft() if receiver._replies else receiver.default
                    receiver._cond.notify_all()
                if reply.delay and receiver._release.wait(reply.delay):
                    return  # stopping: drop the connection unanswered
                payload = reply.body
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

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="http-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        with self._cond:
            self._replies.extend(replies)

    @property
    def requests(self) -> list[Received]:
        with self._cond:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests, waiting up to ``timeout`` for them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(f"{len(self._requests)} request(s) within {timeout:g}s, expected {count}")
            return list(self._requests[:count])

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- Alertmanager's webhook format -------------------------------------------------------
# https://prometheus.io/docs/alerting/latest/configuration/#webhook_config (version 4);
# test_alertmanager.py checks the real binary's own requests against it too.

WEBHOOK_FIELDS = {
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
}
ALERT_FIELDS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
ZERO_TIME = "0001-01-01T00:00:00Z"
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def parse_rfc3339(text: str) -> float:
    """Unix seconds of an RFC 3339 time as Go writes it (up to nanoseconds, Z or offset)."""
    match = _RFC3339.match(text)
    assert match, f"not RFC 3339: {text!r}"
    whole, fraction, zone = match.groups()
    moment = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def _string_map(value: Any, what: str, label_names: bool = False) -> dict[str, str]:
    assert isinstance(value, dict), f"{what} is not an object"
    for key, item in value.items():
        assert isinstance(key, str) and isinstance(item, str), f"{what}: {key!r}={item!r} is not string to string"
        if label_names:
            assert _LABEL_NAME.match(key), f"{what}: {key!r} is not a valid label name"
    return value


def check_webhook_document(doc: Any) -> None:
    """Assert ``doc`` is an Alertmanager webhook notification, field by field."""
    assert isinstance(doc, dict)
    assert set(doc) == WEBHOOK_FIELDS, f"fields {sorted(doc)}"
    assert doc["version"] == "4"
    assert isinstance(doc["groupKey"], str) and doc["groupKey"]
    assert isinstance(doc["truncatedAlerts"], int) and doc["truncatedAlerts"] >= 0
    assert doc["status"] in ("firing", "resolved")
    assert isinstance(doc["receiver"], str) and doc["receiver"]
    _string_map(doc["groupLabels"], "groupLabels", label_names=True)
    common_labels = _string_map(doc["commonLabels"], "commonLabels", label_names=True)
    common_annotations = _string_map(doc["commonAnnotations"], "commonAnnotations")
    assert isinstance(doc["externalURL"], str)
    alerts = doc["alerts"]
    assert isinstance(alerts, list) and alerts
    for alert in alerts:
        assert isinstance(alert, dict) and set(alert) == ALERT_FIELDS, f"alert fields {sorted(alert)}"
        assert alert["status"] in ("firing", "resolved")
        labels = _string_map(alert["labels"], "labels", label_names=True)
        annotations = _string_map(alert["annotations"], "annotations")
        assert labels.get("alertname"), "an alert without alertname"
        assert common_labels.items() <= labels.items()
        assert common_annotations.items() <= annotations.items()
        starts = parse_rfc3339(alert["startsAt"])
        if alert["status"] == "firing":
            assert alert["endsAt"] == ZERO_TIME
        else:
            assert parse_rfc3339(alert["endsAt"]) >= starts
        assert isinstance(alert["generatorURL"], str)
        assert isinstance(alert["fingerprint"], str) and alert["fingerprint"]
    firing = any(alert["status"] == "firing" for alert in alerts)
    assert doc["status"] == ("firing" if firing else "resolved")
