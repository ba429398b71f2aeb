"""Channels: one module each, one small interface (``Channel``).

A channel is enabled when its configuration is present in the environment (or when
OTEL_PYTHON_ALERTING_CHANNELS names it); ``log`` and ``console`` need none. A channel
module (and the HTTP or SMTP client it brings) is imported only when its variables
are set, so an unconfigured channel costs nothing at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..config import ConfigError, Settings
from ..notify.channel import Channel, DeliveryResult
from .console import ConsoleChannel
from .log import LogChannel

__all__ = ["CHANNEL_TYPES", "Channel", "ConsoleChannel", "DeliveryResult", "LogChannel", "build_channels"]


@dataclass(frozen=True)
class ChannelType:
    name: str
    module: str
    loader: str
    factory: str
    #: the variables whose presence means "configured" (prefixes end with "_")
    markers: tuple[str, ...]

    def configured(self, environ: Mapping[str, str]) -> bool:
        return any(
            (key.startswith(marker) if marker.endswith("_") else key == marker) and value.strip()
            for key, value in environ.items()
            for marker in self.markers
        )

    def load(self, environ: Mapping[str, str]) -> tuple[Channel | None, list[ConfigError]]:
        module = importlib.import_module(self.module, __package__)
        config, errors = getattr(module, self.loader)(environ)
        if config is None:
            return None, list(errors)
        factory: Callable[[Any], Channel] = getattr(module, self.factory)
        return factory(config), list(errors)


CHANNEL_TYPES = (
    ChannelType(
        "email",
        ".email",
        "load_email_config",
        "EmailChannel",
        ("OTEL_PYTHON_ALERTING_EMAIL_", "ALERT_EMAIL_ENABLED", "ALERT_SMTP_HOST", "ALERT_TO_EMAILS"),
    ),
    ChannelType(
        "slack",
        ".slack",
        "load_slack_config",
        "SlackChannel",
        ("OTEL_PYTHON_ALERTING_SLACK_", "ALERT_SLACK_ENABLED", "ALERT_SLACK_WEBHOOK_URL"),
    ),
    ChannelType(
        "mattermost", ".slack", "load_mattermost_config", "SlackChannel", ("OTEL_PYTHON_ALERTING_MATTERMOST_",)
    ),
    ChannelType(
        "webhook",
        ".webhook",
        "load_webhook_config",
        "WebhookChannel",
        ("OTEL_PYTHON_ALERTING_WEBHOOK_", "ALERT_WEBHOOK_ENABLED", "ALERT_WEBHOOK_URL"),
    ),
    ChannelType(
        "pagerduty", ".pagerduty", "load_pagerduty_config", "PagerDutyChannel", ("OTEL_PYTHON_ALERTING_PAGERDUTY_",)
    ),
    ChannelType(
        "alertmanager",
        ".alertmanager",
        "load_alertmanager_config",
        "AlertmanagerChannel",
        ("OTEL_PYTHON_ALERTING_ALERTMANAGER_",),
    ),
    ChannelType(
        # `auto` (the default) follows OTEL_LOGS_EXPORTER, which the distro sets to otlp
        "otel_logs",
        ".otel_logs",
        "load_otel_logs_config",
        "OtelLogsChannel",
        ("OTEL_PYTHON_ALERTING_OTEL_LOGS", "OTEL_LOGS_EXPORTER"),
    ),
)


def build_channels(settings: Settings, environ: Mapping[str, str]) -> tuple[list[Channel], list[ConfigError]]:
    """The enabled channels, in a stable order, and the problems of those whose
    configuration is incomplete (they do not start)."""
    errors: list[ConfigError] = []
    channels: list[Channel] = []
    wanted = set(settings.channels) if settings.channels_set else {"log", "console"}
    if "log" in wanted:
        channels.append(LogChannel())
    if "console" in wanted:
        channels.append(ConsoleChannel(colour=settings.console_color))
    for local in channels:
        _apply_send_resolved(local, environ, errors)
    for kind in CHANNEL_TYPES:
        if settings.channels_set and kind.name not in wanted:
            continue
        if not settings.channels_set and not kind.configured(environ):
            continue
        try:
            loaded, problems = kind.load(environ)
        except Exception as exc:  # a channel bug must not stop the others
            errors.append(ConfigError(kind.name, f"cannot be set up: {type(exc).__name__}"))
            continue
        errors.extend(problems)
        if loaded is not None:
            _apply_send_resolved(loaded, environ, errors)
            channels.append(loaded)
        elif settings.channels_set and not problems:
            errors.append(
                ConfigError("OTEL_PYTHON_ALERTING_CHANNELS", f"channel {kind.name} is listed but not configured")
            )
    return channels, errors


def _apply_send_resolved(channel: Channel, environ: Mapping[str, str], errors: list[ConfigError]) -> None:
    variable = f"OTEL_PYTHON_ALERTING_{channel.name.upper()}_SEND_RESOLVED"
    value = environ.get(variable, "").strip().lower()
    if value in ("false", "0", "no", "off"):
        channel.send_resolved = False
    elif value not in ("", "true", "1", "yes", "on"):
        errors.append(ConfigError(variable, f"invalid value {value!r}: expected true or false"))
