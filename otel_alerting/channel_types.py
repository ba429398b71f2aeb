"""What each channel type is, declared once: its name, what it hears by default, how it
is configured and where its code lives.

Pure data: this module imports no channel (a channel module, and the HTTP or SMTP
client it brings, is imported only when its variables are set), so ``config`` and
``notify.routing`` read it at no cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from opentelemetry.environment_variables import OTEL_LOGS_EXPORTER

from . import environment_variables as ev

__all__ = ["CHANNEL_TYPES", "KNOWN_CHANNELS", "ChannelType", "SeverityName", "channel_type"]

#: severities by their label value (``severity="high"``), as routes match them
SeverityName = Literal["low", "medium", "high", "critical"]
_BELOW_CRITICAL: frozenset[SeverityName] = frozenset({"low", "medium", "high"})


@dataclass(frozen=True)
class ChannelType:
    name: str
    #: the variable that turns resolved notifications off for this channel
    send_resolved: str
    #: the severities below CRITICAL it hears by default (CRITICAL reaches every
    #: configured channel); DESIGN.md's table
    severities: frozenset[SeverityName] = frozenset()
    #: hears every severity: it routes and stores on its own (Alertmanager, log records)
    sink: bool = False
    #: a record for machines or terminals, not a message for people: delivered without
    #: group wait (Alertmanager groups on its own side)
    immediate: bool = False
    #: the module under ``otel_alerting.channels``, its loader (environ -> config,
    #: errors) and the class built from the config; empty for ``log`` and ``console``,
    #: which need no configuration
    module: str = ""
    loader: str = ""
    factory: str = ""
    #: the variables whose presence means "configured" (a name ending in ``_`` is a prefix)
    markers: tuple[str, ...] = ()

    def hears(self, severity: SeverityName) -> bool:
        """Whether the default routes send it alerts of ``severity``."""
        return self.sink or severity == "critical" or severity in self.severities

    def configured(self, environ: Mapping[str, str]) -> bool:
        return any(
            (key.startswith(marker) if marker.endswith("_") else key == marker) and value.strip()
            for key, value in environ.items()
            for marker in self.markers
        )


# In the order channels are built and listed.
CHANNEL_TYPES: tuple[ChannelType, ...] = (
    ChannelType("log", ev.OTEL_PYTHON_ALERTING_LOG_SEND_RESOLVED, _BELOW_CRITICAL, immediate=True),
    ChannelType("console", ev.OTEL_PYTHON_ALERTING_CONSOLE_SEND_RESOLVED, _BELOW_CRITICAL, immediate=True),
    ChannelType(
        "email",
        ev.OTEL_PYTHON_ALERTING_EMAIL_SEND_RESOLVED,
        frozenset({"high"}),
        module=".email",
        loader="load_email_config",
        factory="EmailChannel",
        markers=(ev.EMAIL_PREFIX, ev.ALERT_EMAIL_ENABLED, ev.ALERT_SMTP_HOST, ev.ALERT_TO_EMAILS),
    ),
    ChannelType(
        "slack",
        ev.OTEL_PYTHON_ALERTING_SLACK_SEND_RESOLVED,
        frozenset({"medium", "high"}),
        module=".slack",
        loader="load_slack_config",
        factory="SlackChannel",
        markers=(ev.SLACK_PREFIX, ev.ALERT_SLACK_ENABLED, ev.ALERT_SLACK_WEBHOOK_URL),
    ),
    ChannelType(
        "mattermost",
        ev.OTEL_PYTHON_ALERTING_MATTERMOST_SEND_RESOLVED,
        frozenset({"medium", "high"}),
        module=".slack",
        loader="load_mattermost_config",
        factory="SlackChannel",
        markers=(ev.MATTERMOST_PREFIX,),
    ),
    ChannelType(
        "webhook",
        ev.OTEL_PYTHON_ALERTING_WEBHOOK_SEND_RESOLVED,
        frozenset({"high"}),
        module=".webhook",
        loader="load_webhook_config",
        factory="WebhookChannel",
        markers=(ev.WEBHOOK_PREFIX, ev.ALERT_WEBHOOK_ENABLED, ev.ALERT_WEBHOOK_URL),
    ),
    ChannelType(
        # pages someone: CRITICAL only
        "pagerduty",
        ev.OTEL_PYTHON_ALERTING_PAGERDUTY_SEND_RESOLVED,
        module=".pagerduty",
        loader="load_pagerduty_config",
        factory="PagerDutyChannel",
        markers=(ev.PAGERDUTY_PREFIX,),
    ),
    ChannelType(
        "alertmanager",
        ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_SEND_RESOLVED,
        sink=True,
        immediate=True,
        module=".alertmanager",
        loader="load_alertmanager_config",
        factory="AlertmanagerChannel",
        markers=(ev.ALERTMANAGER_PREFIX,),
    ),
    ChannelType(
        # `auto` (the default) follows OTEL_LOGS_EXPORTER, which the distro sets to otlp
        "otel_logs",
        ev.OTEL_PYTHON_ALERTING_OTEL_LOGS_SEND_RESOLVED,
        sink=True,
        immediate=True,
        module=".otel_logs",
        loader="load_otel_logs_config",
        factory="OtelLogsChannel",
        markers=(ev.OTEL_PYTHON_ALERTING_OTEL_LOGS, OTEL_LOGS_EXPORTER),
    ),
)
KNOWN_CHANNELS = tuple(kind.name for kind in CHANNEL_TYPES)
_BY_NAME = {kind.name: kind for kind in CHANNEL_TYPES}


def channel_type(name: str) -> ChannelType | None:
    """The built-in channel type called ``name``; None for a channel of another name
    (a receiver of the rules file, a custom channel)."""
    return _BY_NAME.get(name)
