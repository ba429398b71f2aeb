"""The standalone server: the standard library's ``ThreadingHTTPServer`` on a daemon
thread, started by the plugin when ``OTEL_PYTHON_ALERTING_HTTP_PORT`` is set.

A port already taken (another worker of a pre-fork server holds it) is one warning,
never an exception into the host. After ``fork()`` the child lets go of the
parent's socket and binds anew, like the reader restarts its timer; while the
parent holds the port that is the one warning again.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from ..forking import after_fork_in_child
from .renderer import Renderer, Response, declared_too_large, error_response

__all__ = ["HealthServer", "is_loopback"]

_logger = logging.getLogger("otel_alerting")

#: seconds a connection may stay silent before the server drops it
_REQUEST_TIMEOUT_S = 10.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is reachable only from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # SO_REUSEPORT would let a second process share the port and split the requests
    allow_reuse_port = False


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    renderer: Renderer
    timeout = _REQUEST_TIMEOUT_S
    server_version = "otel-alerting"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        refused = declared_too_large(headers.get("content-length"))
        if refused is None and "transfer-encoding" in headers:
            refused = error_response(411, "a request body needs a Content-Length")
        if refused is not None:
            self.close_connection = True
            self._send(refused)
            return
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        self._send(self.renderer.handle(self.command, url.path, headers, body, url.query))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # a malformed request: JSON like every other answer, not the default HTML page
        self.close_connection = True
        self._send(error_response(code, message or "bad request"))

    def log_message(self, format: str, *args: object) -> None:
        _logger.debug("otel-alerting http: " + format, *args)


class HealthServer:
    """Serves ``renderer`` on ``host:port`` once ``start``-ed; ``close`` stops it."""

    def __init__(self, renderer: Renderer, host: str = "127.0.0.1", port: int = 0) -> None:
        self.renderer = renderer
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        after_fork_in_child(self._after_fork_in_child)

    @property
    def address(self) -> tuple[str, int] | None:
        """Where it listens (the port the kernel chose for port 0), None when not serving."""
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> bool:
        """Bind and serve; False (one warning logged) when the address cannot be bound."""
        handler = type("Handler", (_Handler,), {"renderer": self.renderer})
        server_class = _Server6 if ":" in self.host else _Server
        try:
            self._server = server_class((self.host, self.port), handler)
        except OSError as exc:
            _logger.warning(
                "otel-alerting: cannot serve /health on %s:%d (%s); going on without it "
                "(under a pre-fork server, mount the ASGI or WSGI app in the service instead)",
                self.host,
                self.port,
                exc.strerror or type(exc).__name__,
            )
            return False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, name="otel-alerting-http", daemon=True
        )
        self._thread.start()
        _logger.info("otel-alerting: serving /health on http://%s:%d/health", *(self.address or ("?", 0)))
        return True

    def close(self, timeout: float = 2.0) -> None:
        self._closed = True
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        if thread is not None and thread.is_alive():
            server.shutdown()
            thread.join(timeout)
        server.server_close()

    def _after_fork_in_child(self) -> None:
        server = self._server
        if server is None or self._closed:
            return
        # The parent's serving thread does not exist here; its socket does: let go
        # of it (the parent keeps it), then try the port for this process.
        server.socket.close()
        self._server = self._thread = None
        self.start()
