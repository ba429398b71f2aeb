"""Channels: one module each, one small interface (``Channel``).

A channel is enabled when its configuration is present in the environment (or when
OTEL_PYTHON_ALERTING_CHANNELS names it); ``log`` and ``console`` need none. A channel
module (and the HTTP or SMTP client it brings) is imported only when its variables
are set, so an unconfigured channel costs nothing at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from .. import environment_variables as ev
from ..channel_types import CHANNEL_TYPES, ChannelType
from ..config import ConfigError, EnvReader, Settings
from ..notify.channel import Channel, DeliveryResult
from .console import ConsoleChannel
from .log import LogChannel

__all__ = ["CHANNEL_TYPES", "Channel", "ConsoleChannel", "DeliveryResult", "LogChannel", "build_channels"]


def _load(kind: ChannelType, environ: Mapping[str, str]) -> tuple[Channel | None, list[ConfigError]]:
    module = importlib.import_module(kind.module, __package__)
    config, errors = getattr(module, kind.loader)(environ)
    if config is None:
        return None, list(errors)
    factory: Callable[[Any], Channel] = getattr(module, kind.factory)
    return factory(config), list(errors)


def _wanted(kind: ChannelType, settings: Settings, environ: Mapping[str, str]) -> bool:
    if settings.channels_set:
        return kind.name in settings.channels
    return kind.configured(environ)


def _configured(
    kind: ChannelType, settings: Settings, environ: Mapping[str, str]
) -> tuple[Channel | None, list[ConfigError]]:
    """The channel of ``kind`` and the problems of its configuration."""
    try:
        loaded, problems = _load(kind, environ)
    except Exception as exc:  # a channel bug must not stop the others
        return None, [ConfigError(kind.name, f"cannot be set up: {type(exc).__name__}")]
    if loaded is None and settings.channels_set and not problems:
        problems = [ConfigError(ev.OTEL_PYTHON_ALERTING_CHANNELS, f"channel {kind.name} is listed but not configured")]
    return loaded, problems


def _local(kind: ChannelType, settings: Settings) -> Channel:
    return LogChannel() if kind.name == "log" else ConsoleChannel(colour=settings.console_color)


def build_channels(settings: Settings, environ: Mapping[str, str]) -> tuple[list[Channel], list[ConfigError]]:
    """The enabled channels, in a stable order, and the problems of those whose
    configuration is incomplete (they do not start)."""
    env = EnvReader(environ)
    errors = env.errors  # the problems in the order met, each channel's send_resolved after it
    channels: list[Channel] = []
    wanted = set(settings.channels) if settings.channels_set else {"log", "console"}
    for kind in CHANNEL_TYPES:
        channel: Channel | None = None
        if not kind.module:
            channel = _local(kind, settings) if kind.name in wanted else None
        elif _wanted(kind, settings, environ):
            channel, problems = _configured(kind, settings, environ)
            errors.extend(problems)
        if channel is not None:
            if env.flag(kind.send_resolved) is False:
                channel.send_resolved = False
            channels.append(channel)
    return channels, errors
