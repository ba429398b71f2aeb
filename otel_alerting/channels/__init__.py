"""Channels: one module each, one small interface (``Channel``)."""

from __future__ import annotations

from collections.abc import Mapping

from ..config import ConfigError, Settings
from .base import Channel, DeliveryResult
from .console import ConsoleChannel
from .log import LogChannel

__all__ = ["Channel", "ConsoleChannel", "DeliveryResult", "LogChannel", "build_channels"]


def build_channels(settings: Settings, environ: Mapping[str, str]) -> tuple[list[Channel], list[ConfigError]]:
    """The channels ``settings`` and the environment enable, in a stable order, and
    the problems of those whose configuration is incomplete (they do not start)."""
    errors: list[ConfigError] = []
    channels: list[Channel] = []
    for name in settings.channels:
        if name == "log":
            channels.append(LogChannel())
        elif name == "console":
            channels.append(ConsoleChannel(colour=settings.console_color))
    return channels, errors
