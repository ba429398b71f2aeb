"""Builders shared by the channel tests: notifications, batches, running a coroutine."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from otel_alerting.notify.model import Batch, Notification, Status
from otel_alerting.rules.model import Severity

from ..unit.helpers import notification

__all__ = ["batch", "firing", "notification", "resolved", "run"]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def firing(severity: Severity = Severity.HIGH, **kwargs: Any) -> Notification:
    return notification(severity, Status.FIRING, **kwargs)


def resolved(severity: Severity = Severity.HIGH, **kwargs: Any) -> Notification:
    kwargs.setdefault("value", 42.0)
    kwargs.setdefault("fired_for", 95.0)
    kwargs.setdefault("reason", "value 42 back below threshold 500")
    kwargs.setdefault("ends_at", 1_750_000_095.0)
    kwargs.setdefault("last_firing_value", 640.0)
    return notification(severity, Status.RESOLVED, **kwargs)


def batch(*notifications: Notification, channel: str = "test", **kwargs: Any) -> Batch:
    return Batch(channel, tuple(notifications), **kwargs)
