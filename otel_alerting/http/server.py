"""The standalone server, started by the plugin when ``OTEL_PYTHON_ALERTING_HTTP_PORT``
is set: an asyncio event loop on one daemon thread holds the connections
(``connection.Connections``: slow clients cost no thread), and a pool of
``WORKERS`` threads renders the complete requests. The process never gets more
threads from it than that, however many clients connect.

A port already taken (another worker of a pre-fork server holds it) is one warning,
never an exception into the host. After ``fork()`` the child lets go of the
parent's socket and binds anew, like the reader restarts its timer; while the
parent holds the port that is the one warning again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import selectors
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from ..forking import after_fork_in_child
from .connection import MAX_CONNECTIONS, MAX_HEAD, Connections
from .renderer import Renderer

__all__ = ["WORKERS", "HealthServer", "is_loopback"]

_logger = logging.getLogger("otel_alerting")

#: threads rendering requests
WORKERS = 2
#: event loops of a parent process, left alone in a forked child: closing one there
#: would touch what the parent's loop still uses
_ABANDONED: list[asyncio.AbstractEventLoop] = []


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is reachable only from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # no SO_REUSEPORT: a second process would share the port and split the requests
    return socket.create_server((host.strip("[]"), port), family=family, backlog=128)


class HealthServer:
    """Serves ``renderer`` on ``host:port`` once ``start``-ed; ``close`` stops it."""

    def __init__(
        self, renderer: Renderer, host: str = "127.0.0.1", port: int = 0, *, max_connections: int = MAX_CONNECTIONS
    ) -> None:
        self.renderer = renderer
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._connections: Connections | None = None
        self._closed = False
        after_fork_in_child(self._after_fork_in_child)

    @property
    def address(self) -> tuple[str, int] | None:
        """Where it listens (the port the kernel chose for port 0), None when not serving."""
        if self._socket is None:
            return None
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def open_connections(self) -> int:
        """Connections open now (for tests and diagnostics)."""
        return 0 if self._connections is None else self._connections.open

    def start(self) -> bool:
        """Bind and serve; False (one warning logged) when the address cannot be bound."""
        try:
            self._socket = _listen(self.host, self.port)
        except OSError as exc:
            _logger.warning(
                "otel-alerting: cannot serve /health on %s:%d (%s); going on without it "
                "(under a pre-fork server, mount the ASGI or WSGI app in the service instead)",
                self.host,
                self.port,
                os.strerror(exc.errno) if exc.errno else type(exc).__name__,
            )
            return False
        # poll(), not epoll: no kernel object that a forked child would share with us
        self._loop = asyncio.SelectorEventLoop(selectors.PollSelector())
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="otel-alerting-http")
        self._connections = Connections(self.renderer, self._executor, max_connections=self.max_connections)
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(self._loop, self._socket, self._connections, ready),
            name="otel-alerting-http",
            daemon=True,
        )
        self._thread.start()
        ready.wait(5.0)
        _logger.info("otel-alerting: serving /health on http://%s:%d/health", *(self.address or ("?", 0)))
        return True

    def _run(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, connections: Connections, ready: threading.Event
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(sock, connections, ready))
        except Exception:
            _logger.exception("otel-alerting: the /health server stopped")
        finally:
            ready.set()

    async def _serve(self, sock: socket.socket, connections: Connections, ready: threading.Event) -> None:
        self._stopping = stopping = asyncio.Event()
        server = await asyncio.start_server(connections.serve, sock=sock, limit=MAX_HEAD)
        ready.set()
        try:
            await stopping.wait()
        finally:
            server.close()
            connections.close_all()
            await server.wait_closed()

    def close(self, timeout: float = 2.0) -> None:
        self._closed = True
        loop, thread, stopping, executor = self._loop, self._thread, self._stopping, self._executor
        sock = self._socket
        self._loop = self._thread = self._stopping = self._executor = self._socket = None
        if loop is None:
            return
        if thread is not None and thread.is_alive() and stopping is not None:
            loop.call_soon_threadsafe(stopping.set)
            thread.join(timeout)
        if thread is None or not thread.is_alive():
            loop.close()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        if sock is not None:
            sock.close()

    def _after_fork_in_child(self) -> None:
        if self._socket is None or self._closed:
            return
        # The parent's serving thread and workers do not exist here; its socket does:
        # let go of it (the parent keeps it), then try the port for this process.
        self._socket.close()
        if self._loop is not None:
            _ABANDONED.append(self._loop)
        self._loop = self._thread = self._stopping = self._executor = self._socket = None
        self._connections = None
        self.start()
