"""Batches as JSON in Alertmanager's webhook format (version 4), optionally signed.

Every receiver written for Alertmanager's ``webhook_config`` works unchanged. With a
signing key, each request carries::

    X-Otel-Alerting-Timestamp: <Unix seconds>
    X-Otel-Alerting-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>

A receiver recomputes the HMAC over the raw body bytes, compares it in constant
time and rejects timestamps older than a few minutes (a replayed request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .. import environment_variables as ev
from ..config import ConfigError
from ..notify.channel import Channel, DeliveryResult
from ..notify.model import Batch, Notification
from ..secrets import Secret, redact_url
from ._am_alerts import alert_annotations, alert_labels, group_key, sanitized, webhook_alert
from ._env import EnvReader
from ._http_delivery import HttpSender, WebhookWording, header_secrets, http_url, read_headers, url_secrets

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookChannel",
    "WebhookConfig",
    "load_webhook_config",
    "sign",
    "webhook_payload",
]

_logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Otel-Alerting-Signature"
TIMESTAMP_HEADER = "X-Otel-Alerting-Timestamp"
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class WebhookConfig:
    url: Secret
    headers: tuple[tuple[str, Secret], ...] = ()
    signing_key: Secret | None = None
    timeout: float = DEFAULT_TIMEOUT
    #: at most this many alerts per request, the rest counted in ``truncatedAlerts``; 0: all
    max_alerts: int = 0


_OPTIONAL = (
    ev.OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS,
    ev.OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY,
    ev.OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT,
    ev.OTEL_PYTHON_ALERTING_WEBHOOK_MAX_ALERTS,
)


def load_webhook_config(environ: Mapping[str, str] | None = None) -> tuple[WebhookConfig | None, list[ConfigError]]:
    """The webhook channel's configuration; None when it is not configured or has an
    error (it does not start then). Errors name the variable, never a secret."""
    env = EnvReader(environ)
    enabled = env.flag(ev.OTEL_PYTHON_ALERTING_WEBHOOK_ENABLED)
    if enabled is False or env.errors:  # an invalid switch is the only error shown
        return None, env.errors
    url, url_var = env.lookup(ev.OTEL_PYTHON_ALERTING_WEBHOOK_URL)
    if url is None:
        given = [env.source(ev.OTEL_PYTHON_ALERTING_WEBHOOK_ENABLED)] if enabled else env.given(_OPTIONAL)
        if given:
            env.fail(url_var, f"not set, but {', '.join(given)} is: the webhook channel needs a URL")
        return None, env.errors
    if not http_url(url):
        env.fail(url_var, f"invalid URL {redact_url(url)}: expected http(s)://host/...")
    headers = read_headers(env, ev.OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS)
    key = env.secret(ev.OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY)
    timeout = env.seconds(ev.OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT, DEFAULT_TIMEOUT, "10s")
    max_alerts = env.count(ev.OTEL_PYTHON_ALERTING_WEBHOOK_MAX_ALERTS)
    if env.errors:
        return None, env.errors
    return WebhookConfig(Secret(url), headers, key, timeout, max_alerts), []


def _common(items: list[dict[str, str]]) -> dict[str, str]:
    first, *rest = items
    return {k: v for k, v in first.items() if all(other.get(k) == v for other in rest)}


def webhook_payload(batch: Batch, receiver: str = "webhook", max_alerts: int = 0) -> dict[str, Any]:
    """The JSON document Alertmanager's webhook sends for ``batch`` (version 4)."""
    notifications: tuple[Notification, ...] = batch.notifications
    alerts = [webhook_alert(n) for n in notifications]
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    return {  # in the order Alertmanager writes them
        "receiver": receiver,
        "status": "firing" if batch.firing else "resolved",
        "alerts": alerts,
        "groupLabels": sanitized(batch.group_labels),
        "commonLabels": _common([alert_labels(n) for n in notifications]),
        "commonAnnotations": _common([alert_annotations(n) for n in notifications]),
        "externalURL": "",
        "version": "4",
        "groupKey": group_key(batch.group_labels, batch.group_key),
        "truncatedAlerts": truncated,
    }


def sign(key: str | bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` + hex HMAC of ``timestamp.body``."""
    secret = key.encode() if isinstance(key, str) else key
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel(Channel):
    """POSTs each batch to one URL; never raises, never logs a secret."""

    name = "webhook"

    def __init__(
        self,
        config: WebhookConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._clock = clock
        self._target = redact_url(config.url)
        secrets = [*url_secrets(config.url), config.signing_key, *header_secrets(config.headers)]
        self._sender = HttpSender(config.timeout, secrets, WebhookWording(), transport=transport)

    def describe(self) -> str:
        extras = [f"timeout {self._config.timeout:g}s"]
        if self._config.headers:
            extras.append("headers " + ", ".join(name for name, _ in self._config.headers))
        if self._config.signing_key:
            extras.append("signed")
        return f"webhook {self._target} ({'; '.join(extras)})"

    def __repr__(self) -> str:
        return f"WebhookChannel({self.describe()!r})"

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {name: value.reveal() for name, value in self._config.headers}
        if self._config.signing_key:
            timestamp = str(int(self._clock()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self._config.signing_key.reveal(), timestamp, body)
        return headers

    async def send(self, batch: Batch) -> DeliveryResult:
        if not batch.notifications:
            return DeliveryResult.delivered()
        try:
            payload = webhook_payload(batch, self.name, self._config.max_alerts)
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            headers = self._headers(body)
        except Exception as exc:  # a rendering bug must not reach the dispatcher
            result = self._sender.failure(exc, self._target)
        else:
            result = await self._sender.post_json(self._config.url.reveal(), body, self._target, headers)
        if not result.ok:
            _logger.debug("webhook delivery to %s failed: %s", self._target, result.error)
        return result

    async def close(self) -> None:
        await self._sender.aclose()
