"""Redis: ``PING`` on a fresh connection of the probe's own.

A fresh connection per check (not the application's pool, not a kept-alive socket)
tests what a new request needs: connect, TLS, AUTH, a reply. A kept socket would
report a restart between two checks as a failed check, and an idle one closed by
the server's ``timeout`` as an outage. redis-py is imported at the first check.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.util.types import AttributeValue

from .check import CheckFailed
from .targets import ProbeTarget

__all__ = ["RedisPing"]


class RedisPing:
    def __init__(self, target: ProbeTarget, timeout: float) -> None:
        self._target = target
        self._timeout = timeout

    def run(self) -> Mapping[str, AttributeValue]:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(
            self._target.url,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            # redis-py 6+ retries three times with backoff by default: one check is one try
            retry=Retry(NoBackoff(), 0),
            single_connection_client=True,
        )
        try:
            if client.ping() is not True:
                raise CheckFailed("unexpected reply to PING", "redis.reply")
        finally:
            client.close()
        return {"db.system.name": "redis"}

    def reset_after_fork(self) -> None:
        pass  # nothing is kept between checks

    def close(self) -> None:
        pass
