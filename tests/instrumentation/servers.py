"""Real peers for the dependency and ChromaDB tests, each of which a test can break and
bring back on the same address: a redis-server it kills (SIGKILL) and restarts,
``chroma run`` it stops and starts, an HTTP embeddings stub it makes fail or closes,
and a TCP black hole that accepts and never answers (for timeouts).

Everything listens on 127.0.0.1 on a free port. A missing redis-server or ``chroma``
FAILS the test instead of skipping it: CI installs them, and a skipped test proves
nothing. Every wait is bounded and says what it waited for.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "BlackHole",
    "ChromaServer",
    "EmbeddingsStub",
    "RecordedRequest",
    "RedisServer",
    "free_port",
    "wait_until",
]

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, describe: Callable[[], str] = str) -> float:
    """Poll ``predicate`` every 20 ms for at most ``timeout`` s; returns the time it took.
    Fails with ``what`` (and ``describe()``, the state seen last) when it never holds."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            detail = describe()
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}" + (f": {detail}" if detail else ""))
        time.sleep(0.02)


def _binary(name: str, *candidates: Path) -> str:
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: these tests need the real server (CI installs it)", pytrace=False)
    return found


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


class _Process:
    """A server process that can be killed and started again with the same command."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.command = command
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def end(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


class RedisServer:
    """redis-server on a free port, optionally with a password; ``kill()`` is SIGKILL."""

    START_TIMEOUT = 10.0

    def __init__(self, directory: Path, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        directory.mkdir(parents=True, exist_ok=True)
        command = [_binary("redis-server", Path("/usr/bin/redis-server"))]
        command += ["--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        command += ["--dir", str(directory)]
        if password:
            command += ["--requirepass", password]
        self._process = _Process(command, directory / "redis.log")

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{HOST}:{self.port}/0"

    def _answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                reply = s.recv(64)
        except OSError:
            return False
        return reply.startswith((b"+PONG", b"-NOAUTH"))

    def start(self) -> RedisServer:
        self._process.spawn()
        wait_until(self._answers, self.START_TIMEOUT, f"redis-server on port {self.port}", self._process.tail)
        return self

    def kill(self) -> None:
        self._process.end(signal.SIGKILL)
        wait_until(lambda: not _port_open(self.port), 5, f"port {self.port} to close")

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._process.end(signal.SIGKILL)


class ChromaServer:
    """``chroma run`` on a free port; ``start()`` returns once the heartbeat answers and
    keeps how long that took in ``start_seconds``."""

    START_TIMEOUT = 60.0

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        binary = _binary("chroma", Path(sys.executable).parent / "chroma")
        command = [binary, "run", "--path", str(directory / "data"), "--host", HOST, "--port", str(self.port)]
        self._process = _Process(command, directory / "chroma.log")
        self.start_seconds: list[float] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def heartbeat(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def start(self) -> ChromaServer:
        self._process.spawn()
        took = wait_until(self.heartbeat, self.START_TIMEOUT, f"chroma heartbeat on port {self.port}", self._tail)
        self.start_seconds.append(took)
        return self

    def _tail(self) -> str:
        exited = "" if self._process.running() else "the process exited; "
        return exited + self._process.tail()

    def stop(self) -> None:
        self._process.end(signal.SIGTERM)
        wait_until(lambda: not _port_open(self.port), 10, f"chroma port {self.port} to close")

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._process.end(signal.SIGKILL)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class EmbeddingsStub:
    """An embeddings service: ``GET /health`` and ``POST /v1/embeddings`` (OpenAI's shape).

    ``failing = True`` makes every answer a 503; ``stop()`` closes the port (connection
    refused) and ``start()`` opens it again on the same port.
    """

    DIMENSION = 3

    def __init__(self) -> None:
        self.port = free_port()
        self.failing = False
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, body: bytes) -> None:
                stub.requests.append(RecordedRequest(self.command, self.path, dict(self.headers.items()), body))

            def do_GET(self) -> None:
                self._record(b"")
                if stub.failing:
                    self._answer(503, {"status": "unavailable"})
                elif self.path.split("?")[0] == "/health":
                    self._answer(200, {"status": "ok"})
                else:
                    self._answer(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._record(body)
                if stub.failing:
                    self._answer(503, {"error": "overloaded"})
                    return
                texts = json.loads(body or b"{}").get("input", [])
                texts = [texts] if isinstance(texts, str) else texts
                data = [
                    {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.5]}
                    for i, t in enumerate(texts)
                ]
                self._answer(200, {"object": "list", "data": data})

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> EmbeddingsStub:
        server = ThreadingHTTPServer((HOST, self.port), self._handler())
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), name="embeddings-stub", daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> EmbeddingsStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class BlackHole:
    """Accepts TCP connections and never answers: a hung dependency."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((HOST, 0))
        self._socket.listen(16)
        self.port: int = self._socket.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="black-hole", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._held.append(connection)

    def close(self) -> None:
        self._closed.set()
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
        except OSError:
            pass
        self._socket.close()
        for connection in self._held:
            connection.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
