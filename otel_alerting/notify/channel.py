"""The one interface every channel implements, and what a delivery attempt achieved.

It lives with the notification values it delivers, so that channels import
``notify`` and ``notify`` (the dispatcher) never imports a channel."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from .model import Batch

__all__ = ["Channel", "DeliveryResult"]


@dataclass(frozen=True)
class DeliveryResult:
    """What a send attempt achieved. ``retryable`` tells the dispatcher whether
    another attempt can succeed (a timeout, a 5xx, a 429) or not (a 4xx, bad auth).
    ``error`` must never contain a secret."""

    ok: bool
    retryable: bool = False
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def delivered(cls) -> DeliveryResult:
        return cls(True)

    @classmethod
    def failed(cls, error: str, *, retryable: bool, retry_after: float | None = None) -> DeliveryResult:
        return cls(False, retryable, error, retry_after)


class Channel(ABC):
    """Delivers batches of notifications somewhere.

    ``send`` runs on the dispatcher's own event loop thread, never on the
    application's threads; it must not raise (map errors to a DeliveryResult) and
    must bound its own I/O time.
    """

    #: the name used in configuration, metrics and logs (``log``, ``console``, ...)
    name: str = ""
    #: False: this channel is never told of resolutions (Alertmanager's send_resolved)
    send_resolved: bool = True

    @abstractmethod
    async def send(self, batch: Batch) -> DeliveryResult:
        """Deliver one batch (the alerts of one group) in one attempt."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once at shutdown."""

    def describe(self) -> str:
        """A one-line, secret-free description for logs and ``otel-alerting check``."""
        return self.name
