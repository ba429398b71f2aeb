"""PagerDuty Events API v2: one event per alert.

A FIRING notification is a ``trigger`` event and a RESOLVED one a ``resolve`` event,
both with ``dedup_key`` = the alert's fingerprint, which stays the same through
escalation: PagerDuty keeps one alert per alert identity, updated by each trigger
and closed by the resolve. Severities map CRITICAL -> ``critical``, HIGH -> ``error``,
MEDIUM -> ``warning``, LOW -> ``info``.

PagerDuty answers 202 when it accepts an event, 400 to an invalid one (not retried),
429 and 5xx when it should be retried later. The events of a batch go one by one;
a retryable failure stops the attempt, and the retry skips the events already
accepted, so a retry does not send them twice. The routing key is a secret.

Sizes, as the Events API limits them: ``summary`` 1024 characters, ``source``,
``component``, ``group`` and ``class`` 255, and the whole event ``EVENT_LIMIT`` bytes
(512 KB): label and annotation values in ``custom_details`` are clipped to 4096
characters, then to 256 when the event is still too large, then left out (their
number kept in ``custom_details.truncated``).
"""

from __future__ import annotations

import json
import math
import socket
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry.sdk.environment_variables import OTEL_SERVICE_NAME

from .. import environment_variables as ev
from ..config import ConfigError
from ..notify.channel import Channel, DeliveryResult
from ..notify.model import Batch, Notification, Status, fingerprint
from ..notify.render import bounded, clip, iso_timestamp, one_line, summary_line, truncate
from ..rules.model import Severity
from ..secrets import Secret
from ._env import EnvReader
from ._http_delivery import HttpSender, ServiceWording

__all__ = [
    "DEFAULT_URL",
    "EVENT_LIMIT",
    "SEVERITIES",
    "PagerDutyChannel",
    "PagerDutyConfig",
    "event",
    "load_pagerduty_config",
]

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITIES = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "info",
}
CLIENT = "otel-alerting"

# Labels that name the broken part (``payload.component``) and the group of parts
# (``payload.group``), in order of preference.
COMPONENT_LABELS = ("component", "otel_alerting.dependency.name", "otel_alerting.cache.name")
GROUP_LABELS = ("group", "service.name", "category")

_KEY_LENGTH = 32
#: per label or annotation value in ``custom_details``: first try, then a smaller one
_DETAIL_LIMITS = (4096, 256)
#: bytes of one event: the Events API refuses larger ones
EVENT_LIMIT = 512 * 1024
_REMEMBERED = 4096  # accepted events remembered so that a retry does not resend them


@dataclass(frozen=True)
class PagerDutyConfig:
    routing_key: Secret
    url: str = DEFAULT_URL
    source: str = ""
    timeout: float = 5.0

    def describe(self) -> str:
        return f"pagerduty {_display(self.url)} (source {self.source})"


def _display(url: str) -> str:
    """The URL without user info or query: how errors name the endpoint."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(invalid URL)"


def load_pagerduty_config(environ: Mapping[str, str] | None = None) -> tuple[PagerDutyConfig | None, list[ConfigError]]:
    """The PagerDuty channel's configuration, or None when it is not configured (no
    routing key) or not usable (then the errors say why). Never shows the key."""
    env = EnvReader(environ)
    key = env.secret(ev.OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY)
    url_set = env.text(ev.OTEL_PYTHON_ALERTING_PAGERDUTY_URL) is not None
    if key is None and not url_set:
        return None, env.errors
    if key is None:
        env.fail(
            ev.OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY,
            f"required: the integration key ({ev.OTEL_PYTHON_ALERTING_PAGERDUTY_URL} is set)",
        )
    elif len(key.reveal()) != _KEY_LENGTH or not key.reveal().isprintable() or " " in key.reveal():
        env.fail(
            ev.OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY,
            f"invalid value (not shown: it is a secret): expected the {_KEY_LENGTH}-character integration key "
            f"of an Events API v2 integration, got {len(key.reveal())} characters",
        )
    url = env.url(ev.OTEL_PYTHON_ALERTING_PAGERDUTY_URL) or DEFAULT_URL
    source = env.text(ev.OTEL_PYTHON_ALERTING_PAGERDUTY_SOURCE) or env.text(OTEL_SERVICE_NAME)
    source = one_line(source or socket.gethostname() or "otel-alerting", 255)
    timeout = env.seconds(ev.OTEL_PYTHON_ALERTING_PAGERDUTY_TIMEOUT, PagerDutyConfig.timeout)
    if env.errors or key is None:
        return None, env.errors
    return PagerDutyConfig(key, url, source, timeout), env.errors


# --- events ----------------------------------------------------------------------------


def _number(value: float | None) -> float | str | None:
    if value is None:
        return None
    return value if math.isfinite(value) else str(value)  # JSON has no NaN or infinity


def _first(labels: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if labels.get(name):
            return truncate(one_line(labels[name]), 255)
    return None


def _dedup_key(n: Notification) -> str:
    return (n.fingerprint or fingerprint(n.labels))[:255]


def _custom_details(n: Notification, limit: int | None) -> dict[str, Any]:
    """The details with each value clipped to ``limit``; None: without labels and
    annotations, their number in ``truncated``."""
    pairs: dict[str, Any]
    if limit is None:
        pairs = {"truncated": f"{len(n.labels)} labels and {len(n.annotations)} annotations left out (event size)"}
    else:
        pairs = {
            "labels": {k: clip(v, limit) for k, v in sorted(n.labels.items())},
            "annotations": {k: clip(v, limit) for k, v in sorted(n.annotations.items())},
        }
    details: dict[str, Any] = {
        **pairs,
        "severity": n.severity.name,
        "change": n.change.value,
        "value": _number(n.value),
        "threshold": _number(n.threshold),
        "previous_severity": n.previous_severity.name if n.previous_severity is not None else None,
        "started_at": iso_timestamp(n.starts_at),
        "expr": n.expr or None,
        "fingerprint": n.fingerprint,
    }
    return {k: v for k, v in details.items() if v is not None}


def event(n: Notification, config: PagerDutyConfig) -> dict[str, Any]:
    """The Events API v2 event of one notification, within ``EVENT_LIMIT`` bytes."""
    n = bounded(n)
    for limit in (*_DETAIL_LIMITS, None):
        built = _event(n, config, limit)
        if limit is None or len(json.dumps(built, ensure_ascii=False).encode()) <= EVENT_LIMIT:
            break
    return built


def _event(n: Notification, config: PagerDutyConfig, limit: int | None) -> dict[str, Any]:
    base: dict[str, Any] = {
        "routing_key": config.routing_key.reveal(),
        "dedup_key": _dedup_key(n),
    }
    if n.status is Status.RESOLVED:
        return {**base, "event_action": "resolve"}
    payload: dict[str, Any] = {
        "summary": truncate(one_line(summary_line(n)), 1024),
        "source": config.source,
        "severity": SEVERITIES[n.severity],
        "timestamp": iso_timestamp(n.at),
        "class": truncate(one_line(n.alert), 255),
        "custom_details": _custom_details(n, limit),
    }
    component = _first(n.labels, COMPONENT_LABELS)
    if component:
        payload["component"] = component
    group = _first(n.labels, GROUP_LABELS)
    if group:
        payload["group"] = group
    return {**base, "event_action": "trigger", "payload": payload, "client": CLIENT}


# --- the channel -----------------------------------------------------------------------


class PagerDutyChannel(Channel):
    name = "pagerduty"

    def __init__(self, config: PagerDutyConfig) -> None:
        self._config = config
        self._where = _display(config.url)
        self._sender = HttpSender(config.timeout, [config.routing_key], ServiceWording(self.name), whole_request=True)
        self._accepted: OrderedDict[tuple[str, str, float], None] = OrderedDict()

    def describe(self) -> str:
        return self._config.describe()

    def __repr__(self) -> str:
        return f"PagerDutyChannel({self._config.describe()!r})"

    def _remember(self, key: tuple[str, str, float]) -> None:
        self._accepted[key] = None
        while len(self._accepted) > _REMEMBERED:
            self._accepted.popitem(last=False)

    async def send(self, batch: Batch) -> DeliveryResult:
        rejected: list[str] = []
        total = len(batch.notifications)
        sent = 0
        for n in batch.notifications:
            key = (_dedup_key(n), n.status.value, n.at)
            if key in self._accepted:
                continue
            try:
                body = json.dumps(event(n, self._config), ensure_ascii=False, allow_nan=False).encode()
            except Exception as exc:  # a rendering bug must not reach the dispatcher
                rejected.append(f"pagerduty: cannot render the event: {type(exc).__name__}")
                continue
            result = await self._sender.post_json(self._config.url, body, self._where)
            if result.ok:
                self._remember(key)
                sent += 1
            elif result.retryable:
                note = f" ({sent} of {total} events accepted before)" if sent else ""
                return DeliveryResult.failed(f"{result.error}{note}", retryable=True, retry_after=result.retry_after)
            else:
                rejected.append(result.error or "rejected")
        if rejected:
            return DeliveryResult.failed(
                f"{rejected[0]}" + (f" ({len(rejected)} of {total} events rejected)" if total > 1 else ""),
                retryable=False,
            )
        return DeliveryResult.delivered()

    async def close(self) -> None:
        await self._sender.aclose()
