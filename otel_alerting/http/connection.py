"""One HTTP/1.1 connection of the standalone server, on its event loop.

A connection costs a socket and a small buffer, never a thread, until its request is
complete: slow clients (a slowloris sending a byte at a time) cannot take the
server's threads. Only a complete request goes to a worker thread, for the
renderer. Each request must arrive whole within ``REQUEST_TIMEOUT_S`` of the moment
the server starts waiting for it; its head is at most ``MAX_HEAD`` bytes, its body
at most ``MAX_BODY`` (declared by ``Content-Length`` and refused with 413 before it
is read). ``Connections`` keeps at most ``MAX_CONNECTIONS`` open; beyond that, the
one that has waited longest for its request is closed to make room, so a flood of
idle or slow connections never locks a quick client out (when every open one is
being answered, the new one is closed instead).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from .renderer import Renderer, Response, declared_too_large, error_response

__all__ = ["MAX_CONNECTIONS", "MAX_HEAD", "REQUEST_TIMEOUT_S", "Connections"]

_logger = logging.getLogger("otel_alerting")

#: seconds a request may take to arrive, from the first wait for it to its last byte
REQUEST_TIMEOUT_S = 10.0
#: the largest request line and headers, in bytes
MAX_HEAD = 16 * 1024
#: connections held open at once
MAX_CONNECTIONS = 256
_MAX_HEADERS = 100
#: after refusing a body: how long, and how much of it, is read and dropped before the
#: close, so that the client reads the refusal instead of a reset
_LINGER_S = 1.0
_LINGER_BYTES = 1 << 20


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class Connections:
    """Serves connections for ``renderer``, rendering on ``executor``."""

    def __init__(self, renderer: Renderer, executor: Executor, *, max_connections: int = MAX_CONNECTIONS) -> None:
        self.renderer = renderer
        self.executor = executor
        self.max_connections = max_connections
        #: open connections, by when each began waiting for its request (None: being answered)
        self._open: dict[asyncio.StreamWriter, float | None] = {}

    @property
    def open(self) -> int:
        return len(self._open)

    def close_all(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()

    def _make_room(self) -> bool:
        """Room for one more connection: at the limit, the one that has waited longest
        for its request is closed; False when every open one is being answered."""
        if len(self._open) < self.max_connections:
            return True
        waiting = [(since, id(w), w) for w, since in self._open.items() if since is not None]
        if not waiting:
            return False
        _, _, oldest = min(waiting)
        self._open.pop(oldest, None)
        oldest.transport.abort()
        return True

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._make_room():
            writer.transport.abort()
            return
        self._open[writer] = time.monotonic()
        try:
            await self._requests(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass  # the client went away, or was too slow: nothing to answer
        except Exception:
            _logger.warning("otel-alerting: an HTTP connection failed", exc_info=True)
        finally:
            self._open.pop(writer, None)
            writer.transport.abort()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            self._open[writer] = time.monotonic()
            try:
                request, body = await asyncio.wait_for(_read_request(reader), REQUEST_TIMEOUT_S)
            except _Refused as refused:
                await _write(writer, refused.response, head=False, close=True)
                await _linger(reader, writer)
                return
            if request is None:  # the client closed between requests
                return
            self._open[writer] = None
            url = urlsplit(request.target)
            loop = asyncio.get_running_loop()
            close = _closes(request)
            try:
                response = await loop.run_in_executor(
                    self.executor, self.renderer.handle, request.method, url.path, request.headers, body, url.query
                )
            except RuntimeError:  # the interpreter is exiting: its executors take no more work
                response, close = error_response(503, "shutting down"), True
            await _write(writer, response, head=request.method == "HEAD", close=close)
            if close:
                return


async def _read_request(reader: asyncio.StreamReader) -> tuple[_Request | None, bytes]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None, b""
        raise
    except asyncio.LimitOverrunError:
        raise _Refused(error_response(431, "request header fields too large")) from None
    request = _parse_head(head)
    refused = declared_too_large(request.headers.get("content-length"))
    if refused is None and "transfer-encoding" in request.headers:
        refused = error_response(411, "a request body needs a Content-Length")
    if refused is not None:
        raise _Refused(refused)
    length = int(request.headers.get("content-length") or 0)
    body = await reader.readexactly(length) if length else b""
    return request, body


def _parse_head(head: bytes) -> _Request:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Refused(error_response(400, "bad request"))
    headers: dict[str, str] = {}
    fields = [line for line in lines[1:] if line]
    if len(fields) > _MAX_HEADERS:
        raise _Refused(error_response(431, "too many header fields"))
    for line in fields:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise _Refused(error_response(400, "bad request"))
        headers[name.lower()] = value.strip()
    return _Request(parts[0].upper(), parts[1], parts[2], headers)


def _closes(request: _Request) -> bool:
    connection = request.headers.get("connection", "").lower()
    if request.version == "HTTP/1.0":
        return connection != "keep-alive"
    return connection == "close"


async def _write(writer: asyncio.StreamWriter, response: Response, *, head: bool, close: bool) -> None:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {response.status} {reason}", "Server: otel-alerting"]
    lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
    lines += [f"{name}: {value}" for name, value in response.headers]
    if close:
        lines.append("Connection: close")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if not head:
        writer.write(response.body)
    await asyncio.wait_for(writer.drain(), REQUEST_TIMEOUT_S)  # a client that never reads


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-close, then drop what the client still sends, for a bounded time: closing
    with unread data would reset the connection, and the client lose the answer."""
    if writer.can_write_eof():
        writer.write_eof()
    try:
        await asyncio.wait_for(_drop(reader, _LINGER_BYTES), _LINGER_S)
    except (asyncio.TimeoutError, ConnectionError):
        return


async def _drop(reader: asyncio.StreamReader, limit: int) -> None:
    while limit > 0:
        chunk = await reader.read(min(limit, 65536))
        if not chunk:
            return
        limit -= len(chunk)
