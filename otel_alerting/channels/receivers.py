"""The ``receivers:`` section of a rules file, shaped as Alertmanager's.

Each receiver names one integration (``email_configs``, ``slack_configs``,
``webhook_configs`` or ``pagerduty_configs``, one entry each) with Alertmanager's field
names. The fields are translated onto the channel's own environment variables and read
by the same loader as the environment, so a receiver is validated, redacted and
delivered exactly like a channel configured from the environment; it carries the
receiver's name, which routes refer to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..config import ConfigError
from ..notify.channel import Channel

__all__ = ["build_receivers"]

_P = "OTEL_PYTHON_ALERTING_"


def _email(c: Mapping[str, Any]) -> dict[str, str]:
    env = {}
    host, _, port = str(c.get("smarthost", "")).rpartition(":")
    if host:
        env[_P + "EMAIL_SMTP_HOST"], env[_P + "EMAIL_SMTP_PORT"] = host, port
    elif c.get("smarthost"):
        env[_P + "EMAIL_SMTP_HOST"] = str(c["smarthost"])
    names = {"to": "TO", "from": "FROM", "auth_username": "USERNAME", "auth_password": "PASSWORD"}
    env.update({_P + "EMAIL_" + v: _text(c[k]) for k, v in names.items() if k in c})
    if c.get("require_tls") is False:
        env[_P + "EMAIL_TLS"] = "none"
    tls = c.get("tls_config") or {}
    if isinstance(tls, Mapping):
        if tls.get("insecure_skip_verify") is True:
            env[_P + "EMAIL_VERIFY"] = "false"
        if tls.get("ca_file"):
            env[_P + "EMAIL_CA_FILE"] = str(tls["ca_file"])
    env[_P + "EMAIL_ENABLED"] = "true"
    return env


def _slack(c: Mapping[str, Any]) -> dict[str, str]:
    names = {"api_url": "WEBHOOK_URL", "channel": "CHANNEL", "username": "USERNAME"}
    return {_P + "SLACK_" + v: _text(c[k]) for k, v in names.items() if k in c}


def _webhook(c: Mapping[str, Any]) -> dict[str, str]:
    names = {"url": "URL", "max_alerts": "MAX_ALERTS", "signing_key": "SIGNING_KEY"}
    env = {_P + "WEBHOOK_" + v: _text(c[k]) for k, v in names.items() if k in c}
    headers = c.get("headers")
    if isinstance(headers, Mapping):
        env[_P + "WEBHOOK_HEADERS"] = ",".join(f"{k}={v}" for k, v in headers.items())
    return env


def _pagerduty(c: Mapping[str, Any]) -> dict[str, str]:
    names = {"routing_key": "ROUTING_KEY", "url": "URL"}
    return {_P + "PAGERDUTY_" + v: _text(c[k]) for k, v in names.items() if k in c}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


#: Alertmanager's key -> (channel module, loader, channel class, translation)
_INTEGRATIONS: dict[str, tuple[str, str, str, Callable[[Mapping[str, Any]], dict[str, str]]]] = {
    "email_configs": (".email", "load_email_config", "EmailChannel", _email),
    "slack_configs": (".slack", "load_slack_config", "SlackChannel", _slack),
    "webhook_configs": (".webhook", "load_webhook_config", "WebhookChannel", _webhook),
    "pagerduty_configs": (".pagerduty", "load_pagerduty_config", "PagerDutyChannel", _pagerduty),
}


def build_receivers(raw: Any, source: str, taken: set[str]) -> tuple[list[Channel], list[ConfigError]]:
    """Channels for the receivers of a rules file; ``taken`` holds the names in use."""
    import importlib

    channels: list[Channel] = []
    errors: list[ConfigError] = []
    if not isinstance(raw, list):
        return [], [ConfigError(f"{source}: receivers", "must be a list")]
    for index, receiver in enumerate(raw):
        where = f"{source}: receivers[{index}]"
        if not isinstance(receiver, Mapping) or not isinstance(receiver.get("name"), str):
            errors.append(ConfigError(where, "needs a name"))
            continue
        name = receiver["name"]
        where = f"{source}: receivers[{index}] ({name})"
        if name in taken:
            errors.append(ConfigError(where, f"the name {name!r} is already a channel"))
            continue
        kinds = [key for key in receiver if key in _INTEGRATIONS]
        unknown = [key for key in receiver if key not in _INTEGRATIONS and key != "name"]
        if unknown or len(kinds) != 1:
            errors.append(
                ConfigError(
                    where,
                    f"needs exactly one of {', '.join(_INTEGRATIONS)}"
                    + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
                )
            )
            continue
        configs = receiver[kinds[0]]
        if not isinstance(configs, list) or len(configs) != 1 or not isinstance(configs[0], Mapping):
            errors.append(ConfigError(f"{where}.{kinds[0]}", "must be a list of one mapping"))
            continue
        module_name, loader, factory, translate = _INTEGRATIONS[kinds[0]]
        env = translate(configs[0])
        module = importlib.import_module(module_name, __package__)
        config, problems = getattr(module, loader)(env)
        # the loader names its environment variables; say where the value really is
        errors.extend(ConfigError(f"{where}.{kinds[0]}[0]", f"{p.variable}: {p.message}") for p in problems)
        if config is None:
            if not problems:
                errors.append(ConfigError(f"{where}.{kinds[0]}[0]", "incomplete"))
            continue
        channel: Channel = getattr(module, factory)(config)
        channel.name = name
        channel.send_resolved = configs[0].get("send_resolved", True) is not False
        channels.append(channel)
        taken.add(name)
    return channels, errors
