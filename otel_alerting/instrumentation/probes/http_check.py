"""HTTP health: ChromaDB's ``GET /api/v2/heartbeat`` and the embeddings service's
health URL (``GET``) or a minimal embeddings request (``POST``), with httpx.

Keep-alive is off: each check opens its own connection, for the reasons given in
``redis_ping``. Any status below 400 is healthy; the status code is the ``error.type``
of a failure, as the HTTP semantic conventions record it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry.util.types import AttributeValue

from .check import CheckFailed
from .targets import ProbeTarget

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpCheck"]


class _ProbeRequestFilter(logging.Filter):
    """Drops httpx's "HTTP Request: GET <url>" records of probe requests: one every few
    seconds is noise, and the URL may carry a token in its query."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.local, "probing", False)


_filter = _ProbeRequestFilter()
_filter_lock = threading.Lock()
_filter_installed = False


def _install_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger("httpx").addFilter(_filter)
            _filter_installed = True


class HttpCheck:
    def __init__(self, target: ProbeTarget, timeout: float) -> None:
        self._target = target
        self._timeout = timeout
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            _install_filter()

            self._client = httpx.Client(
                timeout=self._timeout,
                limits=httpx.Limits(max_keepalive_connections=0),
                follow_redirects=False,
            )
        return self._client

    def run(self) -> Mapping[str, AttributeValue]:
        target = self._target
        client = self._http()
        _filter.local.probing = True
        try:
            response = client.request(target.method, target.url, content=target.body, headers=list(target.headers))
        finally:
            _filter.local.probing = False
        status = response.status_code
        if status >= 400:
            raise CheckFailed(f"HTTP {status} from {target.display}", str(status))
        return {"http.request.method": target.method, "http.response.status_code": status}

    def reset_after_fork(self) -> None:
        # The parent's client and sockets are left alone: closing them here could
        # shut down connections the parent still uses.
        self._client = None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
