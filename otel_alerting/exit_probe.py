"""Whether an exporter's collector can be reached, asked once at exit.

The OTLP/HTTP exporters retry a refused connection with backoff until their own
timeout (``OTEL_EXPORTER_OTLP_TIMEOUT``, 10 s by default): at exit that is seconds of
waiting, and a line per retry, for a batch that cannot be delivered. A TCP connection
to the endpoint, tried once with a short bound, tells a collector that is down from
one that is up; an export to one that is up goes ahead as usual (its success is never
cut short), one to a collector that is down is not tried.
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from urllib.parse import urlsplit

__all__ = ["PROBE_TIMEOUT_S", "endpoint_of", "unreachable"]

#: how long the probe waits at most for a connection (name resolution included)
PROBE_TIMEOUT_S = 1.0


def endpoint_of(exporter: object) -> str | None:
    """The ``http(s)://`` URL an OTLP/HTTP exporter posts to; None for other exporters
    (they are left to their own shutdown behaviour)."""
    endpoint = getattr(exporter, "_endpoint", None)
    if not isinstance(endpoint, str) or urlsplit(endpoint).scheme not in ("http", "https"):
        return None
    return endpoint


def unreachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Why no TCP connection to ``url``'s host and port opens within ``timeout``
    (``"connection refused"``, ``"no answer within 1s"``...); None when one does, or
    when the exporter would go through a proxy (the probe cannot speak for it)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if not host or _proxied(host):
        return None
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(None)
        except OSError as exc:
            outcome.append(_reason(exc))

    # a thread: name resolution has no timeout of its own
    probe = threading.Thread(target=connect, name="otel-alerting-probe", daemon=True)
    probe.start()
    probe.join(timeout)
    return outcome[0] if outcome else f"no answer within {timeout:g}s"


def _proxied(host: str) -> bool:
    proxies = urllib.request.getproxies()
    return bool(proxies.get("http") or proxies.get("https")) and not urllib.request.proxy_bypass(host)


def _reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout):
        return "connection timed out"
    if isinstance(exc, socket.gaierror):
        return "host name not resolved"
    return exc.strerror or type(exc).__name__
