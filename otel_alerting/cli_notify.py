"""``otel-alerting test-notify``: one test notification through one configured channel.

The channels are built from the environment exactly as the plugin builds them (the
same ``load_configuration``, rules files' receivers included); one of them is told of a
firing alert whose labels say it is a test, in one attempt, and the outcome is the
channel's own ``DeliveryResult`` (its error never holds a secret).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping

from .config import load_settings
from .configuration import load_configuration
from .notify.channel import Channel, DeliveryResult
from .notify.model import Batch, Change, Notification, Status, fingerprint
from .rules.model import Severity

__all__ = ["TEST_ALERT", "configured_channels", "send_test", "test_batch"]

TEST_ALERT = "OtelAlertingTestNotification"
#: seconds for the one attempt, beyond the channel's own time limits
ATTEMPT_TIMEOUT_S = 60.0


def configured_channels(environ: Mapping[str, str]) -> tuple[dict[str, Channel], list[str]]:
    """The channels the plugin would start, by name, and the configuration's problems."""
    config = load_configuration(load_settings(environ), environ)
    return {c.name: c for c in config.channels}, config.problems


def test_batch(channel: str, severity: Severity, now: float | None = None) -> Batch:
    """A firing alert that says, in its labels and annotations, that it is a test."""
    at = time.time() if now is None else now
    labels = {
        "alertname": TEST_ALERT,
        "test": "true",
        "source": "otel-alerting test-notify",
        "host": socket.gethostname(),
    }
    notification = Notification(
        alert=TEST_ALERT,
        status=Status.FIRING,
        change=Change.FIRED,
        severity=severity,
        labels=labels,
        annotations={
            "summary": f"Test notification to channel {channel}: no action needed",
            "description": "Sent by `otel-alerting test-notify` to check that this channel delivers.",
        },
        value=None,
        threshold=None,
        starts_at=at,
        at=at,
        fingerprint=fingerprint(labels),
    )
    return Batch(channel=channel, notifications=(notification,), group_key=f"test-notify/{channel}", group_labels={})


async def _attempt(channel: Channel, batch: Batch, timeout: float) -> DeliveryResult:
    try:
        return await asyncio.wait_for(channel.send(batch), timeout)
    except asyncio.TimeoutError:
        return DeliveryResult.failed(f"no outcome within {timeout:g}s", retryable=True)
    except Exception as exc:  # a channel must not raise; say so rather than show a trace
        return DeliveryResult.failed(f"the channel raised {type(exc).__name__}", retryable=False)
    finally:
        await channel.close()


def send_test(channel: Channel, severity: Severity, timeout: float = ATTEMPT_TIMEOUT_S) -> DeliveryResult:
    """Send one test batch through ``channel``, in one attempt (no retry)."""
    return asyncio.run(_attempt(channel, test_batch(channel.name, severity), timeout))
