"""The heartbeat: a dead man's switch for the evaluator itself.

An in-process evaluator cannot report its own process's death, nor a timer thread that
stopped. After an evaluation, at most once per interval, it sends an HTTP GET to a ping
URL (healthchecks.io, Cronitor, Better Stack, Uptime Kuma push monitors all accept a
bare GET); the service behind that URL alerts when the pings stop.

``beat`` runs on the evaluating thread and only decides: the request runs on the
dispatcher's event loop, beside the channels, with a time limit. One ping at a time; a
failure is counted and logged once (a changed error is logged again). The URL is a
``Secret``: it carries the check's token, so no log line, error or report holds it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from opentelemetry.context import attach, detach

from ..forking import after_fork_in_child
from ..own_work import OWN_WORK
from ..secrets import Secret, longest_first, own_requests

__all__ = ["Heartbeat", "Spawn"]

_logger = logging.getLogger("otel_alerting")

#: runs a coroutine off the evaluating thread; False when it cannot (``Dispatcher.spawn``)
Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], bool]

#: the longest a ping may take: a receiver that hangs must not hold the next one back for long
MAX_TIMEOUT = 10.0


class Heartbeat:
    def __init__(
        self,
        url: Secret,
        interval: float,
        spawn: Spawn,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        timeout: float | None = None,
    ) -> None:
        self._url = url
        self.interval = interval
        self._spawn = spawn
        self._clock = clock
        self._wall_clock = wall_clock
        self.timeout = min(interval, MAX_TIMEOUT) if timeout is None else timeout
        self._lock = threading.Lock()
        self._closed = False
        self._in_flight = False
        self._last_attempt: float | None = None
        self._logged_error: str | None = None
        self.sent = 0
        self.succeeded = 0
        self.failed = 0
        self.last_success: float | None = None
        self.last_failure: float | None = None
        self.last_error: str | None = None
        after_fork_in_child(self._after_fork_in_child)

    def __repr__(self) -> str:
        return f"Heartbeat(url={self._url!r}, interval={self.interval:g})"

    def _after_fork_in_child(self) -> None:
        # a ping in flight at fork() belongs to the parent's loop, which the child has not
        self._lock = threading.Lock()
        self._in_flight = False

    def beat(self) -> None:
        """After an evaluation: ping if the interval has passed and no ping is running."""
        now = self._clock()
        with self._lock:
            if self._closed or self._in_flight:
                return
            if self._last_attempt is not None and now - self._last_attempt < self.interval:
                return
            self._in_flight = True
            self._last_attempt = now
        if not self._spawn(self._ping):
            with self._lock:
                self._in_flight = False
            self._failed("the notification loop is not running")

    async def _ping(self) -> None:
        import httpx  # the channels' client, imported where a ping is due

        token = attach(OWN_WORK)  # the ping is the plugin's own work: no span, no metric
        error: str | None = None
        try:
            self.sent += 1
            # httpx logs the request URL (its token with it) at INFO: cleaned while it runs
            with own_requests(tuple(longest_first([self._url]))):
                async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=True) as client:
                    response = await client.get(self._url.reveal())
            if response.status_code >= 400:
                error = f"HTTP {response.status_code}"
        except Exception as exc:  # the exception's text may quote the URL: its type only
            error = type(exc).__name__
        finally:
            detach(token)
            with self._lock:
                self._in_flight = False
        if error is None:
            self._succeeded()
        else:
            self._failed(error)

    def _succeeded(self) -> None:
        self.succeeded += 1
        self.last_success = self._wall_clock()
        if self._logged_error is not None:
            _logger.info("otel-alerting: heartbeat ping succeeded again")
            self._logged_error = None

    def _failed(self, error: str) -> None:
        self.failed += 1
        self.last_failure = self._wall_clock()
        self.last_error = error
        if error != self._logged_error:
            self._logged_error = error
            _logger.warning(
                "otel-alerting: heartbeat ping failed (%s); %d failure(s) so far; "
                "logged again only if the error changes",
                error,
                self.failed,
            )

    def close(self) -> None:
        """No ping after this one (at shutdown)."""
        with self._lock:
            self._closed = True

    def state(self) -> dict[str, object]:
        """For the health report: counts and times, never the URL."""
        return {
            "configured": True,
            "interval_s": self.interval,
            "pings": self.sent,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "last_success": self.last_success,
            "last_failure": self.last_failure,
            "last_error": self.last_error,
        }
