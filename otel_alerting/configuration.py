"""What the environment and the rules files configure, loaded and checked.

The reader loads it during bootstrap, so that every problem is reported (and strict
mode stops the process) at start-up; this module imports no part of the engine or
of the notification pipeline, which the reader assembles later (``system``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .channels import Channel, build_channels
from .channels.receivers import build_receivers
from .config import ConfigError, Settings
from .notify.config import NotifyConfig, load_notify_config
from .rules import RuleSet, load_rule_set

__all__ = ["Configuration", "load_configuration"]


@dataclass(frozen=True)
class Configuration:
    settings: Settings
    rule_set: RuleSet
    channels: tuple[Channel, ...]
    notify: NotifyConfig
    channel_errors: tuple[ConfigError, ...] = ()

    @property
    def problems(self) -> list[str]:
        return [
            str(e) for e in (*self.settings.errors, *self.rule_set.errors, *self.channel_errors, *self.notify.errors)
        ]


def load_configuration(
    settings: Settings, environ: Mapping[str, str], channels: Sequence[Channel] | None = None
) -> Configuration:
    """Everything the environment and the rules files configure; never raises.
    ``channels`` replaces the channels the environment would configure."""
    rule_set = load_rule_set(settings.rules_paths, environ, include_defaults=settings.default_rules)
    source = os.pathsep.join(settings.rules_paths) or "rules file"
    channel_errors: list[ConfigError] = []
    if channels is None:
        channels, channel_errors = build_channels(settings, environ)
        if "receivers" in rule_set.extra:
            try:
                received, receiver_errors = build_receivers(
                    rule_set.extra["receivers"], source, {c.name for c in channels}
                )
            except Exception as exc:  # a bug there costs the receivers, not all alerting
                received, receiver_errors = [], [_failed(source, "receivers", exc)]
            channels = [*channels, *received]
            channel_errors.extend(receiver_errors)
    names = [c.name for c in channels]

    def notify_config(extra: Mapping[str, object]) -> NotifyConfig:
        return load_notify_config(
            extra,
            names,
            environ,
            include_defaults=settings.default_rules,
            source=source,
            origins=rule_set.extra_origins,
        )

    try:
        notify = notify_config(rule_set.extra)
    except Exception as exc:  # the same: the files' notification sections are left out
        fallback = notify_config({})
        notify = replace(fallback, errors=(*fallback.errors, _failed(source, "route, inhibit_rules", exc)))
    return Configuration(settings, rule_set, tuple(channels), notify, tuple(channel_errors))


def _failed(source: str, sections: str, exc: Exception) -> ConfigError:
    return ConfigError(
        source, f"{sections}: cannot load (an error in otel-alerting, please report it: {exc!r:.200}); left out"
    )
