"""The ``receivers:`` section of a rules file, shaped as Alertmanager's.

Each receiver names one integration (``email_configs``, ``slack_configs``,
``webhook_configs`` or ``pagerduty_configs``, one entry each) with Alertmanager's field
names. The fields are translated onto the channel's own environment variables and read
by the same loader as the environment, so a receiver is validated, redacted and
delivered exactly like a channel configured from the environment; it carries the
receiver's name, which routes refer to.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from .. import environment_variables as ev
from ..channel_types import ChannelType, channel_type
from ..config import ConfigError
from ..notify.channel import Channel

__all__ = ["build_receivers"]


def _email(c: Mapping[str, Any]) -> dict[str, str]:
    env = {}
    host, _, port = str(c.get("smarthost", "")).rpartition(":")
    if host:
        env[ev.OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST], env[ev.OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT] = host, port
    elif c.get("smarthost"):
        env[ev.OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST] = str(c["smarthost"])
    names = {
        "to": ev.OTEL_PYTHON_ALERTING_EMAIL_TO,
        "from": ev.OTEL_PYTHON_ALERTING_EMAIL_FROM,
        "auth_username": ev.OTEL_PYTHON_ALERTING_EMAIL_USERNAME,
        "auth_password": ev.OTEL_PYTHON_ALERTING_EMAIL_PASSWORD,
    }
    env.update(_translated(c, names))
    if c.get("require_tls") is False:
        env[ev.OTEL_PYTHON_ALERTING_EMAIL_TLS] = "none"
    tls = c.get("tls_config") or {}
    if isinstance(tls, Mapping):
        if tls.get("insecure_skip_verify") is True:
            env[ev.OTEL_PYTHON_ALERTING_EMAIL_VERIFY] = "false"
        if tls.get("ca_file"):
            env[ev.OTEL_PYTHON_ALERTING_EMAIL_CA_FILE] = str(tls["ca_file"])
    env[ev.OTEL_PYTHON_ALERTING_EMAIL_ENABLED] = "true"
    return env


def _slack(c: Mapping[str, Any]) -> dict[str, str]:
    names = {
        "api_url": ev.OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL,
        "channel": ev.OTEL_PYTHON_ALERTING_SLACK_CHANNEL,
        "username": ev.OTEL_PYTHON_ALERTING_SLACK_USERNAME,
    }
    return _translated(c, names)


def _webhook(c: Mapping[str, Any]) -> dict[str, str]:
    names = {
        "url": ev.OTEL_PYTHON_ALERTING_WEBHOOK_URL,
        "max_alerts": ev.OTEL_PYTHON_ALERTING_WEBHOOK_MAX_ALERTS,
        "signing_key": ev.OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY,
    }
    env = _translated(c, names)
    headers = c.get("headers")
    if isinstance(headers, Mapping):
        env[ev.OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS] = ",".join(f"{k}={v}" for k, v in headers.items())
    return env


def _pagerduty(c: Mapping[str, Any]) -> dict[str, str]:
    names = {"routing_key": ev.OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY, "url": ev.OTEL_PYTHON_ALERTING_PAGERDUTY_URL}
    return _translated(c, names)


def _translated(c: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, str]:
    return {variable: _text(c[key]) for key, variable in names.items() if key in c}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _kind(name: str) -> ChannelType:
    kind = channel_type(name)
    assert kind is not None, name
    return kind


#: Alertmanager's key -> (channel type, translation)
_INTEGRATIONS: dict[str, tuple[ChannelType, Callable[[Mapping[str, Any]], dict[str, str]]]] = {
    "email_configs": (_kind("email"), _email),
    "slack_configs": (_kind("slack"), _slack),
    "webhook_configs": (_kind("webhook"), _webhook),
    "pagerduty_configs": (_kind("pagerduty"), _pagerduty),
}


def _integration(receiver: Mapping[str, Any], source: str, where: str) -> tuple[str, Mapping[str, Any]] | ConfigError:
    """The receiver's one integration and its one config, or what is wrong with them."""
    kinds = [key for key in receiver if key in _INTEGRATIONS]
    unknown = [key for key in receiver if key not in _INTEGRATIONS and key != "name"]
    if unknown or len(kinds) != 1:
        return ConfigError(
            source,
            f"needs exactly one of {', '.join(_INTEGRATIONS)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
            field=where,
        )
    configs = receiver[kinds[0]]
    if not isinstance(configs, list) or len(configs) != 1 or not isinstance(configs[0], Mapping):
        return ConfigError(source, "must be a list of one mapping", field=f"{where}.{kinds[0]}")
    return kinds[0], configs[0]


def _receiver(
    name: str, key: str, config: Mapping[str, Any], source: str, where: str
) -> tuple[Channel | None, list[ConfigError]]:
    kind, translate = _INTEGRATIONS[key]
    module = importlib.import_module(kind.module, __package__)
    loaded, problems = getattr(module, kind.loader)(translate(config))
    # the loader names its environment variables; say where the value really is
    field = f"{where}.{key}[0]"
    errors = [ConfigError(source, f"{p.variable}: {p.message}", field=field) for p in problems]
    if loaded is None:
        return None, errors or [ConfigError(source, "incomplete", field=field)]
    channel: Channel = getattr(module, kind.factory)(loaded)
    channel.name = name
    channel.send_resolved = config.get("send_resolved", True) is not False
    return channel, errors


def build_receivers(raw: Any, source: str, taken: set[str]) -> tuple[list[Channel], list[ConfigError]]:
    """Channels for the receivers of a rules file; ``taken`` holds the names in use."""
    channels: list[Channel] = []
    errors: list[ConfigError] = []
    if not isinstance(raw, list):
        return [], [ConfigError(source, "must be a list", field="receivers")]
    for index, receiver in enumerate(raw):
        if not isinstance(receiver, Mapping) or not isinstance(receiver.get("name"), str):
            errors.append(ConfigError(source, "needs a name", field=f"receivers[{index}]"))
            continue
        name = receiver["name"]
        where = f"receivers[{index}] ({name})"
        if name in taken:
            errors.append(ConfigError(source, f"the name {name!r} is already a channel", field=where))
            continue
        found = _integration(receiver, source, where)
        if isinstance(found, ConfigError):
            errors.append(found)
            continue
        channel, problems = _receiver(name, *found, source, where)
        errors.extend(problems)
        if channel is not None:
            channels.append(channel)
            taken.add(name)
    return channels, errors
