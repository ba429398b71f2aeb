"""A stand-in embeddings service: ``POST /embed`` returns deterministic vectors,
``GET /health`` answers 200 (or 503 while ``failing`` is set).

Run it alone with ``python examples/llm_backend/embeddings_stub.py --port 8081``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSIONS = 8


def embed(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [byte / 255.0 for byte in digest[:DIMENSIONS]]


class EmbeddingsStub:
    def __init__(self, port: int = 0) -> None:
        self.failing = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                if stub.failing.is_set():
                    self._reply(503, {"status": "unavailable"})
                elif self.path == "/health":
                    self._reply(200, {"status": "ok"})
                else:
                    self._reply(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"{}")
                if stub.failing.is_set():
                    self._reply(503, {"error": "unavailable"})
                elif self.path == "/embed":
                    self._reply(200, {"data": [embed(text) for text in request.get("input", [])]})
                else:
                    self._reply(404, {"error": "not found"})

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmbeddingsStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    stub = EmbeddingsStub(parser.parse_args().port).start()
    print(f"embeddings stub on {stub.url}", flush=True)
    threading.Event().wait()
