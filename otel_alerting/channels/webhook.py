"""Batches as JSON in Alertmanager's webhook format (version 4), optionally signed.

Every receiver written for Alertmanager's ``webhook_config`` works unchanged. With a
signing key, each request carries the Standard Webhooks headers, which the
``standardwebhooks`` libraries verify::

    webhook-id: msg_<32 hex digits>            (the same on every retry of one batch)
    webhook-timestamp: <Unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>

and, for receivers written against this package's first scheme, the same timestamp in::

    X-Otel-Alerting-Timestamp: <Unix seconds>
    X-Otel-Alerting-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>

A key written ``whsec_<base64>`` (as Standard Webhooks writes secrets) signs the
``webhook-signature`` with the decoded bytes; any other key signs with its UTF-8 bytes.
The ``X-Otel-Alerting-Signature`` always uses the key's UTF-8 bytes, as it always has.

Sizes: label and annotation values are clipped (``render.bounded``), and a body is at
most ``BODY_LIMIT`` bytes (the default request limit of nginx, a common front of
receivers): past it, fewer alerts are sent and the rest counted in ``truncatedAlerts``,
as Alertmanager's ``max_alerts`` does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .. import environment_variables as ev
from ..config import ConfigError
from ..notify.channel import Channel, DeliveryResult
from ..notify.model import Batch, Notification
from ..notify.render import bounded_batch, fitted
from ..secrets import Secret, redact_url
from ._am_alerts import alert_annotations, alert_labels, group_key, sanitized, webhook_alert
from ._env import EnvReader
from ._http_delivery import HttpSender, WebhookWording, header_secrets, http_url, read_headers, url_secrets

__all__ = [
    "BODY_LIMIT",
    "SIGNATURE_HEADER",
    "STANDARD_ID_HEADER",
    "STANDARD_SIGNATURE_HEADER",
    "STANDARD_TIMESTAMP_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookChannel",
    "WebhookConfig",
    "load_webhook_config",
    "sign",
    "sign_standard",
    "standard_key",
    "webhook_payload",
]

_logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Otel-Alerting-Signature"
TIMESTAMP_HEADER = "X-Otel-Alerting-Timestamp"
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
_WHSEC_PREFIX = "whsec_"
DEFAULT_TIMEOUT = 5.0
#: bytes of one request body
BODY_LIMIT = 1024 * 1024


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
    if key and standard_key(key.reveal()) is None:
        env.fail(
            env.source(ev.OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY),
            "invalid value (not shown: it is a secret): a key starting with whsec_ must continue "
            "with base64 (the Standard Webhooks form)",
        )
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


def standard_key(key: str) -> bytes | None:
    """The HMAC key of the Standard Webhooks signature: ``whsec_<base64>`` decoded, any
    other key as its UTF-8 bytes; None for a ``whsec_`` key that is not base64."""
    if not key.startswith(_WHSEC_PREFIX):
        return key.encode()
    encoded = key[len(_WHSEC_PREFIX) :].strip()
    try:  # the spec's secrets are often written without padding
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded or None


def sign_standard(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC of ``id.timestamp.body``."""
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class _MessageIds:
    """One ``webhook-id`` per batch object: the dispatcher retries with the same object,
    so a retry keeps its id and a receiver can drop the duplicate; a repeat after
    ``repeat_interval`` is a new batch, and a new message, even with the same alerts."""

    def __init__(self) -> None:
        self._ids: dict[int, tuple[weakref.ref[Batch], str]] = {}

    def __call__(self, batch: Batch) -> str:
        key = id(batch)
        known = self._ids.get(key)
        if known is not None and known[0]() is batch:
            return known[1]
        message_id = "msg_" + uuid.uuid4().hex
        ids = self._ids  # the entry leaves with its batch, before its id() can be reused
        ids[key] = (weakref.ref(batch, lambda _ref: ids.pop(key, None)), message_id)
        return message_id


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
        key = config.signing_key.reveal() if config.signing_key else ""
        self._standard_key = standard_key(key) if key else None
        self._message_ids = _MessageIds()
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

    def _headers(self, batch: Batch, body: bytes) -> dict[str, str]:
        headers = {name: value.reveal() for name, value in self._config.headers}
        if self._config.signing_key and self._standard_key is not None:
            timestamp = str(int(self._clock()))
            message_id = self._message_ids(batch)
            headers[STANDARD_ID_HEADER] = message_id
            headers[STANDARD_TIMESTAMP_HEADER] = timestamp
            headers[STANDARD_SIGNATURE_HEADER] = sign_standard(self._standard_key, message_id, timestamp, body)
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self._config.signing_key.reveal(), timestamp, body)
        return headers

    async def send(self, batch: Batch) -> DeliveryResult:
        if not batch.notifications:
            return DeliveryResult.delivered()
        if self._config.signing_key and self._standard_key is None:  # a config built in code: the loader rejects it
            error = "webhook: the signing key starts with whsec_ but is not base64"
            return DeliveryResult.failed(error, retryable=False)
        try:
            body = self._body(batch)
            headers = self._headers(batch, body)
        except Exception as exc:  # a rendering bug must not reach the dispatcher
            result = self._sender.failure(exc, self._target)
        else:
            result = await self._sender.post_json(self._config.url.reveal(), body, self._target, headers)
        if not result.ok:
            _logger.debug("webhook delivery to %s failed: %s", self._target, result.error)
        return result

    def _body(self, batch: Batch) -> bytes:
        clipped = bounded_batch(batch)

        def render(shown: int) -> bytes:
            payload = webhook_payload(clipped, self.name, shown)
            return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

        count = min(self._config.max_alerts or len(batch.notifications), len(batch.notifications))
        return fitted(render, count, BODY_LIMIT)[0]

    async def close(self) -> None:
        await self._sender.aclose()
