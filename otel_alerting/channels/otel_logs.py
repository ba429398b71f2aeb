"""Notifications as OpenTelemetry log records (events named ``otel_alerting.alert``),
emitted through the SDK's logs pipeline so they reach the collector over OTLP with
the metrics.

Each record: body = the summary line; severity from the alert's level (LOW -> INFO,
MEDIUM -> WARN, HIGH -> ERROR, CRITICAL -> FATAL; a resolution -> INFO); attributes
``otel_alerting.alert.*`` (name, state, severity, change, value, threshold,
fingerprint, ...), ``otel_alerting.label.<name>`` and ``otel_alerting.annotation.<name>``.

Configured (``OTEL_PYTHON_ALERTING_OTEL_LOGS``): ``true``; ``false``; ``auto``, the
default, means on when ``OTEL_LOGS_EXPORTER`` names an exporter (the SDK then builds a
LoggerProvider that exports), and not configured otherwise. The provider is looked
up at each send, not at configuration time: the SDK sets it up after the metric
readers. Without an SDK LoggerProvider a send fails, not retryable, saying so.

Sizes: the body is at most ``render.SUMMARY_LIMIT`` characters and label and
annotation values are clipped (``render.bounded``); the SDK's own limits on the number
and length of attributes (``OTEL_ATTRIBUTE_COUNT_LIMIT``, ...) apply on top.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry._logs import LoggerProvider, SeverityNumber, get_logger_provider
from opentelemetry.environment_variables import OTEL_LOGS_EXPORTER

from .. import environment_variables as ev
from ..config import ConfigError, EnvReader, parse_bool
from ..notify.channel import Channel, DeliveryResult
from ..notify.model import Batch, Notification, Status
from ..notify.render import bounded, summary_line
from ..rules.model import Severity
from ..telemetry import ALERT_NAME, ALERT_SEVERITY, ALERT_STATE
from ..version import __version__

__all__ = [
    "EVENT_NAME",
    "OtelLogsChannel",
    "OtelLogsConfig",
    "load_otel_logs_config",
    "log_attributes",
    "severity_of",
]

_logger = logging.getLogger(__name__)

EVENT_NAME = "otel_alerting.alert"
SCOPE = "otel_alerting"
LABEL_PREFIX = "otel_alerting.label."
ANNOTATION_PREFIX = "otel_alerting.annotation."

_SEVERITIES: Mapping[Severity, tuple[SeverityNumber, str]] = {
    Severity.LOW: (SeverityNumber.INFO, "INFO"),
    Severity.MEDIUM: (SeverityNumber.WARN, "WARN"),
    Severity.HIGH: (SeverityNumber.ERROR, "ERROR"),
    Severity.CRITICAL: (SeverityNumber.FATAL, "FATAL"),
}


@dataclass(frozen=True)
class OtelLogsConfig:
    #: ``true`` (asked for) or ``auto`` (on because OTEL_LOGS_EXPORTER exports)
    mode: str = "true"


def load_otel_logs_config(environ: Mapping[str, str] | None = None) -> tuple[OtelLogsConfig | None, list[ConfigError]]:
    """None when the channel is off or, in ``auto``, when no log exporter is configured."""
    env = EnvReader(environ)
    raw, variable = env.lookup(ev.OTEL_PYTHON_ALERTING_OTEL_LOGS)
    switch = parse_bool(raw) if raw is not None else None
    if switch is not None:
        return (OtelLogsConfig("true") if switch else None), []
    if raw is not None and raw.lower() != "auto":
        env.invalid(variable, raw, "true, false or auto")
        return None, env.errors
    exporters = [e.lower() for e in env.names(OTEL_LOGS_EXPORTER)]
    if not exporters or exporters == ["none"]:
        return None, []
    return OtelLogsConfig("auto"), []


def severity_of(n: Notification) -> tuple[SeverityNumber, str]:
    if n.status is Status.RESOLVED:
        return SeverityNumber.INFO, "INFO"
    return _SEVERITIES[n.severity]


def log_attributes(n: Notification) -> dict[str, Any]:
    """The record's attributes; absent values are left out (OTel has no null)."""
    attributes: dict[str, Any] = {
        ALERT_NAME: n.alert,
        ALERT_STATE: n.status.value.lower(),
        ALERT_SEVERITY: n.severity.name,
        "otel_alerting.alert.change": n.change.value,
        "otel_alerting.alert.fingerprint": n.fingerprint,
        "otel_alerting.alert.starts_at": n.starts_at,
    }
    optional: dict[str, Any] = {
        "otel_alerting.alert.value": n.value,
        "otel_alerting.alert.threshold": n.threshold,
        "otel_alerting.alert.previous_severity": n.previous_severity.name if n.previous_severity else None,
        "otel_alerting.alert.last_firing_value": n.last_firing_value if n.status is Status.RESOLVED else None,
        "otel_alerting.alert.ends_at": n.ends_at,
        "otel_alerting.alert.fired_for": n.fired_for,
        "otel_alerting.alert.reason": n.reason or None,
        "otel_alerting.alert.expr": n.expr or None,
    }
    attributes.update({k: v for k, v in optional.items() if v is not None})
    attributes.update({f"{LABEL_PREFIX}{k}": v for k, v in sorted(n.group_labels.items())})
    attributes.update({f"{ANNOTATION_PREFIX}{k}": v for k, v in sorted(n.annotations.items())})
    return attributes


def _is_sdk_provider(provider: object) -> bool:
    try:
        from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider
    except ImportError:  # pragma: no cover - the SDK is a dependency
        return False
    return isinstance(provider, SdkLoggerProvider)


class OtelLogsChannel(Channel):
    """Emits one event record per notification. ``logger_provider`` defaults to the
    global one, looked up at each send."""

    name = "otel_logs"

    def __init__(self, config: OtelLogsConfig | None = None, *, logger_provider: LoggerProvider | None = None) -> None:
        self._config = config or OtelLogsConfig()
        self._provider = logger_provider
        self._cached: tuple[object, Any] | None = None

    def _logger(self) -> Any | None:
        provider = self._provider if self._provider is not None else get_logger_provider()
        if not _is_sdk_provider(provider):
            return None
        if self._cached is None or self._cached[0] is not provider:
            self._cached = (provider, provider.get_logger(SCOPE, __version__))
        return self._cached[1]

    def available(self) -> bool:
        """True when an SDK LoggerProvider is there to take the records."""
        return self._logger() is not None

    def describe(self) -> str:
        state = "SDK LoggerProvider found" if self.available() else "no SDK LoggerProvider yet"
        return f"otel_logs (event {EVENT_NAME}; {self._config.mode}; {state})"

    def __repr__(self) -> str:
        return f"OtelLogsChannel({self.describe()!r})"

    def _emit(self, logger: Any, notifications: tuple[Notification, ...]) -> None:
        observed = time.time_ns()
        for n in map(bounded, notifications):
            number, text = severity_of(n)
            logger.emit(
                timestamp=int(n.at * 1e9),
                observed_timestamp=observed,
                severity_number=number,
                severity_text=text,
                body=summary_line(n),
                attributes=log_attributes(n),
                event_name=EVENT_NAME,
            )

    async def send(self, batch: Batch) -> DeliveryResult:
        try:
            logger = self._logger()
            if logger is None:
                return DeliveryResult.failed(
                    f"no OpenTelemetry SDK LoggerProvider is configured (set {OTEL_LOGS_EXPORTER}, or "
                    f"{ev.OTEL_PYTHON_ALERTING_OTEL_LOGS}=false)",
                    retryable=False,
                )
            # A processor may export synchronously (SimpleLogRecordProcessor): off the
            # loop, so a slow collector never holds up the other channels.
            await asyncio.to_thread(self._emit, logger, batch.notifications)
        except Exception as exc:
            _logger.debug("otel_logs channel: %s while emitting", type(exc).__name__)
            return DeliveryResult.failed(f"{type(exc).__name__} while emitting log records", retryable=False)
        return DeliveryResult.delivered()
