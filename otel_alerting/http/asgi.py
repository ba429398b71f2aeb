"""The ASGI app: mount it in Starlette, FastAPI or any ASGI framework.

app.mount("/alerting", make_asgi_app())   # GET /alerting/health
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .renderer import MAX_BODY, Renderer, Response, declared_too_large, too_large

__all__ = ["ASGIApp", "make_asgi_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def make_asgi_app(renderer: Renderer | None = None, *, allow_writes: bool = False) -> ASGIApp:
    """An ASGI 3 app answering for the process's alerting system (or ``renderer``'s).
    With no token configured, it accepts writes (silences) only with ``allow_writes``."""
    render = renderer if renderer is not None else Renderer(allow_writes=allow_writes)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        response = declared_too_large(headers.get("content-length"))
        if response is None:
            body = await _body(receive)
            if body is None:
                response = too_large()
            else:
                path = scope.get("path", "/")
                root = scope.get("root_path", "")
                if root and path.startswith(root):  # a mount that keeps the full path
                    path = path[len(root) :]
                query = scope.get("query_string", b"").decode("latin-1")
                response = render.handle(scope["method"], path, headers, body, query)
        await _send(send, response, scope["method"] == "HEAD")

    return app


async def _body(receive: Receive) -> bytes | None:
    """The request's body; None once it exceeds ``MAX_BODY``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, response: Response, head: bool) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else response.body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
