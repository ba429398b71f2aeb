"""A web application for pre-fork servers, using only the OpenTelemetry API (never
otel_alerting): ``application`` (WSGI, for gunicorn) and ``asgi`` (for uvicorn) answer
``ok``. Each process that runs it reports an observable gauge ``app.level`` (attribute
``proc=web``, the same in every worker, so that every worker's alert is one alert). At
each collection a process reads its level from ``LEVEL_DIR/level-<pid>`` if that file
exists, else from ``LEVEL_DIR/level``, and marks itself seen in ``LEVEL_DIR/seen-<pid>``:
the test finds the workers, and sets one worker's level apart from the others.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

LEVEL_DIR = Path(os.environ["LEVEL_DIR"])


def _level(options: CallbackOptions) -> Iterator[Observation]:
    pid = os.getpid()
    (LEVEL_DIR / f"seen-{pid}").touch()
    own = LEVEL_DIR / f"level-{pid}"
    source = own if own.exists() else LEVEL_DIR / "level"
    yield Observation(float(source.read_text()), {"proc": "web"})


metrics.get_meter("prefork_app").create_observable_gauge("app.level", callbacks=[_level])


def application(environ: dict[str, Any], start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


async def asgi(
    scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
