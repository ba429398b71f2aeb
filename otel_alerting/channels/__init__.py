"""Channels: one module each, one small interface (``Channel``)."""

from __future__ import annotations

from collections.abc import Sequence

from ..config import Settings
from .base import Channel, DeliveryResult
from .console import ConsoleChannel
from .log import LogChannel

__all__ = ["Channel", "ConsoleChannel", "DeliveryResult", "LogChannel", "build_channels"]


def build_channels(settings: Settings) -> Sequence[Channel]:
    """The channels ``settings`` enables, in a stable order."""
    channels: list[Channel] = []
    for name in settings.channels:
        if name == "log":
            channels.append(LogChannel())
        elif name == "console":
            channels.append(ConsoleChannel(colour=settings.console_color))
    return channels
